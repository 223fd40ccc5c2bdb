"""The analysis tests node kinds with ``type(node) is cst.X`` (LibCST's classes use ABCMeta, where an
``isinstance`` that fails runs a Python-level ``__instancecheck__``: 0.4 µs against 0.005 µs, and the
evaluator makes millions of such tests). That is the same test only while no class subclasses
``cst.X``: this checks every class so compared, in every module of the package."""

from __future__ import annotations

import ast

import libcst as cst
import pytest

from tests.conftest import ROOT

SOURCES = sorted((ROOT / "src" / "logitlint").rglob("*.py"))


def _compared_classes(tree: ast.AST) -> set[str]:
    """Names X of ``cst.X`` used as the right side of ``type(...) is / is not / in / not in``."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare) or not isinstance(node.left, ast.Call):
            continue
        if not (isinstance(node.left.func, ast.Name) and node.left.func.id == "type"):
            continue
        for right in node.comparators:
            for part in right.elts if isinstance(right, ast.Tuple) else [right]:
                if isinstance(part, ast.Attribute) and isinstance(part.value, ast.Name) and part.value.id == "cst":
                    found.add(part.attr)
    return found


COMPARED = sorted({name for path in SOURCES for name in _compared_classes(ast.parse(path.read_text()))})


def test_the_analysis_compares_node_types():
    assert {"Call", "Name", "Attribute", "If"} <= set(COMPARED)


@pytest.mark.parametrize("name", COMPARED)
def test_no_subclass_of_a_compared_class(name):
    cls = getattr(cst, name)
    assert isinstance(cls, type) and issubclass(cls, cst.CSTNode)
    assert not cls.__subclasses__(), f"cst.{name} has subclasses: compare with isinstance"
