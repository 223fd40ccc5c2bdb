"""Helpers shared by the loss rules: how to name a loss in a message, related locations, kwargs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax
from logitlint.diagnostics import Edit, Span

if TYPE_CHECKING:
    from logitlint.analysis.losses import LossCall
    from logitlint.analysis.values import Tensor
    from logitlint.engine import RuleContext
    from logitlint.outline import ParsedUnit


def loss_name(lc: LossCall, ctx: RuleContext) -> str:
    if lc.form == "functional":
        return f"`{ctx.code(lc.call.func)}`"
    if lc.form == "module":
        return f"`{ctx.code(lc.call.func)}` (`{lc.spec.module.rsplit('.', 1)[1]}`)"
    assert lc.sink is not None
    return f"`{ctx.code(lc.call.func)}` (its parameter reaches {lc.sink.origin.description} at {ctx.where(lc.sink.origin)})"


def related_for(value: Tensor, lc: LossCall, ctx: RuleContext):
    related = ()
    if value.via != "direct":
        related += ctx.related(value.origin, "probabilities made here")
    if lc.sink is not None:
        related += ctx.related(lc.sink.origin, "the loss inside the helper")
    return related


def negated(lc: LossCall, ctx: RuleContext) -> bool:
    """``-F.nll_loss(F.softmax(z, 1), t)``: the "gather p[t]" idiom, not a loss."""
    parent = ctx.parent(lc.call)
    return isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Minus)


def literal(text: str) -> bool:
    try:
        node = cst.parse_expression(text)
    except cst.ParserSyntaxError:
        return False
    if isinstance(node, (cst.SimpleString, cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.Name):
        return node.value in ("True", "False", "None")
    return syntax.number_literal(node) is not None


def set_keyword(call: cst.Call, name: str, value: str, unit: ParsedUnit) -> Edit:
    """An edit giving ``call`` the keyword argument ``name=value`` (replacing it if present)."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return Edit(unit.span(arg.value), value)
    if call.args:
        end = unit.span(call.args[-1].value)
        return Edit(Span(end.end_line, end.end_col, end.end_line, end.end_col), f", {name}={value}")
    whole = unit.span(call)
    close = Span(whole.end_line, whole.end_col - 1, whole.end_line, whole.end_col - 1)
    return Edit(close, f"{name}={value}")


def keyword_text(call: cst.Call, name: str) -> str | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return syntax.string_literal(arg.value) or cst.Module(body=[]).code_for_node(arg.value)
    return None
