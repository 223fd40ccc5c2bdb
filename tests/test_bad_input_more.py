"""Issue 17, points 2 and 3, through the real command: summaries that say what was not checked, a
fix that never writes a file that does not parse, and bad input named without a traceback while
the rest of the run goes on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli

FINDING = "import torch\n\n\ndef logp(x):\n    return torch.log(torch.softmax(x, dim=1))\n"
FIXED = "import torch\n\n\ndef logp(x):\n    return torch.log_softmax(x, dim=1)\n"
GOOD = "good.py:5:12: LGT201"
DOUBLE_SOFTMAX_AND_SYNTAX_ERROR = (
    "import torch.nn.functional as F\n\n\ndef step(logits, y):\n"
    "    return F.cross_entropy(F.softmax(logits, dim=1), y)\n\n\ndef g(:\n    pass\n"
)


def assert_no_traceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr


# --- point 2: honest summaries -------------------------------------------------------------------
def test_a_skipped_file_is_not_called_passed(tmp_path):
    (tmp_path / "a.py").write_text("def f(:\n")
    result = run_cli("check", "--no-cache", "a.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "All checks passed" not in result.stdout
    assert "No findings in 0 files checked; 1 file skipped (no PyTorch loss code)." in result.stdout


def test_the_skip_count_survives_the_cache(tmp_path):
    (tmp_path / "a.py").write_text("def f(:\n")
    (tmp_path / "good.py").write_text(FINDING)
    for _ in range(2):  # cold, then answered from the cache
        result = run_cli("check", "--no-source", ".", cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        assert "Found 1 finding." in result.stdout
        assert "1 file skipped (no PyTorch loss code)." in result.stdout


def test_all_checks_passed_when_every_file_was_analysed(tmp_path):
    (tmp_path / "ok.py").write_text("import torch.nn.functional as F\n\n\ndef f(z, y):\n    return F.cross_entropy(z, y)\n")
    result = run_cli("check", "--no-cache", "ok.py", cwd=tmp_path)
    assert result.returncode == 0
    assert "All checks passed." in result.stdout
    assert "skipped" not in result.stdout


def test_fix_never_writes_a_file_that_does_not_parse_whole(tmp_path):
    path = tmp_path / "b.py"
    path.write_text(DOUBLE_SOFTMAX_AND_SYNTAX_ERROR)
    result = run_cli("fix", "--no-cache", "--unsafe-fixes", "b.py", cwd=tmp_path)
    assert path.read_text() == DOUBLE_SOFTMAX_AND_SYNTAX_ERROR
    assert "Fixed 0 findings in 0 files." in result.stdout
    assert "b.py:5:28: LGT101 fix not applied: the file does not parse as a whole" in result.stderr
    assert result.returncode == 1


# --- point 3: bad input named, the run goes on ---------------------------------------------------
def test_notebook_source_of_non_strings(tmp_path):
    cell = {"cell_type": "code", "source": [1, 2], "metadata": {}, "outputs": [], "execution_count": None}
    (tmp_path / "nb.ipynb").write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    (tmp_path / "good.py").write_text(FINDING)
    check = run_cli("check", "--no-cache", "--no-source", ".", cwd=tmp_path)
    assert_no_traceback(check)
    assert check.returncode == 2
    assert GOOD in check.stdout
    assert "nb.ipynb: error: not a notebook: a cell's source is a list holding non-strings" in check.stdout
    fix = run_cli("fix", "--no-cache", ".", cwd=tmp_path)
    assert_no_traceback(fix)
    assert (tmp_path / "good.py").read_text() == FIXED


def test_pyproject_tool_is_not_a_table(tmp_path):
    (tmp_path / "pyproject.toml").write_text('tool = "tool.logitlint"\n')
    (tmp_path / "good.py").write_text(FINDING)
    result = run_cli("check", "--no-cache", ".", cwd=tmp_path)
    assert_no_traceback(result)
    assert result.returncode == 2
    assert "pyproject.toml: `tool` must be a table, not str" in result.stderr


def test_undecodable_file_name_on_an_ascii_terminal(tmp_path):
    name = os.fsencode(tmp_path) + b"/bad\xff.py"
    with open(name, "wb") as handle:
        handle.write(FINDING.encode())
    (tmp_path / "good.py").write_text(FINDING)
    result = run_cli("check", "--no-cache", "--no-source", ".", cwd=tmp_path, env={"PYTHONIOENCODING": "ascii"})
    assert_no_traceback(result)
    assert result.returncode == 1
    assert "bad\\udcff.py:5:12: LGT201" in result.stdout
    assert GOOD in result.stdout


def test_fifo_is_skipped_not_waited_for(tmp_path):
    os.mkfifo(tmp_path / "x.py")
    (tmp_path / "good.py").write_text(FINDING)
    for target in (".", "x.py"):
        result = subprocess.run(
            [sys.executable, "-m", "logitlint", "check", "--no-cache", "--no-source", target],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,  # the old code blocks on open() for ever
        )
        assert_no_traceback(result)
        assert result.returncode == 2
        assert "x.py: error: not a regular file; skipped" in result.stdout
    assert GOOD in run_cli("check", "--no-cache", "--no-source", ".", cwd=tmp_path).stdout


def test_cr_only_file_with_coding_in_a_later_line(tmp_path):
    text = "# training helpers\n" + FINDING.replace("    return", '    """Mind the coding: style."""\n    return')
    data = text.replace("\n", "\r").encode()  # CR-only: the old reader took it all as one first line
    compile(data, "cr.py", "exec")  # Python reads it
    (tmp_path / "cr.py").write_bytes(data)
    result = run_cli("check", "--no-cache", "--no-source", "cr.py", cwd=tmp_path)
    assert_no_traceback(result)
    assert "cr.py:7:12: LGT201" in result.stdout
    assert result.returncode == 1


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_exits_130_with_one_line(tmp_path, jobs):
    for i in range(300):  # units of their own (a text seen before is not parsed again): the run must last
        copies = (FINDING.replace("logp", f"logp_{i}_{j}") for j in range(20))
        (tmp_path / f"m{i:03d}.py").write_text("".join(copies))
    started = tmp_path / "started.txt"
    process = subprocess.Popen(
        [sys.executable, "-m", "logitlint", "check", "--no-cache", "-j", jobs, "."],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LOGITLINT_TRACE_ANALYSED": str(started)},
        start_new_session=True,  # its own process group, which a terminal's Ctrl-C signals as a whole
    )
    try:
        deadline = time.monotonic() + 120
        while not started.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)  # polling for the event (the run has begun analysing), not a timing guess
        assert process.poll() is None, "the run ended before it could be interrupted"
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, stderr
    assert stderr.strip() == "logitlint: interrupted", stderr
