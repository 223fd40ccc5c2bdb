"""Function summaries: what a function returns, and which of its parameters reach a loss's input.

A summary is recorded during any full walk of the function (the engine's rule walk records one
too), so no function is walked twice for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax
from logitlint.analysis.evaluate import Evaluator
from logitlint.analysis.flow import Walker
from logitlint.analysis.losses import LossStyle, helper_inputs, recognise
from logitlint.analysis.values import UNKNOWN, ClassFacts, Origin, Param, SelfValue, Sink, Summary, Value, merge_all

if TYPE_CHECKING:
    from logitlint.analysis.scopes import FunctionInfo


class SummaryRecorder:
    """Collects returns and parameter-to-loss flows while a function is walked."""

    def __init__(self, fn: FunctionInfo):
        self.fn = fn
        self.sinks: dict[int, list[Sink]] = {}
        self.returns: list[Value] = []

    def on_node(self, node: cst.CSTNode, ev: Evaluator) -> None:
        if type(node) is not cst.Call:
            return

        loss = recognise(node, ev)
        for lc in [loss] if loss is not None else helper_inputs(node, ev):
            if lc.input is None:
                continue
            value = ev.values.get(lc.input)
            if isinstance(value, Param) and value.index >= 0:
                sink = lc.sink or Sink(
                    lc.spec.key,
                    Origin(f"`{ev.code(node.func)}(...)`", node, ev.unit),
                    frozenset(lc.arg_names()),
                    module_form=lc.style is LossStyle.MODULE,
                )
                self.sinks.setdefault(value.index, []).append(sink)

    def on_return(self, value: Value, _node: cst.Return) -> None:
        self.returns.append(value)

    def finish(self, walker: Walker, terminated: bool) -> Summary:
        returns = self.returns if terminated else [*self.returns, UNKNOWN]  # falling off returns None
        result = UNKNOWN if walker.has_yield else merge_all(returns)
        if isinstance(result, Param):
            result = UNKNOWN
        return Summary(result, {k: tuple(v) for k, v in self.sinks.items()}, self.fn.param_names)


def summarise(
    fn: FunctionInfo, overrides: tuple[tuple[str, Value], ...] = (), receiver: ClassFacts | None = None
) -> Summary:
    recorder = SummaryRecorder(fn)
    ev = Evaluator(fn.ctx, fn, hook=recorder.on_node)
    ev.env = fn.initial_env(ev.stamp)
    if receiver is not None and fn.self_name is not None:
        ev.env[fn.self_name] = (SelfValue(receiver), ev.stamp())  # an inherited method run by a subclass
    if fn.self_name is not None:
        for attr, value in overrides:
            ev.env[f"{fn.self_name}.{attr}"] = (value, ev.stamp())
    walker = Walker(ev, on_return=recorder.on_return)
    terminated = walker.run(syntax.body_statements(fn.node.body))
    return recorder.finish(walker, terminated)
