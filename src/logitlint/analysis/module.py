"""Per-file analysis state: name resolution, functions, classes and their summaries.

Everything here is computed on demand and memoised, so that asking about ``self.crit`` parses only
the members of the class that mention ``crit`` (see ``logitlint.outline``).
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax, torchapi
from logitlint.analysis.evaluate import Evaluator
from logitlint.analysis.summaries import summarise
from logitlint.analysis.torchapi import LOSS_WORDS
from logitlint.analysis.values import (
    UNKNOWN,
    ClassValue,
    ExternalModel,
    FunctionValue,
    Instance,
    Layer,
    Lazy,
    LossObject,
    Param,
    Ref,
    SelfValue,
    Summary,
    TupleValue,
    Value,
    force,
    merge_all,
)
from logitlint.outline import FullItem, Item, Outline, ParsedUnit, UnitParseError

if TYPE_CHECKING:
    from logitlint.analysis.project import ProjectView


def relative_module(own: str | None, is_package: bool, module: str | None, level: int) -> str | None:
    """The absolute name of ``from <level dots><module> import ...`` written in module ``own``."""
    if level == 0:
        return module
    if own is None:
        return None
    parts = own.split(".")
    if not is_package:
        parts = parts[:-1]
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    if module:
        base.append(module)
    return ".".join(base) or None


class _Guard:
    """Cycle guard: a fact asked for while it is being computed is UNKNOWN."""

    def __init__(self) -> None:
        self.active: set[object] = set()


class ModuleContext:
    def __init__(
        self,
        outline: Outline,
        path: str,
        *,
        module_name: str | None = None,
        is_package: bool = False,
        project: ProjectView | None = None,
    ):
        self.outline = outline
        self.path = path
        self.module_name = module_name
        self.is_package = is_package
        self.project = project
        self._globals: dict[str, Value] = {}
        self._guard = _Guard()
        self._functions: dict[int, FunctionInfo] = {}
        self._classes: dict[int, ClassInfo] = {}
        self._global_declarations: dict[int, set[str]] = {}

    # --- imports -------------------------------------------------------------------------------
    @cached_property
    def import_items(self) -> dict[int, list[tuple[str, str]]]:
        """Top-level import statements, read with ``ast`` (ten times cheaper than LibCST for them),
        all of a file's in one parse."""
        result: dict[int, list[tuple[str, str]]] = {}
        pieces: list[tuple[int, str]] = []
        for index, item in enumerate(self.outline.items):
            if item.kind != "statement":
                continue
            text = getattr(item, "text", None)
            if text is None:  # a whole-file parse: the node is at hand
                ((node, _),) = item.statements()
                if (
                    isinstance(node, cst.SimpleStatementLine)
                    and len(node.body) == 1
                    and isinstance(node.body[0], (cst.Import, cst.ImportFrom))
                ):
                    result[index] = list(self.cst_import_bindings(node.body[0]))
                continue
            if text.lstrip().startswith(("import ", "from ")):
                pieces.append((index, text))
        for index, node in _import_statements(pieces):
            result[index] = list(self._ast_import_bindings(node))
        return dict(sorted(result.items()))

    def _ast_import_bindings(self, node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, str]]:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    yield alias.asname, alias.name
                else:
                    yield alias.name.split(".")[0], alias.name.split(".")[0]
        else:
            base = self.resolve_module(node.module, node.level)
            for alias in node.names:
                if alias.name != "*" and base is not None:
                    yield alias.asname or alias.name, f"{base}.{alias.name}"

    def cst_import_bindings(self, node: cst.Import | cst.ImportFrom) -> Iterator[tuple[str, str]]:
        if isinstance(node, cst.Import):
            for alias in node.names:
                name = syntax.dotted_name(alias.name) or ""
                if alias.asname is not None:
                    yield alias.asname.name.value, name  # type: ignore[union-attr]
                else:
                    yield name.split(".")[0], name.split(".")[0]
            return
        if isinstance(node.names, cst.ImportStar):
            return
        module = syntax.dotted_name(node.module) if node.module is not None else None
        base = self.resolve_module(module, len(node.relative))
        for alias in node.names:
            if base is None:
                continue
            name = alias.name.value  # type: ignore[union-attr]
            local = alias.asname.name.value if alias.asname is not None else name  # type: ignore[union-attr]
            yield local, f"{base}.{name}"

    def resolve_module(self, module: str | None, level: int) -> str | None:
        return relative_module(self.module_name, self.is_package, module, level)

    # --- module-level names --------------------------------------------------------------------
    def global_value(self, name: str) -> Value:
        """What a module-level name holds, as seen from inside a function: all its bindings merged."""
        if name in self._globals:
            return self._globals[name]
        key = ("global", name)
        if key in self._guard.active:
            return UNKNOWN
        self._guard.active.add(key)
        try:
            value = merge_all(list(self._global_bindings(name)))
            if isinstance(force(value), (Instance, ExternalModel)):
                value = self._with_module_level_attributes(name, force(value))
        finally:
            self._guard.active.discard(key)
        self._globals[name] = value
        return value

    def _with_module_level_attributes(self, name: str, model: Instance | ExternalModel) -> Value:
        """A module-level model with ``name.attr = ...`` assignments at module level applied (a
        replaced head: ``net.fc = nn.Sequential(..., nn.Softmax(dim=1))``), as a function sees it."""

        assigned: dict[str, list[Value]] = {}
        for item in self.outline.items:
            if item.kind != "statement" or not item.mentions(name):
                continue
            evaluator = Evaluator(self, None, flow_insensitive=True)
            for stmt, unit in item.statements():
                evaluator.unit = unit
                for inner in syntax.walk_statements([stmt]):
                    if not isinstance(inner, cst.SimpleStatementLine):
                        continue
                    for small in inner.body:
                        if isinstance(small, cst.Assign):
                            for target in small.targets:
                                dotted = syntax.dotted_name(target.target)
                                if dotted is not None and dotted.count(".") == 1 and dotted.startswith(name + "."):
                                    attr = dotted.split(".", 1)[1]
                                    assigned.setdefault(attr, []).append(evaluator.eval(small.value))
        for attr, values in assigned.items():
            model = model.with_override(attr, merge_all(values))
        return model

    def has_global_binding(self, name: str) -> bool:
        return next(iter(self._global_bindings(name)), None) is not None

    def _global_bindings(self, name: str) -> Iterator[Value]:

        imports = self.import_items
        for index, item in enumerate(self.outline.items):
            if index in imports:
                for local, qualname in imports[index]:
                    if local == name:
                        yield self.import_value(qualname)
                continue
            if item.kind == "function" and item.name == name:
                yield FunctionValue(self.function_for_item(item))
                continue
            if item.kind == "class" and item.name == name:
                yield ClassValue(self.class_for_item(item))
                continue
            if item.kind == "statement" and not item.may_bind(name):
                continue
            if item.kind != "statement" and not item.mentions(name):
                continue
            if item.kind != "statement":
                if "global" in item.tokens and self._declares_global(item, name):
                    yield UNKNOWN
                continue
            for stmt, unit in item.statements():
                yield from self._statement_bindings(stmt, unit, name, Evaluator(self, None, flow_insensitive=True))

    def _statement_bindings(self, stmt: cst.BaseStatement, unit: ParsedUnit, name: str, evaluator) -> Iterator[Value]:
        evaluator.unit = unit
        for inner in syntax.walk_statements([stmt]):
            if isinstance(inner, cst.FunctionDef) and inner.name.value == name:
                yield FunctionValue(self.function_info(inner, unit))
            elif isinstance(inner, cst.ClassDef) and inner.name.value == name:
                yield ClassValue(self.class_info_for_node(inner, unit))
            elif isinstance(inner, cst.SimpleStatementLine):
                for small in inner.body:
                    yield from _small_bindings(small, name, evaluator, unit, self)
            elif isinstance(inner, cst.For) and name in syntax.target_names(inner.target):
                yield UNKNOWN
            elif isinstance(inner, cst.With) and any(
                item.asname is not None and name in syntax.target_names(item.asname.name) for item in inner.items
            ):
                yield UNKNOWN
            elif isinstance(inner, (cst.Try, cst.TryStar)) and any(
                h.name is not None and isinstance(h.name.name, cst.Name) and h.name.name.value == name
                for h in inner.handlers
            ):
                yield UNKNOWN
            if unit.has_walrus and name in syntax.walrus_names(inner):
                yield UNKNOWN

    def _declares_global(self, item: Item, name: str) -> bool:
        declared = self._global_declarations.get(id(item))
        if declared is None:
            declared = set()
            text = getattr(item, "text", None)
            if text is None or _GLOBAL_STATEMENT.search(text):
                for stmt, _ in item.statements():
                    for node in _all_statements_deep(stmt):
                        if isinstance(node, cst.SimpleStatementLine):
                            for small in node.body:
                                if isinstance(small, cst.Global):
                                    declared.update(n.name.value for n in small.names)
            self._global_declarations[id(item)] = declared
        return name in declared

    def import_value(self, qualname: str) -> Value:
        qualname = torchapi.canonical(qualname)
        if not torchapi.is_torch(qualname) and self.project is not None:
            found = self.project.lookup(qualname)
            if found is not None:
                return found
        return Ref(qualname)

    # --- functions that may pass a parameter to a loss ------------------------------------------
    @cached_property
    def sink_candidates(self) -> frozenset[str]:
        """Names of functions and methods that might pass a parameter on to a loss, read from the
        source text: one with a loss word, or one that mentions another candidate or a name a
        loss object is bound to. Only these get a summary when a call to them is checked."""

        functions: list[Item] = []
        targets: set[str] = set()
        for item in self.outline.items:
            members = item.members if item.kind == "class" else [item]  # type: ignore[attr-defined]
            for member in members:
                if member.kind == "function":
                    functions.append(member)
                if member.tokens & LOSS_WORDS:
                    targets.update(_assigned_names_in_text(member))
        candidates = {f.name for f in functions if f.tokens & LOSS_WORDS}  # type: ignore[misc]
        targets |= candidates
        changed = True
        while changed:
            changed = False
            for function in functions:
                if function.name not in candidates and function.mentions_any(targets):
                    candidates.add(function.name)  # type: ignore[arg-type]
                    targets.add(function.name)  # type: ignore[arg-type]
                    changed = True
        return frozenset(candidates)  # type: ignore[arg-type]

    # --- functions and classes ----------------------------------------------------------------
    def function_for_item(self, item: Item, cls: ClassInfo | None = None) -> FunctionInfo:
        info = self._functions.get(id(item))
        if info is None:
            info = FunctionInfo(self, item=item, cls=cls)
            self._functions[id(item)] = info
        return info

    def function_info(
        self,
        node: cst.FunctionDef,
        unit: ParsedUnit,
        *,
        cls: ClassInfo | None = None,
        parent: FunctionInfo | None = None,
    ) -> FunctionInfo:
        info = self._functions.get(id(node))
        if info is None:
            info = FunctionInfo(self, node, unit, cls=cls, parent=parent)
            self._functions[id(node)] = info
        return info

    def class_for_item(self, item: Item) -> ClassInfo:
        info = self._classes.get(id(item))
        if info is None:
            info = ClassInfo(self, item=item)
            self._classes[id(item)] = info
        return info

    def class_info_for_node(self, node: cst.ClassDef, unit: ParsedUnit) -> ClassInfo:
        info = self._classes.get(id(node))
        if info is None:
            info = ClassInfo(self, node=node, unit=unit)
            self._classes[id(node)] = info
        return info


