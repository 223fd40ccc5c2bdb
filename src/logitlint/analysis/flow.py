"""Statement-level flow: which definition of each name reaches each use.

A straight-line walk keeps one environment; ``if``/``match``/``try`` branches are walked on copies
and merged (disagreeing facts become UNKNOWN); a loop body starts with every name it assigns
forgotten, so a fact from before the loop never leaks past a reassignment inside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import libcst as cst

from logitlint.analysis import syntax
from logitlint.analysis.evaluate import Env, Evaluator
from logitlint.analysis.values import (
    NOTHING,
    UNKNOWN,
    ClassValue,
    ExternalModel,
    FunctionValue,
    Instance,
    Lazy,
    Repeated,
    Tensor,
    TupleValue,
    Value,
    Via,
    force,
    is_distribution,
    merge,
    merge_all,
)

_TERMINAL = (cst.Return, cst.Raise, cst.Continue, cst.Break)


class Walker:
    def __init__(
        self,
        evaluator: Evaluator,
        *,
        on_return: Callable[[Value, cst.Return], None] | None = None,
        on_nested: Callable[[cst.FunctionDef | cst.ClassDef], None] | None = None,
    ):
        self.ev = evaluator
        self.on_return = on_return
        self.on_nested = on_nested
        self.has_yield = False

    # --- blocks ----------------------------------------------------------------------------------
    def run(self, body: Sequence[cst.BaseStatement]) -> bool:
        """Walk a block; True if it always ends in return/raise/break/continue."""
        for stmt in body:
            if self.statement(stmt):
                return True
        return False

    def _branch(self, body: Sequence[cst.BaseStatement], env: Env) -> tuple[Env, bool]:
        self.ev.env = dict(env)
        terminated = self.run(body)
        return self.ev.env, terminated

    def _join(self, branches: list[tuple[Env, bool]]) -> bool:
        live = [env for env, terminated in branches if not terminated]
        if not live:
            self.ev.env = dict(branches[0][0]) if branches else self.ev.env
            return True
        result = live[0]
        for env in live[1:]:
            result = self._merge(result, env)
        self.ev.env = result
        return False

    def _merge(self, a: Env, b: Env) -> Env:
        merged = dict(a)
        for name, entry in b.items():
            mine = merged.get(name)
            if mine is None:
                merged[name] = entry
            elif mine is not entry and mine[1] != entry[1]:
                merged[name] = (merge(mine[0], entry[0]), self.ev.stamp())
        return merged

    def _forget(self, env: Env, body: Sequence[cst.BaseStatement], extra: set[str] = frozenset()) -> Env:  # type: ignore[assignment]
        names = set(extra) | assigned_names(body, walrus=self.ev.unit is None or self.ev.unit.has_walrus)
        env = dict(env)
        for name in names:
            env[name] = (UNKNOWN, self.ev.stamp())
        return env

    def _element(self, node: cst.BaseExpression, iterated: Value) -> Value:
        """What a ``for`` loop's target holds on every pass: a slice of a (log-)probability tensor
        along its first axis, the merge of a literal list's or a tuple's elements, an element of a
        comprehension; through ``enumerate(...)`` and ``zip(...)``."""
        paired = self._paired(node)
        if paired is not None:
            return paired
        if type(node) in (cst.List, cst.Tuple):
            if any(type(e) is cst.StarredElement for e in node.elements) or not node.elements:
                return UNKNOWN
            iterated = TupleValue(tuple(self.ev.values.get(e.value, UNKNOWN) for e in node.elements))
        if isinstance(iterated, Lazy):
            return UNKNOWN  # a call's result: not worth computing for every loop
        if isinstance(iterated, TupleValue) and iterated.items:
            if any(isinstance(item, Lazy) for item in iterated.items):
                return UNKNOWN
            iterated = merge_all(list(iterated.items))
            return replace(iterated, producer=None, via=Via.VARIABLE) if isinstance(iterated, Tensor) else UNKNOWN
        if isinstance(iterated, Repeated):
            return iterated.element if iterated.element is not NOTHING else UNKNOWN
        if is_distribution(iterated):
            dim = iterated.dim
            dim = dim - 1 if dim is not None and dim > 0 else dim if dim is not None and dim < 0 else None
            ndim = iterated.ndim - 1 if iterated.ndim else None
            return replace(iterated, dim=dim, ndim=ndim, producer=None, via=Via.STEPS, dist=None)
        return UNKNOWN

    def _paired(self, node: cst.BaseExpression) -> Value | None:
        """``enumerate(xs)`` -> (UNKNOWN, element of xs); ``zip(a, b)`` -> (element of a, element of b)."""
        if not (type(node) is cst.Call and type(node.func) is cst.Name):
            return None
        name = node.func.value
        if name not in ("enumerate", "zip") or self.ev.lookup(name) is not UNKNOWN:
            return None  # not the builtin (or rebound)
        args = [a for a in node.args if a.keyword is None]
        if any(a.star for a in node.args) or not args or (name == "enumerate" and len(args) != 1):
            return UNKNOWN
        elements = tuple(self._element(a.value, self.ev.values.get(a.value, UNKNOWN)) for a in args)
        if all(e is UNKNOWN for e in elements):
            return UNKNOWN
        return TupleValue((UNKNOWN, *elements) if name == "enumerate" else elements)

    # --- statements ------------------------------------------------------------------------------
    def statement(self, stmt: cst.BaseStatement) -> bool:
        """Walk one statement; True when it always ends the block (return, raise, ...)."""
        if type(stmt) is cst.SimpleStatementLine:
            for small in stmt.body:
                self.small(small)
            return isinstance(stmt.body[-1], _TERMINAL) if stmt.body else False
        if type(stmt) is cst.If:
            return self._if(stmt)
        if type(stmt) in (cst.For, cst.While):
            return self._loop(stmt)
        if type(stmt) in (cst.Try, cst.TryStar):
            return self._try(stmt)
        if type(stmt) is cst.With:
            for item in stmt.items:
                self.ev.eval(item.item)
                if item.asname is not None:
                    for name in syntax.target_names(item.asname.name):
                        self.ev.bind(name, UNKNOWN)
            return self.run(stmt.body.body)
        if type(stmt) is cst.Match:
            return self._match(stmt)
        if type(stmt) in (cst.FunctionDef, cst.ClassDef):
            self._definition(stmt)
        return False

    def _if(self, stmt: cst.If) -> bool:
        ev = self.ev
        ev.eval(stmt.test)
        env = ev.env
        branches = [self._branch(stmt.body.body, env)]
        if stmt.orelse is None:
            branches.append((env, False))
        elif type(stmt.orelse) is cst.If:
            ev.env = dict(env)
            done = self.statement(stmt.orelse)
            branches.append((ev.env, done))
        else:
            branches.append(self._branch(stmt.orelse.body.body, env))
        return self._join(branches)

    def _loop(self, stmt: cst.For | cst.While) -> bool:
        ev = self.ev
        element: Value = UNKNOWN
        if type(stmt) is cst.For:
            element = self._element(stmt.iter, ev.eval(stmt.iter))
            targets = set(syntax.target_names(stmt.target))
        else:
            targets = set()
        entry = self._forget(ev.env, stmt.body.body, targets)
        if element is not UNKNOWN:  # for out in torch.softmax(x, -1), for i, out in enumerate(outs)
            ev.env = entry
            self.bind_target(stmt.target, element)  # type: ignore[union-attr]
            entry = ev.env
        if type(stmt) is cst.While:
            ev.env = entry
            ev.eval(stmt.test)
        body_env, _ = self._branch(stmt.body.body, entry)
        self._join([(entry, False), (body_env, False)])
        if stmt.orelse is not None:
            self.run(stmt.orelse.body.body)
        return False

    def _try(self, stmt: cst.Try | cst.TryStar) -> bool:
        ev = self.ev
        env = ev.env
        body_env, body_done = self._branch(stmt.body.body, env)
        branches = []
        if stmt.orelse is not None and not body_done:
            branches.append(self._branch(stmt.orelse.body.body, body_env))
        else:
            branches.append((body_env, body_done))
        handler_entry = self._forget(env, stmt.body.body)
        for handler in stmt.handlers:
            if handler.type is not None:
                ev.env = handler_entry
                ev.eval(handler.type)
            names = set()
            if handler.name is not None:
                names = set(syntax.target_names(handler.name.name))
            branches.append(self._branch(handler.body.body, self._forget(handler_entry, (), names)))
        done = self._join(branches)
        if stmt.finalbody is not None:
            done = self.run(stmt.finalbody.body.body) or done
        return done

    def _match(self, stmt: cst.Match) -> bool:
        self.ev.eval(stmt.subject)
        env = self.ev.env
        branches = [(env, False)]
        for case in stmt.cases:
            captured = {n.value for n in _pattern_names(case.pattern)}
            branches.append(self._branch(case.body.body, self._forget(env, (), captured)))
        return self._join(branches)

    def _definition(self, stmt: cst.FunctionDef | cst.ClassDef) -> None:
        ev = self.ev
        if type(stmt) is cst.FunctionDef:
            # Decorators and defaults are evaluated by the function's own walk (engine).
            info = ev.ctx.function_info(stmt, ev.unit, parent=ev.scope)  # type: ignore[arg-type]
            ev.bind(stmt.name.value, FunctionValue(info))
        else:
            ev.bind(stmt.name.value, ClassValue(ev.ctx.class_info_for_node(stmt, ev.unit)))  # type: ignore[arg-type]
        if self.on_nested is not None:
            self.on_nested(stmt)

    def small(self, small: cst.BaseSmallStatement) -> None:
        ev = self.ev
        if type(small) is cst.Expr:
            if type(small.value) is cst.Yield:
                self.has_yield = True
            ev.eval(small.value)
            self._list_mutation(small.value)
        elif type(small) is cst.Assign:
            value = ev.eval(small.value)
            for target in small.targets:
                self.bind_target(target.target, value)
        elif type(small) is cst.AnnAssign:
            if small.value is not None:
                self.bind_target(small.target, ev.eval(small.value))
        elif type(small) is cst.AugAssign:
            ev.eval(small.value)
            for name in syntax.target_names(small.target):
                ev.kill(name)
            if type(small.target) is cst.Subscript:
                self.bind_target(small.target, UNKNOWN)
        elif type(small) is cst.Return:
            value = ev.eval(small.value) if small.value is not None else UNKNOWN
            if self.on_return is not None:
                self.on_return(value, small)
        elif type(small) is cst.Del:
            for name in syntax.target_names(small.target):
                ev.kill(name)
        elif type(small) in (cst.Import, cst.ImportFrom):
            for local, qualname in ev.ctx.cst_import_bindings(small):
                ev.bind(local, ev.ctx.import_value(qualname))
        elif type(small) in (cst.Raise, cst.Assert):
            ev._eval_children(small)

    def _list_mutation(self, value: cst.BaseExpression) -> None:
        """``xs.append(v)`` on a local list: every element of ``xs`` is what was there or ``v``.
        Another mutating method (``extend``, ``insert``) ends what is known of the elements."""
        if not (type(value) is cst.Call and type(value.func) is cst.Attribute):
            return
        name, method = syntax.dotted_name(value.func.value), value.func.attr.value
        entry = self.ev.env.get(name) if name is not None else None
        if entry is None or not isinstance(entry[0], Repeated) or method in ("pop", "index", "count", "copy"):
            return
        if method == "append" and len(value.args) == 1 and not value.args[0].star and not value.args[0].keyword:
            element = merge(entry[0].element, self.ev.values.get(value.args[0].value, UNKNOWN))
            if element is not UNKNOWN and not isinstance(element, Lazy):
                self.ev.bind(name, Repeated(element))
                return
        self.ev.kill(name)  # type: ignore[arg-type]

    def bind_target(self, target: cst.BaseExpression, value: Value) -> None:
        ev = self.ev
        if type(target) is cst.Name:
            ev.bind(target.value, value)
        elif type(target) is cst.Attribute:
            dotted = syntax.dotted_name(target)
            if dotted is not None and dotted.count(".") == 1:
                ev.bind(dotted, value)
                owner, attr = dotted.split(".")
                model = ev.env.get(owner, (None,))[0]
                if isinstance(model, (Instance, ExternalModel)):  # model.fc = nn.Sequential(...)
                    ev.bind(owner, model.with_override(attr, value))
            else:
                ev.eval(target.value)
        elif type(target) in (cst.Tuple, cst.List):
            elements = target.elements
            starred = any(type(e) is cst.StarredElement for e in elements)
            for i, element in enumerate(elements):
                if starred:
                    item: Value = UNKNOWN
                elif isinstance(value, Lazy):
                    item = Lazy(lambda i=i: _item(force(value), i, len(elements)))
                else:
                    item = _item(value, i, len(elements))
                self.bind_target(element.value, item)
        elif type(target) is cst.Subscript:
            ev.eval(target.value)
            for element in target.slice:
                ev._eval_children(element)
            base = syntax.dotted_name(target.value)
            if base is not None and base.count(".") <= 1:
                ev.kill(base)  # p[mask] = 0: masking ends the fact
        elif type(target) is cst.StarredElement:
            self.bind_target(target.value, UNKNOWN)


def _item(value: Value, index: int, count: int) -> Value:
    if isinstance(value, TupleValue) and len(value.items) == count:
        return value.items[index]
    return UNKNOWN


def assigned_names(body: Sequence[cst.BaseStatement], *, walrus: bool = True) -> set[str]:
    """Names and ``a.b`` attributes a block (re)binds or mutates, for loops and handlers."""
    names: set[str] = set()
    for stmt in syntax.walk_statements(body):
        if type(stmt) in (cst.FunctionDef, cst.ClassDef):
            names.add(stmt.name.value)
        elif type(stmt) is cst.For:
            names.update(syntax.target_names(stmt.target))
        elif type(stmt) is cst.With:
            for item in stmt.items:
                if item.asname is not None:
                    names.update(syntax.target_names(item.asname.name))
        elif type(stmt) is cst.SimpleStatementLine:
            for small in stmt.body:
                if type(small) is cst.Assign:
                    for target in small.targets:
                        names.update(_mutated(target.target))
                elif type(small) in (cst.AnnAssign, cst.AugAssign):
                    names.update(_mutated(small.target))
                elif type(small) is cst.Del:
                    names.update(_mutated(small.target))
                elif type(small) in (cst.Import, cst.ImportFrom):
                    names.update(syntax.import_bound_names(small))
                elif type(small) is cst.Expr and type(small.value) is cst.Call:
                    func = small.value.func
                    if type(func) is cst.Attribute and func.attr.value.endswith("_"):
                        base = syntax.dotted_name(func.value)
                        if base is not None:
                            names.add(base)
        if walrus:
            names.update(syntax.walrus_names(stmt))
    return names


def _mutated(target: cst.BaseExpression) -> set[str]:
    if type(target) is cst.Subscript:
        base = syntax.dotted_name(target.value)
        return {base} if base is not None else set()
    return set(syntax.target_names(target))


def _pattern_names(pattern: cst.CSTNode):
    stack = [pattern]
    while stack:
        node = stack.pop()
        if type(node) in (cst.MatchAs, cst.MatchStar) and node.name is not None:
            yield node.name
        stack.extend(syntax.children(node))
