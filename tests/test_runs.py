"""Whole runs: the prefilter never changes results, the cache is invalidated by content, config,
version and imported files, parallel workers keep the order, and .gitignore is respected."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT, run_cli


def corpus_files() -> list[Path]:
    """Every Python program the project ships: fixtures, projects, examples."""
    return sorted([*FIXTURES.rglob("*.py"), *(ROOT / "examples").rglob("*.py")])


def findings(*args: str, cwd: Path = ROOT) -> list[tuple]:
    result = run_cli("check", "--format", "json", *args, cwd=cwd)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    data = json.loads(result.stdout)
    return [(d["path"], d["line"], d["column"], d["code"], d["message"]) for d in data["diagnostics"]]


def test_prefilter_never_changes_results(tmp_path):
    """The same findings with the prefilter (pieces parsed on demand) as with every file parsed
    whole, over every program the project ships and the rules' own examples."""
    from logitlint.rules import rule_classes

    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURES, corpus / "fixtures")
    shutil.copytree(ROOT / "examples", corpus / "examples")
    for cls in rule_classes():
        for i, example in enumerate([*cls.valid, *(e.source for e in cls.invalid)]):
            (corpus / "examples" / f"{cls.code}_{i}.py").write_text(example)
    on = findings("--no-cache", ".", cwd=corpus)
    off = findings("--no-cache", "--no-prefilter", ".", cwd=corpus)
    assert len(on) > 100 and on == off


def test_parallel_workers_keep_the_order(tmp_path):
    one = findings("--no-cache", "-j", "1", "examples", "fixtures")
    two = findings("--no-cache", "-j", "2", "examples", "fixtures")
    assert one == two and one == sorted(one, key=lambda f: (f[0], f[1], f[2], f[3]))


@pytest.fixture
def project(tmp_path):
    shutil.copytree(FIXTURES / "projects" / "script_style", tmp_path / "proj")
    return tmp_path / "proj"


def cached(project: Path, *args: str) -> tuple[list, set[str]]:
    """Findings, and the files the run analysed (not answered from the cache)."""
    env = {"LOGITLINT_TRACE_ANALYSED": str(project / "analysed.txt")}
    trace = project / "analysed.txt"
    trace.unlink(missing_ok=True)
    result = run_cli("check", "--format", "json", *args, ".", cwd=project, env=env)
    data = json.loads(result.stdout)
    analysed = set(trace.read_text().split()) if trace.exists() else set()
    return [(d["path"], d["line"], d["code"]) for d in data["diagnostics"]], {Path(p).name for p in analysed}


def test_cache_answers_an_unchanged_tree(project):
    first, analysed = cached(project)
    assert analysed == {"models.py", "train.py"} and first
    second, analysed = cached(project)
    assert second == first and analysed == set()
    assert (project / ".logitlint_cache" / ".gitignore").exists()


def test_cache_invalidation(project):
    first, _ = cached(project)
    train = project / "train.py"
    train.write_text(train.read_text() + "\n# changed\n")  # content
    assert cached(project)[1] == {"train.py"}
    (project / "pyproject.toml").write_text('[tool.logitlint]\nignore = ["LGT2"]\n')  # config
    assert cached(project)[1] == {"models.py", "train.py"}
    models = project / "models.py"  # a file train.py's analysis read
    models.write_text(models.read_text().replace("nn.Softmax(dim=1)", "nn.Identity()"))
    findings_now, analysed = cached(project)
    assert "train.py" in analysed and findings_now == []
    assert cached(project, "--no-cache")[1] == {"models.py", "train.py"}


def test_cache_is_per_version(project, monkeypatch):
    from logitlint.cache import Cache, Entry

    cache = Cache(project / "c", version="1.0")
    cache.put(("a", "a"), Entry("d", (), ()))
    cache.save()
    assert Cache(project / "c", version="1.0").get(("a", "a"), "d", ()) is not None
    assert Cache(project / "c", version="2.0").get(("a", "a"), "d", ()) is None