_ASSIGNED_NAME = re.compile(r"(\w+)\s*(?::[^=\n]*)?=(?!=)")


def _import_statements(pieces: list[tuple[int, str]]) -> Iterator[tuple[int, ast.Import | ast.ImportFrom]]:
    """The pieces (item index, text) that are one import statement each, with its node: one parse
    of them all, or one per piece where that fails (a piece that does not parse is left out)."""
    starts, lines, joined = [], 1, []
    for _, text in pieces:
        starts.append(lines)
        text = text if text.endswith(("\n", "\r")) else text + "\n"
        joined.append(text)
        lines += text.count("\n") if "\r" not in text else len(text.splitlines())
    try:
        tree = ast.parse("".join(joined))
    except (SyntaxError, ValueError):
        tree = None
    if tree is not None:
        found: dict[int, list[ast.stmt]] = {}
        for node in tree.body:
            piece = bisect.bisect_right(starts, node.lineno) - 1
            if node.end_lineno is not None and bisect.bisect_right(starts, node.end_lineno) - 1 != piece:
                tree = None  # a statement across two pieces: read them one by one
                break
            found.setdefault(piece, []).append(node)
        else:
            for piece, nodes in sorted(found.items()):
                if len(nodes) == 1 and isinstance(nodes[0], (ast.Import, ast.ImportFrom)):
                    yield pieces[piece][0], nodes[0]
            return
    for index, text in pieces:
        try:
            body = ast.parse(text).body
        except (SyntaxError, ValueError):
            continue
        if len(body) == 1 and isinstance(body[0], (ast.Import, ast.ImportFrom)):
            yield index, body[0]


