"""The unit screen: may a function need the analysis at all? Asked on ``ast`` (ten times cheaper
than LibCST) before a consumer unit is parsed and walked.

A unit whose only rule words are loss names (``CrossEntropyLoss``, ``nll_loss``, ``BCELoss``, ...)
can get a finding only if a probability, a log-probability or an ``exp`` reaches it. The screen
follows, on ``ast``, where every value the unit reads may come from: its own assignments, its
parameters' defaults, module-level names and imports (through the real ``ModuleContext``), ``self.``
attributes (every assignment in the class and its bases), and what calling a model, a class or a
function returns (its ``return`` statements, transitively, across files). This is a may-analysis:
any value it cannot follow, any cycle, anything over budget counts as "may produce", and then the
unit is analysed as before. Only a unit in which no expression may hold such a value is skipped.

Abstract values are small sets of atoms: ``TAINT`` (may be probabilities, log-probabilities or an
``exp``: anything rules act on), ``("cls", c)`` a class, ``("obj", c)`` an instance, ``("fn", f)``
a function and ``("ref", q)`` an external name (``torch.nn.Linear``). Everything else is dropped
(an opaque value: a plain tensor, a loss object, a parameter).
"""

from __future__ import annotations

import ast
import weakref
from typing import TYPE_CHECKING

from logitlint.analysis import torchapi
from logitlint.analysis.values import (
    UNKNOWN,
    Alternatives,
    ClassValue,
    FunctionValue,
    Instance,
    LossObject,
    Param,
    Ref,
    SelfValue,
    TupleValue,
    Value,
)

if TYPE_CHECKING:
    from logitlint.analysis.module import ClassInfo, FunctionInfo, ModuleContext
    from logitlint.outline import Item

TAINT = ("taint",)
Atoms = frozenset
_NOTHING: frozenset = frozenset()
_TAINTED = frozenset({TAINT})
# Calls and methods whose result rules act on: producers of probabilities and log-probabilities,
# exp/log and their relatives, literal tables, nn.Sequential.
_TAINT_WORDS = frozenset(
    """
    softmax log_softmax softmin Softmax LogSoftmax Softmin sigmoid Sigmoid logsigmoid LogSigmoid expit
    log log1p exp expm1 logsumexp softplus tensor as_tensor FloatTensor DoubleTensor HalfTensor Sequential
    """.split()
)
_PASS_FIRST = torchapi.MODULE_WRAPPERS | {
    "torch.clone",
    "torch.squeeze",
    "torch.unsqueeze",
    "torch.flatten",
    "torch.reshape",
    "torch.gather",
    "torch.transpose",
    "torch.permute",
}
_RECEIVER_METHODS = (
    torchapi.KIND_PRESERVING_SAME_AXES
    | torchapi.KIND_PRESERVING_RESHAPE
    | {"to", "cuda", "cpu", "float", "double", "half", "train", "eval", "requires_grad_", "type", "data", "T", "mT"}
)
# The rules that report only where some expression of the unit holds a value the screen calls
# tainted (what reaches a loss's input; the argmax of a softmax). A rule not listed here (one that
# also matches text, as ``log(1 + x)`` or ``kl_div``'s reduction) keeps its words' units analysed.
VALUE_RULES = frozenset({"LGT101", "LGT102", "LGT103", "LGT104", "LGT106", "LGT107", "LGT203", "LGT302", "LGT303"})
BUDGET = 4000  # atoms computed for one decision; past it the unit is analysed


class _OverBudget(Exception):
    pass


