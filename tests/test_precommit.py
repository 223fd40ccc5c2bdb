"""The hooks of .pre-commit-hooks.yaml, run by the real ``pre-commit try-repo`` against this
repository in a temporary git repository: the check fails, the fix hook rewrites the file, and a
second run passes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

SOURCE = "import torch\n\n\ndef logp(x):\n    return torch.log(torch.softmax(x, dim=1))\n"


def git(*args, cwd):
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def try_repo(cwd, home):
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "--all-files"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PRE_COMMIT_HOME": str(home)},
    )


def test_hooks_fail_fix_and_pass(tmp_path):
    assert (ROOT / ".git").exists(), "pre-commit try-repo needs this project to be a git checkout"
    work = tmp_path / "work"
    work.mkdir()
    (work / "model.py").write_text(SOURCE)
    (work / "notes.txt").write_text("torch.log(torch.softmax(x, dim=1))\n")  # not Python: not checked
    git("init", "-q", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "init", cwd=work)

    first = try_repo(work, tmp_path / "home")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "model.py:5:12: LGT201" in first.stdout
    assert "files were modified by this hook" in first.stdout
    assert (work / "model.py").read_text() == SOURCE.replace(
        "torch.log(torch.softmax(x, dim=1))", "torch.log_softmax(x, dim=1)"
    )
    assert (work / "notes.txt").read_text() == "torch.log(torch.softmax(x, dim=1))\n"

    second = try_repo(work, tmp_path / "home")
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count("Passed") == 2