def _assigned_names_in_text(item: Item) -> set[str]:
    """Names (and attribute names) an item assigns, read from its text (an over-approximation)."""
    text = getattr(item, "text", None)
    if text is None:  # a whole-file parse: read the tree
        return {n.rsplit(".", 1)[-1] for stmt, _ in item.statements() for n in _assigned_anywhere(stmt)}
    return set(_ASSIGNED_NAME.findall(text))


def _assigned_anywhere(stmt: cst.CSTNode) -> set[str]:
    """Names and ``x.attr`` targets assigned anywhere in a statement (functions included)."""
    found: set[str] = set()
    stack = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Assign):
            for target in node.targets:
                found.update(syntax.target_names(target.target))
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            found.update(syntax.target_names(node.target))
        if isinstance(node, (cst.BaseStatement, cst.BaseSuite, cst.BaseSmallStatement)):
            stack.extend(
                c
                for c in syntax.children(node)
                if isinstance(c, (cst.BaseStatement, cst.BaseSuite, cst.BaseSmallStatement))
            )
    return found


_GLOBAL_STATEMENT = re.compile(r"^[ \t]*global[ \t]+\w", re.M)


def _all_statements_deep(stmt: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [stmt]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (cst.BaseStatement, cst.BaseSuite)):
            stack.extend(c for c in syntax.children(node) if isinstance(c, (cst.BaseStatement, cst.BaseSuite)))


