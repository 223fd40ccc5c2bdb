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


@pytest.mark.parametrize("project", ["classifier", "script_style", "single"])
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
