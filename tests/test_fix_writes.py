"""What `logitlint fix` promises about the files it writes: owner, links, failed writes reported as
such, and every file either the original or the fixed version whenever the run is killed."""

from __future__ import annotations

import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli

FIXTURE = FIXTURES / "fixes" / "LGT201-direct"
BEFORE = (FIXTURE / "before.py").read_text()
AFTER = (FIXTURE / "after.py").read_text()
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(BEFORE)
    return path


@root_only
def test_fix_keeps_the_owner(program):
    os.chown(program, 65534, 65534)
    os.chmod(program, 0o640)
    result = run_cli("fix", "--no-cache", str(program))
    assert result.returncode in (0, 1), result.stderr
    info = os.stat(program)
    assert program.read_text() == AFTER
    assert (info.st_uid, info.st_gid, info.st_mode & 0o777) == (65534, 65534, 0o640)


def test_a_hard_linked_file_is_refused_and_left_whole(program):
    other = program.with_name("same.py")
    os.link(program, other)
    result = run_cli("fix", "--no-cache", str(program))
    assert result.returncode == 2
    assert "hard links" in result.stdout + result.stderr and "Traceback" not in result.stderr
    assert program.read_text() == BEFORE and os.stat(program).st_ino == os.stat(other).st_ino


def _file_size_limit(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_failed_write_is_reported_as_such_and_not_counted(program):
    """A full disk, simulated by a file size limit smaller than the fixed file."""
    result = subprocess.run(
        [sys.executable, "-m", "logitlint", "fix", "--no-cache", str(program)],
        capture_output=True,
        text=True,
        preexec_fn=_file_size_limit(64),
        env={**os.environ, "NO_COLOR": "1"},
        timeout=120,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    assert "cannot write" in out and "cannot read" not in out and "Fixed 1" not in out
    assert program.read_text() == BEFORE
    assert [p.name for p in program.parent.iterdir()] == ["train.py"]  # no temporary file left


def test_a_stale_temporary_file_of_a_dead_run_is_removed(program):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = program.with_name(f".train.py.logitlint-{int(dead.stdout)}-abc.tmp")
    live = program.with_name(f".train.py.logitlint-{os.getpid()}-abc.tmp")  # a live process's
    stale.write_text("half")
    live.write_text("half")
    run_cli("fix", "--no-cache", str(program))
    assert not stale.exists() and live.exists()


def _tree(root: Path, count: int) -> None:
    for i in range(count):
        folder = root / f"pkg{i % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"m{i}.py").write_text(BEFORE + f"\n# file {i}\n" + "x = 1\n" * (i * 40))


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_fix_leaves_every_file_whole(tmp_path, sig):
    expected = tmp_path / "expected"
    _tree(expected, 40)
    assert run_cli("fix", "--no-cache", str(expected)).returncode in (0, 1)
    rng = random.Random(sig)
    for trial in range(3):
        tree = tmp_path / f"tree{trial}"
        _tree(tree, 40)
        process = subprocess.Popen(
            [sys.executable, "-m", "logitlint", "fix", "--no-cache", "-j", "2", str(tree)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.3, 2.0))
        os.killpg(process.pid, sig)
        _, err = process.communicate(timeout=60)
        if sig == signal.SIGINT:
            assert "Traceback" not in err, err
        for path in tree.rglob("*.py"):
            text = path.read_text()
            fixed = (expected / path.relative_to(tree)).read_text()
            assert text in (fixed, fixed.replace(AFTER, BEFORE, 1)), path
        leftovers = [p for p in tree.rglob("*") if p.name.endswith(".tmp")]
        if sig == signal.SIGINT:
            assert leftovers == []
        run_cli("fix", "--no-cache", str(tree))  # a later run finishes the job and cleans up
        assert [p for p in tree.rglob("*") if p.name.endswith(".tmp")] == []
        for path in tree.rglob("*.py"):
            assert path.read_text() == (expected / path.relative_to(tree)).read_text()
        shutil.rmtree(tree)


def test_ctrl_c_while_still_importing_is_one_line():
    """A SIGINT that lands before the CLI is even imported (a slow start on a busy machine) exits
    130 with one line, as it does later, and no traceback."""
    script = (
        "import runpy, sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'logitlint.config':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "sys.argv = ['logitlint', 'check', '.']\n"
        "runpy.run_module('logitlint', run_name='__main__')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 130, result.stderr
    assert result.stderr == "logitlint: interrupted\n"
