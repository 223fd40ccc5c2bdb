"""Calling contexts: a function walked again with its parameters bound to one call site's arguments.

``def train(model, criterion, loader)`` says nothing about ``model`` or ``criterion``; its call
``train(Net(), nn.CrossEntropyLoss(), loader)`` in main.py does. Each call site whose arguments
are worth it (a loss object, an activation, a model whose output is probabilities) is one context,
so that call sites that disagree never blur each other: only the bad ones are reported. The same
holds for attributes set from outside: ``Trainer(model, loss_fn)`` whose ``__init__`` stores
``self.model = model``, a setter ``model.add_loss_op(nn.NLLLoss())`` storing ``self.loss_op``, and
dataclass fields.

A cheap text test decides which functions may need contexts (one calls a parameter, or a ``self``
attribute that some method assigns from a parameter, and speaks of a loss), so that the reverse
lookup of callers (``callsites``) runs for few functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from logitlint.analysis import syntax
from logitlint.analysis.callsites import CallSite, callers, worth
from logitlint.analysis.module import ClassInfo, FunctionInfo, ModuleContext
from logitlint.analysis.project import ProjectIndex
from logitlint.analysis.torchapi import LOSS_WORDS
from logitlint.analysis.values import Origin, Tensor, Value, force
from logitlint.outline import Item, findall_after_boundary, matches_after_boundary

MAX_CONTEXTS = 8  # call sites walked per function
_LOSS_TALK = ("loss", "Loss", "crit", "Crit", "backward", "nll", "NLL", " ce(", "bce(")  # see _speaks_of_losses
_HEADER = re.compile(r"def\s+\w+\s*\(([^)]*)\)", re.S)
_PARAM = re.compile(r"(?:^|,)\s*\**(\w+)")
# Searched with ``findall_after_boundary`` (no leading ``\b``: see there).
_SELF_CALL = re.compile(r"self\.(\w+)\s*(?:\.\s*forward\s*)?\(")
_ASSIGNED_FROM_NAME = re.compile(r"self\.(\w+)\s*(?::[^=\n]*)?=\s*(\w+)\s*(?:$|[;#])", re.M)
_FIELD = re.compile(r"^[ \t]+(\w+)[ \t]*:[^=\n]*$", re.M)  # a class-level ``name: type`` field
_CALL = re.compile(r"(?<![\w.])((?:\w+\.)*\w+)\s*(?:\.\s*forward\s*)?\(")  # name(  a.b(  m.forward(
_PRODUCER_WORDS = re.compile(r"softmax|sigmoid|softmin|Softmax|Sigmoid|Softmin")
_NEVER = frozenset({"__init__", "forward", "__call__"})  # called everywhere, never by name


@dataclass(frozen=True)
class Context:
    """One call site's facts: parameter and ``self.<attr>`` values for a walk of a function."""

    site: Origin
    params: tuple[tuple[str, Value], ...] = ()
    attrs: tuple[tuple[str, Value], ...] = ()

    def seeds(self, fn: FunctionInfo) -> Iterator[tuple[str, Value]]:
        yield from self.params
        if fn.self_name is not None:
            for attr, value in self.attrs:
                yield f"{fn.self_name}.{attr}", value


def contexts_in(ctx: ModuleContext, index: ProjectIndex) -> Iterator[tuple[FunctionInfo, Context]]:
    """The functions and methods of a file that call sites give facts to, each with its contexts."""
    for item in ctx.outline.items:
        if item.kind == "function" and item.name not in _NEVER and _calls_a_parameter(item):
            fn = ctx.function_for_item(item)
            for context in _call_contexts(fn, ctx, index):
                yield fn, context
        elif item.kind == "class" and _class_may_need_contexts(item):
            yield from _class_contexts(ctx.class_for_item(item), ctx, index)  # methods, then attributes


def may_need_contexts(ctx: ModuleContext) -> bool:
    """Cheap: might a file without loss words still hold a loss call whose loss object (or model)
    comes from a call site? (The engine's gate asks, for files it would otherwise skip.)"""
    for item in ctx.outline.items:
        if item.kind == "function" and item.name not in _NEVER and _calls_a_parameter(item):
            return True
        if item.kind == "class" and _class_may_need_contexts(item):
            return True
    return False


