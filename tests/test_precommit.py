"""The hooks of .pre-commit-hooks.yaml, run by the real ``pre-commit try-repo`` against this
repository in a temporary git repository: the check fails, the fix hook rewrites the file, and a
second run passes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

import logitlint
from tests.conftest import ROOT, copy_project

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

README_TEXT = (ROOT / "README.md").read_text()
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
    # try-repo runs the hooks in alphabetical order: the check, then the fix.
    assert hook_lines(first.stdout) == {"logitlint": "Failed", "logitlint (fix)": "Failed"}, first.stdout
    assert "model.py:5:12: LGT201" in first.stdout
    assert "files were modified by this hook" in first.stdout
    assert (work / "model.py").read_text() == SOURCE.replace(
        "torch.log(torch.softmax(x, dim=1))", "torch.log_softmax(x, dim=1)"
    )
    assert (work / "notes.txt").read_text() == "torch.log(torch.softmax(x, dim=1))\n"

    second = try_repo(work, tmp_path / "home")
    assert second.returncode == 0, second.stdout + second.stderr
    assert hook_lines(second.stdout) == {"logitlint (fix)": "Passed", "logitlint": "Passed"}, second.stdout


def test_try_repo_reports_what_the_fix_hook_cannot_fix_once(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "train.py").write_text(
        "import torch.nn.functional as F\n\n\ndef f(x, y):\n    return F.cross_entropy(F.softmax(x, dim=1), y)\n"
    )
    git("init", "-q", cwd=work)
    git("add", ".", cwd=work)
    result = try_repo(work, tmp_path / "home")
    assert result.returncode == 1, result.stdout + result.stderr
    assert hook_lines(result.stdout) == {"logitlint (fix)": "Passed", "logitlint": "Failed"}, result.stdout
    assert result.stdout.count("train.py:5:28: LGT101") == 1, result.stdout


# The README's own configuration, run by real pre-commit (installed as the git hook) against a
# release-shaped copy of this repository: the working tree committed and tagged v<version> as the
# README's "Releases" says, standing in for the clone the README names /path/to/logitlint.

NOTEBOOK_DOUBLE_SOFTMAX = [
    "import torch\nimport torch.nn.functional as F",
    "def loss(x, y):\n    probs = F.softmax(x, dim=1)\n    return F.cross_entropy(probs, y)",
]
NOTEBOOK_FIXABLE = ["import torch", "def logp(x):\n    return torch.log(torch.softmax(x, dim=1))"]


def notebook(cells: list[str]) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    return nbformat.writes(nb)


def readme_yaml_blocks() -> list[str]:
    section = README_TEXT.split("\n## pre-commit\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, re.S)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    folder = copy_project(tmp_path_factory.mktemp("release") / "logitlint")
    git("init", "-q", cwd=folder)
    git("add", "-A", cwd=folder)
    git("commit", "-q", "-m", "release", cwd=folder)
    git("tag", f"v{logitlint.__version__}", cwd=folder)
    return folder


@pytest.fixture(scope="module")
def hook_home(tmp_path_factory):
    return tmp_path_factory.mktemp("pre-commit-home")  # hook environments, built once for the module


def scratch_repo(path, release, files: dict[str, str], *, block: int = 0):
    path.mkdir()
    git("init", "-q", cwd=path)
    config = readme_yaml_blocks()[block].replace("/path/to/logitlint", str(release))
    if not config.lstrip().startswith(("repos:", "#")):
        config = "repos:\n" + config
    (path / ".pre-commit-config.yaml").write_text(config)
    for name, text in files.items():
        (path / name).write_text(text)
    git("add", "-A", cwd=path)
    return path


def pre_commit(*args, cwd, home):
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"},
    )


def commit(cwd, home):
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(home),
        "NO_COLOR": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(
        ["git", "commit", "-m", "change"], cwd=cwd, capture_output=True, text=True, timeout=900, env=env
    )


def hook_lines(output: str) -> dict[str, str]:
    """{'logitlint (fix)': 'Passed', 'logitlint': 'Failed', ...} from pre-commit's status lines."""
    return {
        m[1]: m[2]
        for m in re.finditer(r"^(\S.*?)\.{3,}(?:\(no files to check\))?(Passed|Failed|Skipped)$", output, re.M)
    }


def test_readme_hooks_check_a_notebook(tmp_path, release, hook_home):
    repo = scratch_repo(tmp_path / "work", release, {"train.ipynb": notebook(NOTEBOOK_DOUBLE_SOFTMAX)})
    result = pre_commit("run", "--all-files", cwd=repo, home=hook_home)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert hook_lines(output) == {"logitlint (fix)": "Passed", "logitlint": "Failed"}, output
    assert "train.ipynb:cell 2:3:28: LGT101" in output
    assert output.count("LGT101") == 1, output  # reported by the check hook only: the fix hook is quiet


def test_readme_hooks_fail_a_fixable_commit_once_then_pass(tmp_path, release, hook_home):
    files = {"model.py": SOURCE, "train.ipynb": notebook(NOTEBOOK_FIXABLE)}
    repo = scratch_repo(tmp_path / "work", release, files)
    installed = pre_commit("install", cwd=repo, home=hook_home)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    first = commit(repo, hook_home)
    output = first.stdout + first.stderr
    assert first.returncode != 0, output
    # The fix hook rewrote both files; the check after it saw them fixed: one failure, not two.
    assert hook_lines(output) == {"logitlint (fix)": "Failed", "logitlint": "Passed"}, output
    assert "files were modified by this hook" in output
    assert "LGT201" not in output, output
    assert "torch.log_softmax(x, dim=1)" in (repo / "model.py").read_text()
    assert "torch.log_softmax(x, dim=1)" in (repo / "train.ipynb").read_text()

    git("add", "-A", cwd=repo)
    second = commit(repo, hook_home)
    output = second.stdout + second.stderr
    assert second.returncode == 0, output
    assert hook_lines(output) == {"logitlint (fix)": "Passed", "logitlint": "Passed"}, output


def test_readme_flake8_hook_reports_lgt_codes(tmp_path, release, hook_home):
    repo = scratch_repo(tmp_path / "work", release, {"model.py": SOURCE}, block=1)
    result = pre_commit("run", "--all-files", cwd=repo, home=hook_home)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert hook_lines(output) == {"flake8": "Failed"}, output
    assert "model.py:5:12: LGT201" in output