class _Scope:
    """Where names resolve: a function's bindings (flow-insensitive), else the module's."""

    def __init__(self, ctx: ModuleContext, tree: ast.AST | None, cls: ClassInfo | None = None):
        self.ctx, self.cls = ctx, cls
        self.params: dict[str, ast.expr | None] = {}
        self.bindings: dict[str, list[ast.expr | None]] = {}  # None: bound in a way not followed
        self.values: dict[str, frozenset] | None = None  # locals' values, once solved
        self.current: dict[str, frozenset] | None = None  # while being solved
        self.self_name: str | None = None
        self.opaque = False  # nested defs, imports, global declarations: not followed
        self.overrides = False  # sets an attribute of another object than self (``model.fc = ...``)
        if isinstance(tree, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self._read_function(tree)

    def _read_function(self, tree: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        args = tree.args
        positional = [*args.posonlyargs, *args.args]
        defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
        for arg, default in zip(positional, defaults):
            self.params[arg.arg] = default
        for arg, default in zip(args.kwonlyargs, args.kw_defaults):
            self.params[arg.arg] = default
        for star in (args.vararg, args.kwarg):
            if star is not None:
                self.params[star.arg] = None
        decorators = {_dotted(d) for d in tree.decorator_list}
        if self.cls is not None and positional and not decorators & {"staticmethod", "classmethod"}:
            self.self_name = positional[0].arg
        for node in _own_nodes(tree):
            self._read(node)
        self.overrides = _overrides_instances(tree, self)

    def bind(self, target: ast.expr, value: ast.expr | None) -> None:
        if isinstance(target, ast.Name):
            self.bindings.setdefault(target.id, []).append(value)
        elif isinstance(target, ast.Attribute):
            dotted = _dotted(target)
            if dotted is not None and dotted.count(".") == 1:
                self.bindings.setdefault(dotted, []).append(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.bind(element, value)  # every element may be any item of the value
        elif isinstance(target, ast.Starred):
            self.bind(target.value, value)

    def _read(self, node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.opaque = True
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                self.bind(target, node.value)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            if node.value is not None:
                self.bind(node.target, node.value)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.bind(node.target, node.iter)  # (a comprehension's names are its own: not bound here)
        elif isinstance(node, ast.withitem):
            if node.optional_vars is not None:
                self.bind(node.optional_vars, node.context_expr)
        elif isinstance(node, ast.NamedExpr):
            self.bind(node.target, node.value)
        elif isinstance(node, ast.ExceptHandler):
            if node.name:
                self.bindings.setdefault(node.name, [])  # an exception: no value rules act on
        elif isinstance(node, ast.Call):  # self.add_module("out", m), setattr(self, name, m)
            func, args = node.func, node.args
            if isinstance(func, ast.Attribute) and func.attr in ("add_module", "register_module") and len(args) >= 2:
                owner = _dotted(func.value)
                name = args[0].value if isinstance(args[0], ast.Constant) else None
                if owner is not None and isinstance(name, str):
                    self.bindings.setdefault(f"{owner}.{name}", []).append(args[1])
                else:
                    self.opaque = True
            elif isinstance(func, ast.Name) and func.id == "setattr":
                self.opaque = True
        elif isinstance(node, (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal)):
            self.opaque = True
        elif type(node).__name__ in ("Match", "TryStar"):
            self.opaque = True


class Screen:
    """Per module: the abstract values of its functions' returns and its classes' attributes."""

    def __init__(self, ctx: ModuleContext):
        self.ctx = ctx
        self.returns: dict[int, frozenset] = {}
        self.attrs: dict[tuple[int, str], frozenset] = {}
        self.trees: dict[int, ast.AST | None] = {}
        self.scopes: dict[int, _Scope] = {}
        self.module: _Scope | None = None

    def scope(self, tree: ast.FunctionDef | ast.AsyncFunctionDef, cls: ClassInfo | None) -> _Scope:
        """A function's bindings, read once (its locals' values are kept on it as they are found)."""
        found = self.scopes.get(id(tree))
        if found is None:
            found = self.scopes[id(tree)] = _Scope(self.ctx, tree, cls)
        return found

    def tree(self, item: Item) -> ast.AST | None:
        """The ``ast`` of one unit's text (a class member parsed inside ``if 1:``), or None."""
        key = id(item)
        if key not in self.trees:
            text = getattr(item, "text", None)
            found: ast.AST | None = None
            if text is not None:
                try:
                    module = ast.parse("if 1:\n" + text if item.indent else text)  # type: ignore[attr-defined]
                    body = module.body[0].body if item.indent else module.body  # type: ignore[attr-defined]
                    found = body[0] if len(body) == 1 else None
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    found = None
            self.trees[key] = found
        return self.trees[key]


_SCREENS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _module_scope(ctx: ModuleContext) -> _Scope:
    screen = _screen(ctx)
    if screen.module is None:
        screen.module = _Scope(ctx, None)
    return screen.module


def _screen(ctx: ModuleContext) -> Screen:
    found = _SCREENS.get(ctx)
    if found is None:
        found = _SCREENS[ctx] = Screen(ctx)
    return found


class _Decision:
    """One question (may this unit see a probability?), with its budget and its cycle guard."""

    def __init__(self) -> None:
        self.steps = 0
        self.active: set[object] = set()  # functions and attributes being computed
        self.solving: dict[int, int] = {}  # scopes being solved -> the depth they are solved at
        self.depth = 0  # functions and attributes entered

    def tick(self) -> None:
        self.steps += 1
        if self.steps > BUDGET:
            raise _OverBudget

    # --- expressions -----------------------------------------------------------------------------
    def expr(self, node: ast.expr | None, scope: _Scope, memo: dict[int, frozenset]) -> frozenset:
        if node is None:
            return _NOTHING
        key = id(node)
        found = memo.get(key)
        if found is None:
            self.tick()
            found = memo[key] = self._expr(node, scope, memo)
        return found

    def _expr(self, node: ast.expr, scope: _Scope, memo: dict[int, frozenset]) -> frozenset:
        if isinstance(node, ast.Name):
            return self.name(node.id, scope)
        if isinstance(node, ast.Attribute):
            local = _local_attribute(node, scope)
            base = self.expr(node.value, scope, memo)
            found = self.attribute(base, node.attr, scope)
            if local is not None:
                found |= self.local(local, scope)
            return found
        if isinstance(node, ast.Call):
            return self.call(node, scope, memo)
        if isinstance(node, (ast.Subscript, ast.Starred)):
            return self.expr(node.value, scope, memo)  # an item of a tuple may be any of its values
        if isinstance(node, (ast.Tuple,)):
            found = _NOTHING
            for element in node.elts:
                found |= self.expr(element, scope, memo)
            return found
        if isinstance(node, ast.IfExp):
            return self.expr(node.body, scope, memo) | self.expr(node.orelse, scope, memo)
        if isinstance(node, ast.NamedExpr):
            return self.expr(node.value, scope, memo)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and _mentions_sum(node.right):
            return _TAINTED  # E / E.sum(d, keepdim=True) normalises
        return _NOTHING

    def name(self, name: str, scope: _Scope) -> frozenset:
        if name not in scope.params and name not in scope.bindings:
            return self.value(scope.ctx.global_value(name))
        found = _NOTHING
        if name in scope.params:
            default = scope.params[name]
            if name == scope.self_name and scope.cls is not None:
                found = frozenset({("obj", scope.cls)})
            elif default is not None:  # a loss object or an activation the body uses by default
                found = self.expr(default, _module_scope(scope.ctx), {})
        if name in scope.bindings:
            found |= self.local(name, scope)
        return found

    def local(self, key: str, scope: _Scope) -> frozenset:
        """A local's (or ``self.x``'s) value: every definition in the function, merged."""
        if scope.values is not None:
            return scope.values.get(key, _NOTHING)
        depth = self.solving.get(id(scope))
        if depth is None:
            return self.solve(scope).get(key, _NOTHING)
        if depth == self.depth:
            return scope.current.get(key, _NOTHING)  # type: ignore[union-attr]
        return _TAINTED  # read again through another function while being solved: say "may"

    def solve(self, scope: _Scope) -> dict[str, frozenset]:
        """All locals of a function at once, iterated to a fixpoint (``x = x.view(...)`` reads its
        own definitions): the values only grow, over a finite set of atoms, so this ends."""
        values = {key: _NOTHING for key in scope.bindings}
        scope.current = values
        self.solving[id(scope)] = self.depth
        try:
            changed = True
            while changed:
                changed = False
                memo: dict[int, frozenset] = {}
                for key, definitions in scope.bindings.items():
                    new = values[key]
                    for definition in definitions:
                        new = new | (self.expr(definition, scope, memo) if definition is not None else _TAINTED)
                    if new != values[key]:
                        values[key], changed = new, True
        finally:
            del self.solving[id(scope)]
            scope.current = None
        scope.values = values
        return values

    def value(self, value: Value) -> frozenset:
        """The atoms of a value the real analysis computed (a module-level name, an import)."""
        if isinstance(value, Ref):
            return frozenset({("ref", value.qualname)})
        if isinstance(value, ClassValue):
            return frozenset({("cls", value.cls)})
        if isinstance(value, Instance):
            return _TAINTED if value.overrides else frozenset({("obj", value.cls)})
        if isinstance(value, SelfValue):
            return frozenset({("obj", value.cls)}) if value.cls is not None else _TAINTED
        if isinstance(value, FunctionValue):
            return frozenset({("fn", value.fn)})
        if isinstance(value, (Alternatives, TupleValue)):
            found = _NOTHING
            for option in value.options if isinstance(value, Alternatives) else value.items:
                found |= self.value(option)
            return found
        if value is UNKNOWN or isinstance(value, (LossObject, Param)):
            return _NOTHING
        return _TAINTED  # a tensor, a layer, a model built as nn.Sequential, a lazy value, ...

    def attribute(self, base: frozenset, attr: str, scope: _Scope) -> frozenset:
        found = _NOTHING
        for atom in base:
            kind = atom[0]
            if atom is TAINT:
                return _TAINTED
            if kind in ("obj", "cls"):
                found |= self.class_attribute(atom[1], attr)
            elif kind == "ref":
                found |= self.value(scope.ctx.import_value(f"{atom[1]}.{attr}"))
        return found

    def call(self, node: ast.Call, scope: _Scope, memo: dict[int, frozenset]) -> frozenset:
        for arg in node.args:
            self.expr(arg, scope, memo)
        for keyword in node.keywords:
            self.expr(keyword.value, scope, memo)
        func = node.func
        callee = self.expr(func, scope, memo)
        found = self.call_atoms(callee, node, scope, memo)
        if isinstance(func, ast.Attribute):  # a method of a tensor or a model
            method = func.attr
            if method in _TAINT_WORDS or method in ("add_module", "register_module", "apply"):
                return _TAINTED
            if method in _RECEIVER_METHODS:
                found |= self.expr(func.value, scope, memo)
            elif method == "forward":
                found |= self.call_atoms(self.expr(func.value, scope, memo), node, scope, memo)
        elif isinstance(func, ast.Name) and func.id in ("setattr", "getattr", "eval", "exec", "globals", "vars"):
            return _TAINTED
        return found

    def call_atoms(self, callee: frozenset, node: ast.Call, scope: _Scope, memo) -> frozenset:
        found = _NOTHING
        for atom in callee:
            if atom is TAINT:
                return _TAINTED
            kind, what = atom
            if kind == "cls":
                found |= {("obj", what)}
            elif kind == "obj":
                method = what.find_method("__call__") or what.find_method("forward")
                if method is not None:
                    found |= self.returns(method)
            elif kind == "fn":
                found |= self.returns(what)
            elif kind == "ref":
                qual = torchapi.canonical(what)
                last = qual.rsplit(".", 1)[-1]
                if (
                    last in _TAINT_WORDS
                    or qual in torchapi.PRODUCERS
                    or qual in torchapi.LAYERS
                    or qual == torchapi.SEQUENTIAL
                    or qual in torchapi.LITERAL_TENSORS
                    or qual.startswith(("torchvision.", "timm."))
                ):
                    return _TAINTED
                if qual in _PASS_FIRST and node.args:
                    found |= self.expr(node.args[0], scope, memo)
        return found

    # --- functions and classes -------------------------------------------------------------------
    def returns(self, fn: FunctionInfo) -> frozenset:
        """What calling ``fn`` may return (its ``return`` statements), computed once per function."""
        screen = _screen(fn.ctx)
        key = id(fn)
        found = screen.returns.get(key)
        if found is not None:
            return found
        guard = ("returns", key)
        if guard in self.active:
            return _TAINTED  # a cycle: say "may", so no answer computed meanwhile is too small
        self.active.add(guard)
        self.depth += 1
        try:
            found = self._returns(fn, screen)
        finally:
            self.active.discard(guard)
            self.depth -= 1
        screen.returns[key] = found
        return found

    def _returns(self, fn: FunctionInfo, screen: Screen) -> frozenset:
        item = getattr(fn, "_item", None)
        tree = screen.tree(item) if item is not None and fn.parent is None else None
        if not isinstance(tree, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return _TAINTED
        scope = screen.scope(tree, fn.cls)
        if scope.opaque or scope.overrides:
            return _TAINTED
        memo: dict[int, frozenset] = {}
        found = _NOTHING
        for node in _own_nodes(tree):
            if isinstance(node, (ast.Yield, ast.YieldFrom)):
                return _NOTHING  # a generator returns a generator
            if isinstance(node, ast.Return) and node.value is not None:
                found |= self.expr(node.value, scope, memo)
        return found

    def class_attribute(self, cls: ClassInfo, attr: str) -> frozenset:
        """``instance.attr`` for a class: every assignment in it and its bases, and its methods."""
        screen = _screen(cls.ctx)
        key = (id(cls), attr)
        found = screen.attrs.get(key)
        if found is not None:
            return found
        guard = ("attr", key)
        if guard in self.active:
            return _TAINTED
        self.active.add(guard)
        self.depth += 1
        try:
            found = self._class_attribute(cls, attr, screen)
        finally:
            self.active.discard(guard)
            self.depth -= 1
        screen.attrs[key] = found
        return found

    def _class_attribute(self, cls: ClassInfo, attr: str, screen: Screen) -> frozenset:
        if cls.item is None:
            return _TAINTED
        found = _NOTHING
        for member in cls.members:
            if member.kind == "function":
                if member.may_assign_attribute(attr):
                    found |= self._assigned_in_method(cls, member, attr, screen)
            elif member.mentions(attr):
                found |= self._assigned_in_body(cls, member, attr, screen)
            if TAINT in found:
                return _TAINTED
        for base in cls.base_classes:
            found |= self.class_attribute(base, attr)
        method = cls.find_method(attr)
        if method is not None:
            found |= {("fn", method)}
        return found

    def _assigned_in_method(self, cls: ClassInfo, member: Item, attr: str, screen: Screen) -> frozenset:
        tree = screen.tree(member)
        if not isinstance(tree, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return _TAINTED
        scope = screen.scope(tree, cls)
        if scope.opaque:
            return _TAINTED
        if scope.self_name is None:
            return _NOTHING  # the evaluator reads ``self.x`` assignments of methods with a self only
        return self.local(f"{scope.self_name}.{attr}", scope)

    def _assigned_in_body(self, cls: ClassInfo, member: Item, attr: str, screen: Screen) -> frozenset:
        tree = screen.tree(member)
        scope = _module_scope(cls.ctx)
        if isinstance(tree, ast.Assign) and all(isinstance(t, ast.Name) for t in tree.targets):
            return self.expr(tree.value, scope, {}) if any(t.id == attr for t in tree.targets) else _NOTHING  # type: ignore[attr-defined]
        if isinstance(tree, ast.AnnAssign) and isinstance(tree.target, ast.Name):
            return self.expr(tree.value, scope, {}) if tree.target.id == attr else _NOTHING
        if isinstance(tree, ast.Expr):
            return _NOTHING  # a docstring or a call statement binds nothing
        return _TAINTED


def unit_may_see_probabilities(ctx: ModuleContext, item: Item, cls: ClassInfo | None) -> bool:
    """May any expression of this function unit hold a probability, a log-probability or an exp
    (or something the screen cannot follow)? False only when every value it reads is known not to."""
    screen = _screen(ctx)
    tree = screen.tree(item)
    if not isinstance(tree, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return True
    scope = screen.scope(tree, cls)
    if scope.opaque or scope.overrides:
        return True
    decision = _Decision()
    memo: dict[int, frozenset] = {}
    try:
        for node in ast.walk(tree):
            if isinstance(node, ast.expr) and TAINT in decision.expr(node, scope, memo):
                return True
    except _OverBudget:
        return True
    return False


def assigned_attributes(ctx: ModuleContext, item: Item) -> set[str] | None:
    """Attributes ``x`` assigned as ``<name>.x = ...`` in a unit, read with ``ast``: the statements
    the engine's LibCST reading visits (bodies of defs, classes, ``if``/``elif``, loops, ``with``
    and ``try``, not their ``else``/``except``/``finally`` blocks). None if it cannot be read so."""
    screen = _screen(ctx)
    tree = screen.tree(item)
    text = getattr(item, "text", None)
    if tree is None or text is None:
        return None
    lines = ("if 1:\n" + text if item.indent else text).splitlines()  # type: ignore[attr-defined]
    found: set[str] = set()
    stack: list[ast.stmt] = [tree]  # type: ignore[list-item]
    while stack:
        stmt = stack.pop()
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            targets = stmt.targets
        elif isinstance(stmt, ast.AnnAssign):
            targets = [stmt.target]
        for target in targets:
            found.update(name.split(".", 1)[1] for name in _target_names(target) if "." in name)
        if isinstance(stmt, ast.If):
            stack.extend(stmt.body)
            orelse = stmt.orelse
            if len(orelse) == 1 and isinstance(orelse[0], ast.If) and _is_elif(orelse[0], lines):
                stack.append(orelse[0])
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.With, ast.AsyncWith)):
            stack.extend(stmt.body)
        elif isinstance(stmt, (ast.For, ast.AsyncFor, ast.While, ast.Try)) or type(stmt).__name__ == "TryStar":
            stack.extend(stmt.body)  # type: ignore[attr-defined]
    return found


def _is_elif(node: ast.If, lines: list[str]) -> bool:
    line = lines[node.lineno - 1] if 0 < node.lineno <= len(lines) else ""
    return line[node.col_offset :].startswith("elif")


def _target_names(target: ast.expr):
    """As ``syntax.target_names``: names, and attributes spelled ``a.b``."""
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _target_names(element)
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)
    elif isinstance(target, ast.Attribute):
        dotted = _dotted(target)
        if dotted is not None and dotted.count(".") == 1:
            yield dotted


def _own_nodes(tree: ast.AST):
    """The nodes of a function's body, not those of nested functions or classes."""
    stack = list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


def _overrides_instances(tree: ast.AST, scope: _Scope) -> bool:
    """Does the function set an attribute of something other than ``self`` (``model.fc = ...``,
    which changes what calling that model returns)? (``self.x = ...`` is read with the class.)"""
    for node in _own_nodes(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        for target in targets:
            for sub in ast.walk(target):
                if isinstance(sub, ast.Attribute) and not isinstance(sub.ctx, ast.Load):
                    owner = _dotted(sub.value)
                    if owner != scope.self_name or scope.self_name is None:
                        return True
    return False


def _local_attribute(node: ast.Attribute, scope: _Scope) -> str | None:
    dotted = _dotted(node)
    return dotted if dotted is not None and dotted.count(".") == 1 and dotted in scope.bindings else None


def _mentions_sum(node: ast.expr) -> bool:
    return any(
        (isinstance(n, ast.Attribute) and n.attr == "sum") or (isinstance(n, ast.Name) and n.id == "sum")
        for n in ast.walk(node)
    )


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None
