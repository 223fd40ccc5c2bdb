"""Building fixes (edits against the original source) and applying them."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax
from logitlint.analysis.values import force
from logitlint.diagnostics import Diagnostic, Edit, Span

if TYPE_CHECKING:
    from logitlint.analysis.module import FunctionInfo, ModuleContext
    from logitlint.outline import ParsedUnit


def replace(unit: ParsedUnit, node: cst.CSTNode, text: str, *, absorb_parens: bool = False) -> Edit:
    """Replace ``node`` by ``text``. Its own parentheses stay, unless ``absorb_parens`` (the new
    text is an atom, such as a call) and they hug the node: ``2 * (exp(x) - 1)`` -> ``2 * expm1(x)``."""
    span = unit.span(node)
    lpar, rpar = getattr(node, "lpar", ()), getattr(node, "rpar", ())
    if (
        absorb_parens
        and lpar
        and len(lpar) == len(rpar)
        and span.line == span.end_line
        and all(isinstance(p.whitespace_after, cst.SimpleWhitespace) and not p.whitespace_after.value for p in lpar)
        and all(isinstance(p.whitespace_before, cst.SimpleWhitespace) and not p.whitespace_before.value for p in rpar)
    ):
        n = len(lpar)
        span = Span(span.line, span.col - n, span.end_line, span.end_col + n)
    return Edit(span, text)


def code_of(unit: ParsedUnit, node: cst.CSTNode, *, atom: bool = False) -> str:
    """Source of ``node`` to be placed elsewhere; parenthesised if ``atom`` is needed."""
    bare = syntax.unparenthesized(node) if isinstance(node, cst.BaseExpression) else node
    text = unit.code(bare)
    if atom and isinstance(node, cst.BaseExpression) and not syntax.is_atomic(bare):
        return f"({text})"
    return text


class Spelling:
    """How to spell a torch name in a file: through its imports, or with an import added."""

    def __init__(self, ctx: ModuleContext, scope: FunctionInfo | None = None):
        self.ctx, self.scope = ctx, scope

    def free(self, name: str) -> bool:
        """Can an import bind ``name`` without changing what any code here means?"""
        scope = self.scope
        while scope is not None:
            if name in scope.locals:
                return False
            scope = scope.parent
        return not self.ctx.has_global_binding(name)

    def __call__(self, qualname: str) -> tuple[str, tuple[Edit, ...]] | None:
        best: str | None = None
        for bindings in self.ctx.import_items.values():
            for local, bound in bindings:
                if qualname == bound or qualname.startswith(bound + "."):
                    if force(self.ctx.global_value(local)) != force(self.ctx.import_value(bound)):
                        continue  # rebound elsewhere in the module
                    candidate = local + qualname[len(bound) :]
                    if best is None or len(candidate) < len(best):
                        best = candidate
        if best is not None:
            return best, ()
        if qualname.startswith("torch.nn.functional.") and self.free("F"):
            return "F." + qualname.rsplit(".", 1)[1], (self.import_edit("import torch.nn.functional as F"),)
        if self.free("torch"):
            return qualname, (self.import_edit("import torch"),)
        return None  # no safe spelling: the caller offers no fix

    def import_edit(self, statement: str) -> Edit:
        """Insert an import after the last top-level import (or after the docstring)."""
        line = 0
        outline = self.ctx.outline
        for index in self.ctx.import_items:
            line = max(line, outline.items[index].last_line() + 1)
        if line == 0:
            line = _after_docstring(outline.text)
        return Edit(Span(line, 0, line, 0), statement + "\n")


def _after_docstring(text: str) -> int:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return 1
    line = 1
    for node in tree.body:
        is_doc = (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        )
        is_future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if (is_doc and node is tree.body[0]) or is_future:
            line = (node.end_lineno or node.lineno) + 1
        else:
            break
    return line


def offsets(text: str, span: Span, line_starts: Sequence[int]) -> tuple[int, int]:
    def at(line: int, col: int) -> int:
        if line - 1 >= len(line_starts):
            return len(text)
        return line_starts[line - 1] + col

    return at(span.line, span.col), at(span.end_line, span.end_col)


def apply_fixes(
    text: str, diagnostics: Iterable[Diagnostic], line_starts: Sequence[int]
) -> tuple[str, list[Diagnostic]]:
    """Apply the fixes that do not overlap (a fix's edits go in together or not at all).

    Returns the new text and the diagnostics whose fixes were applied. Identical edits from
    several fixes (the same added import) are applied once."""
    accepted: list[tuple[int, int, str]] = []
    applied: list[Diagnostic] = []
    for diagnostic in sorted(diagnostics, key=Diagnostic.sort_key):
        fix = diagnostic.fix
        if fix is None:
            continue
        edits = [(*offsets(text, e.span, line_starts), e.text) for e in fix.edits]
        new = [e for e in edits if e not in accepted]
        if any(_overlaps(e, other) for e in new for other in accepted):
            continue
        accepted.extend(new)
        applied.append(diagnostic)
    result = text
    for start, end, replacement in sorted(accepted, key=lambda e: (e[0], e[1]), reverse=True):
        result = result[:start] + replacement + result[end:]
    return result, applied


def _overlaps(a: tuple[int, int, str], b: tuple[int, int, str]) -> bool:
    if a[0] == a[1] or b[0] == b[1]:  # insertions conflict only when inside the other edit
        point, (start, end) = (a[0], b[:2]) if a[0] == a[1] else (b[0], a[:2])
        return start < point < end
    return a[0] < b[1] and b[0] < a[1]