# --- text tests ------------------------------------------------------------------------------------
def _text(item: Item) -> str | None:
    return getattr(item, "text", None)


def _class_text(item: Item) -> str:
    text = _text(item)
    if text is None:  # a whole-file parse
        node, unit = item.header()  # type: ignore[attr-defined]
        return unit.code(node)
    return text


def _class_may_need_contexts(item: Item) -> bool:
    """A class one of whose methods calls a parameter, or calls an attribute set from one, so as
    to feed a loss; read from the class's text before it is cut into members."""
    text = _class_text(item)
    if not _speaks_of_losses(text):
        return False
    params = {n for header in _HEADER.findall(text) for n in _PARAM.findall(header)} - {"self", "cls"}
    return _feeds_a_loss(text, params) or bool(_called_attributes(text))


def _speaks_of_losses(text: str) -> bool:
    """Words of code that computes a loss (plain substring tests: this runs on every unit)."""
    return any(word in text for word in _LOSS_TALK)


def _header_params(text: str) -> tuple[list[str], int]:
    match = _HEADER.search(text)
    if match is None:
        return [], 0
    names = [n for n in _PARAM.findall(match.group(1)) if n not in ("self", "cls")]
    return names, match.end()


def _calls_a_parameter(item: Item) -> bool:
    text = _text(item)
    if text is None:
        return True  # a whole-file parse (rare): decided by the walk
    if not _speaks_of_losses(text):
        return False
    names, body = _header_params(text)
    return _feeds_a_loss(text[body:], set(names))


def _feeds_a_loss(body: str, given: set[str], local: set[str] = frozenset()) -> bool:  # type: ignore[assignment]
    """Does a call take the result of another call (directly, or through a variable: ``out =
    model(x)``, then ``criterion(out, y)``), or a probability made here, where one of the two is
    a call of something ``given`` from outside (parameters, attributes set from parameters) and
    the other is ``given``, ``local`` (other ``self`` calls) or a known loss? Text only, and
    generous: it only decides which functions are worth looking up callers for."""
    outside = given
    given = {c for c in given if (c + "(" in body or c + ".forward(" in body) and _called(body, c)}
    if not given:
        return False  # the common case, decided by substring tests alone
    either = given | local
    made: dict[str, str] = {}  # variable -> the call that made it
    losses: set[str] = set()  # variables bound to a loss object here: criterion = nn.CrossEntropyLoss()
    probabilities: set[str] = set()  # variables a producer made here: out = torch.softmax(...)
    for line in body.splitlines():
        target, equals, value = line.partition("=")
        maker = value.lstrip().split("(", 1)[0].removesuffix(".forward") if equals else ""
        if maker in either and not value.startswith("="):
            made.update((w, maker) for w in re.findall(r"\w+", target) if w != "self")
        elif maker.rsplit(".", 1)[-1] in LOSS_WORDS and not value.startswith("="):
            losses.update(w for w in re.findall(r"\w+", target) if w != "self")
        elif equals and _PRODUCER_WORDS.search(value) and not value.startswith("="):
            probabilities.update(w for w in re.findall(r"\w+", target) if w != "self")
    producers = _PRODUCER_WORDS.search(body) is not None
    for match in _CALL.finditer(body):
        outer = _callee(match)
        is_loss = outer.rsplit(".", 1)[-1] in LOSS_WORDS or outer in losses
        if outer not in either and not is_loss:
            continue
        args = _arguments(body, match.end())
        inner = {_callee(m) for m in _CALL.finditer(args)} | {made[w] for w in re.findall(r"\w+", args) if w in made}
        if (outer in given or is_loss) and inner & either or inner & given:
            return True
        if outer in given and producers and _PRODUCER_WORDS.search(args):
            return True  # self.crit(torch.softmax(...), y)
        # Named like a loss (loss_fn, self.crit), given from outside, and fed a variable a producer
        # made here or another value from outside: loss_fn(outputs, targets).
        if outer in given and _speaks_of_losses(outer + "("):
            if (probabilities | outside) & set(re.findall(r"\w+", args)) - {outer}:
                return True
    return False


