"""Torch semantics: what torch functions, tensor methods and operators make of their inputs.

``softmax`` makes probabilities over ``dim``, ``.view`` keeps the kind but not the axes,
``nn.CrossEntropyLoss(...)`` is a loss object, ``x / x.sum(d, keepdim=True)`` is normalised, and so
on. ``TorchSemantics`` is mixed into ``evaluate.Evaluator``, which walks the expressions and asks
these methods what a call or an operator means; the tables themselves live in ``torchapi``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax, torchapi
from logitlint.analysis.tables import literal_tensor
from logitlint.analysis.values import (
    UNKNOWN,
    Alternatives,
    ExternalModel,
    FunctionFacts,
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
    Value,
    Via,
    force,
)
from logitlint.analysis.whole import WholeNumbers

if TYPE_CHECKING:
    from logitlint.outline import ParsedUnit

_SOFTMAX_OPS = frozenset({"softmax", "log_softmax", "softmin"})
_LOG_OPS = frozenset({"log_softmax", "logsigmoid"})
# Tensor methods whose meaning does not depend on the receiver's value, handled at once (they
# record the environment a fix needs); everything else about a lazy receiver waits.
EAGER_METHODS = frozenset({"softmax", "log_softmax", "sigmoid", "exp"})
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


class TorchSemantics(WholeNumbers):
    """The torch half of the evaluator: mixed into ``Evaluator``, which provides the state and the
    generic walk declared below."""

    values: dict[cst.CSTNode, Value]
    unit: ParsedUnit | None
    scope: FunctionFacts | None
    flow_insensitive: bool
    _deferred: bool

    if TYPE_CHECKING:

        def eval(self, node: cst.BaseExpression) -> Value: ...
        def call(self, callee: Value, node: cst.Call) -> Value: ...
        def code(self, node: cst.CSTNode) -> str: ...
        def callee_name(self, call: cst.Call) -> str | None: ...
        def stamp_of(self, name: str) -> int | None: ...
        def bind(self, name: str, value: Value) -> None: ...
        def kill(self, name: str) -> None: ...
        def later(self, compute: Callable[[], Value]) -> Value: ...

    # --- operators ---------------------------------------------------------------------------------
    def binary_value(self, node: cst.BinaryOperation, left: Value) -> Value:
        if type(node.operator) is cst.Divide:
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
        if type(node.operator) is cst.Subtract and syntax.shifted_by_max(node):
            return Tensor(Kind.TENSOR, "nonpositive", origin=Origin("a max-shifted tensor", node, self.unit))
        if syntax.negated_square(node):
            return Tensor(Kind.TENSOR, "nonpositive", origin=Origin("a Gaussian exponent", node, self.unit))
        return self.whole_binary(node, left)

    def unary_value(self, node: cst.UnaryOperation) -> Value:
        if type(node.operator) is cst.Minus and self._is_abs(node.expression):
            return Tensor(Kind.TENSOR, "nonpositive", origin=Origin("`-abs(...)`", node, self.unit))
        if syntax.negated_square(node):
            return Tensor(Kind.TENSOR, "nonpositive", origin=Origin("a Gaussian exponent", node, self.unit))
        return self.whole_negation(node)

    def _is_abs(self, node: cst.BaseExpression) -> bool:
        node = syntax.unparenthesized(node)
        if type(node) is not cst.Call:
            return False
        if type(node.func) is cst.Attribute and node.func.attr.value in ("abs", "absolute") and not node.args:
            return True  # x.abs()
        return self.callee_name(node) in ("torch.abs", "torch.absolute", "abs")

    def _normaliser_dim(self, left: cst.BaseExpression, right: cst.BaseExpression) -> tuple[int | None] | None:
        """For ``E / E.sum(d, keepdim=True)`` (or ``torch.sum(E, d, keepdim=True)``): (d,)."""
        if type(right) is not cst.Call:
            return None
        qual = self.callee_name(right)
        if type(right.func) is cst.Attribute and right.func.attr.value == "sum" and qual != "torch.sum":
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

    # --- calls ---------------------------------------------------------------------------------------
    def call_library(self, qual: str, node: cst.Call) -> Value:
        """A call of an imported name: a library model constructor, or a torch function."""
        if qual.startswith("torchvision.models."):
            return _library_model(qual, qual.rsplit(".", 1)[-1], _TORCHVISION_HEADS)
        if qual == "timm.create_model" and node.args:
            name = syntax.string_literal(node.args[0].value)
            return _library_model(qual, name, _TIMM_HEADS) if name else UNKNOWN
        if qual.startswith("timm.models."):
            return _library_model(qual, qual.rsplit(".", 1)[-1], _TIMM_HEADS)
        return self.call_torch(qual, node)

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
        if qual == "functools.partial" and node.args and not node.args[0].keyword and not node.args[0].star:
            return self._partial_loss(node)
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
        return self.whole_call(qual, node)

    def lambda_value(self, node: cst.Lambda) -> Value:
        """``lambda out, t: F.cross_entropy(out, t, ...)``: a loss object of that loss, when the body
        is the loss called on the lambda's two parameters in order."""
        params = [p.name.value for p in node.params.params]
        body = node.body
        if node.params.posonly_params or len(params) != 2 or type(body) is not cst.Call:
            return UNKNOWN
        first = [syntax.dotted_name(a.value) if a.keyword is None and not a.star else None for a in body.args[:2]]
        if first != params:
            return UNKNOWN
        return self._functional_loss(body.func, body.args[2:], set(params))

    def _partial_loss(self, node: cst.Call) -> Value:
        """``functools.partial(F.cross_entropy, reduction="sum")``: a loss object of that loss."""
        return self._functional_loss(node.args[0].value, node.args[1:])

    def _functional_loss(
        self,
        func: cst.BaseExpression,
        extra: Sequence[cst.Arg],
        local: set[str] = frozenset(),  # type: ignore[assignment]
    ) -> Value:
        """A functional loss bound to ``extra`` arguments, as a loss object: its keywords are its
        arguments (``*`` for one that is positional, starred or reads a ``local`` name, which blocks
        fixes that copy them), and it has no constructor a fix could edit."""
        callee = force(self.values.get(func, UNKNOWN))
        spec = torchapi.LOSS_BY_FUNCTIONAL.get(torchapi.canonical(callee.qualname)) if isinstance(callee, Ref) else None
        if spec is None:
            return UNKNOWN
        args = tuple(
            (a.keyword.value, self.code(a.value))
            if a.keyword is not None and not a.star and not set(syntax.read_names(a.value)) & local
            else ("*", "*")
            for a in extra
        )
        return LossObject(spec, None, None, args)

    def _first_value(self, node: cst.Call) -> Value:
        if node.args and node.args[0].keyword is None and not node.args[0].star:
            return self.values.get(node.args[0].value, UNKNOWN)
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "input":
                return self.values.get(arg.value, UNKNOWN)
        return UNKNOWN

    def _rank_from_sizes(self, node: cst.Call) -> int | None:
        args = [a for a in node.args if a.keyword is None]
        if any(a.star for a in node.args) or not args:
            return None
        if len(args) == 1 and type(args[0].value) in (cst.Tuple, cst.List):
            elements = args[0].value.elements
            return None if any(type(e) is cst.StarredElement for e in elements) else len(elements)
        if len(args) == 1:
            return None  # x.view(shape) or x.view(dtype)
        return len(args)

    def log_of(self, value: Value, node: cst.Call) -> Value:
        if isinstance(value, Lazy):
            return self.later(lambda: self.log_of(force(value), node))
        if isinstance(value, Tensor) and value.kind is Kind.PROBS:
            described = value.origin.description if value.origin else "probabilities"
            return _reread(value, Kind.LOG_PROBS, Source.LOG, Origin("the log of " + described, node, self.unit))
        return UNKNOWN

    def exp_of(self, value: Value, node: cst.Call, operand: cst.BaseExpression | None) -> Value:
        if isinstance(value, Tensor) and value.kind is Kind.LOG_PROBS:
            return _reread(value, Kind.PROBS, Source.EXP, Origin("exp of log-probabilities", node, self.unit))
        if operand is None:
            return UNKNOWN
        # exp of anything else: kept (with its operand) for log-sum-exp and hand-written softmax.
        # exp of a non-positive tensor (x - max, -|x|) is at most 1 and cannot overflow.
        bounded = isinstance(value, Tensor) and value.source is Source.NONPOSITIVE
        form = "method" if type(node.func) is cst.Attribute and operand is node.func.value else "torch"
        producer = Producer(
            node, self.unit, "exp", form, operand, None, None, False, node.func, *self._call_state(node)
        )
        ndim = value.ndim if isinstance(value, Tensor) else None
        source = Source.EXP_NONPOSITIVE if bounded else Source.EXP
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
        if layer is not None:  # nn.Softmax(dim=1)(x): the dim is the layer's
            dim_node, dtype, extra = None, None, False
            dim = layer.dim if op in _SOFTMAX_OPS else None
            origin = layer.origin or Origin(op, node, self.unit)
        else:
            bound = syntax.bind_args(node, torchapi.SIGNATURES.get(signature or "", ("input", "dim")))
            dim_node, dtype = bound.get("dim"), bound.get("dtype")
            extra = (not bound.complete) or "_stacklevel" in bound or "out" in bound
            dim = syntax.int_literal(dim_node) if op in _SOFTMAX_OPS else None
            origin = Origin(f"`{self.code(node.func)}(...)` output", node, self.unit)
        producer = Producer(
            node, self.unit, op, form, operand, dim_node, dtype, extra, node.func, *self._call_state(node)
        )  # type: ignore[arg-type]
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
        if type(func) is cst.Attribute:
            parts.append(func.value)
        elif type(func) is cst.Call:  # nn.Softmax(dim=1)(x)
            parts.extend(a.value for a in func.args)
        if not all(syntax.is_pure(p) or type(p) is cst.SimpleString for p in parts):
            return (), False
        names = {n for p in parts for n in syntax.read_names(p)}
        return tuple((name, self.stamp_of(name) or 0) for name in sorted(names)), True

    def still_valid(self, producer: Producer) -> bool:
        """Do the names a producer's operand reads still hold what they held then?"""
        if not producer.reusable:
            return False
        return all((self.stamp_of(name) or 0) == stamp for name, stamp in producer.stamps)

    # --- methods -------------------------------------------------------------------------------------
    def method(self, receiver: Value, receiver_node: cst.BaseExpression, name: str, node: cst.Call) -> Value:
        """``receiver.name(...)`` where the receiver is not a module (a tensor, a layer, a model)."""
        if torchapi.is_inplace_method(name) and not self.flow_insensitive:
            target = syntax.dotted_name(receiver_node)
            if target is not None and target.count(".") <= 1:
                self.kill(target)
            return UNKNOWN
        if name == "add_module" and type(receiver_node) is cst.Name:
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
            and name in torchapi.MODULE_METHODS
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
        return self.whole_method(receiver, name, node)


def _library_model(qual: str, name: str, table) -> Value:
    """A library model whose forward ends with a known attribute (its head), else UNKNOWN."""
    for prefixes, head in table:
        if name.startswith(prefixes):
            return ExternalModel(qual if qual != "timm.create_model" else f"timm.{name}", head)
    return UNKNOWN


def _reread(value: Tensor, kind: Kind, source: Source, origin: Origin) -> Tensor:
    """Probabilities read as log-probabilities through a log (or back through exp): the same
    distribution, now made here."""
    return replace(value, kind=kind, source=source, producer=None, via=Via.DIRECT, origin=origin)
