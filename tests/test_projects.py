"""Cross-function and cross-file analysis on the small projects under fixtures/projects/, checked
with the real CLI: every line marked ``# expect: CODE`` is reported with that code, nothing else."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT, run_cli

PROJECTS = FIXTURES / "projects"
EXPECT = re.compile(r"#\s*expect:\s*(LGT\d{3}(?:\s*,\s*LGT\d{3})*)")


def expected(folder: Path) -> set[tuple[str, int, str]]:
    found = set()
    for path in sorted(folder.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = EXPECT.search(line)
            if match:
                for code in match.group(1).split(","):
                    found.add((path.relative_to(ROOT).as_posix(), number, code.strip()))
    return found


def reported(*args: str) -> tuple[set[tuple[str, int, str]], list[dict]]:
    result = run_cli("check", "--format", "json", *args, cwd=ROOT)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert not data["errors"], data["errors"]
    findings = {(Path(d["path"]).as_posix(), d["line"], d["code"]) for d in data["diagnostics"]}
    return findings, data["diagnostics"]


@pytest.mark.parametrize("project", ["classifier", "script_style", "single", "flow"])
def test_project_findings(project):
    folder = PROJECTS / project
    findings, _ = reported(folder.relative_to(ROOT).as_posix())
    assert findings == expected(folder)


def test_single_file_follows_sibling_imports():
    """Checking one script still reads the models module it imports (as Python would find it)."""
    path = (PROJECTS / "script_style" / "train.py").relative_to(ROOT).as_posix()
    findings, diagnostics = reported(path)
    assert findings == {f for f in expected(PROJECTS / "script_style") if f[0] == path}
    (finding,) = diagnostics
    (related,) = finding["related"]
    assert related["path"].endswith("script_style/models.py") and related["line"] == 9


def test_related_location_points_at_the_layer():
    findings, diagnostics = reported((PROJECTS / "classifier").relative_to(ROOT).as_posix())
    by_line = {d["line"]: d for d in diagnostics if d["path"].endswith("classifier/train.py")}
    head = next(d for d in by_line.values() if "net(x)" in d["message"])
    assert head["related"][0]["path"].endswith("classifier/models.py")
    assert head["related"][0]["line"] == 50  # nn.Softmax(dim=1) in HeadNet.head
    assert "models.py:50" in head["message"]


def test_flake8_sees_one_file_at_a_time():
    """Documented limit: without the project, a model defined in another file is not seen."""
    from logitlint.engine import CheckSettings, check_source

    train = (PROJECTS / "script_style" / "train.py").read_text()
    assert [d.code for d in check_source(train, "train.py", CheckSettings())] == []


# --- calling contexts (issue 12): facts that travel through arguments, constructors and setters ----
FLOW = PROJECTS / "flow"


def _flow_line(path: str, text: str) -> int:
    lines = (FLOW / path).read_text().splitlines()
    return next(i for i, line in enumerate(lines, start=1) if text in line)


def test_call_site_is_named_as_related_location():
    """The finding in train.py names main.py's call that passes the probability model."""
    _, diagnostics = reported(FLOW.relative_to(ROOT).as_posix())
    line = _flow_line("train.py", "loss = criterion(model(x), y)")
    (finding,) = [d for d in diagnostics if d["path"].endswith("flow/train.py") and d["line"] == line]
    call = _flow_line("main.py", "train(model, criterion, [])")
    assert f"when called from {(FLOW / 'main.py').relative_to(ROOT).as_posix()}:{call}" in finding["message"]
    assert {(Path(r["path"]).name, r["line"]) for r in finding["related"]} >= {("main.py", call), ("models.py", 13)}
    assert finding["fix"] is None  # other callers may pass something else: no rewrite of train.py


def test_callers_are_found_when_one_file_is_checked():
    """``logitlint check train.py`` alone still reads main.py, which calls it (no project root given)."""
    path = (FLOW / "train.py").relative_to(ROOT).as_posix()
    findings, _ = reported(path)
    assert findings == {f for f in expected(FLOW) if f[0] == path}


def test_callers_of_callers():
    """``outer_epoch(model, criterion, ...)`` passes its own parameters on: main.py's call counts."""
    _, diagnostics = reported(FLOW.relative_to(ROOT).as_posix())
    line = _flow_line("train.py", "return criterion(model(x), y)  # expect")
    (finding,) = [d for d in diagnostics if d["path"].endswith("flow/train.py") and d["line"] == line]
    assert "OtherSoftmaxNet" in finding["message"]
    assert f"main.py:{_flow_line('main.py', 'outer_epoch(OtherSoftmaxNet()')}" in finding["message"]


