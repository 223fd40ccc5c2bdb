"""The real ``logitlint fix`` on every fixture: the output equals ``after.py`` text, parses, and a
second run changes nothing; files without findings stay byte-identical."""

from __future__ import annotations

import ast
import re
import shutil

import pytest

from tests.conftest import run_cli
from tests.fixture_programs import programs

PROGRAMS = programs()


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_fix_turns_before_into_after(program, tmp_path):
    target = tmp_path / "program.py"
    shutil.copy(program.before, target)
    flags = ["--unsafe-fixes"] if program.fix_class in ("bug-fix", "value-change") else []
    result = run_cli("fix", *flags, str(target))
    assert result.returncode in (0, 1), result.stderr
    fixed = target.read_text()
    assert fixed == program.after.read_text(), result.stdout
    ast.parse(fixed)
    again = run_cli("fix", *flags, str(target))
    assert target.read_text() == fixed, "fix is not idempotent"
    assert "Fixed 0 findings" in again.stdout


@pytest.mark.parametrize(
    "program", [p for p in PROGRAMS if p.fix_class in ("bug-fix", "value-change")], ids=lambda p: p.name
)
def test_unsafe_fixes_need_the_flag(program, tmp_path):
    target = tmp_path / "program.py"
    shutil.copy(program.before, target)
    result = run_cli("fix", str(target))
    assert target.read_bytes() == program.before.read_bytes()
    assert "[!]" in result.stdout and result.returncode == 1


@pytest.mark.parametrize(
    "program", [p for p in PROGRAMS if p.fix_class in ("bug-fix", "value-change")], ids=lambda p: p.name
)
def test_unsafe_fix_titles_say_what_changes(program):
    """Editors show the title alone (LSP quick fixes): an unsafe fix must say what it changes."""
    from logitlint.engine import check_source

    titles = [d.fix.title for d in check_source(program.before.read_text(), str(program.before)) if d.fix]
    assert titles and all(re.search(r"\((changes|removes|multiplies) [^)]+\)$", t) for t in titles), titles


def test_fix_leaves_clean_files_byte_identical(tmp_path):
    from logitlint.engine import check_source
    from logitlint.rules import rule_classes

    sources = [ex for cls in rule_classes() for ex in cls.valid if not check_source(ex)]
    assert len(sources) > 10
    files = []
    for i, text in enumerate(sources):
        path = tmp_path / f"valid_{i}.py"
        path.write_bytes(text.replace("\n", "\r\n").encode() if i % 2 else text.encode())
        files.append((path, path.read_bytes()))
    result = run_cli("fix", "--unsafe-fixes", str(tmp_path))
    for path, data in files:
        if path.read_bytes() != data:
            pytest.fail(f"{path.name} changed:\n{data.decode()}\n{result.stdout}")
