"""Checking a repository that is not trusted (a pull request in CI, a fresh clone in an editor) never
runs anything from it: not a cache file it ships, not a command its git configuration names. And
the results it ships in a cache are not believed."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
from pathlib import Path

import pytest

from logitlint.cache import code_version
from tests.conftest import FIXTURES, run_cli

DOUBLE_SOFTMAX = (FIXTURES / "fixes" / "LGT101-direct" / "before.py").read_text()


class _Payload:
    """Unpickling this runs ``touch MARKER``: what a hostile repository would ship."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "train.py").write_text(DOUBLE_SOFTMAX)
    return root


def codes(result: subprocess.CompletedProcess) -> list[str]:
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return [d["code"] for d in json.loads(result.stdout)["diagnostics"]]


def test_a_shipped_pickle_cache_is_never_loaded(repo, tmp_path):
    marker = tmp_path / "pwned"
    folder = repo / ".logitlint_cache" / code_version()
    folder.mkdir(parents=True)
    (folder / "results.pickle").write_bytes(pickle.dumps(_Payload(marker)))
    (folder / "results.json").write_bytes(pickle.dumps(_Payload(marker)))  # and under the new name
    result = run_cli("check", "--format", "json", ".", cwd=repo)
    assert "LGT101" in codes(result)
    assert not marker.exists()


def test_shipped_or_edited_cache_results_are_not_believed(repo, tmp_path):
    """A cache made elsewhere (another user's key: a cache committed to the repository) or edited
    after it was written says "no findings" for the file; logitlint checks the file again."""
    elsewhere = {"XDG_CACHE_HOME": str(tmp_path / "someone-else")}
    assert "LGT101" in codes(run_cli("check", "--format", "json", ".", cwd=repo, env=elsewhere))
    results = repo / ".logitlint_cache" / code_version() / "results.json"
    data = json.loads(results.read_text())
    for row in data["entries"]:
        row["body"]["diagnostics"] = []  # a forged "clean" answer, signed with the other key
    results.write_text(json.dumps(data))
    assert "LGT101" in codes(run_cli("check", "--format", "json", ".", cwd=repo))  # our key: not believed
    mine = {"XDG_CACHE_HOME": str(tmp_path / "mine")}
    run_cli("check", "--format", "json", ".", cwd=repo, env=mine)
    data = json.loads(results.read_text())
    for row in data["entries"]:
        row["body"]["diagnostics"] = []  # edited after signing, with the signature kept
    results.write_text(json.dumps(data))
    assert "LGT101" in codes(run_cli("check", "--format", "json", ".", cwd=repo, env=mine))


@pytest.mark.parametrize(
    "content",
    [
        b"\x80\x04garbage",
        b"[]",
        b'{"version": "%s", "entries": {"a": 1}}' % code_version().encode(),
        b'{"version": "%s", "entries": [1, {"mac": 3}, {"mac": "x", "body": []}]}' % code_version().encode(),
        b"[" * 100_000,
    ],
    ids=["binary", "list", "entries-dict", "bad-rows", "deep-nesting"],
)
def test_a_cache_of_the_wrong_structure_is_ignored(repo, content):
    folder = repo / ".logitlint_cache" / code_version()
    folder.mkdir(parents=True)
    (folder / "results.json").write_bytes(content)
    for _ in range(2):  # and the next run, which read the cache the first one rewrote
        result = run_cli("check", "--format", "json", ".", cwd=repo)
        assert "LGT101" in codes(result) and "Traceback" not in result.stderr


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to build the hostile repository")
def test_git_configuration_of_the_checked_tree_runs_nothing(repo, tmp_path):
    """``core.fsmonitor`` names a command that git runs on ``git ls-files`` and ``git status``."""
    marker = tmp_path / "fsmonitor-ran"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "config", "core.fsmonitor", str(hook)], check=True)
    (repo / ".gitignore").write_text("ignored.py\n")
    (repo / "ignored.py").write_text(DOUBLE_SOFTMAX)
    for command in (["check", "--format", "json", "."], ["fix", "--diff", "."]):
        run_cli(*command, cwd=repo)
    assert not marker.exists()
    result = run_cli("check", "--format", "json", "--no-cache", ".", cwd=repo)
    paths = {d["path"] for d in json.loads(result.stdout)["diagnostics"]}
    assert paths == {"train.py"}  # .gitignore still honoured, read as a file


# Trees whose ignore rules logitlint reads itself: compared with what git (run here, on a tree this
# test made) says is not ignored.
IGNORE_TREE = {
    ".gitignore": "*.gen.py\nbuild_out/\n/top_only.py\nnotes/*\n!notes/keep.py\ndeep/**/skip.py\n",
    "a.py": "",
    "x.gen.py": "",
    "top_only.py": "",
    "sub/top_only.py": "",
    "sub/.gitignore": "local.py\n!x.gen.py\n",
    "sub/local.py": "",
    "sub/x.gen.py": "",
    "build_out/b.py": "",
    "sub/build_out/c.py": "",
    "notes/drop.py": "",
    "notes/keep.py": "",
    "deep/a/b/skip.py": "",
    "deep/a/b/ok.py": "",
    "excluded_by_info.py": "",
    "nested/.git/HEAD": "",  # another repository: its own rules
    "nested/.gitignore": "n.py\n",
    "nested/n.py": "",
    "nested/m.py": "",
}


@pytest.mark.skipif(shutil.which("git") is None, reason="git is the reference")
def test_gitignore_rules_match_git(tmp_path):
    from logitlint.files import discover

    root = tmp_path / "tree"
    for name, text in IGNORE_TREE.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "nested" / ".git" / "HEAD").unlink()
    shutil.rmtree(root / "nested" / ".git")
    subprocess.run(["git", "init", "-q", str(root / "nested")], check=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "exclude").write_text("excluded_by_info.py\n")
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "no-config"), "GIT_CONFIG_GLOBAL": os.devnull}

    def git_visible(folder: Path) -> set[str]:
        out = subprocess.run(
            ["git", "-C", str(folder), "ls-files", "--others", "--exclude-standard", "-z"],
            capture_output=True,
            check=True,
            env=env,
        ).stdout.decode()
        return {str(folder / n) for n in out.split("\0") if n.endswith(".py")}

    expected = git_visible(root) | git_visible(root / "nested")
    found = {str(d.path) for d in discover([str(root)], excludes=(".git",), gitignore=True)}
    assert found == expected, (sorted(found - expected), sorted(expected - found))
    everything = {str(d.path) for d in discover([str(root)], excludes=(".git",), gitignore=False)}
    assert len(everything) > len(found)


def test_an_old_pickle_cache_of_the_wrong_structure_is_not_read(repo):
    """Before the JSON cache, a pickle whose entries were not Entry objects crashed every run."""
    folder = repo / ".logitlint_cache" / code_version()
    folder.mkdir(parents=True)
    key = (str(repo / "train.py"), "train.py")
    (folder / "results.pickle").write_bytes(pickle.dumps({"version": code_version(), "entries": {key: "junk"}}))
    for _ in range(2):
        result = run_cli("check", "--format", "json", "train.py", cwd=repo)
        assert "LGT101" in codes(result) and "Traceback" not in result.stderr
