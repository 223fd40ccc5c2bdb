"""Expression evaluation: what an expression holds, given what the names in it hold.

The torch semantics (softmax makes probabilities over ``dim``, ``.view`` keeps the kind but not the
axes, ``nn.CrossEntropyLoss(...)`` is a loss object, ...) live here and in ``torchapi``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax, torchapi
from logitlint.analysis.tables import literal_tensor
from logitlint.analysis.values import (
    UNKNOWN,
    Alternatives,
    ClassValue,
    ExternalModel,
    FunctionValue,
    Instance,
    Kind,
    Layer,
    Lazy,
    LossObject,
    Origin,
    Param,
    Producer,
    Ref,
    SelfValue,
    Sequential,
    Source,
    Tensor,
    TupleValue,
    Value,
    Via,
    force,
    merge,
    merge_all,
)

if TYPE_CHECKING:
    from logitlint.analysis.module import FunctionInfo, ModuleContext
    from logitlint.outline import ParsedUnit

Env = dict[str, tuple[Value, int]]
_SOFTMAX_OPS = frozenset({"softmax", "log_softmax", "softmin"})
_LOG_OPS = frozenset({"log_softmax", "logsigmoid"})
_MODULE_METHODS = frozenset({"to", "cuda", "cpu", "float", "double", "half", "train", "eval", "requires_grad_", "type"})
_HOOKED = (cst.Call, cst.BinaryOperation, cst.UnaryOperation, cst.Subscript)
# Tensor methods whose meaning does not depend on the receiver's value, handled at once (they
# record the environment a fix needs); everything else about a lazy receiver waits.
_EAGER_METHODS = frozenset({"softmax", "log_softmax", "sigmoid", "exp"})
# torchvision constructors -> the attribute their forward ends with
_TORCHVISION_HEADS = (
    (("resnet", "resnext", "wide_resnet", "regnet", "googlenet", "inception", "shufflenet"), "fc"),
    (("densenet", "mobilenet", "efficientnet", "vgg", "alexnet", "convnext", "mnasnet", "squeezenet"), "classifier"),
    (("vit_", "swin_"), "heads"),
)
# timm model names (``timm.create_model("resnet50")``) -> the attribute their forward ends with
_TIMM_HEADS = (
    (("resnet", "resnext", "seresnet", "wide_resnet"), "fc"),
    (("efficientnet", "mobilenetv2", "mobilenetv3", "densenet", "mixnet"), "classifier"),
    (("vit_", "deit", "swin_", "convnext", "beit", "eva"), "head"),
)


class Counter:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> int:
        self.n += 1
        return self.n


class Evaluator:
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
            if (len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index))
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
            if isinstance(element, cst.StarredElement):
                for e in node.elements:
                    self.eval(e.value)
                return UNKNOWN
            items.append(value)
        return TupleValue(tuple(items))

    def _eval_IfExp(self, node: cst.IfExp) -> Value:
        self.eval(node.test)
        return merge(self.eval(node.body), self.eval(node.orelse))

    def _eval_NamedExpr(self, node: cst.NamedExpr) -> Value:
        value = self.eval(node.value)
        if isinstance(node.target, cst.Name) and not self.flow_insensitive:
            self.bind(node.target.value, value)
        return value

    def _eval_Lambda(self, node: cst.Lambda) -> Value:
        names = {p.name.value for p in (*node.params.params, *node.params.posonly_params, *node.params.kwonly_params)}
        self._shadowed_eval(names, [node.body])
        return UNKNOWN

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
        right = self.eval(node.right)
        if isinstance(node.operator, cst.Divide):
            dim = self._normaliser_dim(node.left, node.right)
            if dim is not None:
                ndim = left.ndim if isinstance(left, Tensor) else None
                return Tensor(
                    Kind.PROBS,
                    "normalised",
                    dim=dim[0],
                    ndim=ndim,
                    origin=Origin("a tensor normalised by its sum", node, self.unit),
                    dist=self.distribution("normalised", node.left, dim[0]),
                )
        del right
        if isinstance(node.operator, cst.Subtract) and syntax.shifted_by_max(node):
            return Tensor(Kind.TENSOR, "nonpositive", origin=Origin("a max-shifted tensor", node, self.unit))
        if syntax.negated_square(node):
            return Tensor(Kind.TENSOR, "nonpositive", origin=Origin("a Gaussian exponent", node, self.unit))
        return UNKNOWN

    def _eval_UnaryOperation(self, node: cst.UnaryOperation) -> Value:
        self.eval(node.expression)
        if isinstance(node.operator, cst.Minus) and self._is_abs(node.expression):
            return Tensor(Kind.TENSOR, "nonpositive", origin=Origin("`-abs(...)`", node, self.unit))
        if syntax.negated_square(node):
            return Tensor(Kind.TENSOR, "nonpositive", origin=Origin("a Gaussian exponent", node, self.unit))
        return UNKNOWN

    def _is_abs(self, node: cst.BaseExpression) -> bool:
        node = syntax.unparenthesized(node)
        if not isinstance(node, cst.Call):
            return False
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in ("abs", "absolute") and not node.args:
            return True  # x.abs()
        return self.callee_name(node) in ("torch.abs", "torch.absolute", "abs")

    def _normaliser_dim(self, left: cst.BaseExpression, right: cst.BaseExpression) -> tuple[int | None] | None:
        """For ``E / E.sum(d, keepdim=True)`` (or ``torch.sum(E, d, keepdim=True)``): (d,)."""
        if not isinstance(right, cst.Call):
            return None
        qual = self.callee_name(right)
        if isinstance(right.func, cst.Attribute) and right.func.attr.value == "sum" and qual != "torch.sum":
            summed = right.func.value
            bound = syntax.bind_args(right, torchapi.SIGNATURES["torch.Tensor.sum"])
        elif qual == "torch.sum" and right.args:
            summed = right.args[0].value
            bound = syntax.bind_args(right, torchapi.SIGNATURES["torch.sum"])
        else:
            return None
        if not syntax.is_true(bound.get("keepdim")) or bound.get("dim") is None or "dtype" in bound:
            return None
        if self.code(syntax.unparenthesized(summed)) != self.code(syntax.unparenthesized(left)):
            return None
        return (syntax.int_literal(bound.get("dim")),)

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
        if isinstance(func, cst.Attribute):
            receiver = self.eval(func.value)
            callee = self._attribute_of(func, receiver)
            self.values[func] = callee
        else:
            callee = self.eval(func)
        for arg in node.args:
            self.eval(arg.value)
        if isinstance(func, cst.Attribute):
            name = func.attr.value
            if callee is UNKNOWN or (isinstance(callee, Lazy) and name in _EAGER_METHODS):
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
            qual = torchapi.canonical(callee.qualname)
            if qual.startswith("torchvision.models."):
                return _library_model(qual, qual.rsplit(".", 1)[-1], _TORCHVISION_HEADS)
            if qual == "timm.create_model" and node.args:
                name = syntax.string_literal(node.args[0].value)
                return _library_model(qual, name, _TIMM_HEADS) if name else UNKNOWN
            if qual.startswith("timm.models."):
                return _library_model(qual, qual.rsplit(".", 1)[-1], _TIMM_HEADS)
            return self.call_torch(qual, node)
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
            return Lazy(lambda: from_call(force(fn.summary().returns), fn.qualname))
        return UNKNOWN

    def method(self, receiver: Value, receiver_node: cst.BaseExpression, name: str, node: cst.Call) -> Value:
        """``receiver.name(...)`` where the receiver is not a module (a tensor, a layer, a model)."""
        if torchapi.is_inplace_method(name) and not self.flow_insensitive:
            target = syntax.dotted_name(receiver_node)
            if target is not None and target.count(".") <= 1:
                self.kill(target)
            return UNKNOWN
        if name == "add_module" and isinstance(receiver_node, cst.Name):
            self._add_module(receiver, receiver_node.value, node)
            return UNKNOWN
        qual = "torch.Tensor." + name
        if name in ("softmax", "log_softmax", "sigmoid"):
            return self.produce(node, name, "method", receiver_node, signature=qual)
        if name == "exp" and not node.args:
            return self.exp_of(receiver, node, receiver_node)
        if isinstance(receiver, Lazy):
            return self.later(lambda: self._method_value(force(receiver), name, node))
        return self._method_value(receiver, name, node)

    def _add_module(self, receiver: Value, target: str, node: cst.Call) -> None:
        """``model.add_module("fc", layer)`` on an instance: as ``model.fc = layer``."""
        if len(node.args) < 2 or self.flow_insensitive:
            return
        attr = syntax.string_literal(node.args[0].value)
        if attr is None:
            return
        value = self.values.get(node.args[1].value, UNKNOWN)
        self.bind(f"{target}.{attr}", value)
        receiver = force(receiver)
        if isinstance(receiver, (Instance, ExternalModel)):
            self.bind(target, receiver.with_override(attr, value))

    def _method_value(self, receiver: Value, name: str, node: cst.Call) -> Value:
        if (
            isinstance(receiver, (LossObject, Layer, Sequential, Instance, ExternalModel, Alternatives))
            and name in _MODULE_METHODS
        ):
            return receiver
        if isinstance(receiver, (Instance, SelfValue, Sequential, ExternalModel, Alternatives)) and name == "forward":
            return self.call(receiver, node)
        if name == "log":
            return self.log_of(receiver, node)
        if isinstance(receiver, Param) and (
            name in torchapi.KIND_PRESERVING_SAME_AXES or name in torchapi.KIND_PRESERVING_RESHAPE
        ):
            return receiver
        if name in ("view", "reshape"):
            ndim = self._rank_from_sizes(node)
            if isinstance(receiver, Tensor):
                return replace(
                    receiver.through(Via.STEPS, keep_dim=False, keep_producer=False),
                    ndim=ndim,
                    ndim_evidence=f".{name}(...)" if ndim else "",
                )
            return Tensor(Kind.TENSOR, ndim=ndim, ndim_evidence=f".{name}(...)") if ndim else UNKNOWN
        if isinstance(receiver, Tensor):
            if name in torchapi.KIND_PRESERVING_SAME_AXES:
                return receiver.through(Via.STEPS, keep_producer=False)
            if name in torchapi.KIND_PRESERVING_RESHAPE:
                return replace(receiver.through(Via.STEPS, keep_dim=False, keep_producer=False), ndim=None)
        return UNKNOWN

    def _rank_from_sizes(self, node: cst.Call) -> int | None:
        args = [a for a in node.args if a.keyword is None]
        if any(a.star for a in node.args) or not args:
            return None
        if len(args) == 1 and isinstance(args[0].value, (cst.Tuple, cst.List)):
            elements = args[0].value.elements
            return None if any(isinstance(e, cst.StarredElement) for e in elements) else len(elements)
        if len(args) == 1:
            return None  # x.view(shape) or x.view(dtype)
        return len(args)

    def call_torch(self, qual: str, node: cst.Call) -> Value:
        if qual in torchapi.PRODUCERS:
            op, form = torchapi.PRODUCERS[qual]
            if not node.args or node.args[0].keyword is not None and node.args[0].keyword.value != "input":
                bound = syntax.bind_args(node, torchapi.SIGNATURES.get(qual, ("input",)))
                operand = bound.get("input")
                if operand is None:
                    return UNKNOWN
            else:
                operand = node.args[0].value
            return self.produce(node, op, form, operand, signature=qual)
        if qual in ("torch.log", "torch.special.log"):
            return self.log_of(self._first_value(node), node)
        if qual in ("torch.exp", "torch.special.exp"):
            first = node.args[0].value if node.args and node.args[0].keyword is None and not node.args[0].star else None
            return self.exp_of(self._first_value(node), node, first)
        if qual in torchapi.LAYERS:
            bound = syntax.bind_args(node, torchapi.SIGNATURES[qual])
            dim_node = bound.get("dim")
            return Layer(
                torchapi.LAYERS[qual],
                syntax.int_literal(dim_node),
                dim_node is not None,
                Origin(f"`{self.code(node.func)}(...)` output", node, self.unit),
                node,
                self.unit,
            )
        if qual in torchapi.LOSS_BY_MODULE:
            bound = syntax.bind_args(node, torchapi.SIGNATURES[qual])
            args = tuple((name, self.code(arg.value)) for name, arg in bound.args.items())
            if not bound.complete:
                args += (("*", "*"),)  # arguments we could not read: block fixes that copy them
            return LossObject(torchapi.LOSS_BY_MODULE[qual], node, self.unit, args)
        if qual == torchapi.SEQUENTIAL:
            if any(arg.star or arg.keyword is not None for arg in node.args):
                return Sequential(None, Origin("nn.Sequential(...)", node, self.unit))
            elements = tuple(self.values.get(arg.value, UNKNOWN) for arg in node.args)
            if len(elements) == 1 and not isinstance(elements[0], (Layer, Sequential, Instance)):
                return Sequential(None, Origin("nn.Sequential(...)", node, self.unit))
            return Sequential(elements, Origin("nn.Sequential(...)", node, self.unit))
        if qual in torchapi.MODULE_WRAPPERS:
            return self._first_value(node)  # DataParallel(model)(x) is model(x)
        if qual in torchapi.LITERAL_TENSORS:
            return literal_tensor(node, self)
        if qual in torchapi.SIZED_CONSTRUCTORS:
            ndim = self._rank_from_sizes(node)
            return Tensor(Kind.TENSOR, ndim=ndim, ndim_evidence=f"{self.code(node.func)}(...)") if ndim else UNKNOWN
        if qual in (
            "torch.clone",
            "torch.squeeze",
            "torch.unsqueeze",
            "torch.flatten",
            "torch.reshape",
            "torch.gather",
            "torch.transpose",
            "torch.permute",
        ):
            value = force(self._first_value(node))
            if isinstance(value, Tensor):
                return replace(
                    value.through(Via.STEPS, keep_dim=qual == "torch.clone", keep_producer=False),
                    ndim=value.ndim if qual == "torch.clone" else None,
                )
            if isinstance(value, Param):
                return value
        return UNKNOWN

    def _first_value(self, node: cst.Call) -> Value:
        if node.args and node.args[0].keyword is None and not node.args[0].star:
            return self.values.get(node.args[0].value, UNKNOWN)
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "input":
                return self.values.get(arg.value, UNKNOWN)
        return UNKNOWN

    def log_of(self, value: Value, node: cst.Call) -> Value:
        if isinstance(value, Lazy):
            return self.later(lambda: self.log_of(force(value), node))
        if isinstance(value, Tensor) and value.kind is Kind.PROBS:
            return replace(
                value,
                kind=Kind.LOG_PROBS,
                source="log",
                producer=None,
                via=Via.DIRECT,
                origin=Origin(
                    "the log of " + (value.origin.description if value.origin else "probabilities"), node, self.unit
                ),
            )
        return UNKNOWN

    def exp_of(self, value: Value, node: cst.Call, operand: cst.BaseExpression | None) -> Value:
        if isinstance(value, Tensor) and value.kind is Kind.LOG_PROBS:
            return replace(
                value,
                kind=Kind.PROBS,
                source="exp",
                producer=None,
                via=Via.DIRECT,
                origin=Origin("exp of log-probabilities", node, self.unit),
            )
        if operand is None:
            return UNKNOWN
        # exp of anything else: kept (with its operand) for log-sum-exp and hand-written softmax.
        # exp of a non-positive tensor (x - max, -|x|) is at most 1 and cannot overflow.
        bounded = isinstance(value, Tensor) and value.source is Source.NONPOSITIVE
        form = "method" if isinstance(node.func, cst.Attribute) and operand is node.func.value else "torch"
        producer = Producer(
            node, self.unit, "exp", form, operand, None, None, False, node.func, *self._call_state(node)
        )
        ndim = value.ndim if isinstance(value, Tensor) else None
        source = "exp_nonpositive" if bounded else "exp"
        return Tensor(Kind.TENSOR, source, ndim=ndim, origin=Origin("`exp(...)`", node, self.unit), producer=producer)

    def produce(
        self,
        node: cst.Call,
        op: str,
        form: str,
        operand: cst.BaseExpression,
        *,
        signature: str | None = None,
        dim_value: int | None = None,
        layer: Layer | None = None,
    ) -> Value:
        """The value of a softmax/sigmoid-family call, with what a fix needs to undo it."""
        kind = Kind.LOG_PROBS if op in _LOG_OPS else Kind.PROBS
        operand_value = self.values.get(operand, UNKNOWN)
        ndim = operand_value.ndim if isinstance(operand_value, Tensor) else None
        evidence = operand_value.ndim_evidence if isinstance(operand_value, Tensor) else ""
        if layer is not None:
            producer = Producer(
                node,
                self.unit,
                op,
                form,
                operand,
                None,
                None,
                False,
                node.func,  # type: ignore[arg-type]
                *self._call_state(node),
            )
            origin = layer.origin or Origin(op, node, self.unit)
            dim = layer.dim if op in _SOFTMAX_OPS else None
            dist = self.distribution(op, operand, dim)
            return Tensor(kind, op, dim, ndim, evidence, origin, producer, dist=dist)
        params = torchapi.SIGNATURES.get(signature or "", ("input", "dim"))
        bound = syntax.bind_args(node, params)
        dim_node = bound.get("dim")
        extra = (not bound.complete) or "_stacklevel" in bound or "out" in bound
        producer = Producer(
            node,
            self.unit,
            op,
            form,
            operand,
            dim_node,
            bound.get("dtype"),
            extra,  # type: ignore[arg-type]
            node.func,
            *self._call_state(node),
        )
        dim = syntax.int_literal(dim_node) if op in _SOFTMAX_OPS else None
        origin = Origin(f"`{self.code(node.func)}(...)` output", node, self.unit)
        dist = self.distribution(op, operand, dim)
        return Tensor(kind, op, dim, ndim, evidence, origin, producer, dist=dist)

    def distribution(self, op: str, operand: cst.BaseExpression, dim: int | None) -> tuple:
        """Which distribution a softmax/sigmoid-family call makes (``Tensor.dist``): softmax and
        log_softmax of the same operand, read with the same bindings, over the same dim, are one."""
        family = {"log_softmax": "softmax", "logsigmoid": "sigmoid"}.get(op, op)
        names = sorted(set(syntax.read_names(operand)))
        scope = self.scope.qualname if self.scope is not None else ""
        return (family, scope, self.code(operand), tuple((n, self.stamp_of(n) or 0) for n in names), dim)

    def _call_state(self, node: cst.Call) -> tuple[tuple[tuple[str, int], ...], bool]:
        """Stamps of every name a producer call reads, if it could be re-evaluated elsewhere."""
        if self._deferred:
            return (), False
        parts: list[cst.BaseExpression] = [a.value for a in node.args]
        func = node.func
        if isinstance(func, cst.Attribute):
            parts.append(func.value)
        elif isinstance(func, cst.Call):  # nn.Softmax(dim=1)(x)
            parts.extend(a.value for a in func.args)
        if not all(syntax.is_pure(p) or isinstance(p, cst.SimpleString) for p in parts):
            return (), False
        names = {n for p in parts for n in syntax.read_names(p)}
        return tuple((name, self.stamp_of(name) or 0) for name in sorted(names)), True

    def still_valid(self, producer: Producer) -> bool:
        """Do the names a producer's operand reads still hold what they held then?"""
        if not producer.reusable:
            return False
        return all((self.stamp_of(name) or 0) == stamp for name, stamp in producer.stamps)


def _library_model(qual: str, name: str, table) -> Value:
    """A library model whose forward ends with a known attribute (its head), else UNKNOWN."""
    for prefixes, head in table:
        if name.startswith(prefixes):
            return ExternalModel(qual if qual != "timm.create_model" else f"timm.{name}", head)
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