def _called(body: str, name: str) -> bool:
    """Is ``name`` itself called somewhere (``name(``, ``name.forward(``), as ``_CALL`` reads a
    callee, not only a longer name ending in it (``x.size(``, ``from_config(``)?"""
    pattern = _CALLED.get(name)
    if pattern is None:
        if len(_CALLED) > 4096:  # a run sees more names than ``re``'s own cache of 512 keeps
            _CALLED.clear()
        pattern = _CALLED[name] = re.compile(re.escape(name) + r"\s*(?:\.\s*forward\s*)?\(")
    return next(matches_after_boundary(pattern, body, _name_or_dot), None) is not None


_CALLED: dict[str, re.Pattern[str]] = {}


def _name_or_dot(c: str) -> bool:
    return c.isalnum() or c in "_."


def _callee(match: re.Match[str]) -> str:
    return match.group(1).removesuffix(".forward")  # model.forward(x) calls model


def _arguments(text: str, start: int) -> str:
    """The text of a call's arguments, from just after its ``(`` (at most 1,000 characters)."""
    depth = 1
    for i in range(start, min(len(text), start + 1000)):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return text[start:i]
    return text[start : start + 1000]


def _called_attributes(text: str) -> set[str]:
    """``self.X`` attributes a class assigns from a parameter of one of its methods (or declares
    as a dataclass field) and calls in a way that may feed a loss (``_feeds_a_loss``). Read from
    the class's whole text, before it is cut into members; the cheapest tests first."""
    if not _speaks_of_losses(text):
        return set()
    assigned = findall_after_boundary(_ASSIGNED_FROM_NAME, text)
    fields = _FIELD.findall(text)
    if not assigned and not fields:
        return set()
    params = {n for header in _HEADER.findall(text) for n in _PARAM.findall(header)}
    given = {attr for attr, value in assigned if value in params} | set(fields)
    given = {attr for attr in given if f"self.{attr}" in text}
    if not given:
        return set()
    called = set(findall_after_boundary(_SELF_CALL, text))
    given &= called
    if not given:
        return set()
    local = {"self", *(f"self.{attr}" for attr in called)}
    return given if _feeds_a_loss(text, {f"self.{attr}" for attr in given}, local) else set()


def _assigns_from_parameter(member: Item, attrs: set[str]) -> bool:
    text = _text(member)
    return text is None or any(attr in attrs for attr, _ in findall_after_boundary(_ASSIGNED_FROM_NAME, text))


# --- contexts ---------------------------------------------------------------------------------------
def _bound(fn: FunctionInfo, site: CallSite) -> list[tuple[str, Value]]:
    """The call site's arguments as (parameter name, value), for the arguments worth it."""
    offset = 1 if fn.self_name is not None else 0
    positional = [p.name.value for p in fn.params][offset:]
    names = set(fn.param_names)
    found = [(name, value) for name, value in zip(positional, site.positional)]
    found += [(name, value) for name, value in site.keywords if name in names]
    found = [(name, value) for name, value in found if worth(value)]
    if all(isinstance(force(value), Tensor) for _, value in found):
        return []  # probabilities alone: the callee's summary already reports them at the call
    return found


def _call_contexts(fn: FunctionInfo, ctx: ModuleContext, index: ProjectIndex) -> Iterator[Context]:
    count = 0
    for site in callers(index).sites(fn, ctx):
        params = _bound(fn, site)
        if params:
            yield Context(site.origin, params=tuple(params))
            count += 1
            if count >= MAX_CONTEXTS:
                return


