"""Function summaries: what a function returns, and which of its parameters reach a loss's input."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax
from logitlint.analysis.evaluate import Evaluator
from logitlint.analysis.flow import Walker
from logitlint.analysis.module import Sink, Summary
from logitlint.analysis.values import UNKNOWN, Origin, Param, Value, merge_all

if TYPE_CHECKING:
    from logitlint.analysis.module import FunctionInfo


def summarise(fn: FunctionInfo) -> Summary:
    from logitlint.analysis.losses import helper_inputs, recognise

    sinks: dict[int, list[Sink]] = {}

    def hook(node: cst.CSTNode, ev: Evaluator) -> None:
        if not isinstance(node, cst.Call):
            return
        loss = recognise(node, ev)
        calls = [loss] if loss is not None else list(helper_inputs(node, ev))
        for lc in calls:
            if lc.input is None:
                continue
            value = ev.value(lc.input)
            if isinstance(value, Param) and value.index >= 0:
                sink = lc.sink or Sink(
                    lc.spec.key,
                    Origin(f"`{ev.code(node.func)}(...)`", node, ev.unit),
                    frozenset(lc.arg_names()),
                    module_form=lc.form == "module",
                )
                sinks.setdefault(value.index, []).append(sink)

    returns: list[Value] = []
    ev = Evaluator(fn.ctx, fn, hook=hook)
    ev.env = fn.initial_env(ev.stamp)
    walker = Walker(ev, on_return=lambda value, _node: returns.append(value))
    if not walker.run(syntax.body_statements(fn.node.body)):
        returns.append(UNKNOWN)  # falls off the end: returns None
    result = UNKNOWN if walker.has_yield else merge_all(returns)
    if isinstance(result, Param):
        result = UNKNOWN
    return Summary(result, {k: tuple(v) for k, v in sinks.items()}, fn.param_names)