def _small_bindings(
    small: cst.BaseSmallStatement, name: str, evaluator, unit: ParsedUnit, ctx: ModuleContext
) -> Iterator[Value]:
    if isinstance(small, cst.Assign):
        for target in small.targets:
            if name in syntax.target_names(target.target):
                yield _unpack(target.target, name, evaluator.eval(small.value))
    elif isinstance(small, cst.AnnAssign) and name in syntax.target_names(small.target):
        yield evaluator.eval(small.value) if small.value is not None else UNKNOWN
    elif isinstance(small, cst.AugAssign) and name in syntax.target_names(small.target):
        yield UNKNOWN
    elif isinstance(small, (cst.Import, cst.ImportFrom)):
        for local, qualname in ctx.cst_import_bindings(small):
            if local == name:
                yield ctx.import_value(qualname)


def _unpack(target: cst.BaseExpression, name: str, value: Value) -> Value:
    """The part of ``value`` that an assignment target binds to ``name``."""
    if isinstance(value, Lazy) and isinstance(target, (cst.Tuple, cst.List)):
        return Lazy(lambda: _unpack(target, name, force(value)))
    if isinstance(target, cst.Name) or isinstance(target, cst.Attribute):
        return value.portable() if isinstance(value, Param) else value
    if isinstance(target, (cst.Tuple, cst.List)):
        elements = target.elements
        items = value.items if isinstance(value, TupleValue) else None
        if items is None or len(items) != len(elements) or any(isinstance(e, cst.StarredElement) for e in elements):
            return UNKNOWN
        for element, item in zip(elements, items):
            if name in syntax.target_names(element.value):
                return _unpack(element.value, name, item)
    return UNKNOWN


