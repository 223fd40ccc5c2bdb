"""The flake8 plugin, driven through a real ``flake8`` subprocess, against ``logitlint check``."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import FIXTURES, ROOT, run_cli

NOQA_SOURCE = textwrap.dedent("""\
    import torch
    import torch.nn.functional as F


    def f(x, y):
        a = F.cross_entropy(F.softmax(x, dim=1), y)  # noqa
        b = F.cross_entropy(F.softmax(x, dim=1), y)  # noqa: LGT101
        c = F.cross_entropy(F.softmax(x, dim=1), y)  # noqa: LGT1
        d = F.cross_entropy(F.softmax(x, dim=1), y)  # noqa: E501
        e = torch.log(F.softmax(x, dim=1))  # NOQA:LGT101,LGT201
        g = torch.log(F.softmax(x, dim=1))  # noqa: LGT101
        h = F.nll_loss(
            F.softmax(x, dim=1), y)  # noqa: LGT103
        return a, b, c, d, e, g, h
    """)


def flake8(*args: str, cwd: Path = ROOT, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def parse_flake8(output: str) -> set[tuple[str, int, int, str]]:
    found = set()
    for line in output.splitlines():
        path, row, col, rest = line.split(":", 3)
        found.add((Path(path).as_posix(), int(row), int(col), rest.split()[0]))
    return found


def parse_check(*args: str, cwd: Path = ROOT) -> set[tuple[str, int, int, str]]:
    data = json.loads(run_cli("check", "--format", "json", *args, cwd=cwd).stdout)
    return {(Path(d["path"]).as_posix(), d["line"], d["column"], d["code"]) for d in data["diagnostics"]}


def test_flake8_and_check_agree_on_the_fixtures():
    paths = ["fixtures/fixes", "examples"]
    result = flake8("--select", "LGT", *paths)
    assert result.returncode == 1, result.stderr
    from_flake8 = parse_flake8(result.stdout)
    assert from_flake8 and from_flake8 == parse_check(*paths)


def test_parallel_mode_gives_the_same_findings():
    one = parse_flake8(flake8("--select", "LGT", "-j", "1", "fixtures/fixes").stdout)
    two = parse_flake8(flake8("--select", "LGT", "-j", "2", "fixtures/fixes").stdout)
    assert one and one == two


def test_stdin():
    source = (FIXTURES / "fixes" / "LGT101-direct" / "before.py").read_text()
    result = flake8("--select", "LGT", "--stdin-display-name", "train.py", "-", stdin=source)
    assert parse_flake8(result.stdout) == {("train.py", 13, 28, "LGT101")}


def test_noqa_is_read_the_same_way(tmp_path):
    (tmp_path / "noqa_cases.py").write_text(NOQA_SOURCE)
    from_flake8 = parse_flake8(flake8("--select", "LGT", "noqa_cases.py", cwd=tmp_path).stdout)
    from_check = parse_check("noqa_cases.py", cwd=tmp_path)
    assert from_flake8 == from_check
    assert {(line, code) for _, line, _, code in from_check} == {(9, "LGT101"), (11, "LGT201")}


def test_per_file_ignores_flag(tmp_path):
    (tmp_path / "tests").mkdir()
    source = (FIXTURES / "fixes" / "LGT101-direct" / "before.py").read_text()
    (tmp_path / "tests" / "test_a.py").write_text(source)
    (tmp_path / "train.py").write_text(source)
    from_flake8 = parse_flake8(
        flake8("--select", "LGT", "--per-file-ignores", "tests/*.py:LGT101", ".", cwd=tmp_path).stdout
    )
    from_check = parse_check("--per-file-ignores", "tests/*.py:LGT101", ".", cwd=tmp_path)
    assert {p for p, *_ in from_flake8} == {p for p, *_ in from_check} == {"train.py"}


def test_pyproject_configuration_applies_in_both(tmp_path):
    source = (FIXTURES / "fixes" / "LGT101-direct" / "before.py").read_text() + (
        "\n\ndef logp(x):\n    import torch\n    return torch.log(F.softmax(x, dim=1))\n"
    )
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "run.py").write_text(source)
    (tmp_path / "train.py").write_text(source)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.logitlint]\nignore = ["LGT302"]\nper-file-ignores = { "scripts/*" = ["LGT2"] }\n'
    )
    from_flake8 = {
        (Path(p).name, line, code)
        for p, line, _, code in parse_flake8(flake8("--select", "LGT", ".", cwd=tmp_path).stdout)
    }
    from_check = {(Path(p).name, line, code) for p, line, _, code in parse_check(".", cwd=tmp_path)}
    assert (
        from_flake8 == from_check == {("run.py", 13, "LGT101"), ("train.py", 13, "LGT101"), ("train.py", 18, "LGT201")}
    )


def test_bad_configuration_is_a_clear_error_in_flake8(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.logitlint]\nselect = "LGT1"\n')
    (tmp_path / "a.py").write_text((FIXTURES / "fixes" / "LGT101-direct" / "before.py").read_text())
    result = flake8("--select", "LGT", "a.py", cwd=tmp_path)
    assert result.returncode != 0 and "select" in result.stdout + result.stderr


def test_columns_follow_flake8_bugbear_on_non_ascii_lines(tmp_path):
    """flake8's AST plugins report ``ast`` column offsets (UTF-8 bytes): flake8-bugbear's B009 and
    LGT103 on the same line use the same convention."""
    source = 'import torch.nn.functional as F\nv = ("é", getattr(F.nll_loss(F.softmax(x, dim=1), t), "real"))\n'
    (tmp_path / "a.py").write_text(source, encoding="utf-8")
    found = parse_flake8(flake8("--select", "LGT103,B009", "a.py", cwd=tmp_path).stdout)
    tree = ast.parse(source)
    calls = {ast.unparse(node.func): node.col_offset for node in ast.walk(tree) if isinstance(node, ast.Call)}
    assert found == {("a.py", 2, calls["getattr"] + 1, "B009"), ("a.py", 2, calls["F.softmax"] + 1, "LGT103")}
    # the CLI counts characters, as ruff does
    assert parse_check("a.py", cwd=tmp_path) == {("a.py", 2, calls["F.softmax"], "LGT103")}


def test_plugin_does_no_work_on_files_without_torch_words(monkeypatch):
    from logitlint import flake8_plugin

    calls = []
    monkeypatch.setattr(flake8_plugin, "check_source", lambda *a, **k: calls.append(a) or [])
    lines = ["import os\n", "print(os.getcwd())\n"] * 500
    assert list(flake8_plugin.LogitlintChecker(ast.parse("".join(lines)), lines, "plain.py").run()) == []
    assert calls == []


def test_plugin_is_registered():
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--version"], capture_output=True, text=True, env={**os.environ}
    )
    assert "logitlint" in result.stdout


def test_plugin_checks_with_the_engines_collector_thresholds(monkeypatch):
    """While the engine checks a file the cyclic collector runs with the thresholds of
    ``logitlint check``'s workers (its LibCST nodes made the default ones a fifth of the plugin's
    CPU); flake8's own work gets its thresholds back, also when the check fails."""
    import gc

    from logitlint import flake8_plugin
    from logitlint.runner import GC_THRESHOLDS

    seen = []

    def check(*args, **kwargs):
        seen.append(gc.get_threshold())
        raise flake8_plugin.SyntaxErrorInFile("bad", 1, 0)

    monkeypatch.setattr(flake8_plugin, "check_source", check)
    lines = ["import torch\n", "p = torch.softmax(x, 1)\n", "torch.log(p)\n"]
    previous = gc.get_threshold()  # another test's in-process run may have set the engine's
    gc.set_threshold(700, 10, 10)  # flake8's (Python's default)
    try:
        assert list(flake8_plugin.LogitlintChecker(ast.parse("".join(lines)), lines, "t.py").run()) == []
        assert seen == [GC_THRESHOLDS] and gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*previous)
