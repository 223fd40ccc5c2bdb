"""The engine: one call from source text to diagnostics with fixes. Every surface (CLI, flake8
plugin, LSP server) calls ``check_source``; none re-implements detection or fixing."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from logitlint import fixes
from logitlint.analysis import syntax
from logitlint.analysis.evaluate import Evaluator
from logitlint.analysis.flow import Walker
from logitlint.analysis.losses import LossCall, helper_inputs, recognise
from logitlint.analysis.module import ClassInfo, FunctionInfo, ModuleContext
from logitlint.analysis.values import FunctionValue, LossObject, Origin, Tensor, Value
from logitlint.config import Noqa
from logitlint.diagnostics import Diagnostic, Edit, Fix, FixClass, Related, Severity, Span
from logitlint.outline import FullOutline, Item, Outline, UnitParseError
from logitlint.rules import Rule, all_rules
from logitlint.rules.base import LossRule

if TYPE_CHECKING:
    from logitlint.analysis.project import ProjectView
    from logitlint.outline import ParsedUnit

LOSS_WORDS = frozenset(
    {
        "cross_entropy",
        "CrossEntropyLoss",
        "nll_loss",
        "NLLLoss",
        "kl_div",
        "KLDivLoss",
        "binary_cross_entropy",
        "binary_cross_entropy_with_logits",
        "BCELoss",
        "BCEWithLogitsLoss",
    }
)


class SyntaxErrorInFile(Exception):
    def __init__(self, message: str, line: int, col: int):
        super().__init__(message)
        self.line, self.col = line, col


@dataclass
class CheckSettings:
    rules: Sequence[Rule] = field(default_factory=lambda: all_rules())
    prefilter: bool = True
    module_name: str | None = None
    is_package: bool = False
    project: ProjectView | None = None
    parse_cache: dict | None = None
    noqa: bool = True  # honour noqa comments (the flake8 adapter leaves that to flake8)


class RuleContext:
    """What a rule sees: values of expressions, their source, and a way to report."""

    def __init__(self, check: FileCheck, ev: Evaluator):
        self.check, self.ev = check, ev

    @property
    def module(self) -> ModuleContext:
        return self.check.ctx

    @property
    def unit(self) -> ParsedUnit:
        return self.ev.unit  # type: ignore[return-value]

    def value(self, node: cst.CSTNode) -> Value:
        return self.ev.value(node)

    def callee(self, call: cst.Call) -> str | None:
        return self.ev.callee_name(call)

    def code(self, node: cst.CSTNode) -> str:
        return self.ev.code(node)

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.ev.parent(node)

    def spell(self, qualname: str) -> tuple[str, tuple[Edit, ...]] | None:
        return fixes.Spelling(self.check.ctx, self.ev.scope)(qualname)

    def replace(self, node: cst.CSTNode, text: str, unit: ParsedUnit | None = None, *, absorb_parens: bool = False) -> Edit:
        return fixes.replace(unit or self.unit, node, text, absorb_parens=absorb_parens)

    def source(self, node: cst.CSTNode, *, atom: bool = False, unit: ParsedUnit | None = None) -> str:
        return fixes.code_of(unit or self.unit, node, atom=atom)

    def related(self, origin: Origin | None, message: str | None = None) -> tuple[Related, ...]:
        if origin is None:
            return ()
        resolved = origin.resolve(self.check.path)
        if not resolved.line:
            return ()
        return (
            Related(resolved.path or self.check.path, resolved.line, resolved.col, message or resolved.description),
        )

    def where(self, origin: Origin | None) -> str:
        """``line 12`` or ``models.py:12`` for a message."""
        if origin is None:
            return "elsewhere"
        resolved = origin.resolve(self.check.path)
        if resolved.path and resolved.path != self.check.path:
            return f"{resolved.path}:{resolved.line}"
        return f"line {resolved.line}"

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
        span = self.unit.span(node)
        self.check.add(
            Diagnostic(
                rule.code,
                rule.name,
                message,
                severity or rule.severity,
                self.check.path,
                span,
                fix,
                related,
                fix_note=fix_note,
            )
        )

    def fix(self, rule: Rule, title: str, edits: Iterable[Edit], fix_class: FixClass | None = None) -> Fix:
        return Fix(title, fix_class or rule.fix_class or FixClass.BUG_FIX, tuple(edits))


class FileCheck:
    """Checks one file: decides which units matter, walks them, and collects diagnostics."""

    def __init__(self, text: str, path: str, settings: CheckSettings):
        self.text, self.path, self.settings = text, path, settings
        self.rules = list(settings.rules)
        self.call_rules = [r for r in self.rules if type(r).on_call is not Rule.on_call]
        self.binary_rules = [r for r in self.rules if type(r).on_binary is not Rule.on_binary]
        self.unary_rules = [r for r in self.rules if type(r).on_unary is not Rule.on_unary]
        self.loss_rules = [r for r in self.rules if isinstance(r, LossRule)]
        self.required = frozenset().union(*(r.requires for r in self.rules)) if self.rules else frozenset()
        self.diagnostics: list[Diagnostic] = []
        self._seen: set[tuple[str, Span]] = set()
        self._walked: set[int] = set()
        self.parsed_lines = 0

    # --- entry -----------------------------------------------------------------------------------
    def run(self) -> list[Diagnostic]:
        if not self.rules:
            return []
        try:
            outline: Outline = (
                Outline(self.text, cache=self.settings.parse_cache)
                if self.settings.prefilter
                else FullOutline(self.text, cache=self.settings.parse_cache)
            )
            if self.settings.prefilter and not self._may_matter(outline):
                return []
            self._analyse(outline)
        except UnitParseError:
            self.diagnostics.clear()
            self._seen.clear()
            self._walked.clear()
            try:
                outline = FullOutline(self.text, cache=self.settings.parse_cache)
            except UnitParseError:
                raise self._syntax_error() from None
            self._analyse(outline)
        self.parsed_lines = outline.parsed_lines
        diagnostics = self.diagnostics
        if self.settings.noqa and diagnostics:
            noqa = Noqa.scan(self.text)
            diagnostics = [d for d in diagnostics if not noqa.suppresses(d.code, (d.span.line,))]
        return sorted(diagnostics, key=Diagnostic.sort_key)

    def _may_matter(self, outline: Outline) -> bool:
        if outline.tokens & self.required:
            return True
        project = self.settings.project
        return project is not None and any(outline.mentions_word(w) for w in project.sensitive_names())

    def _syntax_error(self) -> SyntaxErrorInFile:
        """Python's own message and position (clearer than the parser's), else LibCST's."""
        try:
            compile(self.text, self.path, "exec", dont_inherit=True, flags=ast.PyCF_ONLY_AST)
        except SyntaxError as exc:
            return SyntaxErrorInFile(exc.msg, exc.lineno or 1, max((exc.offset or 1) - 1, 0))
        except (ValueError, RecursionError, MemoryError) as exc:
            return SyntaxErrorInFile(f"cannot parse: {exc}", 1, 0)
        try:
            cst.parse_module(self.text)
        except cst.ParserSyntaxError as exc:
            return SyntaxErrorInFile(exc.message, exc.raw_line, exc.raw_column)
        except Exception as exc:  # noqa: BLE001 - the parser's own failure (recursion, ...)
            return SyntaxErrorInFile(f"cannot parse: {exc}", 1, 0)
        return SyntaxErrorInFile("cannot parse", 1, 0)

    def add(self, diagnostic: Diagnostic) -> None:
        key = (diagnostic.code, diagnostic.span)
        if key not in self._seen:
            self._seen.add(key)
            self.diagnostics.append(diagnostic)

    # --- which units to walk ---------------------------------------------------------------------
    def _analyse(self, outline: Outline) -> None:
        settings = self.settings
        self.ctx = ctx = ModuleContext(
            outline,
            self.path,
            module_name=settings.module_name,
            is_package=settings.is_package,
            project=settings.project,
        )
        watched = self._sensitive_globals(ctx)
        module_walk = False
        for item in outline.items:
            if item.kind == "function":
                if self._consumer(item, watched):
                    self._walk_function(ctx.function_for_item(item))
            elif item.kind == "class":
                if self._consumer(item, watched) or self._mentions(item, watched):
                    self._walk_class(ctx.class_for_item(item), watched)
            elif self._consumer(item, watched):
                module_walk = True
        if module_walk:
            self._walk_module(outline)

    def _consumer(self, item: Item, watched: set[str]) -> bool:
        return bool(item.tokens & self.required) or self._mentions(item, watched)

    @staticmethod
    def _mentions(item: Item, words: Iterable[str]) -> bool:
        return any(item.mentions(w) for w in words)

    def _sensitive_globals(self, ctx: ModuleContext) -> set[str]:
        """Module-level names whose use can reach a loss without a loss word in sight: loss
        objects (``crit = nn.CrossEntropyLoss()``) and helpers whose parameter reaches a loss."""
        candidates: set[str] = set()
        for index, item in enumerate(ctx.outline.items):
            if index in ctx.import_items:
                if self.settings.project is not None:
                    candidates.update(local for local, _ in ctx.import_items[index])
                continue
            if not item.tokens & LOSS_WORDS:
                continue
            if item.kind in ("function", "class"):
                candidates.add(item.name)  # type: ignore[arg-type]
            else:
                for stmt, _ in item.statements():
                    candidates |= syntax.bound_names([stmt])[0]
        watched: set[str] = set()
        pending = set(candidates)
        while pending:
            name = pending.pop()
            if name in watched or not _is_loss_entry(ctx.global_value(name)):
                continue
            watched.add(name)
            for item in ctx.outline.items:  # a function calling a watched one may pass its params on
                if item.kind == "function" and item.name not in watched and item.mentions(name):
                    pending.add(item.name)  # type: ignore[arg-type]
        return watched

    def _walk_class(self, cls: ClassInfo, watched: set[str]) -> None:
        members = cls.members
        local = set(watched)
        loss_attrs: set[str] = set()
        for member in members:
            if member.tokens & LOSS_WORDS or self._mentions(member, watched):
                for stmt, _ in member.statements():
                    loss_attrs |= _self_attributes(stmt)
        for attr in loss_attrs:
            if _is_loss_entry(cls.attr_value(attr)):
                local.add(attr)
        changed = True
        while changed:  # methods that pass a parameter on to a loss
            changed = False
            for member in members:
                if (
                    member.kind == "function"
                    and member.name not in local
                    and (member.tokens & LOSS_WORDS or self._mentions(member, local))
                ):
                    fn = self.ctx.function_for_item(member, cls=cls)
                    if fn.summary().sinks:
                        local.add(member.name)  # type: ignore[arg-type]
                        changed = True
        for member in members:
            if not self._consumer(member, local):
                continue
            if member.kind == "function":
                self._walk_function(self.ctx.function_for_item(member, cls=cls))
            else:
                for stmt, unit in member.statements():
                    ev = Evaluator(self.ctx, None, hook=self._dispatch, unit=unit)
                    Walker(ev, on_nested=lambda node, u=unit: self._walk_nested(node, u, None)).statement(stmt)

    def _walk_function(self, fn: FunctionInfo) -> None:
        if id(fn.node) in self._walked:
            return
        self._walked.add(id(fn.node))
        outer = Evaluator(self.ctx, fn.parent, flow_insensitive=True, hook=self._dispatch, unit=fn.unit)
        for decorator in fn.node.decorators:
            outer.eval(decorator.decorator)
        for param in (*fn.params, *fn.node.params.kwonly_params):
            if param.default is not None:
                outer.eval(param.default)
        ev = Evaluator(self.ctx, fn, hook=self._dispatch)
        ev.env = fn.initial_env(ev.stamp)
        walker = Walker(ev, on_nested=lambda node: self._walk_nested(node, fn.unit, fn))
        walker.run(syntax.body_statements(fn.node.body))

    def _walk_nested(self, node: cst.FunctionDef | cst.ClassDef, unit: ParsedUnit, parent: FunctionInfo | None) -> None:
        if isinstance(node, cst.FunctionDef):
            self._walk_function(self.ctx.function_info(node, unit, parent=parent))
        else:
            cls = self.ctx.class_info_for_node(node, unit)
            for stmt in syntax.body_statements(node.body):
                if isinstance(stmt, cst.FunctionDef):
                    self._walk_function(self.ctx.function_info(stmt, unit, cls=cls, parent=parent))

    def _walk_module(self, outline: Outline) -> None:
        """Module-level code, in order (scripts and notebooks compute losses here)."""
        ctx = self.ctx
        ev = Evaluator(ctx, None, hook=self._dispatch)
        walker = Walker(ev, on_nested=lambda node: None)
        for index, item in enumerate(outline.items):
            if index in ctx.import_items:
                for local, qualname in ctx.import_items[index]:
                    ev.bind(local, ctx.import_value(qualname))
                continue
            if item.kind != "statement":
                continue  # defs and classes: looked up through ModuleContext.global_value
            for stmt, unit in item.statements():
                ev.unit = unit
                walker.on_nested = lambda node, u=unit: self._walk_nested(node, u, None)
                walker.statement(stmt)

    # --- rule dispatch ---------------------------------------------------------------------------
    def _dispatch(self, node: cst.CSTNode, ev: Evaluator) -> None:
        ctx = RuleContext(self, ev)
        if isinstance(node, cst.Call):
            for rule in self.call_rules:
                rule.on_call(node, ctx)
            if self.loss_rules:
                loss = recognise(node, ev)
                for lc in [loss] if loss is not None else helper_inputs(node, ev):
                    self._check_loss(lc, ctx)
        elif isinstance(node, cst.BinaryOperation):
            for rule in self.binary_rules:
                rule.on_binary(node, ctx)
        elif isinstance(node, cst.UnaryOperation):
            for rule in self.unary_rules:
                rule.on_unary(node, ctx)

    def _check_loss(self, lc: LossCall, ctx: RuleContext) -> None:
        for rule in self.loss_rules:
            if lc.spec.key in rule.losses:
                rule.check(lc, ctx)


