"""Shared pieces of rule fixes: undoing or renaming the call that made probabilities."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax
from logitlint.analysis.values import Tensor
from logitlint.diagnostics import Edit

if TYPE_CHECKING:
    from logitlint.engine import RuleContext
    from logitlint.outline import ParsedUnit

_NAMESPACES = {"functional": "torch.nn.functional.", "torch": "torch.", "special": "torch.special."}
_LAYER_OF = {"softmax": "Softmax", "log_softmax": "LogSoftmax", "sigmoid": "Sigmoid", "logsigmoid": "LogSigmoid"}


def visible_logits(value: Tensor, node: cst.BaseExpression, ctx: RuleContext) -> cst.BaseExpression | None:
    """The expression ``node``'s probabilities were computed from, if a fix may use it at ``node``:
    ``node`` is the producer call itself, or a variable bound to it whose inputs still hold."""
    producer = value.producer
    if producer is None or producer.extra_args or producer.operand is None:
        return None
    if value.via == "direct" and node is producer.call:
        return producer.operand
    if value.via == "variable" and isinstance(node, cst.Name) and ctx.ev.still_valid(producer):
        if producer.unit is ctx.unit and contexts_around(ctx.unit, producer.call) != contexts_around(ctx.unit, node):
            return None  # made under `with torch.no_grad():` (or autocast...), used outside: gradients would change
        return producer.operand
    return None


def hidden_reason(value: Tensor, node: cst.BaseExpression, ctx: RuleContext) -> str:
    """Why ``visible_logits`` gave nothing, for a finding's fix note: the cause, named."""
    producer = value.producer
    if producer is None:
        return "no fix: where the probabilities were made is not known here"
    if producer.extra_args:
        return "no fix: the call has arguments the fix does not understand"
    made = f"`{ctx.source(producer.call, unit=producer.unit)}`"
    if producer.operand is None:
        return f"no fix: the logits {made} was given are not known"
    if value.via != "variable" or not isinstance(node, cst.Name):
        return f"no fix: the probabilities from {made} pass through more steps before this use"
    if not producer.reusable:
        operand = producer.operand
        if not syntax.is_pure(operand):
            return (
                f"no fix: using the logits here would evaluate `{ctx.source(operand, unit=producer.unit)}` "
                f"again, and it may not give the same value twice (it is a call); keep the logits in a variable"
            )
        return f"no fix: {made} is not known to give the same value if evaluated again here"
    if not ctx.ev.still_valid(producer):
        changed = sorted(name for name, stamp in producer.stamps if (ctx.ev.stamp_of(name) or 0) != stamp)
        what = f"`{changed[0]}` is" if changed else "the names it reads are"
        return f"no fix: {what} assigned again between {made} and this use"
    return f"no fix: the {producer.op} is made inside a `with` block (no_grad, autocast) and used outside it"


def contexts_around(unit: ParsedUnit, node: cst.CSTNode) -> frozenset[int]:
    """The ``with`` blocks (no_grad, autocast, inference_mode, ...) that enclose ``node``."""
    here = unit.span(node)
    found = set()
    for block in _with_blocks(unit):
        span = unit.span(block)
        if (span.line, span.col) <= (here.line, here.col) and (here.end_line, here.end_col) <= (span.end_line, span.end_col):
            found.add(id(block))
    return frozenset(found)


def _with_blocks(unit: ParsedUnit) -> list[cst.With]:
    cache = unit.cache if unit.cache is not None else {}
    key = ("with-blocks", id(unit.module))
    hit = cache.get(key)
    if hit is not None and hit[0] is unit.module:
        return hit[1]
    blocks = [node for node in syntax.descendants(unit.module) if isinstance(node, cst.With)]
    if unit.cache is not None:
        cache[key] = (unit.module, blocks)
    return blocks


def occurrences(
    root: cst.CSTNode, wanted: Callable[[cst.CSTNode], bool]
) -> Iterator[tuple[tuple[cst.CSTNode, ...], cst.CSTNode]]:
    """(ancestors, node) for every node under ``root`` that ``wanted`` accepts."""
    stack: list[tuple[tuple[cst.CSTNode, ...], cst.CSTNode]] = [((), root)]
    while stack:
        ancestors, current = stack.pop()
        if wanted(current):
            yield ancestors, current
        inner = (*ancestors, current)
        stack.extend((inner, child) for child in syntax.children(current))


