"""The bad-input matrix: every row is a file logitlint must survive. Each run also checks a good
file with a finding, which must still be reported; exit code 2 when a file could not be checked."""

from __future__ import annotations

import codecs
import os
import random
from pathlib import Path

import pytest

from tests.conftest import run_cli

FINDING = "import torch\n\n\ndef logp(x):\n    return torch.log(torch.softmax(x, dim=1))\n"
GOOD = "good.py:5:12: LGT201"


def write(path: Path, data: bytes | str) -> None:
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def _symlink_loop(folder: Path) -> None:
    (folder / "pkg").mkdir()
    write(folder / "pkg" / "model.py", FINDING)
    os.symlink("..", folder / "pkg" / "loop")


def _huge(folder: Path) -> None:
    rng = random.Random(0)
    rows = ",\n".join("    [" + ", ".join(f"{rng.random():.6f}" for _ in range(10)) + "]" for _ in range(200_000))
    write(folder / "generated.py", "import torch\nTABLE = torch.tensor([\n" + rows + "\n])\n")


# name: (how to make the bad file(s), expected exit code, text the output must contain)
MATRIX = {
    "syntax error": (
        lambda f: write(f / "bad.py", "import torch\ndef f(:\n    return torch.log(x)\n"),
        2,
        "bad.py:2:7: error: syntax error: invalid syntax",
    ),
    "python 2 code": (
        lambda f: write(f / "bad.py", 'import torch\nprint "loss", torch.log(x)\n'),
        2,
        "bad.py:2:1: error: syntax error: Missing parentheses in call to 'print'",
    ),
    "undecodable bytes": (
        lambda f: write(f / "bad.py", b"import torch\nx = '\xff\xfe'\n"),
        2,
        "bad.py: error: cannot decode as utf-8",
    ),
    "utf-8 BOM": (lambda f: write(f / "bom.py", codecs.BOM_UTF8 + FINDING.encode()), 1, "bom.py:5:12: LGT201"),
    "CRLF newlines": (lambda f: write(f / "crlf.py", FINDING.replace("\n", "\r\n")), 1, "crlf.py:5:12: LGT201"),
    "mixed newlines": (
        lambda f: write(
            f / "mixed.py", "import torch\r\n\n\r\ndef logp(x):\n    return torch.log(torch.softmax(x, dim=1))\r\n"
        ),
        1,
        "mixed.py:5:12: LGT201",
    ),
    "tabs": (lambda f: write(f / "tabs.py", FINDING.replace("    ", "\t")), 1, "tabs.py:5:9: LGT201"),
    "form feeds": (
        lambda f: write(
            f / "ff.py", "import torch\n\x0c\n\x0cdef logp(x):\n    return torch.log(torch.softmax(x, dim=1))\n"
        ),
        1,
        "ff.py:4:12: LGT201",
    ),
    "PEP 263 coding line": (
        lambda f: write(f / "latin.py", ("# -*- coding: latin-1 -*-\n# \xe9\n" + FINDING).encode("latin-1")),
        1,
        "latin.py:7:12: LGT201",
    ),
    "empty file": (lambda f: write(f / "empty.py", b""), 1, GOOD),
    "binary file with a .py name": (
        lambda f: write(f / "blob.py", bytes(range(256)) * 64),
        2,
        "blob.py: error: binary file",
    ),
    "20 MB generated file": (_huge, 1, GOOD),
    "symlink loop": (_symlink_loop, 1, "model.py:5:12: LGT201"),
    "missing path": (lambda f: None, 2, "missing.py: error: no such file or directory"),
    "malformed notebook": (lambda f: write(f / "nb.ipynb", '{"cells": [ '), 2, "nb.ipynb: error: not a notebook"),
    "deeply nested expression": (
        lambda f: write(f / "deep.py", "import torch\nx = " + "(" * 5000 + "torch.log(y)" + ")" * 5000 + "\n"),
        2,
        "deep.py: error: code nested too deeply to analyse",
    ),
    "very long expression": (
        lambda f: write(f / "long.py", "import torch\nx = " + " + ".join(["torch.log(a)"] * 20000) + "\n"),
        2,
        "long.py: error: code nested more than 400 levels deep is not analysed",
    ),
}


@pytest.mark.parametrize("name", list(MATRIX))
def test_bad_input(name, tmp_path):
    make, code, expected = MATRIX[name]
    write(tmp_path / "good.py", FINDING)
    make(tmp_path)
    result = (
        run_cli("check", "--no-source", "--no-cache", ".", "missing.py", cwd=tmp_path)
        if name == "missing path"
        else run_cli("check", "--no-source", "--no-cache", ".", cwd=tmp_path)
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert expected in result.stdout, result.stdout + result.stderr
    assert GOOD in result.stdout  # the rest of the run goes on
    assert result.returncode == code, result.stdout


def test_unreadable_file(tmp_path, monkeypatch):
    write(tmp_path / "good.py", FINDING)
    secret = tmp_path / "secret.py"
    write(secret, FINDING)
    if os.geteuid() != 0:
        secret.chmod(0)
        result = run_cli("check", "--no-source", "--no-cache", ".", cwd=tmp_path)
        assert "secret.py: error: cannot read: Permission denied" in result.stdout and GOOD in result.stdout
        assert result.returncode == 2
        return
    # root reads anything: make reading this one file fail as it would for anyone else
    from logitlint import runner

    real = Path.read_bytes

    def read_bytes(self):
        if self.name == "secret.py":
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.chdir(tmp_path)
    reports = runner.run(["."], runner.RunConfig(jobs=1))
    by_name = {Path(r.path).name: r for r in reports}
    assert by_name["secret.py"].error.message == "cannot read: Permission denied"
    assert [d.code for d in by_name["good.py"].diagnostics] == ["LGT201"]


def test_malformed_pyproject(tmp_path):
    write(tmp_path / "good.py", FINDING)
    write(tmp_path / "pyproject.toml", "[tool.logitlint\nselect = [")
    result = run_cli("check", ".", cwd=tmp_path)
    assert result.returncode == 2 and "invalid TOML" in result.stderr and "pyproject.toml" in result.stderr