def _is_loss_entry(value: Value) -> bool:
    if isinstance(value, LossObject):
        return True
    if isinstance(value, FunctionValue) and hasattr(value.fn, "summary"):
        return bool(value.fn.summary().sinks)
    return False


def _self_attributes(stmt: cst.BaseStatement) -> set[str]:
    """Attributes ``x`` assigned as ``<name>.x = ...`` anywhere in a statement (methods included)."""
    found: set[str] = set()
    stack: list[cst.CSTNode] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Assign):
            for target in node.targets:
                found.update(n.split(".", 1)[1] for n in syntax.target_names(target.target) if "." in n)
        elif isinstance(node, cst.AnnAssign):
            found.update(n.split(".", 1)[1] for n in syntax.target_names(node.target) if "." in n)
        if isinstance(node, (cst.BaseStatement, cst.BaseSuite, cst.BaseSmallStatement)):
            stack.extend(
                c
                for c in syntax.children(node)
                if isinstance(c, (cst.BaseStatement, cst.BaseSuite, cst.BaseSmallStatement))
            )
    return found


def check_source(text: str, path: str = "<stdin>", settings: CheckSettings | None = None) -> list[Diagnostic]:
    """Diagnostics for one file's source text (raises SyntaxErrorInFile if it does not parse)."""
    return FileCheck(text, path, settings or CheckSettings()).run()