class FunctionInfo:
    """A function or method: its parameters, local names, and (on demand) its summary."""

    def __init__(
        self,
        ctx: ModuleContext,
        node: cst.FunctionDef | None = None,
        unit: ParsedUnit | None = None,
        *,
        item: Item | None = None,
        cls: ClassInfo | None = None,
        parent: FunctionInfo | None = None,
    ):
        self.ctx, self.cls, self.parent = ctx, cls, parent
        self._node, self._unit, self._item = node, unit, item
        self.name = item.name if item is not None else node.name.value  # type: ignore[union-attr]
        self._summaries: dict[tuple, Summary] = {}
        self._merged: dict[str, Value] = {}

    def _load(self) -> None:
        """Parse the function's unit (only now that something needs its body or signature)."""
        assert self._item is not None
        node, unit = self._item.statements()[0]
        if not isinstance(node, cst.FunctionDef):
            raise UnitParseError("not a function", self.ctx.path)
        self._node, self._unit = node, unit

    @property
    def node(self) -> cst.FunctionDef:
        if self._node is None:
            self._load()
        return self._node  # type: ignore[return-value]

    @property
    def unit(self) -> ParsedUnit:
        if self._unit is None:
            self._load()
        return self._unit  # type: ignore[return-value]

    @property
    def qualname(self) -> str:
        owner = f"{self.cls.name}." if self.cls is not None else ""
        return owner + self.name

    @cached_property
    def params(self) -> list[cst.Param]:
        p = self.node.params
        return [*p.posonly_params, *p.params]

    @cached_property
    def param_names(self) -> tuple[str, ...]:
        p = self.node.params
        names = [x.name.value for x in self.params]
        names += [x.name.value for x in p.kwonly_params]
        return tuple(names)

    @cached_property
    def _signature(self) -> tuple[tuple[str | None, ...], tuple[str, ...]]:
        """(decorator names, positional parameter names): from the header text while the body is
        not parsed (the method is often asked only for its ``self``)."""
        if self._node is None:
            found = getattr(self._item, "signature", None)
            if found is not None:
                return found
        decorators = tuple(syntax.dotted_name(d.decorator) for d in self.node.decorators)
        return decorators, tuple(p.name.value for p in self.params)

    @property
    def is_method(self) -> bool:
        return self.cls is not None and "staticmethod" not in self._signature[0]

    @property
    def self_name(self) -> str | None:
        decorators, positional = self._signature
        if not self.is_method or not positional or "classmethod" in decorators:
            return None
        return positional[0]

    @cached_property
    def _scope_names(self) -> tuple[set[str], set[str]]:
        bound, declared = syntax.bound_names(syntax.body_statements(self.node.body), walrus=self.unit.has_walrus)
        bound.update(self.param_names)
        p = self.node.params
        for star in (p.star_arg, p.star_kwarg):
            if isinstance(star, cst.Param):
                bound.add(star.name.value)
        return bound, declared

    @property
    def locals(self) -> set[str]:
        return self._scope_names[0]

    def param_value(self, name: str) -> Value:
        """A parameter's value inside the body: its default if that is a loss object, else Param."""
        for index, param in enumerate(self.params):
            if param.name.value == name:
                if index == 0 and self.self_name == name:
                    return SelfValue(self.cls)
                default = self._module_default(param)
                if default is not None:
                    return default
                offset = 1 if self.self_name is not None else 0
                return Param(index - offset, name)
        for param in self.node.params.kwonly_params:
            if param.name.value == name:
                default = self._module_default(param)
                return default if default is not None else Param(-1, name)
        return UNKNOWN

    def _module_default(self, param: cst.Param) -> Value | None:
        """A default that is a loss object or an activation (``loss=nn.BCELoss()``,
        ``normalize=nn.Sigmoid()``): what the body uses unless a caller passes another."""
        if param.default is None:
            return None

        default = force(Evaluator(self.ctx, self.parent, flow_insensitive=True).eval(param.default))
        return default if isinstance(default, (LossObject, Layer)) else None

    def initial_env(self, stamp) -> dict[str, tuple[Value, int]]:
        return {name: (self.param_value(name), stamp()) for name in self.param_names}

    def merged_local(self, name: str) -> Value:
        """A local's value as seen from a nested scope or a flow-insensitive question."""
        if name in self._merged:
            return self._merged[name]
        key = ("local", id(self), name)
        guard = self.ctx._guard
        if key in guard.active:
            return UNKNOWN
        guard.active.add(key)
        try:

            evaluator = Evaluator(self.ctx, self, flow_insensitive=True)
            values: list[Value] = []
            if name in self.param_names:
                value = self.param_value(name)
                values.append(UNKNOWN if isinstance(value, Param) else value)
            for stmt in syntax.walk_statements(syntax.body_statements(self.node.body)):
                if isinstance(stmt, cst.SimpleStatementLine):
                    for small in stmt.body:
                        values.extend(_small_bindings(small, name, evaluator, self.unit, self.ctx))
                elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)) and stmt.name.value == name:
                    values.append(
                        FunctionValue(self.ctx.function_info(stmt, self.unit, parent=self))
                        if isinstance(stmt, cst.FunctionDef)
                        else ClassValue(self.ctx.class_info_for_node(stmt, self.unit))
                    )
                elif isinstance(stmt, (cst.For, cst.With, cst.Try, cst.TryStar)):
                    if isinstance(stmt, cst.For) and name in syntax.target_names(stmt.target):
                        values.append(UNKNOWN)
                    elif isinstance(stmt, cst.With) and any(
                        i.asname is not None and name in syntax.target_names(i.asname.name) for i in stmt.items
                    ):
                        values.append(UNKNOWN)
                    elif isinstance(stmt, (cst.Try, cst.TryStar)) and any(
                        h.name is not None and isinstance(h.name.name, cst.Name) and h.name.name.value == name
                        for h in stmt.handlers
                    ):
                        values.append(UNKNOWN)
                if self.unit.has_walrus and name in syntax.walrus_names(stmt):
                    values.append(UNKNOWN)
            value = merge_all(values)
        finally:
            guard.active.discard(key)
        self._merged[name] = value
        return value

    def remember(self, summary: Summary) -> None:
        """A summary recorded by another full walk of this function (the engine's)."""
        self._summaries.setdefault((), summary)

    def summary(self, overrides: tuple[tuple[str, Value], ...] = ()) -> Summary:
        """What the function returns and which parameters reach a loss; ``overrides`` give
        ``self.<attr>`` values set on the instance from outside."""
        found = self._summaries.get(overrides)
        if found is not None:
            return found
        guard = self.ctx._guard
        key = ("summary", id(self), overrides)
        if key in guard.active:
            return Summary(param_names=self.param_names)
        guard.active.add(key)
        try:

            found = summarise(self, overrides)
        finally:
            guard.active.discard(key)
        self._summaries[overrides] = found
        return found

    def attribute_bindings(self, self_name: str, attr: str) -> Iterator[Value]:
        """Values this method assigns to ``self.attr`` (also via ``self.add_module("attr", m)``)."""

        key = f"{self_name}.{attr}"
        evaluator = Evaluator(self.ctx, self, flow_insensitive=True)
        for stmt in syntax.walk_statements(syntax.body_statements(self.node.body)):
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        if key in syntax.target_names(target.target):
                            value = _unpack(target.target, key, evaluator.eval(small.value))
                            yield UNKNOWN if isinstance(value, Param) else value
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)) and key in syntax.target_names(small.target):
                    if isinstance(small, cst.AnnAssign) and small.value is not None:
                        yield evaluator.eval(small.value)
                    else:
                        yield UNKNOWN
                elif isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                    call = small.value
                    callee = syntax.dotted_name(call.func)
                    if callee == f"{self_name}.add_module" and len(call.args) >= 2:
                        if syntax.string_literal(call.args[0].value) == attr:
                            yield evaluator.eval(call.args[1].value)
                    elif (
                        callee == "setattr"
                        and len(call.args) >= 3
                        and syntax.dotted_name(call.args[0].value) == self_name
                    ):
                        if syntax.string_literal(call.args[1].value) in (attr, None):
                            yield UNKNOWN

    def may_have_sinks(self) -> bool:
        if self._item is None:
            return True  # a nested or unsplit function: cheap enough to summarise
        return self.name in self.ctx.sink_candidates

    def call_param_index(self, index: int, keyword: str | None) -> int | None:
        """Map a call's positional index or keyword to the parameter index used by Param."""
        offset = 1 if self.self_name is not None else 0
        names = [p.name.value for p in self.params][offset:]
        if keyword is not None:
            return names.index(keyword) if keyword in names else None
        return index if index < len(names) else None


