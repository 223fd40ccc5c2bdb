"""Helpers shared by the loss rules: how to name a loss in a message, related locations, kwargs."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax
from logitlint.analysis.losses import LossStyle
from logitlint.analysis.values import Via
from logitlint.diagnostics import Edit, Span

if TYPE_CHECKING:
    from logitlint.analysis.losses import LossCall
    from logitlint.analysis.values import Tensor
    from logitlint.outline import ParsedUnit
    from logitlint.rules.context import RuleContext


def loss_name(lc: LossCall, ctx: RuleContext) -> str:
    if lc.style is LossStyle.FUNCTIONAL:
        return f"`{ctx.code(lc.call.func)}`"
    if lc.style is LossStyle.MODULE:
        return f"`{ctx.code(lc.call.func)}` (`{lc.spec.module.rsplit('.', 1)[1]}`)"
    assert lc.sink is not None
    return f"`{ctx.code(lc.call.func)}` (its parameter reaches {lc.sink.origin.description} at {ctx.where(lc.sink.origin)})"


def related_for(value: Tensor, lc: LossCall, ctx: RuleContext):
    related = ()
    if value.via is not Via.DIRECT:
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


def dead_object_edit(lc: LossCall, ctx: RuleContext) -> Edit | None:
    """When a fix replaces the only call of a loss object (``crit = nn.CrossEntropyLoss()`` then
    ``crit(p, t)``), an edit deleting the object's assignment, so that no dead object is left.

    Only for a plain ``name = <constructor>`` statement alone on its lines, whose name appears
    nowhere else in the file (a module-level object imported by another file would still break:
    the flake8 plugin cannot see other files, so the name must also not be listed in ``__all__``)."""
    func, obj = lc.call.func, lc.loss_object
    if not isinstance(func, cst.Name) or obj is None or obj.call is None or obj.unit is None:
        return None
    text = ctx.file_text
    if len(re.findall(rf"(?<![\w.]){re.escape(func.value)}\b", text)) != 2 or "__all__" in text:
        return None
    assign = _assignment_of(obj.unit.module, obj.call, func.value)
    if assign is None:
        return None
    span = obj.unit.span(assign)
    lines = text.splitlines(keepends=True)
    if span.end_line > len(lines):
        return None
    first, last = lines[span.line - 1], lines[span.end_line - 1]
    if first[: span.col].strip() or last[span.end_col :].strip() not in ("", *_comment(last[span.end_col :])):
        return None  # shares a line with other code
    return Edit(Span(span.line, 0, span.end_line + 1, 0), "")


def _comment(rest: str) -> tuple[str, ...]:
    stripped = rest.strip()
    return (stripped,) if stripped.startswith("#") else ()


def _assignment_of(root: cst.CSTNode, ctor: cst.Call, name: str) -> cst.SimpleStatementLine | None:
    """The statement line ``name = ctor...`` (the constructor, maybe chained: ``.to(device)``)."""
    for node in syntax.descendants(root):
        if isinstance(node, cst.SimpleStatementLine) and len(node.body) == 1:
            statement = node.body[0]
            if (
                isinstance(statement, cst.Assign)
                and len(statement.targets) == 1
                and isinstance(statement.targets[0].target, cst.Name)
                and statement.targets[0].target.value == name
                and any(n is ctor for n in syntax.descendants(statement.value))
            ):
                return node
    return None


def keyword_text(call: cst.Call, name: str) -> str | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return syntax.string_literal(arg.value) or cst.Module(body=[]).code_for_node(arg.value)
    return None
