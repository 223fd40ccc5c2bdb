"""Per-file analysis state: the module context (name resolution, module-level values, and the
functions and classes it hands out: ``scopes.FunctionInfo``, ``classes.ClassInfo``).

Everything here is computed on demand and memoised, so that asking about ``self.crit`` parses only
the members of the class that mention ``crit`` (see ``logitlint.outline``).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import TYPE_CHECKING

import libcst as cst

from logitlint.analysis import imports, syntax, torchapi
from logitlint.analysis.classes import ClassInfo
from logitlint.analysis.evaluate import Evaluator
from logitlint.analysis.imports import relative_module
from logitlint.analysis.scopes import (
    GLOBAL_STATEMENT,
    FunctionInfo,
    Guard,
    all_statements_deep,
    assigned_names_in_text,
    bindings_in,
)
from logitlint.analysis.torchapi import LOSS_WORDS
from logitlint.analysis.values import (
    UNKNOWN,
    ClassValue,
    ExternalModel,
    FunctionValue,
    Instance,
    Ref,
    Value,
    force,
    merge_all,
)
from logitlint.outline import Item, Outline, ParsedUnit

if TYPE_CHECKING:
    from logitlint.analysis.project import ProjectView

__all__ = ["ClassInfo", "FunctionInfo", "ModuleContext", "relative_module"]


class ModuleContext:
    def __init__(
        self,
        outline: Outline,
        path: str,
        *,
        module_name: str | None = None,
        is_package: bool = False,
        project: ProjectView | None = None,
    ):
        self.outline = outline
        self.path = path
        self.module_name = module_name
        self.is_package = is_package
        self.project = project
        self._globals: dict[str, Value] = {}
        self.guard = Guard()
        self._functions: dict[int, FunctionInfo] = {}
        self._classes: dict[int, ClassInfo] = {}
        self._global_declarations: dict[int, set[str]] = {}

    # --- imports -------------------------------------------------------------------------------
    # --- imports -------------------------------------------------------------------------------
    @cached_property
    def import_items(self) -> dict[int, list[tuple[str, str]]]:
        """Item index -> (local name, qualified name) of each top-level import statement."""
        return imports.top_level_imports(self.outline, self.resolve_module)

    def cst_import_bindings(self, node: cst.Import | cst.ImportFrom) -> Iterator[tuple[str, str]]:
        return imports.cst_import_bindings(node, self.resolve_module)

    def resolve_module(self, module: str | None, level: int) -> str | None:
        return relative_module(self.module_name, self.is_package, module, level)

    # --- module-level names --------------------------------------------------------------------
    def global_value(self, name: str) -> Value:
        """What a module-level name holds, as seen from inside a function: all its bindings merged."""
        return self.guard.memoised(self._globals, name, ("global", name), lambda: self._merge_global(name), UNKNOWN)

    def _merge_global(self, name: str) -> Value:
        value = merge_all(list(self._global_bindings(name)))
        if isinstance(force(value), (Instance, ExternalModel)):
            return self._with_module_level_attributes(name, force(value))
        return value

    def _with_module_level_attributes(self, name: str, model: Instance | ExternalModel) -> Value:
        """A module-level model with ``name.attr = ...`` assignments at module level applied (a
        replaced head: ``net.fc = nn.Sequential(..., nn.Softmax(dim=1))``), as a function sees it."""
        assigned: dict[str, list[Value]] = {}
        items = self.outline.items
        for item in (items[index] for index in self.outline.items_mentioning(name)):
            if item.kind != "statement":
                continue
            evaluator = Evaluator(self, None, flow_insensitive=True)
            for stmt, unit in item.statements():
                evaluator.unit = unit
                for inner in syntax.walk_statements([stmt]):
                    if type(inner) is not cst.SimpleStatementLine:
                        continue
                    for small in inner.body:
                        if type(small) is cst.Assign:
                            for target in small.targets:
                                dotted = syntax.dotted_name(target.target)
                                if dotted is not None and dotted.count(".") == 1 and dotted.startswith(name + "."):
                                    attr = dotted.split(".", 1)[1]
                                    assigned.setdefault(attr, []).append(evaluator.eval(small.value))
        for attr, values in assigned.items():
            model = model.with_override(attr, merge_all(values))
        return model

    def has_global_binding(self, name: str) -> bool:
        return next(iter(self._global_bindings(name)), None) is not None

    def _global_bindings(self, name: str) -> Iterator[Value]:
        imports = self.import_items
        items = self.outline.items
        for index in self.outline.items_mentioning(name):
            item = items[index]
            if index in imports:
                for local, qualname in imports[index]:
                    if local == name:
                        yield self.import_value(qualname)
                continue
            if item.kind == "function" and item.name == name:
                yield FunctionValue(self.function_for_item(item))
                continue
            if item.kind == "class" and item.name == name:
                yield ClassValue(self.class_for_item(item))
                continue
            if item.kind == "statement" and not item.may_bind(name):
                continue
            if item.kind != "statement" and not item.mentions(name):
                continue
            if item.kind != "statement":
                if "global" in item.tokens and self._declares_global(item, name):
                    yield UNKNOWN
                continue
            for stmt, unit in item.statements():
                evaluator = Evaluator(self, None, flow_insensitive=True, unit=unit)
                yield from bindings_in(syntax.walk_statements([stmt]), name, evaluator, unit, self)

    def _declares_global(self, item: Item, name: str) -> bool:
        declared = self._global_declarations.get(id(item))
        if declared is None:
            declared = set()
            text = getattr(item, "text", None)
            if text is None or GLOBAL_STATEMENT.search(text):
                for stmt, _ in item.statements():
                    for node in all_statements_deep(stmt):
                        if type(node) is cst.SimpleStatementLine:
                            for small in node.body:
                                if type(small) is cst.Global:
                                    declared.update(n.name.value for n in small.names)
            self._global_declarations[id(item)] = declared
        return name in declared

    def import_value(self, qualname: str) -> Value:
        qualname = torchapi.canonical(qualname)
        if not torchapi.is_torch(qualname) and self.project is not None:
            found = self.project.lookup(qualname)
            if found is not None:
                return found
        return Ref(qualname)

    # --- functions that may pass a parameter to a loss ------------------------------------------
    @cached_property
    def sink_candidates(self) -> frozenset[str]:
        """Names of functions and methods that might pass a parameter on to a loss, read from the
        source text: one with a loss word, or one that mentions another candidate or a name a
        loss object is bound to. Only these get a summary when a call to them is checked."""
        functions: list[Item] = []
        targets: set[str] = set()
        for item in self.outline.items:
            members = item.members if item.kind == "class" else [item]  # type: ignore[attr-defined]
            for member in members:
                if member.kind == "function":
                    functions.append(member)
                if member.tokens & LOSS_WORDS:
                    targets.update(assigned_names_in_text(member))
        candidates = {f.name for f in functions if f.tokens & LOSS_WORDS}  # type: ignore[misc]
        targets |= candidates
        changed = True
        while changed:
            changed = False
            for function in functions:
                if function.name not in candidates and function.mentions_any(targets):
                    candidates.add(function.name)  # type: ignore[arg-type]
                    targets.add(function.name)  # type: ignore[arg-type]
                    changed = True
        return frozenset(candidates)  # type: ignore[arg-type]

    # --- functions and classes ----------------------------------------------------------------
    def function_for_item(self, item: Item, cls: ClassInfo | None = None) -> FunctionInfo:
        info = self._functions.get(id(item))
        if info is None:
            info = FunctionInfo(self, item=item, cls=cls)
            self._functions[id(item)] = info
        return info

    def function_info(
        self,
        node: cst.FunctionDef,
        unit: ParsedUnit,
        *,
        cls: ClassInfo | None = None,
        parent: FunctionInfo | None = None,
    ) -> FunctionInfo:
        info = self._functions.get(id(node))
        if info is None:
            info = FunctionInfo(self, node, unit, cls=cls, parent=parent)
            self._functions[id(node)] = info
        return info

    def class_for_item(self, item: Item) -> ClassInfo:
        info = self._classes.get(id(item))
        if info is None:
            info = ClassInfo(self, item=item)
            self._classes[id(item)] = info
        return info

    def class_info_for_node(self, node: cst.ClassDef, unit: ParsedUnit) -> ClassInfo:
        info = self._classes.get(id(node))
        if info is None:
            info = ClassInfo(self, node=node, unit=unit)
            self._classes[id(node)] = info
        return info