class ClassInfo:
    """A class: its bases, its attributes (``self.x`` assigned in any method) and what calling an
    instance returns (``forward``'s summary for an nn.Module)."""

    def __init__(
        self,
        ctx: ModuleContext,
        *,
        item: Item | None = None,
        node: cst.ClassDef | None = None,
        unit: ParsedUnit | None = None,
    ):
        self.ctx, self.item = ctx, item
        self._node, self._unit = node, unit
        self.name = item.name if item is not None else node.name.value  # type: ignore[union-attr]
        self._attrs: dict[str, Value] = {}

    @property
    def qualname(self) -> str:
        prefix = f"{self.ctx.module_name}." if self.ctx.module_name else ""
        return prefix + self.name

    @cached_property
    def header(self) -> tuple[cst.ClassDef, ParsedUnit]:
        if self.item is not None:
            return self.item.header()  # type: ignore[attr-defined]
        return self._node, self._unit  # type: ignore[return-value]

    @cached_property
    def members(self) -> Sequence[Item]:
        if self.item is not None:
            return self.item.members  # type: ignore[attr-defined]

        return [FullItem(stmt, self._unit) for stmt in syntax.body_statements(self._node.body)]  # type: ignore[union-attr]

    @cached_property
    def bases(self) -> list[Value]:

        node, unit = self.header
        evaluator = Evaluator(self.ctx, None, flow_insensitive=True, unit=unit)
        return [force(evaluator.eval(base.value)) for base in node.bases]

    @cached_property
    def base_classes(self) -> list[ClassInfo]:
        return [b.cls for b in self.bases if isinstance(b, ClassValue) and isinstance(b.cls, ClassInfo)]

    def is_torch_module(self, _seen: frozenset = frozenset()) -> bool:
        if id(self) in _seen:
            return False
        for base in self.bases:
            if isinstance(base, Ref) and (
                base.qualname in torchapi.MODULE_BASES or base.qualname.startswith("torch.nn.")
            ):
                return True
            if isinstance(base, ClassValue):
                if base.cls.is_torch_module(_seen | {id(self)}):
                    return True
        return False

    def methods(self, name: str) -> list[FunctionInfo]:
        found = []
        for member in self.members:
            if member.kind == "function" and member.name == name:
                found.append(self.ctx.function_for_item(member, cls=self))
        return found

    def find_method(self, name: str, _seen: frozenset = frozenset()) -> FunctionInfo | None:
        if id(self) in _seen:
            return None
        methods = self.methods(name)
        if methods:
            return methods[-1]
        for base in self.base_classes:
            found = base.find_method(name, _seen | {id(self)})
            if found is not None:
                return found
        return None

    def attr_value(self, attr: str) -> Value:
        """``self.attr`` as seen from any method: every assignment in the class (and bases) merged."""
        if attr in self._attrs:
            return self._attrs[attr]
        guard = self.ctx._guard
        key = ("attr", id(self), attr)
        if key in guard.active:
            return UNKNOWN
        guard.active.add(key)
        try:
            values = list(self._attr_bindings(attr))
            for base in self.base_classes:
                base_value = force(base.attr_value(attr))
                if base_value is not UNKNOWN or base._has_binding(attr):
                    values.append(base_value)
            if not values:
                method = self.find_method(attr)
                value: Value = FunctionValue(method, bound=True) if method is not None else UNKNOWN
            else:
                value = merge_all(values)
        finally:
            guard.active.discard(key)
        self._attrs[attr] = value
        return value

    def _has_binding(self, attr: str) -> bool:
        return any(True for _ in self._attr_bindings(attr))

    def _attr_bindings(self, attr: str) -> Iterator[Value]:

        for member in self.members:
            if member.kind == "function" and not member.may_assign_attribute(attr):
                continue
            if not member.mentions(attr):
                continue
            if member.kind == "statement":
                evaluator = Evaluator(self.ctx, None, flow_insensitive=True)
                for stmt, unit in member.statements():
                    evaluator.unit = unit
                    for inner in syntax.walk_statements([stmt]):
                        if isinstance(inner, cst.SimpleStatementLine):
                            for small in inner.body:
                                yield from _small_bindings(small, attr, evaluator, unit, self.ctx)
                continue
            if member.kind != "function":
                continue
            fn = self.ctx.function_for_item(member, cls=self)
            self_name = fn.self_name
            if self_name is None:
                continue
            yield from fn.attribute_bindings(self_name, attr)

    def call_value(self, overrides: tuple[tuple[str, Value], ...] = ()) -> tuple[Value, FunctionInfo | None]:
        """What calling an instance returns, and the method that decides it."""
        call = self.find_method("__call__")
        if call is None:
            call = self.find_method("forward")
        if call is None:
            return UNKNOWN, None
        return call.summary(overrides).returns, call
