"""The README's set-up commands are the ones CI runs, and its rule table is generated from the rules."""

from __future__ import annotations

import re

from logitlint.docs import with_readme_table
from logitlint.rules import rule_classes
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    command = "python -m pip install -e '.[test]' && python -m pytest"
    assert command in README and command in ci


def test_readme_example_command_names_a_shipped_example():
    assert "logitlint check examples/" in README
    assert list((ROOT / "examples").glob("*.py"))


def test_readme_rule_table_is_generated_from_the_rules():
    assert README == with_readme_table(README), "stale rule table: run `python -m logitlint.docs --readme README.md`"
    listed = set(re.findall(r"^\| \[(LGT\d{3})\]\(docs/rules.md#", README, re.M))
    assert listed == {cls.code for cls in rule_classes()}


def test_readme_runtime_guard_example_warns_as_shown(tmp_path):
    """The README's guard example, run as a script: it prints the warning its comment shows."""
    import subprocess
    import sys

    import pytest

    pytest.importorskip("torch")
    (block,) = re.findall(r"```python\n(.*?)```", README, re.S)
    script = tmp_path / "train.py"
    script.write_text(block)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    shown = re.search(r"# (train\.py:\d+: LogitlintRuntimeWarning: LGT102 cross_entropy: .*?) \.\.\.", block, re.S)
    assert shown is not None
    expected = " ".join(shown.group(1).replace("\n# ", " ").split())
    assert expected in " ".join(result.stderr.split())
