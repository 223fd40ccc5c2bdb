"""Scopes: what a function's names hold, and the one binding ladder every scope uses.

A name's value in a scope is all the values its statements bind to it merged (``bindings_in``);
``FunctionInfo`` adds parameters, defaults and the function's summary.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

import libcst as cst

from logitlint.analysis import syntax, torchapi
from logitlint.analysis.evaluate import Evaluator
from logitlint.analysis.summaries import summarise
from logitlint.analysis.values import (
    UNKNOWN,
    ClassValue,
    FunctionValue,
    Layer,
    Lazy,
    LossObject,
    Param,
    Ref,
    SelfValue,
    StarParam,
    Summary,
    TupleValue,
    Value,
    force,
    merge_all,
)
from logitlint.outline import Item, ParsedUnit, UnitParseError

if TYPE_CHECKING:
    from logitlint.analysis.classes import ClassInfo
    from logitlint.analysis.module import ModuleContext

V = TypeVar("V")


class Guard:
    """Cycle guard: a fact asked for while it is being computed is a default (and not remembered)."""

    def __init__(self) -> None:
        self.active: set[object] = set()

    def memoised(self, memo: dict, name: Hashable, key: Hashable, compute: Callable[[], V], default: V) -> V:
        if name in memo:
            return memo[name]
        if key in self.active:
            return default
        self.active.add(key)
        try:
            value = compute()
        finally:
            self.active.discard(key)
        memo[name] = value
        return value


def bindings_in(
    statements: Iterable[cst.CSTNode],
    name: str,
    evaluator: Evaluator,
    unit: ParsedUnit,
    ctx: ModuleContext,
    *,
    parent: FunctionInfo | None = None,
) -> Iterator[Value]:
    """Every value the statements bind to ``name`` (UNKNOWN for a binding we cannot read: a loop
    target, ``with ... as``, ``except ... as``, a walrus)."""
    for stmt in statements:
        if type(stmt) is cst.SimpleStatementLine:
            for small in stmt.body:
                yield from small_bindings(small, name, evaluator, ctx)
        elif type(stmt) is cst.FunctionDef and stmt.name.value == name:
            yield FunctionValue(ctx.function_info(stmt, unit, parent=parent))
        elif type(stmt) is cst.ClassDef and stmt.name.value == name:
            yield ClassValue(ctx.class_info_for_node(stmt, unit))
        elif type(stmt) is cst.For and name in syntax.target_names(stmt.target):
            yield UNKNOWN
        elif type(stmt) is cst.With and any(
            item.asname is not None and name in syntax.target_names(item.asname.name) for item in stmt.items
        ):
            yield UNKNOWN
        elif type(stmt) in (cst.Try, cst.TryStar) and any(
            h.name is not None and type(h.name.name) is cst.Name and h.name.name.value == name
            for h in stmt.handlers
        ):
            yield UNKNOWN
        if unit.has_walrus and name in syntax.walrus_names(stmt):
            yield UNKNOWN


def small_bindings(
    small: cst.BaseSmallStatement, name: str, evaluator: Evaluator, ctx: ModuleContext
) -> Iterator[Value]:
    if type(small) is cst.Assign:
        if len(small.targets) == 1 and rewraps(small.value, name, evaluator):
            return  # model = model.to(device): no definition of its own
        for target in small.targets:
            if name in syntax.target_names(target.target):
                yield unpack(target.target, name, evaluator.eval(small.value))
    elif type(small) is cst.AnnAssign and name in syntax.target_names(small.target):
        yield evaluator.eval(small.value) if small.value is not None else UNKNOWN
    elif type(small) is cst.AugAssign and name in syntax.target_names(small.target):
        yield UNKNOWN
    elif type(small) in (cst.Import, cst.ImportFrom):
        for local, qualname in ctx.cst_import_bindings(small):
            if local == name:
                yield ctx.import_value(qualname)


def rewraps(value: cst.BaseExpression, name: str, evaluator: Evaluator) -> bool:
    """``model = model.to(device)``, ``model = nn.DataParallel(model)`` (an assignment of the name's
    own value through a step that returns the same model, or a tensor holding the same): with every
    definition merged, it adds none of its own, and reading it would only meet the name again."""
    value = syntax.unparenthesized(value)
    if type(value) is not cst.Call:
        return syntax.dotted_name(value) == name
    func = value.func
    if type(func) is cst.Attribute and func.attr.value in torchapi.MODULE_METHODS:
        return rewraps(func.value, name, evaluator)
    if value.args and value.args[0].keyword is None and not value.args[0].star:
        if rewraps(value.args[0].value, name, evaluator):
            return evaluator.callee_name(value) in torchapi.MODULE_WRAPPERS
    return False


def unpack(target: cst.BaseExpression, name: str, value: Value) -> Value:
    """The part of ``value`` that an assignment target binds to ``name``."""
    if isinstance(value, Lazy) and type(target) in (cst.Tuple, cst.List):
        return Lazy(lambda: unpack(target, name, force(value)))
    if type(target) is cst.Name or type(target) is cst.Attribute:
        return value.portable() if isinstance(value, Param) else value
    if type(target) in (cst.Tuple, cst.List):
        elements = target.elements
        items = value.items if isinstance(value, TupleValue) else None
        if items is None or len(items) != len(elements) or any(type(e) is cst.StarredElement for e in elements):
            return UNKNOWN
        for element, item in zip(elements, items):
            if name in syntax.target_names(element.value):
                return unpack(element.value, name, item)
    return UNKNOWN


# The look-behind changes no match (one inside a name fails wherever the name's own start fails)
# but stops the engine retrying from every letter: four times faster.
_ASSIGNED_NAME = re.compile(r"(?<!\w)(\w+)\s*(?::[^=\n]*)?=(?!=)")


def assigned_names_in_text(item: Item) -> set[str]:
    """Names (and attribute names) an item assigns, read from its text (an over-approximation)."""
    text = getattr(item, "text", None)
    if text is None:  # a whole-file parse: read the tree
        return {n.rsplit(".", 1)[-1] for stmt, _ in item.statements() for n in assigned_anywhere(stmt)}
    return set(_ASSIGNED_NAME.findall(text))


def assigned_anywhere(stmt: cst.CSTNode) -> set[str]:
    """Names and ``x.attr`` targets assigned anywhere in a statement (functions included)."""
    found: set[str] = set()
    stack = [stmt]
    while stack:
        node = stack.pop()
        if type(node) is cst.Assign:
            for target in node.targets:
                found.update(syntax.target_names(target.target))
        elif type(node) in (cst.AnnAssign, cst.AugAssign):
            found.update(syntax.target_names(node.target))
        if isinstance(node, (cst.BaseStatement, cst.BaseSuite, cst.BaseSmallStatement)):
            stack.extend(
                c
                for c in syntax.children(node)
                if isinstance(c, (cst.BaseStatement, cst.BaseSuite, cst.BaseSmallStatement))
            )
    return found


GLOBAL_STATEMENT = re.compile(r"^[ \t]*global[ \t]+\w", re.M)


def all_statements_deep(stmt: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [stmt]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (cst.BaseStatement, cst.BaseSuite)):
            stack.extend(c for c in syntax.children(node) if isinstance(c, (cst.BaseStatement, cst.BaseSuite)))


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
        if type(node) is not cst.FunctionDef:
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
            if type(star) is cst.Param:
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
        ``normalize=nn.Sigmoid()``, ``act=torch.sigmoid``): what the body uses unless a caller
        passes another."""
        if param.default is None:
            return None
        default = force(Evaluator(self.ctx, self.parent, flow_insensitive=True).eval(param.default))
        if isinstance(default, Ref) and torchapi.canonical(default.qualname) in torchapi.PRODUCERS:
            return default
        return default if isinstance(default, (LossObject, Layer)) else None

    def initial_env(self, stamp) -> dict[str, tuple[Value, int]]:
        env = {name: (self.param_value(name), stamp()) for name in self.param_names}
        star = self.node.params.star_arg
        if type(star) is cst.Param:  # *tensors: the call's positional arguments after the others
            offset = 1 if self.self_name is not None else 0
            env[star.name.value] = (StarParam(len(self.params) - offset, star.name.value), stamp())
        return env

    def merged_local(self, name: str) -> Value:
        """A local's value as seen from a nested scope or a flow-insensitive question."""
        return self.ctx.guard.memoised(
            self._merged, name, ("local", id(self), name), lambda: self._merge(name), UNKNOWN
        )

    def _merge(self, name: str) -> Value:
        evaluator = Evaluator(self.ctx, self, flow_insensitive=True)
        values: list[Value] = []
        if name in self.param_names:
            value = self.param_value(name)
            values.append(UNKNOWN if isinstance(value, Param) else value)
        body = syntax.walk_statements(syntax.body_statements(self.node.body))
        values.extend(bindings_in(body, name, evaluator, self.unit, self.ctx, parent=self))
        return merge_all(values)

    def remember(self, summary: Summary) -> None:
        """A summary recorded by another full walk of this function (the engine's)."""
        self._summaries.setdefault((), summary)

    def summary(self, overrides: tuple[tuple[str, Value], ...] = (), receiver: ClassInfo | None = None) -> Summary:
        """What the function returns and which parameters reach a loss; ``overrides`` give
        ``self.<attr>`` values set on the instance from outside; ``receiver`` is the subclass whose
        instance runs this inherited method (its overrides decide what ``self.x`` holds)."""
        key: tuple = overrides if receiver is None else (overrides, id(receiver))
        found = self._summaries.get(key)
        if found is not None:
            return found
        return self.ctx.guard.memoised(
            self._summaries,
            key,
            ("summary", id(self), key),
            lambda: summarise(self, overrides, receiver),
            Summary(param_names=self.param_names),
        )

    def attribute_bindings(self, self_name: str, attr: str, receiver: ClassInfo | None = None) -> Iterator[Value]:
        """Values this method assigns to ``self.attr`` (also via ``self.add_module("attr", m)``),
        with ``self`` an instance of ``receiver`` when given (``self.make_head()`` dispatches)."""
        key = f"{self_name}.{attr}"
        evaluator = Evaluator(self.ctx, self, flow_insensitive=True)
        if receiver is not None:
            evaluator.env[self_name] = (SelfValue(receiver), 0)
        for stmt in syntax.walk_statements(syntax.body_statements(self.node.body)):
            if type(stmt) is not cst.SimpleStatementLine:
                continue
            for small in stmt.body:
                if type(small) is cst.Assign:
                    for target in small.targets:
                        if key in syntax.target_names(target.target):
                            value = unpack(target.target, key, evaluator.eval(small.value))
                            yield UNKNOWN if isinstance(value, Param) else value
                elif type(small) in (cst.AnnAssign, cst.AugAssign) and key in syntax.target_names(small.target):
                    if type(small) is cst.AnnAssign and small.value is not None:
                        yield evaluator.eval(small.value)
                    else:
                        yield UNKNOWN
                elif type(small) is cst.Expr and type(small.value) is cst.Call:
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