def test_cache_version_follows_the_code(tmp_path):
    """An edited checkout gets a new cache version, so no result its old code wrote is read."""
    from logitlint import __version__
    from logitlint.cache import Cache, code_version, fingerprint

    package = tmp_path / "pkg"
    (package / "rules").mkdir(parents=True)
    (package / "engine.py").write_text("A = 1\n")
    (package / "rules" / "x.py").write_text("B = 2\n")
    before = fingerprint(package)
    assert fingerprint(package) == before  # nothing changed
    (package / "rules" / "x.py").write_text("B = 22\n")  # a module of a subpackage edited
    edited = fingerprint(package)
    assert edited != before
    (package / "rules" / "y.py").write_text("")  # a module added
    assert fingerprint(package) != edited
    assert code_version().startswith(__version__ + "-") and Cache(None).version == code_version()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_gitignore_is_respected(tmp_path):
    source = (FIXTURES / "fixes" / "LGT201-direct" / "before.py").read_text()
    (tmp_path / "kept.py").write_text(source)
    (tmp_path / "generated").mkdir()
    (tmp_path / "generated" / "out.py").write_text(source)
    (tmp_path / ".gitignore").write_text("generated/\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    assert {Path(f[0]).name for f in findings("--no-cache", ".", cwd=tmp_path)} == {"kept.py"}
    both = findings("--no-cache", "--no-respect-gitignore", ".", cwd=tmp_path)
    assert {Path(f[0]).name for f in both} == {"kept.py", "out.py"}
    assert os.path.exists(tmp_path / "generated" / "out.py")


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_folder_asked_for_by_name_is_checked_though_git_ignores_it(tmp_path):
    """As ruff does: ``check .`` inside an ignored folder (a vendored tree, the benchmark's corpus
    under bench/corpus/) checks it; the ignore files in it still apply below it."""
    source = (FIXTURES / "fixes" / "LGT201-direct" / "before.py").read_text()
    vendor = tmp_path / "vendor" / "lib"
    (vendor / "build").mkdir(parents=True)
    (vendor / "model.py").write_text(source)
    (vendor / "build" / "copy.py").write_text(source)
    (vendor / ".gitignore").write_text("build/\n")
    (tmp_path / ".gitignore").write_text("vendor/\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    assert findings("--no-cache", ".", cwd=tmp_path) == []  # from the top, vendor/ stays ignored
    for folder, arg in ((vendor, "."), (tmp_path / "vendor", "lib"), (tmp_path, "vendor")):
        found = {Path(f[0]).name for f in findings("--no-cache", arg, cwd=folder)}
        assert found == {"model.py"}, (folder, arg, found)


def test_parent_keeps_source_text_only_where_output_shows_it(tmp_path, monkeypatch):
    """The reports a run returns (from its workers) keep a file's text only where a finding's
    excerpt or a diff shows it: a clean file's text is not kept, so the parent does not grow with
    the corpus. The excerpt of a finding still shows the checked text."""
    from logitlint.runner import RunConfig, run

    for i in range(9):  # enough files for worker processes (runner.PARALLEL_FROM)
        (tmp_path / f"clean{i}.py").write_text("import torch\n\nx = torch.zeros(3)\n")
    (tmp_path / "bad.py").write_text(
        "import torch\nimport torch.nn.functional as F\n\n\ndef f(x, y):\n"
        "    return F.nll_loss(torch.log(F.softmax(x, dim=1)), y)\n"
    )
    monkeypatch.chdir(tmp_path)
    reports = {Path(r.path).name: r for r in run(["."], RunConfig(jobs=2))}
    assert reports["bad.py"].diagnostics and reports["bad.py"].original is not None
    assert all(reports[f"clean{i}.py"].original is None for i in range(9))
    result = run_cli("check", "--no-cache", "-j", "2", ".", cwd=tmp_path)
    assert "F.softmax(x, dim=1)" in result.stdout, result.stdout