def test_a_changed_caller_invalidates_the_cached_result(tmp_path):
    """train.py's result depends on main.py: fixing the call site clears the finding on a warm run."""
    for name in ("main.py", "train.py", "models.py"):
        (tmp_path / name).write_text((FLOW / name).read_text())
    cache = ["--cache-dir", str(tmp_path / ".cache")]

    def train_findings() -> set[int]:
        result = run_cli("check", "--format", "json", *cache, str(tmp_path), cwd=tmp_path)
        data = json.loads(result.stdout)
        return {d["line"] for d in data["diagnostics"] if d["path"].endswith("train.py")}

    line = _flow_line("train.py", "loss = criterion(model(x), y)")
    assert line in train_findings()
    main = tmp_path / "main.py"
    main.write_text(main.read_text().replace("model = SoftmaxNet()", "model = LogitNet()"))
    assert line not in train_findings()


def test_call_site_records_hold_no_tree_and_last_one_check(tmp_path, monkeypatch):
    """What the reverse lookup keeps is small: a call site is a file position plus the arguments
    worth binding (the rest UNKNOWN), with no syntax tree or evaluator; and the records last only
    while one file (one text) is checked, so a run does not accumulate them."""
    import shutil

    from logitlint.analysis.callsites import callers, worth
    from logitlint.analysis.project import ProjectIndex
    from logitlint.analysis.values import UNKNOWN, Lazy
    from logitlint.runner import RunConfig, check_file

    root = tmp_path / "flow"
    shutil.copytree(FIXTURES / "projects" / "flow", root)
    monkeypatch.chdir(root)
    config = RunConfig(project=ProjectIndex([root]))
    lookups = callers(config.project)
    assert check_file(root / "train.py", config).diagnostics
    records = [site for _, sites in lookups._sites.values() for site in sites]
    assert records and "main.py" in {Path(site.origin.path).name for site in records}
    for site in records:
        assert site.origin.node is None and site.origin.unit is None and site.origin.line > 0
        for value in (*site.positional, *(v for _, v in site.keywords)):
            assert not isinstance(value, Lazy) and (value is UNKNOWN or worth(value))
    assert any(value is UNKNOWN for site in records for value in site.positional)  # the loader []
    check_file(root / "models.py", config)
    assert all(site not in records for _, sites in lookups._sites.values() for site in sites)


def test_a_new_caller_clears_the_cached_result(tmp_path):
    """A caller added after a cached run counts: train.py's cached result is not used when a new
    or changed file imports train's module (it may pass a probability model into ``train()``),
    and the finding appears on the warm run; remove the caller and it goes again."""
    for name in ("train.py", "models.py"):
        (tmp_path / name).write_text((FLOW / name).read_text())
    (tmp_path / "helpers.py").write_text("def unrelated():\n    return 1\n")
    cache = ["--cache-dir", str(tmp_path / ".cache")]
    trace = tmp_path / "analysed.txt"

    def train_findings() -> tuple[set[int], set[str]]:
        trace.unlink(missing_ok=True)
        env = {"LOGITLINT_TRACE_ANALYSED": str(trace)}
        result = run_cli("check", "--format", "json", *cache, str(tmp_path), cwd=tmp_path, env=env)
        data = json.loads(result.stdout)
        analysed = {Path(p).name for p in trace.read_text().split()} if trace.exists() else set()
        return {d["line"] for d in data["diagnostics"] if d["path"].endswith("train.py")}, analysed

    line = _flow_line("train.py", "loss = criterion(model(x), y)")
    caller = "import torch.nn as nn\nfrom models import SoftmaxNet\nfrom train import train\n\n"
    caller += "train(SoftmaxNet(), nn.CrossEntropyLoss(), [])\n"
    assert line not in train_findings()[0]
    assert train_findings()[1] == set()  # warm: nothing analysed
    main = tmp_path / "main.py"
    main.write_text(caller)  # a new file
    found, analysed = train_findings()
    assert line in found and {"main.py", "train.py"} <= analysed and "helpers.py" not in analysed
    main.unlink()
    assert line not in train_findings()[0]
    (tmp_path / "helpers.py").write_text(caller)  # a file that did not import train starts calling it
    assert line in train_findings()[0]
    (tmp_path / "helpers.py").write_text("def unrelated():\n    return 1\n")
    found, analysed = train_findings()
    assert line not in found and "train.py" in analysed
