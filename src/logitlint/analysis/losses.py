"""Recognising loss calls in every spelling: ``F.cross_entropy(x, t)``, ``nn.CrossEntropyLoss()(x, t)``,
``crit(x, t)`` / ``self.crit(x, t)`` on a loss object, and helpers whose parameter reaches a loss."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from logitlint.analysis import syntax, torchapi
from logitlint.analysis.evaluate import Evaluator
from logitlint.analysis.torchapi import LOSS_BY_KEY, LossSpec
from logitlint.analysis.values import Fact, FunctionValue, LossObject, Ref, Sink, force


class LossStyle(Fact):
    """How a loss is called."""

    FUNCTIONAL = "functional"  # F.cross_entropy(x, y)
    MODULE = "module"  # nn.CrossEntropyLoss()(x, y), crit(x, y)
    HELPER = "helper"  # a project function whose parameter reaches a loss


@dataclass
class LossCall:
    spec: LossSpec
    call: cst.Call
    style: LossStyle
    input: cst.BaseExpression | None
    target: cst.BaseExpression | None
    bound: syntax.BoundArgs
    loss_object: LossObject | None = None
    sink: Sink | None = None  # for a helper: the loss inside it

    def arg_names(self) -> set[str]:
        names = {name for name in self.bound.args if name not in ("input", "target")}
        if self.loss_object is not None:
            names.update(name for name, _ in self.loss_object.args)
        if self.sink is not None:
            names.update(self.sink.arg_names)
        return names

    def has(self, name: str) -> bool:
        return name in self.arg_names()

    def arg_text(self, name: str) -> str | None:
        """The source of a loss argument (call site first, then the loss object's constructor)."""
        if self.loss_object is not None:
            for key, text in self.loss_object.args:
                if key == name:
                    return text
        return None

    @property
    def complete(self) -> bool:
        return self.bound.complete

    @property
    def name(self) -> str:
        return (
            self.spec.functional.rsplit(".", 1)[-1]
            if self.style is LossStyle.FUNCTIONAL
            else self.spec.module.rsplit(".", 1)[-1]
        )


def recognise(call: cst.Call, ev: Evaluator) -> LossCall | None:
    """The loss call ``call`` makes, if it is one."""
    callee = ev.values.get(call.func)
    if callee is None:
        return None
    callee = force(callee)
    if isinstance(callee, Ref) and callee.qualname in torchapi.LOSS_BY_FUNCTIONAL:
        spec = torchapi.LOSS_BY_FUNCTIONAL[callee.qualname]
        bound = syntax.bind_args(call, torchapi.SIGNATURES[spec.functional])
        return LossCall(spec, call, LossStyle.FUNCTIONAL, bound.get("input"), bound.get("target"), bound)
    if isinstance(callee, LossObject):
        bound = syntax.bind_args(call, torchapi.LOSS_CALL_SIGNATURE)
        return LossCall(
            callee.spec, call, LossStyle.MODULE, bound.get("input"), bound.get("target"), bound, loss_object=callee
        )
    return None


def helper_inputs(call: cst.Call, ev: Evaluator) -> Iterator[LossCall]:
    """For a call to a helper whose parameter reaches a loss: one LossCall per such argument."""
    callee = ev.values.get(call.func)
    if callee is None:
        return
    callee = force(callee)
    if not isinstance(callee, FunctionValue):
        return
    if not callee.fn.may_have_sinks():
        return
    summary = callee.fn.summary()
    if not summary.sinks:
        return
    for position, arg in enumerate(call.args):
        if arg.star:
            return
        keyword = arg.keyword.value if arg.keyword is not None else None
        index = callee.fn.call_param_index(position, keyword)
        if index is None:
            continue
        for sink in summary.sink_for(index):
            spec = LOSS_BY_KEY[sink.loss]
            yield LossCall(spec, call, LossStyle.HELPER, arg.value, None, syntax.BoundArgs({}, True), sink=sink)
