"""Literal tensors: ``torch.tensor([[0.2, 0.8], ...])`` is a probability table when its entries are
in [0, 1] and sum to 1 over the class dim (dim 1, or dim 0 for a 1-D table)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax
from logitlint.analysis.values import UNKNOWN, Kind, Origin, Tensor, Value

if TYPE_CHECKING:
    from logitlint.analysis.evaluate import Evaluator

_TOLERANCE = 1e-3
_MAX_ENTRIES = 100_000


def nested_numbers(node: cst.BaseExpression) -> tuple[list, tuple[int, ...], bool] | None:
    """(nested list of floats, shape, any float literal) for a rectangular numeric literal."""
    if isinstance(node, (cst.List, cst.Tuple)):
        if not node.elements or any(isinstance(e, cst.StarredElement) for e in node.elements):
            return None
        parts = [nested_numbers(e.value) for e in node.elements]
        if any(p is None for p in parts):
            return None
        shapes = {p[1] for p in parts}  # type: ignore[index]
        if len(shapes) != 1:
            return None
        return [p[0] for p in parts], (len(parts), *shapes.pop()), any(p[2] for p in parts)  # type: ignore[index]
    value = syntax.number_literal(node)
    if value is None:
        return None
    return (
        value,
        (),
        not isinstance(syntax.unparenthesized(node), cst.Integer)
        and not (isinstance(node, cst.UnaryOperation) and isinstance(node.expression, cst.Integer)),
    )


def _flatten(data) -> list[float]:
    if isinstance(data, list):
        out: list[float] = []
        for item in data:
            out.extend(_flatten(item))
        return out
    return [data]


def _sums_to_one(data, shape: tuple[int, ...], class_dim: int) -> bool:
    """Do all entries sum to 1 along ``class_dim``?"""
    if class_dim == 0:
        if len(shape) == 1:
            return abs(sum(data) - 1.0) <= _TOLERANCE
        totals = _flatten(data[0])
        for row in data[1:]:
            totals = [a + b for a, b in zip(totals, _flatten(row))]
        return all(abs(t - 1.0) <= _TOLERANCE for t in totals)
    return all(_sums_to_one(item, shape[1:], class_dim - 1) for item in data)


def literal_tensor(node: cst.Call, evaluator: Evaluator) -> Value:
    data_arg = next((a for a in node.args if a.keyword is None or a.keyword.value == "data"), None)
    if data_arg is None or data_arg.star:
        return UNKNOWN
    parsed = nested_numbers(data_arg.value)
    if parsed is None:
        return UNKNOWN
    data, shape, has_float = parsed
    ndim = len(shape)
    table = Tensor(Kind.TENSOR, ndim=ndim, ndim_evidence="a literal")
    entries = 1
    for size in shape:
        entries *= size
    if ndim == 0 or not has_float or entries > _MAX_ENTRIES:
        return table
    class_dim = 1 if ndim >= 2 else 0
    if shape[class_dim] < 2:
        return table
    flat = _flatten(data)
    if any(not 0.0 <= v <= 1.0 for v in flat) or not _sums_to_one(data, shape, class_dim):
        return table
    shape_text = "(" + ", ".join(map(str, shape)) + ("," if ndim == 1 else "") + ")"
    return Tensor(
        Kind.PROBS,
        "table",
        dim=class_dim,
        ndim=ndim,
        ndim_evidence="a literal",
        origin=Origin(f"a literal probability table of shape {shape_text}", node, evaluator.unit),
    )
