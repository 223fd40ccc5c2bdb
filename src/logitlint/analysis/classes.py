"""Classes: their bases, their ``self.`` attributes (every assignment in any method merged) and
what calling an instance returns (``forward``'s summary for an ``nn.Module``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax, torchapi
from logitlint.analysis.evaluate import Evaluator
from logitlint.analysis.scopes import FunctionInfo, small_bindings
from logitlint.analysis.values import UNKNOWN, ClassValue, FunctionValue, Ref, Value, force, merge_all
from logitlint.outline import FullItem, Item, ParsedUnit

if TYPE_CHECKING:
    from logitlint.analysis.module import ModuleContext


class ClassInfo:
    """A class: its bases, its attributes (``self.x`` assigned in any method) and what calling an
    instance returns (``forward``'s summary for an nn.Module)."""

    def __init__(
        self,
        ctx: ModuleContext,
        *,
        item: Item | None = None,
        node: cst.ClassDef | None = None,
        unit: ParsedUnit | None = None,
    ):
        self.ctx, self.item = ctx, item
        self._node, self._unit = node, unit
        self.name = item.name if item is not None else node.name.value  # type: ignore[union-attr]
        self._attrs: dict[str, Value] = {}

    @property
    def qualname(self) -> str:
        prefix = f"{self.ctx.module_name}." if self.ctx.module_name else ""
        return prefix + self.name

    @cached_property
    def header(self) -> tuple[cst.ClassDef, ParsedUnit]:
        if self.item is not None:
            return self.item.header()  # type: ignore[attr-defined]
        return self._node, self._unit  # type: ignore[return-value]

    @cached_property
    def members(self) -> Sequence[Item]:
        if self.item is not None:
            return self.item.members  # type: ignore[attr-defined]
        return [FullItem(stmt, self._unit) for stmt in syntax.body_statements(self._node.body)]  # type: ignore[union-attr]

    @cached_property
    def bases(self) -> list[Value]:
        node, unit = self.header
        evaluator = Evaluator(self.ctx, None, flow_insensitive=True, unit=unit)
        return [force(evaluator.eval(base.value)) for base in node.bases]

    @cached_property
    def base_classes(self) -> list[ClassInfo]:
        return [b.cls for b in self.bases if isinstance(b, ClassValue) and isinstance(b.cls, ClassInfo)]

    def is_torch_module(self, _seen: frozenset = frozenset()) -> bool:
        if id(self) in _seen:
            return False
        for base in self.bases:
            if isinstance(base, Ref) and (
                base.qualname in torchapi.MODULE_BASES or base.qualname.startswith("torch.nn.")
            ):
                return True
            if isinstance(base, ClassValue):
                if base.cls.is_torch_module(_seen | {id(self)}):
                    return True
        return False

    def methods(self, name: str) -> list[FunctionInfo]:
        found = []
        for member in self.members:
            if member.kind == "function" and member.name == name:
                found.append(self.ctx.function_for_item(member, cls=self))
        return found

    def find_method(self, name: str, _seen: frozenset = frozenset()) -> FunctionInfo | None:
        if id(self) in _seen:
            return None
        methods = self.methods(name)
        if methods:
            return methods[-1]
        for base in self.base_classes:
            found = base.find_method(name, _seen | {id(self)})
            if found is not None:
                return found
        return None

    def attr_value(self, attr: str) -> Value:
        """``self.attr`` as seen from any method: every assignment in the class (and bases) merged."""
        return self.ctx.guard.memoised(self._attrs, attr, ("attr", id(self), attr), lambda: self._merge(attr), UNKNOWN)

    def _merge(self, attr: str) -> Value:
        values = list(self._attr_bindings(attr))
        for base in self.base_classes:
            base_value = force(base.attr_value(attr))
            if base_value is not UNKNOWN or base._has_binding(attr):
                values.append(base_value)
        if not values:
            method = self.find_method(attr)
            return FunctionValue(method, bound=True) if method is not None else UNKNOWN
        return merge_all(values)

    def _has_binding(self, attr: str) -> bool:
        return any(True for _ in self._attr_bindings(attr))

    def _attr_bindings(self, attr: str) -> Iterator[Value]:
        for member in self.members:
            if member.kind == "function" and not member.may_assign_attribute(attr):
                continue
            if not member.mentions(attr):
                continue
            if member.kind == "statement":
                evaluator = Evaluator(self.ctx, None, flow_insensitive=True)
                for stmt, unit in member.statements():
                    evaluator.unit = unit
                    for inner in syntax.walk_statements([stmt]):
                        if isinstance(inner, cst.SimpleStatementLine):
                            for small in inner.body:
                                yield from small_bindings(small, attr, evaluator, self.ctx)
                continue
            if member.kind != "function":
                continue
            fn = self.ctx.function_for_item(member, cls=self)
            self_name = fn.self_name
            if self_name is None:
                continue
            yield from fn.attribute_bindings(self_name, attr)

    def call_value(self, overrides: tuple[tuple[str, Value], ...] = ()) -> tuple[Value, FunctionInfo | None]:
        """What calling an instance returns, and the method that decides it."""
        call = self.find_method("__call__")
        if call is None:
            call = self.find_method("forward")
        if call is None:
            return UNKNOWN, None
        return call.summary(overrides).returns, call
