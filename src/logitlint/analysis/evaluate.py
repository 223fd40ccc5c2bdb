"""Expression evaluation: what an expression holds, given what the names in it hold.

This is the generic half: names and scopes, attributes, subscripts, tuples, comprehensions, and
calls dispatched on what the callee is (a model, a layer, a function, an imported name). What torch
functions, methods and operators mean is ``semantics.TorchSemantics``, mixed in here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax, torchapi
from logitlint.analysis.semantics import EAGER_METHODS, TorchSemantics
from logitlint.analysis.values import (
    NOTHING,
    UNKNOWN,
    Alternatives,
    ClassValue,
    ExternalModel,
    FunctionValue,
    Instance,
    Layer,
    Lazy,
    LossObject,
    Param,
    Ref,
    Repeated,
    SelfValue,
    Sequential,
    Tensor,
    TupleValue,
    Value,
    Via,
    force,
    is_distribution,
    merge,
    merge_all,
)

if TYPE_CHECKING:
    from logitlint.analysis.module import ModuleContext
    from logitlint.analysis.scopes import FunctionInfo
    from logitlint.outline import ParsedUnit

Env = dict[str, tuple[Value, int]]
_HOOKED = (cst.Call, cst.BinaryOperation, cst.UnaryOperation, cst.Subscript)


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> int:
        self.n += 1
        return self.n


class Evaluator(TorchSemantics):
    """Evaluates expressions in a scope; with ``flow_insensitive`` a local's value is all of its
    definitions merged, otherwise the one in ``env`` (kept by ``flow.Walker``)."""

    def __init__(
        self,
        ctx: ModuleContext,
        scope: FunctionInfo | None,
        env: Env | None = None,
        *,
        flow_insensitive: bool = False,
        hook: Callable[[cst.CSTNode, Evaluator], None] | None = None,
        unit: ParsedUnit | None = None,
        stamp: Counter | None = None,
    ):
        self.ctx, self.scope = ctx, scope
        self.env: Env = env if env is not None else {}
        self.flow_insensitive = flow_insensitive
        self.hook = hook
        self.unit = unit if unit is not None else (scope.unit if scope is not None else None)
        self.stamp = stamp or Counter()
        self.values: dict[cst.CSTNode, Value] = {}
        self.shadowed: set[str] = set()
        self.stack: list[cst.CSTNode] = []  # expressions being evaluated, outermost first
        self._deferred = False  # inside a lazy value's computation: the environment has moved on

    # --- names -----------------------------------------------------------------------------------
    def lookup(self, name: str) -> Value:
        if name in self.shadowed:
            return UNKNOWN
        if name in self.env:
            return self.env[name][0]
        return _seen_from_afar(self._outer_value(name))

    def _outer_value(self, name: str) -> Value:
        scope = self.scope
        if scope is not None:
            if name in scope.locals:
                return scope.merged_local(name) if self.flow_insensitive else UNKNOWN
            parent = scope.parent
            while parent is not None:
                if name in parent.locals:
                    return parent.merged_local(name)
                parent = parent.parent
        return self.ctx.global_value(name)

    def stamp_of(self, name: str) -> int | None:
        entry = self.env.get(name)
        return entry[1] if entry is not None else None

    def bind(self, name: str, value: Value) -> None:
        if isinstance(value, Tensor) and value.via is Via.DIRECT:
            value = replace(value, via=Via.VARIABLE)
        self.env[name] = (value, self.stamp())

    def later(self, compute: Callable[[], Value]) -> Value:
        """A lazy value, computed (if ever) in this unit but without the environment's stamps."""
        unit = self.unit

        def run() -> Value:
            saved = self.unit, self._deferred
            self.unit, self._deferred = unit, True
            try:
                return compute()
            finally:
                self.unit, self._deferred = saved

        return Lazy(run)

    def kill(self, name: str) -> None:
        if not self.flow_insensitive and (name in self.env or (self.scope is not None and name in self.scope.locals)):
            self.env[name] = (UNKNOWN, self.stamp())

    # --- expressions -----------------------------------------------------------------------------
    def value(self, node: cst.CSTNode) -> Value:
        """The value of a node (evaluated if needed, lazy values forced): what rules ask."""
        found = self.values.get(node)
        if found is None:
            found = self.eval(node)  # type: ignore[arg-type]
        return force(found)

    def eval(self, node: cst.BaseExpression) -> Value:
        cached = self.values.get(node)
        if cached is not None:
            return cached
        method = getattr(self, "_eval_" + type(node).__name__, None)
        self.stack.append(node)
        try:
            value = method(node) if method is not None else self._eval_children(node)
            self.values[node] = value
            if self.hook is not None and isinstance(node, _HOOKED):
                self.hook(node, self)
        finally:
            self.stack.pop()
        return value

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The expression enclosing ``node`` (valid while ``node`` is being evaluated)."""
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i] is node:
                return self.stack[i - 1]
        return None

    def enclosing_names(self) -> list[str]:
        """Names of the definitions around the expression being evaluated, innermost first: a
        lambda given as a keyword argument goes by the keyword (``reference_fn=lambda i: ...``),
        then the functions (and classes) around it."""
        names = []
        for outer, inner in zip(reversed(self.stack[:-1]), reversed(self.stack[1:])):
            if type(inner) is cst.Lambda and type(outer) is cst.Call:
                names.extend(a.keyword.value for a in outer.args if a.value is inner and a.keyword is not None)
        scope = self.scope
        while scope is not None:
            names.extend(reversed(scope.qualname.split(".")))
            scope = scope.parent
        return names

    def _eval_children(self, node: cst.CSTNode) -> Value:
        for child in syntax.children(node):
            if isinstance(child, cst.BaseExpression):
                self.eval(child)
            else:
                self._eval_children(child)
        return UNKNOWN

    def _eval_Name(self, node: cst.Name) -> Value:
        if node.value in ("True", "False", "None"):
            return UNKNOWN
        return self.lookup(node.value)

    def _eval_Attribute(self, node: cst.Attribute) -> Value:
        return self._attribute_of(node, self.eval(node.value))

    def _attribute_of(self, node: cst.Attribute, base: Value) -> Value:
        dotted = syntax.dotted_name(node)
        if dotted is not None and dotted.count(".") == 1 and dotted in self.env:
            return self.env[dotted][0]  # self.x / model.fc assigned earlier in this scope
        return self.attribute(base, node.attr.value)

    def attribute(self, base: Value, attr: str) -> Value:
        if isinstance(base, Lazy):
            return self.later(lambda: self.attribute(force(base), attr))
        if isinstance(base, Ref):
            return self.ctx.import_value(f"{base.qualname}.{attr}")
        if isinstance(base, (Instance, ExternalModel)):
            for key, value in base.overrides:
                if key == attr:
                    return value
        if isinstance(base, (SelfValue, Instance, ClassValue)) and base.cls is not None:
            return base.cls.attr_value(attr)
        if isinstance(base, (Sequential, LossObject, Layer)) and attr == "forward":
            return base  # loss.forward(x, y), layer.forward(x): the call itself
        if isinstance(base, Alternatives):
            return merge_all([self.attribute(option, attr) for option in base.options])
        if isinstance(base, Tensor) and attr in ("data", "T", "mT"):
            return base.through(Via.STEPS, keep_dim=attr == "data", keep_producer=False)
        return UNKNOWN

    def _eval_Subscript(self, node: cst.Subscript) -> Value:
        base = self.eval(node.value)
        for element in node.slice:
            self._eval_children(element)
        index = (
            syntax.int_literal(node.slice[0].slice.value)
            if (len(node.slice) == 1 and type(node.slice[0].slice) is cst.Index)
            else None
        )
        return self.subscript(base, index)

    def subscript(self, base: Value, index: int | None) -> Value:
        if isinstance(base, Lazy):
            return self.later(lambda: self.subscript(force(base), index))
        if isinstance(base, TupleValue):
            if index is not None and -len(base.items) <= index < len(base.items):
                return base.items[index]
            return UNKNOWN
        if isinstance(base, Repeated):
            return base.element if index is not None and base.element is not NOTHING else UNKNOWN
        if isinstance(base, Sequential) and base.elements is not None:
            if index is not None and -len(base.elements) <= index < len(base.elements):
                return base.elements[index]
            return UNKNOWN
        if isinstance(base, Tensor):
            return replace(base.through(Via.STEPS, keep_dim=False, keep_producer=False), ndim=None)
        if isinstance(base, Param):
            return base
        return UNKNOWN

    def _eval_Tuple(self, node: cst.Tuple) -> Value:
        items = []
        for element in node.elements:
            value = self.eval(element.value)
            if type(element) is cst.StarredElement:
                for e in node.elements:
                    self.eval(e.value)
                return UNKNOWN
            items.append(value)
        return TupleValue(tuple(items))

    def _eval_List(self, node: cst.List) -> Value:
        if not node.elements:
            return Repeated(NOTHING)  # xs = [] before appends: every element is what they append
        return self._eval_children(node)

    def _eval_IfExp(self, node: cst.IfExp) -> Value:
        self.eval(node.test)
        return merge(self.eval(node.body), self.eval(node.orelse))

    def _eval_NamedExpr(self, node: cst.NamedExpr) -> Value:
        value = self.eval(node.value)
        if type(node.target) is cst.Name and not self.flow_insensitive:
            self.bind(node.target.value, value)
        return value

    def _eval_Lambda(self, node: cst.Lambda) -> Value:
        names = {p.name.value for p in (*node.params.params, *node.params.posonly_params, *node.params.kwonly_params)}
        self._shadowed_eval(names, [node.body])
        return self.lambda_value(node)

    def _comprehension(self, node: cst.BaseComp, parts: list[cst.BaseExpression]) -> Value:
        names: set[str] = set()
        clause = node.for_in
        exprs: list[cst.CSTNode] = []
        while clause is not None:
            names.update(syntax.target_names(clause.target))
            exprs.append(clause.iter)
            exprs.extend(cond.test for cond in clause.ifs)
            clause = clause.inner_for_in
        self._shadowed_eval(names, exprs + parts)
        element = self.values.get(parts[0], UNKNOWN) if len(parts) == 1 else UNKNOWN
        if is_distribution(element):
            # every element is these (log-)probabilities; none can be re-made outside the comprehension
            return Repeated(replace(element, producer=None, via=Via.STEPS, dist=None))
        return UNKNOWN

    def _eval_ListComp(self, node: cst.ListComp) -> Value:
        return self._comprehension(node, [node.elt])

    _eval_SetComp = _eval_ListComp

    def _eval_GeneratorExp(self, node: cst.GeneratorExp) -> Value:
        return self._comprehension(node, [node.elt])

    def _eval_DictComp(self, node: cst.DictComp) -> Value:
        return self._comprehension(node, [node.key, node.value])

    def _shadowed_eval(self, names: set[str], nodes: list[cst.CSTNode]) -> None:
        added = names - self.shadowed
        self.shadowed |= added
        try:
            for n in nodes:
                if isinstance(n, cst.BaseExpression):
                    self.eval(n)
        finally:
            self.shadowed -= added

    def _eval_BinaryOperation(self, node: cst.BinaryOperation) -> Value:
        left = self.eval(node.left)
        self.eval(node.right)
        return self.binary_value(node, left)

    def _eval_UnaryOperation(self, node: cst.UnaryOperation) -> Value:
        self.eval(node.expression)
        return self.unary_value(node)

    def code(self, node: cst.CSTNode) -> str:
        if self.unit is None:
            return cst.Module(body=[]).code_for_node(node)
        return self.unit.code(node)

    # --- calls -------------------------------------------------------------------------------------
    def callee_name(self, call: cst.Call) -> str | None:
        """The canonical qualified name of a call's callee when it is an imported name."""
        value = self.values.get(call.func)
        if value is None:
            value = self.eval(call.func)
        return value.qualname if isinstance(value, Ref) else None

    def _eval_Call(self, node: cst.Call) -> Value:
        func = node.func
        receiver: Value | None = None
        if type(func) is cst.Attribute:
            receiver = self.eval(func.value)
            callee = self._attribute_of(func, receiver)
            self.values[func] = callee
        else:
            callee = self.eval(func)
        for arg in node.args:
            self.eval(arg.value)
        if type(func) is cst.Attribute:
            name = func.attr.value
            if callee is UNKNOWN or (isinstance(callee, Lazy) and name in EAGER_METHODS):
                return self.method(receiver, func.value, name, node)  # type: ignore[arg-type]
            if isinstance(callee, Lazy):
                return self.later(lambda: self._call_or_method(force(callee), force(receiver), func.value, name, node))
        return self.call(callee, node)

    def _call_or_method(self, callee: Value, receiver: Value, receiver_node, name: str, node: cst.Call) -> Value:
        if callee is UNKNOWN:
            return self.method(receiver, receiver_node, name, node)
        return self.call(callee, node)

    def call(self, callee: Value, node: cst.Call) -> Value:
        if isinstance(callee, Lazy):
            return self.later(lambda: self.call(force(callee), node))
        if isinstance(callee, Ref):
            return self.call_library(torchapi.canonical(callee.qualname), node)
        if isinstance(callee, ExternalModel):
            head = dict(callee.overrides).get(callee.head)
            model = callee.qualname.rsplit(".", 1)[-1]
            return from_call(self.call(head, node), model) if head is not None else UNKNOWN
        if isinstance(callee, Layer):
            if not node.args:
                return UNKNOWN
            return self.produce(node, callee.op, "layer", node.args[0].value, dim_value=callee.dim, layer=callee)
        if isinstance(callee, Sequential):
            # a model built as nn.Sequential: its output is what its last layer makes
            last = force(callee.last)
            if isinstance(last, Layer) and node.args:
                value = self.produce(node, last.op, "sequential", node.args[0].value, dim_value=last.dim, layer=last)
                return from_call(value, "nn.Sequential")
            return self.call(last, node) if not isinstance(last, Sequential) else UNKNOWN
        if isinstance(callee, Alternatives):
            return merge_all([self.call(option, node) for option in callee.options])
        if isinstance(callee, ClassValue):
            return Instance(callee.cls)
        if isinstance(callee, (Instance, SelfValue)) and callee.cls is not None:
            cls = callee.cls
            overrides = callee.overrides if isinstance(callee, Instance) else ()
            return Lazy(lambda: from_call(force(cls.call_value(overrides)[0]), cls.name))
        if isinstance(callee, FunctionValue):
            fn = callee.fn
            if callee.bound or fn.self_name is None:
                return Lazy(lambda: from_call(self.spread_at(force(fn.summary().returns), node), fn.qualname))
            return Lazy(lambda: from_call(force(fn.summary().returns), fn.qualname))
        return UNKNOWN


def _seen_from_afar(value: Value) -> Value:
    """A tensor read through a name bound in another scope or by a merge of definitions: still
    the same kind, but no fix may re-evaluate its producer here."""
    if isinstance(value, Lazy):
        return Lazy(lambda: _seen_from_afar(force(value)))
    if isinstance(value, Tensor) and (value.via is Via.DIRECT or value.producer is not None):
        return replace(value, via=Via.VARIABLE if value.via is Via.DIRECT else value.via, producer=None)
    return value


def from_call(value: Value, model: str | None) -> Value:
    """A function's or model's return value, as seen by its caller."""
    if isinstance(value, Tensor):
        return replace(value, via=Via.CALL, producer=None, model=model or value.model)
    if isinstance(value, TupleValue):
        return TupleValue(tuple(from_call(v, model) for v in value.items))
    if isinstance(value, Param):
        return UNKNOWN
    return value
