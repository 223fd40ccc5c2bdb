"""The rule API: everything a rule may ask about the code it checks, and the way it reports.

A rule sees values of expressions (``ctx.value``), names of callees, source text, and builds fixes
and diagnostics here; it never touches the evaluator or the engine. The engine creates one
``RuleContext`` per checked unit and collects what rules report through a ``Reporter``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from logitlint import fixes
from logitlint.analysis import syntax
from logitlint.diagnostics import Diagnostic, Edit, Fix, FixClass, Related, Severity

if TYPE_CHECKING:
    import libcst as cst

    from logitlint.analysis.evaluate import Evaluator
    from logitlint.analysis.module import FunctionInfo, ModuleContext
    from logitlint.analysis.values import Origin, Producer, Value
    from logitlint.outline import ParsedUnit
    from logitlint.rules.base import Rule


class Reporter(Protocol):
    """Where diagnostics go (the engine's file check)."""

    path: str

    def add(self, diagnostic: Diagnostic) -> None: ...


def display_path(path: str, reference: str) -> str:
    """A related file's path as the user named the checked file: relative if that one was."""
    if path == reference or os.path.isabs(reference) or not os.path.isabs(path):
        return path
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


class RuleContext:
    """What a rule sees: values of expressions, their source, and a way to report."""

    def __init__(
        self, reporter: Reporter, module: ModuleContext, ev: Evaluator, line_label: Callable[[int], str] | None = None
    ):
        self._reporter, self._ev = reporter, ev
        self.module = module
        self._line_label = line_label  # a notebook names the cell: ``cell 4, line 3``

    @property
    def path(self) -> str:
        return self._reporter.path

    @property
    def unit(self) -> ParsedUnit:
        return self._ev.unit  # type: ignore[return-value]

    @property
    def scope(self) -> FunctionInfo | None:
        """The function being checked (None at module level)."""
        return self._ev.scope

    @property
    def file_text(self) -> str:
        return self.module.outline.text

    def value(self, node: cst.CSTNode) -> Value:
        return self._ev.value(node)

    def still_valid(self, producer: Producer) -> bool:
        """Would re-evaluating the producer's call here give the same value (no name it reads was
        rebound since, and the call has no side effects)?"""
        return self._ev.still_valid(producer)

    def rebound_since(self, producer: Producer) -> list[str]:
        """The names the producer's call reads that were assigned again since it ran."""
        return sorted(name for name, stamp in producer.stamps if (self._ev.stamp_of(name) or 0) != stamp)

    def callee(self, call: cst.Call) -> str | None:
        return self._ev.callee_name(call)

    def code(self, node: cst.CSTNode) -> str:
        return self._ev.code(node)

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self._ev.parent(node)

    def spell(self, qualname: str) -> tuple[str, tuple[Edit, ...]] | None:
        return fixes.Spelling(self.module, self._ev.scope)(qualname)

    def replace(
        self, node: cst.CSTNode, text: str, unit: ParsedUnit | None = None, *, absorb_parens: bool = False
    ) -> Edit:
        return fixes.replace(unit or self.unit, node, text, absorb_parens=absorb_parens)

    def source(self, node: cst.CSTNode, *, atom: bool = False, unit: ParsedUnit | None = None) -> str:
        return fixes.code_of(unit or self.unit, node, atom=atom)

    def related(self, origin: Origin | None, message: str | None = None) -> tuple[Related, ...]:
        if origin is None:
            return ()
        resolved = origin.resolve(self.path)
        if not resolved.line:
            return ()
        path = display_path(resolved.path or self.path, self.path)
        return (Related(path, resolved.line, resolved.col, message or resolved.description),)

    def where(self, origin: Origin | None) -> str:
        """``line 12`` or ``models.py:12`` for a message."""
        if origin is None:
            return "elsewhere"
        resolved = origin.resolve(self.path)
        if resolved.path and os.path.abspath(resolved.path) != os.path.abspath(self.path):
            return f"{display_path(resolved.path, self.path)}:{resolved.line}"
        return self._line_label(resolved.line) if self._line_label is not None else f"line {resolved.line}"

    def in_reference_code(self, implemented: frozenset[str] = frozenset()) -> bool:
        """Is the expression being checked inside an implementation of one of ``implemented``, or
        inside a test's reference implementation (a definition or keyword argument whose name says
        ``ref``, ``reference`` or ``oracle``, in a test file)?"""
        names = self._ev.enclosing_names()
        if any(name.strip("_") in implemented for name in names):
            return True
        return syntax.is_test_path(self.path) and any(syntax.names_a_reference(name) for name in names)

    def report(
        self,
        rule: Rule,
        node: cst.CSTNode,
        message: str,
        *,
        fix: Fix | None = None,
        related: tuple[Related, ...] = (),
        severity: Severity | None = None,
        fix_note: str | None = None,
    ) -> None:
        if rule.numerical() and self.in_reference_code(rule.implements):
            return
        span = self.unit.span(node)
        self._reporter.add(
            Diagnostic(
                rule.code,
                rule.name,
                message,
                severity or rule.severity,
                self.path,
                span,
                fix,
                related,
                fix_note=fix_note,
            )
        )

    def fix(self, rule: Rule, title: str, edits: Iterable[Edit], fix_class: FixClass | None = None) -> Fix:
        return Fix(title, fix_class or rule.fix_class or FixClass.BUG_FIX, tuple(edits))
