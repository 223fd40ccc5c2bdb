"""Fixes never corrupt: atomic writes, no overwrite of a file changed meanwhile, no fix that breaks
parsing or fails to clear its finding, and concurrent runs leave every file original or fixed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from logitlint import files, runner
from logitlint.diagnostics import Diagnostic, Edit, Fix, FixClass, Severity, Span
from logitlint.fixer import fix_source
from tests.conftest import run_cli as runner_cli
from tests.fixture_programs import programs

SOURCE = "import torch\n\n\ndef logp(x):\n    return torch.log(torch.softmax(x, dim=1))\n"


def finding(text: str, replacement: str) -> Diagnostic:
    line = text.splitlines()[4]
    start = line.index("torch.log")
    span = Span(5, start, 5, len(line))
    fix = Fix("test", FixClass.FINITE, (Edit(span, replacement),))
    return Diagnostic("LGT201", "log-of-softmax", "m", Severity.WARNING, "x.py", span, fix)


def test_a_fix_that_would_not_parse_is_dropped():
    outcome = fix_source(
        SOURCE, lambda text: [finding(text, "torch.log_softmax(x, dim=1")] if "torch.log(" in text else []
    )
    assert outcome.text == SOURCE
    assert [why for _, why in outcome.dropped] == ["the fixed code would not parse"]


def test_a_fix_that_does_not_clear_its_finding_is_dropped():
    def check(text):
        return [finding(text, "torch.log(torch.softmax(x, dim=-1))")] if "torch.log(" in text else []

    outcome = fix_source(SOURCE, check)
    assert outcome.text == SOURCE
    assert [why for _, why in outcome.dropped] == ["the fixed code still has the finding"]


def test_a_fix_that_reveals_a_finding_of_another_fixes_code_still_applies_both(tmp_path):
    """Found by fuzzing: fixing the BCELoss (LGT203) reveals softmax output going into the
    with-logits loss (a new LGT106); the other LGT106 fix, on the next line, is not to blame and
    is applied in the same run, so a second run changes nothing."""
    target = tmp_path / "step.py"
    target.write_text(
        "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n"
        "def step(x, y):\n"
        "    loss = nn.BCELoss()(torch.sigmoid(F.softmax(x, 1)), y)\n"
        "    loss = F.binary_cross_entropy_with_logits(torch.sigmoid(x), y)\n"
        "    return loss\n"
    )
    result = runner_cli("fix", "--unsafe-fixes", "--no-cache", str(target))
    fixed = target.read_text()
    assert "loss = nn.BCEWithLogitsLoss()(F.softmax(x, 1), y)" in fixed, result.stdout
    assert "loss = F.binary_cross_entropy_with_logits(x, y)" in fixed
    assert "not applied" not in result.stdout
    runner_cli("fix", "--unsafe-fixes", "--no-cache", str(target))
    assert target.read_text() == fixed


def test_a_file_changed_on_disk_is_not_overwritten(tmp_path, monkeypatch):
    target = tmp_path / "model.py"
    target.write_text(SOURCE)
    real = runner.fix_text

    def edit_meanwhile(*args, **kwargs):
        report = real(*args, **kwargs)
        target.write_text(SOURCE + "# edited by someone else\n")
        return report

    monkeypatch.setattr(runner, "fix_text", edit_meanwhile)
    report = runner.fix_file(target, runner.RunConfig())
    assert "changed on disk" in report.error.message
    assert target.read_text().endswith("# edited by someone else\n")


def test_a_failed_write_leaves_the_original(tmp_path, monkeypatch):
    target = tmp_path / "model.py"
    target.write_text(SOURCE)

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", fail)
    report = runner.fix_file(target, runner.RunConfig())
    assert "No space left on device" in report.error.message
    assert target.read_text() == SOURCE
    assert [p.name for p in tmp_path.iterdir()] == ["model.py"]  # the temporary file is gone


def test_two_fix_runs_at_once(tmp_path):
    """Every file ends either as it was or fully fixed, and parses."""
    fixtures = [p for p in programs() if p.inputs or p.name.startswith("LGT102")]
    for p in fixtures:
        for copy in range(3):
            shutil.copy(p.before, tmp_path / f"{p.name.replace('-', '_')}_{copy}.py")
    command = [sys.executable, "-m", "logitlint", "fix", "--unsafe-fixes", "--no-cache", "-j", "1", str(tmp_path)]
    env = {**os.environ, "NO_COLOR": "1"}
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    second = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    assert first.wait(timeout=600) in (0, 1, 2) and second.wait(timeout=600) in (0, 1, 2)
    for p in fixtures:
        for copy in range(3):
            text = (tmp_path / f"{p.name.replace('-', '_')}_{copy}.py").read_text()
            assert text in (p.before.read_text(), p.after.read_text()), p.name
            compile(text, p.name, "exec")
    assert not [q for q in tmp_path.iterdir() if q.name.startswith(".")]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_fix_writes_through_a_symlink_without_replacing_it(tmp_path):
    real = tmp_path / "real.py"
    real.write_text(SOURCE)
    link = tmp_path / "link.py"
    link.symlink_to(real)
    runner.fix_file(link, runner.RunConfig())
    assert link.is_symlink() and "torch.log_softmax" in real.read_text()
