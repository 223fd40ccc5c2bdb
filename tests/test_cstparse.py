"""The fast parse gives LibCST's own tree and errors, and leaves node validation in place outside it."""

from __future__ import annotations

import libcst as cst
import pytest

from logitlint import cstparse
from tests.conftest import FIXTURES, ROOT

SOURCES = sorted(FIXTURES.rglob("*.py")) + sorted((ROOT / "src" / "logitlint" / "analysis").glob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_same_tree_as_libcst(path):
    text = path.read_text(encoding="utf-8")
    fast = cstparse.parse_module(text)
    assert fast.deep_equals(cst.parse_module(text))
    assert fast.code == text
    assert cstparse.validating()


@pytest.mark.parametrize("text", ["def f(:\n", "x = (1,\n", "class A\n    pass\n"])
def test_same_error_and_validation_restored(text):
    with pytest.raises(cst.ParserSyntaxError) as expected:
        cst.parse_module(text)
    with pytest.raises(cst.ParserSyntaxError) as got:
        cstparse.parse_module(text)
    assert str(got.value) == str(expected.value)
    assert cstparse.validating()


def test_nodes_built_after_a_parse_are_validated():
    cstparse.parse_module("x = 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")


def test_nodes_built_during_a_parse_skip_validation_only_then(monkeypatch):
    calls = []
    original = cst.parse_module

    def parse_and_build(text):
        calls.append(cstparse.validating())
        return original(text)

    monkeypatch.setattr(cst, "parse_module", parse_and_build)
    cstparse.parse_module("y = 2\n")
    assert calls == [False]
    assert cstparse.validating()
