"""Classes: their bases, their ``self.`` attributes (every assignment in any method merged) and
what calling an instance returns (``forward``'s summary for an ``nn.Module``)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import syntax, torchapi
from logitlint.analysis.evaluate import Evaluator
from logitlint.analysis.scopes import FunctionInfo, small_bindings
from logitlint.analysis.values import UNKNOWN, ClassValue, FunctionValue, Ref, Value, force, merge_all
from logitlint.outline import FullItem, Item, ParsedUnit, findall_after_boundary

if TYPE_CHECKING:
    from logitlint.analysis.module import ModuleContext

_SELF_CALL = re.compile(r"self\.(\w+)\s*\(")  # searched with findall_after_boundary


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
        self._attrs: dict = {}  # attr, or (attr, receiver id) -> value
        self._binds: dict[str, bool] = {}  # attr -> does this class itself assign it

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

    def attr_value(self, attr: str, receiver: ClassInfo | None = None) -> Value:
        """``self.attr`` as seen from any method: every assignment in the class (and bases) merged.
        ``receiver``: the subclass whose instance this is, when one of its methods that these
        assignments call is overridden there (``self.head = self.make_head()``)."""
        if receiver is not None and (receiver is self or not self._dispatches(attr, receiver)):
            receiver = None
        key = attr if receiver is None else (attr, id(receiver))
        return self.ctx.guard.memoised(
            self._attrs, key, ("attr", id(self), key), lambda: self._merge(attr, receiver), UNKNOWN
        )

    def _merge(self, attr: str, receiver: ClassInfo | None) -> Value:
        values = list(self._attr_bindings(attr, receiver))
        for base in self.base_classes:
            if base._has_binding(attr, deep=True):  # a base's method of that name is no binding
                values.append(force(base.attr_value(attr, receiver or self)))
        if not values:
            method = (receiver or self).find_method(attr)  # the most derived definition
            return FunctionValue(method, bound=True) if method is not None else UNKNOWN
        return merge_all(values)

    def _dispatches(self, attr: str, receiver: ClassInfo) -> bool:
        """Does an assignment to ``self.attr`` here call a method that ``receiver`` overrides? (text)"""
        overridden = {m.name for m in receiver.members if m.kind == "function"} - {"__init__", attr}
        if not overridden:
            return False
        for member in self.members:
            if member.kind == "function" and member.may_assign_attribute(attr):
                text = getattr(member, "text", None)
                if text is None or set(findall_after_boundary(_SELF_CALL, text)) & overridden:
                    return True  # (a whole-file parse has no unit text: assume it may)
        return False

    def _has_binding(self, attr: str, deep: bool = False, _seen: frozenset = frozenset()) -> bool:
        if id(self) in _seen:
            return False
        own = self._binds.get(attr)
        if own is None:
            own = self._binds[attr] = any(True for _ in self._attr_bindings(attr))
        return own or (deep and any(b._has_binding(attr, True, _seen | {id(self)}) for b in self.base_classes))

    def _attr_bindings(self, attr: str, receiver: ClassInfo | None = None) -> Iterator[Value]:
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
                        if type(inner) is cst.SimpleStatementLine:
                            for small in inner.body:
                                yield from small_bindings(small, attr, evaluator, self.ctx)
                continue
            if member.kind != "function":
                continue
            fn = self.ctx.function_for_item(member, cls=self)
            self_name = fn.self_name
            if self_name is None:
                continue
            yield from fn.attribute_bindings(self_name, attr, receiver)

    def call_value(self, overrides: tuple[tuple[str, Value], ...] = ()) -> tuple[Value, FunctionInfo | None]:
        """What calling an instance returns, and the method that decides it."""
        call = self.find_method("__call__")
        if call is None:
            call = self.find_method("forward")
        if call is None:
            return UNKNOWN, None
        # an inherited forward runs with this class's overrides (a subclass with methods of its own)
        inherited = call.cls is not self and any(m.kind == "function" for m in self.members)
        return call.summary(overrides, self if inherited else None).returns, call
