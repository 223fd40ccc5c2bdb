"""Whole numbers: which tensors hold only integers (``torch.arange``, ``floor``, counts, and the
sums, differences and rearrangements of them).

``log(1 + n)`` for a whole ``n`` cancels nothing, so the precision rule (LGT208) stays quiet there.
``WholeNumbers`` is mixed into ``semantics.TorchSemantics``; it answers only where its facts hold
for every input, and says nothing (UNKNOWN) elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax, torchapi
from logitlint.analysis.values import (
    NOTHING,
    UNKNOWN,
    Kind,
    Lazy,
    Origin,
    Repeated,
    Source,
    StarParam,
    Tensor,
    TupleValue,
    Value,
    force,
    is_whole,
)

if TYPE_CHECKING:
    from logitlint.outline import ParsedUnit

# Operators that keep whole numbers whole (``/`` and ``**`` with a negative power do not).
_WHOLE_OPERATORS = (cst.Add, cst.Subtract, cst.Multiply, cst.FloorDivide, cst.Modulo)


class WholeNumbers:
    values: dict[cst.CSTNode, Value]
    unit: ParsedUnit | None

    if TYPE_CHECKING:

        def code(self, node: cst.CSTNode) -> str: ...
        def later(self, compute: Callable[[], Value]) -> Value: ...
        def _first_value(self, node: cst.Call) -> Value: ...

    def whole(self, node: cst.CSTNode) -> Tensor:
        return Tensor(Kind.TENSOR, Source.WHOLE, origin=Origin("whole numbers", node, self.unit))

    def whole_call(self, qual: str, node: cst.Call) -> Value:
        """``torch.arange(n)``, ``torch.abs(whole)``, ``torch.stack([whole, ...])``, the counts of
        ``torch.unique(..., return_counts=True)``, ``torch.meshgrid(whole, ...)``."""
        if qual in torchapi.WHOLE_MAKERS:
            return UNKNOWN if any(a.keyword and a.keyword.value == "decimals" for a in node.args) else self.whole(node)
        if qual in torchapi.WHOLE_KEEPING:
            return self._whole_if(node, [self._first_value(node)])
        if qual in torchapi.UNIQUE:
            return self._unique(node, torchapi.UNIQUE[qual])
        if qual in torchapi.JOINS and node.args and not node.args[0].star:
            return self._whole_if(node, [self.values.get(node.args[0].value, UNKNOWN)])
        if qual in torchapi.SPREADS:
            return self._spread(node)
        return UNKNOWN

    def whole_method(self, receiver: Value, name: str, node: cst.Call) -> Value:
        """``x.long()``, ``x.round()``; ``whole.abs()``, ``whole.sum(0)``."""
        if name in torchapi.WHOLE_METHODS and not (name == "round" and node.args):
            return self.whole(node)
        if name in torchapi.WHOLE_KEEPING_METHODS:
            return self._whole_if(node, [receiver])
        return UNKNOWN

    def whole_binary(self, node: cst.BinaryOperation, left: Value) -> Value:
        """``a - b``, ``2 * n + 1`` of whole numbers (tensors or integer literals)."""
        if not isinstance(node.operator, _WHOLE_OPERATORS):
            return UNKNOWN
        operands = [self._operand(node.left, left), self._operand(node.right, self.values.get(node.right, UNKNOWN))]
        if all(v is NOTHING for v in operands):
            return UNKNOWN  # two literals: a number, not a tensor
        return self._whole_if(node, [v for v in operands if v is not NOTHING])

    def whole_negation(self, node: cst.UnaryOperation) -> Value:
        if type(node.operator) is not cst.Minus:
            return UNKNOWN
        return self._whole_if(node, [self.values.get(node.expression, UNKNOWN)])

    def spread_at(self, value: Value, node: cst.Call) -> Value:
        """A function's ``return torch.meshgrid(*tensors)`` seen at a call: whole numbers if every
        tensor the call passes for ``*tensors`` is."""
        if not (isinstance(value, Repeated) and isinstance(value.element, StarParam)):
            return value
        args = [a for a in node.args if a.keyword is None]
        if any(a.star for a in args):
            return UNKNOWN
        passed = [self.values.get(a.value, UNKNOWN) for a in args[value.element.index :]]
        return self._repeated(self._whole_if(node, passed))

    # --- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def _operand(node: cst.BaseExpression, value: Value) -> Value:
        """An integer literal as NOTHING (it keeps a whole tensor whole), else its value."""
        return NOTHING if syntax.int_literal(syntax.unparenthesized(node)) is not None else value

    def _whole_if(self, node: cst.CSTNode, values: list[Value]) -> Value:
        """Whole numbers if every value holds whole numbers (a sequence: every element does)."""
        if any(isinstance(v, Lazy) for v in values):
            return self.later(lambda: self._whole_if(node, [force(v) for v in values]))
        elements = [e for v in values for e in _elements(v)]
        return self.whole(node) if elements and all(is_whole(e) for e in elements) else UNKNOWN

    def _unique(self, node: cst.Call, signature: tuple[str, ...]) -> Value:
        """``values, counts = torch.unique(x, return_counts=True)``: the counts (and the inverse
        indices) are whole; the values are the input's."""
        bound = syntax.bind_args(node, signature)
        if not bound.complete:
            return UNKNOWN
        flags = [bound.get(name) for name in ("return_inverse", "return_counts")]
        if any(flag is not None and not syntax.is_true(flag) and not _is_false(flag) for flag in flags):
            return UNKNOWN  # a flag we cannot read: the tuple's length is unknown
        extra = [self.whole(node) for flag in flags if syntax.is_true(flag)]
        return TupleValue((UNKNOWN, *extra)) if extra else UNKNOWN

    def _spread(self, node: cst.Call) -> Value:
        """``torch.meshgrid(a, b)``: one tensor per input, holding the inputs' numbers; of a
        function's ``*tensors``, what its caller passes (``StarParam``, bound at the call)."""
        args = [a for a in node.args if a.keyword is None]
        values = [self.values.get(a.value, UNKNOWN) for a in args]
        if len(args) == 1 and args[0].star and isinstance(values[0], StarParam):
            return Repeated(values[0])
        return self._repeated(self._whole_if(node, values))

    def _repeated(self, element: Value) -> Value:
        if isinstance(element, Lazy):
            return self.later(lambda: self._repeated(force(element)))
        return Repeated(element) if element is not UNKNOWN else UNKNOWN


def _elements(value: Value) -> list[Value]:
    if isinstance(value, Repeated):
        return [value.element]
    if isinstance(value, TupleValue):
        return list(value.items)
    return [value]


def _is_false(node: cst.BaseExpression) -> bool:
    return type(node) is cst.Name and node.value == "False"