def class_dim_ok(value: Tensor) -> bool:
    """Is the dim the probabilities were normalised over the loss's class dim? (FIX-SEMANTICS trap 2)"""
    dim, ndim = value.dim, value.ndim
    if dim == 1:
        return True
    if dim is None or ndim is None:
        return False
    return dim % ndim == (1 if ndim >= 2 else 0)


def describe(value: Tensor, ctx: RuleContext, node: cst.CSTNode) -> str:
    """How a message names the probabilities at ``node``, and where they were made."""
    origin = value.origin
    what = origin.description if origin is not None else value.kind.value
    if value.via == "direct":
        return what
    if value.via == "call":
        owner = f"the output of `{value.model}`" if value.model else "the return value"
        return f"`{ctx.code(node)}` ({owner}: {what} at {ctx.where(origin)})"
    return f"`{ctx.code(node)}` ({what}, {ctx.where(origin)})"


def renamed(value: Tensor, op: str, node: cst.BaseExpression, ctx: RuleContext) -> tuple[str, tuple[Edit, ...]] | None:
    """Source of the producer call changed to ``op`` (``softmax`` -> ``log_softmax``), keeping its
    operand, dim and a dtype (moved to a keyword: FIX-SEMANTICS trap 1); with any import it needs."""
    producer = value.producer
    if producer is None or producer.extra_args:
        return None
    call, unit = producer.call, producer.unit
    func = producer.func
    imports: tuple[Edit, ...] = ()
    if producer.form in ("layer", "sequential"):
        if isinstance(func, cst.Call) and producer.form == "layer":  # nn.Softmax(dim=1)(x)
            inner = renamed_callee(func.func, _LAYER_OF[op], "torch.nn.", ctx)
            if inner is None:
                return None
            new_func, imports = inner[0], inner[1]
            return unit.code(call.with_changes(func=func.with_changes(func=new_func), lpar=[], rpar=[])), imports
        if value.dim is None and op == "log_softmax":
            return None
        spelled = ctx.spell("torch.nn.functional." + op)
        if spelled is None:
            return None
        dim = f", dim={value.dim}" if op == "log_softmax" else ""
        return f"{spelled[0]}({unit.code(_bare(producer.operand))}{dim})", spelled[1]
    if producer.form == "method" and op != "logsigmoid":
        new_func: cst.BaseExpression = func.with_changes(attr=cst.Name(op))  # type: ignore[union-attr]
    elif isinstance(func, cst.Attribute) and op != "logsigmoid":
        new_func = func.with_changes(attr=cst.Name(op))
    else:  # a bare imported name, or a name that only exists elsewhere (F.logsigmoid)
        namespace = "torch.nn.functional." if op == "logsigmoid" else _NAMESPACES.get(producer.form, "torch.")
        spelled = ctx.spell(namespace + op)
        if spelled is None:
            return None
        new_func, imports = cst.parse_expression(spelled[0]), spelled[1]
        if producer.form == "method":  # x.sigmoid() -> F.logsigmoid(x)
            return f"{spelled[0]}({unit.code(_bare(producer.operand))})", imports
    args = list(call.args)
    if producer.dtype is not None:
        args = [
            a.with_changes(
                keyword=cst.Name("dtype"),
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
                ),
            )
            if a.value is producer.dtype and a.keyword is None
            else a
            for a in args
        ]
    return unit.code(call.with_changes(func=new_func, args=args, lpar=[], rpar=[])), imports


def renamed_callee(
    func: cst.BaseExpression, name: str, namespace: str, ctx: RuleContext
) -> tuple[cst.BaseExpression, tuple[Edit, ...]] | None:
    if isinstance(func, cst.Attribute):
        return func.with_changes(attr=cst.Name(name)), ()
    spelled = ctx.spell(namespace + name)
    if spelled is None:
        return None
    return cst.parse_expression(spelled[0]), spelled[1]


def _bare(node: cst.BaseExpression | None) -> cst.BaseExpression:
    assert node is not None
    return node.with_changes(lpar=[], rpar=[]) if getattr(node, "lpar", None) else node
