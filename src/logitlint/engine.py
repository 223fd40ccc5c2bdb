"""The engine: one call from source text to diagnostics with fixes. Every surface (CLI, flake8
plugin, LSP server) calls ``check_source``; none re-implements detection or fixing."""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import contexts, syntax
from logitlint.analysis.evaluate import Evaluator
from logitlint.analysis.flow import Walker
from logitlint.analysis.losses import LossCall, helper_inputs, recognise
from logitlint.analysis.module import ClassInfo, FunctionInfo, ModuleContext
from logitlint.analysis.summaries import SummaryRecorder
from logitlint.analysis.torchapi import LOSS_WORDS
from logitlint.analysis.values import FunctionValue, LossObject, Origin, Value, force
from logitlint.diagnostics import Diagnostic, Related, Span
from logitlint.limits import check_parseable
from logitlint.noqa import Noqa
from logitlint.outline import FullOutline, Item, Outline, UnitParseError
from logitlint.rules import Rule, all_rules
from logitlint.rules.base import LossRule
from logitlint.rules.context import RuleContext, display_path

if TYPE_CHECKING:
    from logitlint.analysis.project import ProjectView
    from logitlint.outline import ParsedUnit


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
    # honour noqa comments; the flake8 adapter leaves them to flake8, all but `# logitlint: noqa`
    noqa: bool = True
    # How a message names a line of this file: a notebook's say which cell (``cell 4, line 3``).
    line_label: Callable[[int], str] | None = None


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
        self._context: contexts.Context | None = None  # the call site a walk takes its facts from
        self.skipped = False  # the prefilter found no PyTorch loss code: nothing was analysed

    # --- entry -----------------------------------------------------------------------------------
    def run(self) -> list[Diagnostic]:
        if not self.rules:
            return []
        whole = not self.settings.prefilter
        for _ in range(20):
            try:
                outline = self._outline(whole)
                if not whole and not self._may_matter(outline):
                    self.skipped = True
                    return []
                self._analyse(outline)
                break
            except UnitParseError as exc:
                self.diagnostics.clear()
                self._seen.clear()
                self._walked.clear()
                project = self.settings.project
                if exc.path and not _same_file(exc.path, self.path) and project is not None:
                    project.index.parse_whole(exc.path)  # an imported module: retried from a whole parse
                    continue
                if whole:
                    raise self._syntax_error() from None
                whole = True  # a cut in the wrong place (or a syntax error): parse the file whole
        self.parsed_lines = outline.parsed_lines
        diagnostics = self.diagnostics
        if diagnostics:
            diagnostics = Noqa(self.text).filter(diagnostics, lines=self.settings.noqa)
        return sorted(diagnostics, key=Diagnostic.sort_key)

    def _outline(self, whole: bool) -> Outline:
        cache, path, project = self.settings.parse_cache, self.path, self.settings.project
        if whole:
            return FullOutline(self.text, cache=cache, path=path)
        if cache is None and project is not None:  # one scan (and parse) of the file when imported too
            return project.index.outline(project.path, self.text)
        return Outline(self.text, cache=cache, path=path)

    def _may_matter(self, outline: Outline) -> bool:
        if outline.has_tokens(self.required):
            return True
        project = self.settings.project
        if project is None:
            return False
        ctx = self._module(outline)
        return project.imports_loss_entry(ctx) or contexts.may_need_contexts(ctx)

    def _module(self, outline: Outline) -> ModuleContext:
        settings = self.settings
        return ModuleContext(
            outline,
            self.path,
            module_name=settings.module_name,
            is_package=settings.is_package,
            project=settings.project,
        )

    def _syntax_error(self) -> SyntaxErrorInFile:
        """Python's own message and position (clearer than the parser's), else LibCST's."""
        try:
            compile(self.text, self.path, "exec", dont_inherit=True, flags=ast.PyCF_ONLY_AST)
        except SyntaxError as exc:
            return SyntaxErrorInFile(exc.msg, exc.lineno or 1, max((exc.offset or 1) - 1, 0))
        except (ValueError, RecursionError, MemoryError) as exc:
            return SyntaxErrorInFile(f"cannot parse: {exc}", 1, 0)
        try:
            check_parseable(self.text)
            cst.parse_module(self.text)
        except cst.ParserSyntaxError as exc:
            return SyntaxErrorInFile(exc.message, exc.raw_line, exc.raw_column)
        except Exception as exc:  # noqa: BLE001 - the parser's own failure (recursion, too complex, ...)
            return SyntaxErrorInFile(f"cannot parse: {exc}", 1, 0)
        return SyntaxErrorInFile("cannot parse", 1, 0)

    def add(self, diagnostic: Diagnostic) -> None:
        if self._context is not None:
            diagnostic = self._in_context(diagnostic, self._context.site)
        key = (diagnostic.code, diagnostic.span)
        if key not in self._seen:
            self._seen.add(key)
            self.diagnostics.append(diagnostic)

    # --- which units to walk ---------------------------------------------------------------------
    def _analyse(self, outline: Outline) -> None:
        self.ctx = ctx = self._module(outline)
        self._walked_items: set[int] = set()
        watched = self._loss_names(ctx)
        module_walk = False
        changed = True
        while changed:  # a function found to pass a parameter to a loss makes its callers matter
            changed = False
            for item in outline.items:
                if item.kind == "class":
                    if self._consumer(item, watched):
                        self._walk_class(ctx.class_for_item(item), watched)
                    continue
                if id(item) in self._walked_items or not self._consumer(item, watched):
                    continue
                self._walked_items.add(id(item))
                if item.kind == "function":
                    fn = ctx.function_for_item(item)
                    self._walk_function(fn)
                    if item.name not in watched and fn.summary().sinks:
                        watched.add(item.name)  # type: ignore[arg-type]
                        changed = True
                else:
                    module_walk = True
        if module_walk:
            self._walk_module(outline)
        project = self.settings.project
        if project is not None:  # parameters and attributes that call sites give facts to
            for fn, context in contexts.contexts_in(ctx, project.index):
                self._walk_in_context(fn, context)

    def _walk_in_context(self, fn: FunctionInfo, context: contexts.Context) -> None:
        """Walk a function again with one call site's arguments bound (findings name the site)."""
        ev = Evaluator(self.ctx, fn, hook=self._dispatch)
        ev.env = fn.initial_env(ev.stamp)
        for name, value in context.seeds(fn):
            ev.env[name] = (value, ev.stamp())
        self._context = context
        try:
            Walker(ev, on_nested=lambda node: None).run(syntax.body_statements(fn.node.body))
        finally:
            self._context = None

    def _in_context(self, diagnostic: Diagnostic, site: Origin) -> Diagnostic:
        """A finding that holds for one call site: it says which, and offers no fix (other callers
        may pass something else)."""
        resolved = site.resolve(self.path)
        path = resolved.path or self.path
        where = (
            f"{display_path(path, self.path)}:{resolved.line}"
            if not _same_file(path, self.path)
            else f"line {resolved.line}"
        )
        return replace(
            diagnostic,
            message=f"{diagnostic.message} (when called from {where})",
            related=(
                *diagnostic.related,
                Related(display_path(path, self.path), resolved.line, resolved.col, "called from here"),
            ),
            fix=None,
            fix_note=f"no fix: the finding depends on the call at {where}",
        )

    def _consumer(self, item: Item, watched: set[str]) -> bool:
        return (bool(item.tokens & self.required) and self.screen(item)) or self._mentions(item, watched)

    def screen(self, item: Item) -> bool:
        """Does a rule's word occur in the code of a unit whose text has one (not only in its comments
        and docstrings)? Asked of each candidate unit before LibCST parses it; classes are screened
        member by member."""
        if item.kind == "class":
            return True
        words = getattr(item, "code_tokens", None)
        if words is None or not words.isdisjoint(self.required):
            return True
        # Only in comments and docstrings, by the text: confirmed with ``ast`` (a quote in a comment
        # can pair triple quotes wrongly), still far cheaper than LibCST and asked of few units.
        words = item.code_words  # type: ignore[attr-defined]
        return words is None or not words.isdisjoint(self.required)

    @staticmethod
    def _mentions(item: Item, words: Iterable[str]) -> bool:
        return any(item.mentions(w) for w in words)

    def _loss_names(self, ctx: ModuleContext) -> set[str]:
        """Module-level names that hold a loss object (``crit = nn.CrossEntropyLoss()``), and imported
        project functions whose parameter reaches a loss: a unit using them is a consumer."""
        watched: set[str] = set()
        for index, item in enumerate(ctx.outline.items):
            if index in ctx.import_items:
                project = self.settings.project
                if project is not None:
                    for local, qualname in ctx.import_items[index]:
                        if project.may_be_loss_entry(qualname) and _is_loss_entry(ctx.global_value(local)):
                            watched.add(local)
                continue
            if item.kind == "statement" and item.tokens & LOSS_WORDS:
                for stmt, _ in item.statements():
                    for name in syntax.bound_names([stmt])[0]:
                        if _is_loss_entry(ctx.global_value(name)):
                            watched.add(name)
        return watched

    def _walk_class(self, cls: ClassInfo, watched: set[str]) -> None:
        members = cls.members
        local = set(watched)
        for member in members:  # self.crit = nn.CrossEntropyLoss(): uses of self.crit matter
            if member.tokens & LOSS_WORDS:
                for stmt, _ in member.statements():
                    local |= {attr for attr in _self_attributes(stmt) if _is_loss_entry(cls.attr_value(attr))}
        changed = True
        while changed:  # methods that pass a parameter on to a loss
            changed = False
            for member in members:
                if id(member) in self._walked_items or not self._consumer(member, local):
                    continue
                self._walked_items.add(id(member))
                if member.kind == "function":
                    fn = self.ctx.function_for_item(member, cls=cls)
                    self._walk_function(fn)
                    if member.name not in local and fn.summary().sinks:
                        local.add(member.name)  # type: ignore[arg-type]
                        changed = True
                    continue
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
        recorder = SummaryRecorder(fn)

        def hook(node: cst.CSTNode, ev: Evaluator) -> None:
            recorder.on_node(node, ev)
            self._dispatch(node, ev)

        ev = Evaluator(self.ctx, fn, hook=hook)
        ev.env = fn.initial_env(ev.stamp)
        walker = Walker(ev, on_return=recorder.on_return, on_nested=lambda node: self._walk_nested(node, fn.unit, fn))
        terminated = walker.run(syntax.body_statements(fn.node.body))
        fn.remember(recorder.finish(walker, terminated))

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
        ctx = RuleContext(self, self.ctx, ev, line_label=self.settings.line_label)
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


def _same_file(a: str, b: str) -> bool:
    return os.path.abspath(a) == os.path.abspath(b)


def _is_loss_entry(value: Value) -> bool:
    value = force(value)
    if isinstance(value, LossObject):
        return True
    if isinstance(value, FunctionValue):
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


@lru_cache(maxsize=1)
def _all_required() -> frozenset[str]:
    return frozenset().union(*(r.requires for r in all_rules()))


def may_report(text: str, rules: Sequence[Rule] | None = None) -> bool:
    """The file gate of a check without a project (the flake8 plugin's): could any rule report in
    ``text``? A rule's words must occur as whole words; substring tests decide most files."""
    required = _all_required() if rules is None else frozenset().union(*(r.requires for r in rules))
    return Outline(text).has_tokens(required)


def check_source(text: str, path: str = "<stdin>", settings: CheckSettings | None = None) -> list[Diagnostic]:
    """Diagnostics for one file's source text (raises SyntaxErrorInFile if it does not parse)."""
    return FileCheck(text, path, settings or CheckSettings()).run()