def _class_contexts(cls: ClassInfo, ctx: ModuleContext, index: ProjectIndex) -> Iterator[tuple[FunctionInfo, Context]]:
    members = cls.members
    methods = [m for m in members if m.kind == "function" and m.name != "__init__"]
    for member in methods:  # methods that call one of their parameters
        if member.name not in _NEVER and _calls_a_parameter(member):
            fn = ctx.function_for_item(member, cls=cls)
            for context in _call_contexts(fn, ctx, index):
                yield fn, context
    called = _called_attributes(_class_text(cls.item) if cls.item is not None else "")
    if not called:
        return
    users = [ctx.function_for_item(m, cls=cls) for m in methods if any(m.mentions(a) for a in called)]
    for context in _attribute_contexts(cls, called, ctx, index):
        for fn in users:
            yield fn, context


def _attribute_contexts(cls: ClassInfo, called: set[str], ctx: ModuleContext, index: ProjectIndex) -> Iterator[Context]:
    """Contexts giving ``self.<attr>`` values: constructor calls (``__init__`` parameters stored
    on ``self``, or dataclass fields) and setter calls (a method storing its parameter)."""
    sources: list[tuple[FunctionInfo | ClassInfo, dict[str, str]]] = []
    init = cls.find_method("__init__")
    if init is not None:
        stored = _stored_parameters(init, called)
        if stored:
            sources.append((cls, stored))
    elif _is_dataclass(cls):
        fields = _dataclass_fields(cls)
        if any(f in called for f in fields):
            sources.append((cls, {f: f for f in fields if f in called}))
    for member in cls.members:
        if member.kind == "function" and member.name not in _NEVER and _assigns_from_parameter(member, called):
            setter = ctx.function_for_item(member, cls=cls)
            stored = _stored_parameters(setter, called)
            if stored:
                sources.append((setter, stored))
    count = 0
    for target, stored in sources:
        for site in callers(index).sites(target, ctx):
            values = _site_attributes(target, cls, site, stored)
            if values:
                yield Context(site.origin, attrs=tuple(values))
                count += 1
                if count >= MAX_CONTEXTS:
                    return


def _site_attributes(
    target: FunctionInfo | ClassInfo, cls: ClassInfo, site: CallSite, stored: dict[str, str]
) -> list[tuple[str, Value]]:
    if isinstance(target, ClassInfo):
        init = cls.find_method("__init__")
        if init is not None:
            by_param = dict(_bound(init, site))
        else:  # a dataclass: fields in order, or by keyword
            fields = _dataclass_fields(cls)
            by_param = dict(zip(fields, site.positional)) | dict(site.keywords)
            by_param = {k: v for k, v in by_param.items() if worth(v)}
    else:
        by_param = dict(_bound(target, site))
    return [(attr, by_param[param]) for attr, param in stored.items() if param in by_param]


def _stored_parameters(fn: FunctionInfo, attrs: set[str]) -> dict[str, str]:
    """``self.<attr> = <param>`` statements of a method: attr -> parameter name."""
    if fn.self_name is None:
        return {}
    params = set(fn.param_names) - {fn.self_name}
    found: dict[str, str] = {}
    for stmt in syntax.walk_statements(syntax.body_statements(fn.node.body)):
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            targets = (
                [t.target for t in small.targets]
                if isinstance(small, cst.Assign)
                else [small.target]
                if isinstance(small, cst.AnnAssign) and small.value is not None
                else []
            )
            value = getattr(small, "value", None)
            if not isinstance(value, cst.Name) or value.value not in params:
                continue
            for target in targets:
                dotted = syntax.dotted_name(target)
                if dotted is not None and dotted.startswith(fn.self_name + "."):
                    attr = dotted.split(".", 1)[1]
                    if attr in attrs:
                        found[attr] = value.value
    return found


def _is_dataclass(cls: ClassInfo) -> bool:
    node, _ = cls.header
    for decorator in node.decorators:
        expr = decorator.decorator.func if isinstance(decorator.decorator, cst.Call) else decorator.decorator
        if (syntax.dotted_name(expr) or "").rsplit(".", 1)[-1] == "dataclass":
            return True
    return False


def _dataclass_fields(cls: ClassInfo) -> list[str]:
    fields: list[str] = []
    for member in cls.members:
        if member.kind != "statement":
            continue
        for stmt, _ in member.statements():
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                        fields.append(small.target.value)
    return fields
