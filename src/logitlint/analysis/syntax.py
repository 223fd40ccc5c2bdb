"""Small, pure helpers over LibCST syntax: literals, argument binding, binding targets.

The analysis tests a node's kind with ``type(node) is cst.X`` rather than ``isinstance``: LibCST's
classes use ABCMeta, where a failed ``isinstance`` runs a Python-level ``__instancecheck__`` (0.4 µs
against 0.005 µs), and the evaluator makes millions of them. LibCST subclasses none of its concrete
node classes, so the two tests agree (``tests/test_node_types.py`` checks every class so compared).
Abstract bases (``cst.BaseExpression``) are still tested with ``isinstance``."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence

import libcst as cst


def int_literal(node: cst.BaseExpression | None) -> int | None:
    """``1``, ``-1``, ``(1)`` as ints; anything else None."""
    if type(node) is cst.Integer:
        try:
            return int(node.value, 0)
        except ValueError:
            return None
    if type(node) is cst.UnaryOperation and type(node.operator) is cst.Minus:
        inner = int_literal(node.expression)
        return None if inner is None else -inner
    return None


def number_literal(node: cst.BaseExpression) -> float | None:
    if type(node) in (cst.Integer, cst.Float):
        try:
            return float(node.evaluated_value)
        except (ValueError, OverflowError):
            return None
    if type(node) is cst.UnaryOperation and type(node.operator) in (cst.Minus, cst.Plus):
        inner = number_literal(node.expression)
        if inner is None:
            return None
        return -inner if type(node.operator) is cst.Minus else inner
    return None


_MAX_WORDS = frozenset({"max", "amax", "logsumexp"})


def shifted_by_max(node: cst.BaseExpression) -> bool:
    """``x - x.max(...)``, ``x - torch.amax(x)`` or ``x - m``: a tensor shifted by its max (so <= 0). A
    bare name or attribute on the right most likely holds the max: a missed finding beats a false one."""
    node = unparenthesized(node)
    if not (type(node) is cst.BinaryOperation and type(node.operator) is cst.Subtract):
        return False
    right = unparenthesized(node.right)
    if type(right) in (cst.Name, cst.Attribute):
        return True
    while True:  # down a chain: x.max(1)[0], x.max(1).values.detach(), torch.amax(x, 1)
        if type(right) is cst.Call:
            func = right.func
            if type(func) is cst.Name:
                return func.value in _MAX_WORDS
            if type(func) is not cst.Attribute:
                return False
            if func.attr.value in _MAX_WORDS:
                return True
            right = unparenthesized(func.value)
        elif type(right) in (cst.Subscript, cst.Attribute):
            right = unparenthesized(right.value)
        else:
            return False


def negated_square(node: cst.BaseExpression) -> bool:
    """``-x ** 2``, ``-x.pow(2) / (2 * s ** 2)``, ``-c * (x - m) ** 2``: a Gaussian exponent (so <= 0).
    One negated factor and a squared one in a product or quotient; the other factors are taken to be
    positive scales (a missed finding beats a false one)."""
    factors = _factors(unparenthesized(node))
    negated = [f for f in factors if type(f) is cst.UnaryOperation and type(f.operator) is cst.Minus]
    if len(negated) != 1:
        return False
    inner = _factors(unparenthesized(negated[0].expression))  # type: ignore[attr-defined]
    return any(_is_square(f) for f in [*factors, *inner])


def _factors(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    if type(node) is cst.BinaryOperation and type(node.operator) in (cst.Multiply, cst.Divide):
        right = [node.right] if type(node.operator) is cst.Divide else _factors(unparenthesized(node.right))
        return [*_factors(unparenthesized(node.left)), *right]
    return [node]


def _is_square(node: cst.BaseExpression) -> bool:
    node = unparenthesized(node)
    if type(node) is cst.BinaryOperation and type(node.operator) is cst.Power:
        return number_literal(node.right) == 2.0
    if type(node) is cst.Call and type(node.func) is cst.Attribute:
        name = node.func.attr.value
        if name == "square" and len(node.args) <= 1:
            return True  # x.square(), torch.square(x)
        if name == "pow" and node.args:
            return number_literal(node.args[-1].value) == 2.0  # x.pow(2), torch.pow(x, 2)
    return False


def is_true(node: cst.BaseExpression | None) -> bool:
    return type(node) is cst.Name and node.value == "True"


def string_literal(node: cst.BaseExpression | None) -> str | None:
    if type(node) is cst.SimpleString:
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


@dataclasses.dataclass
class BoundArgs:
    """Call arguments matched to a known signature."""

    args: dict[str, cst.Arg]
    complete: bool  # no *args / **kwargs and nothing left over

    def get(self, name: str) -> cst.BaseExpression | None:
        arg = self.args.get(name)
        return arg.value if arg is not None else None

    def __contains__(self, name: str) -> bool:
        return name in self.args


# numpy-style spellings torch accepts for reductions (``torch.sum(x, axis=1, keepdims=True)``)
KEYWORD_ALIASES = {"axis": "dim", "keepdims": "keepdim"}


def bind_args(call: cst.Call, params: Sequence[str], *, skip: int = 0) -> BoundArgs:
    """Match ``call``'s arguments to ``params`` (``"*"`` marks the start of keyword-only ones)."""
    positional = [p for p in params[skip:]]
    if "*" in positional:
        positional = positional[: positional.index("*")]
    names = {p for p in params if p != "*"}
    bound: dict[str, cst.Arg] = {}
    complete = True
    index = 0
    for arg in call.args:
        if arg.star:
            complete = False
            continue
        if arg.keyword is None:
            if index < len(positional):
                bound[positional[index]] = arg
            else:
                complete = False
            index += 1
        elif arg.keyword.value in names:
            bound[arg.keyword.value] = arg
        elif KEYWORD_ALIASES.get(arg.keyword.value) in names:
            bound[KEYWORD_ALIASES[arg.keyword.value]] = arg
        else:
            complete = False
    return BoundArgs(bound, complete)


def dotted_name(node: cst.BaseExpression) -> str | None:
    """``torch.nn.functional`` for the expression spelling it; None for anything else."""
    parts: list[str] = []
    while type(node) is cst.Attribute:
        parts.append(node.attr.value)
        node = node.value
    if type(node) is cst.Name:
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def target_names(target: cst.BaseExpression) -> Iterator[str]:
    """Names bound by an assignment target (``a``, ``a, (b, *c)``); attributes as ``self.x``."""
    if type(target) is cst.Name:
        yield target.value
    elif type(target) in (cst.Tuple, cst.List):
        for element in target.elements:
            yield from target_names(element.value)
    elif type(target) is cst.StarredElement:
        yield from target_names(target.value)
    elif type(target) is cst.Attribute:
        name = dotted_name(target)
        if name is not None and name.count(".") == 1:
            yield name


def is_pure(node: cst.BaseExpression) -> bool:
    """Side-effect free and cheap to evaluate twice: names, attributes, constant subscripts."""
    if type(node) in (cst.Name, cst.Integer, cst.Float):
        return True
    if type(node) is cst.Attribute:
        return is_pure(node.value)
    if type(node) is cst.Subscript:
        return is_pure(node.value) and all(_pure_slice(e.slice) for e in node.slice)
    if type(node) is cst.UnaryOperation:
        return is_pure(node.expression)
    if type(node) is cst.BinaryOperation:
        return is_pure(node.left) and is_pure(node.right)
    return False


def _pure_slice(slice_: cst.BaseSlice) -> bool:
    if type(slice_) is cst.Index:
        return is_pure(slice_.value) or type(slice_.value) is cst.Ellipsis
    if type(slice_) is cst.Slice:
        return all(part is None or is_pure(part) for part in (slice_.lower, slice_.upper, slice_.step))
    return False


def read_names(node: cst.CSTNode) -> Iterator[str]:
    """Names (and ``a.b`` attribute reads) an expression reads."""
    if type(node) is cst.Name:
        yield node.value
        return
    if type(node) is cst.Attribute:
        name = dotted_name(node)
        if name is not None and name.count(".") == 1:
            yield name
    for child in children(node):
        yield from read_names(child)


_FIELDS: dict[type, tuple[str, ...]] = {}


def children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Child nodes, cheaper than ``node.children`` (which runs a visitor)."""
    cls = type(node)
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = tuple(
            f.name
            for f in dataclasses.fields(cls)
            if not f.name.startswith(("whitespace", "lpar", "rpar", "comma", "semicolon", "leading_lines"))
        )
        _FIELDS[cls] = fields
    for name in fields:
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            yield value
        elif isinstance(value, (tuple, list)):
            for item in value:
                if isinstance(item, cst.CSTNode):
                    yield item


def descendants(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``root`` and every node below it (in no particular order)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(children(node))


def unparenthesized(node: cst.BaseExpression) -> cst.BaseExpression:
    if type(node) is cst.Tuple and not node.elements:
        return node  # ``()`` needs its parentheses
    if getattr(node, "lpar", None):
        return node.with_changes(lpar=[], rpar=[])
    return node


ATOMIC = (
    cst.Name,
    cst.Attribute,
    cst.Call,
    cst.Subscript,
    cst.Integer,
    cst.Float,
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.FormattedString,
    cst.List,
    cst.Tuple,
    cst.Dict,
    cst.Set,
    cst.ListComp,
    cst.SetComp,
    cst.DictComp,
    cst.GeneratorExp,
)


def is_atomic(node: cst.BaseExpression) -> bool:
    """Safe to put anywhere an atom goes (``X.attr``, ``-X``) without parentheses."""
    return isinstance(node, ATOMIC) or bool(getattr(node, "lpar", None))


def statement_blocks(stmt: cst.BaseStatement) -> Iterator[Sequence[cst.BaseStatement]]:
    """The statement lists nested directly in a compound statement (not in defs or classes)."""
    if type(stmt) in (cst.If,):
        yield stmt.body.body
        if stmt.orelse is not None:
            if type(stmt.orelse) is cst.If:
                yield (stmt.orelse,)
            else:
                yield stmt.orelse.body.body
    elif type(stmt) in (cst.For, cst.While):
        yield stmt.body.body
        if stmt.orelse is not None:
            yield stmt.orelse.body.body
    elif type(stmt) in (cst.Try, cst.TryStar):
        yield stmt.body.body
        for handler in stmt.handlers:
            yield handler.body.body
        if stmt.orelse is not None:
            yield stmt.orelse.body.body
        if stmt.finalbody is not None:
            yield stmt.finalbody.body.body
    elif type(stmt) is cst.With:
        yield stmt.body.body
    elif type(stmt) is cst.Match:
        for case in stmt.cases:
            yield case.body.body


def body_statements(body: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    if type(body) is cst.IndentedBlock:
        return body.body
    if type(body) is cst.SimpleStatementSuite:
        return (cst.SimpleStatementLine(body=body.body),)
    return ()


def walk_statements(body: Sequence[cst.BaseStatement]) -> Iterator[cst.BaseStatement]:
    """Every statement in a body, through compound statements but not into defs or classes."""
    for stmt in body:
        yield stmt
        for block in statement_blocks(stmt):
            yield from walk_statements(block)


def bound_names(body: Sequence[cst.BaseStatement], *, walrus: bool = True) -> tuple[set[str], set[str]]:
    """(names a scope binds, names it declares global/nonlocal), defs and classes not entered."""
    bound: set[str] = set()
    declared: set[str] = set()
    for stmt in walk_statements(body):
        if type(stmt) in (cst.FunctionDef, cst.ClassDef):
            bound.add(stmt.name.value)
            continue
        if type(stmt) is cst.For:
            bound.update(n for n in target_names(stmt.target) if "." not in n)
        elif type(stmt) is cst.With:
            for item in stmt.items:
                if item.asname is not None:
                    bound.update(n for n in target_names(item.asname.name) if "." not in n)
        elif type(stmt) in (cst.Try, cst.TryStar):
            for handler in stmt.handlers:
                if handler.name is not None and type(handler.name.name) is cst.Name:
                    bound.add(handler.name.name.value)
        elif type(stmt) is cst.SimpleStatementLine:
            for small in stmt.body:
                if type(small) is cst.Assign:
                    for t in small.targets:
                        bound.update(n for n in target_names(t.target) if "." not in n)
                elif type(small) in (cst.AnnAssign, cst.AugAssign):
                    bound.update(n for n in target_names(small.target) if "." not in n)
                elif type(small) in (cst.Import, cst.ImportFrom):
                    bound.update(import_bound_names(small))
                elif type(small) in (cst.Global, cst.Nonlocal):
                    declared.update(n.name.value for n in small.names)
                elif type(small) is cst.Del:
                    bound.update(n for n in target_names(small.target) if "." not in n)
        if walrus:
            bound.update(walrus_names(stmt))
    return bound - declared, declared


def walrus_names(stmt: cst.BaseStatement) -> Iterator[str]:
    """Names bound by ``:=`` in a statement's own expressions (callers skip this when their
    source has no ``:=``: it walks every expression)."""
    if type(stmt) is cst.SimpleStatementLine:
        nodes: list[cst.CSTNode] = list(stmt.body)
    elif type(stmt) in (cst.If, cst.While):
        nodes = [stmt.test]
    else:
        return
    stack = nodes
    while stack:
        node = stack.pop()
        if type(node) is cst.NamedExpr and type(node.target) is cst.Name:
            yield node.target.value
        if type(node) in (cst.Lambda, cst.FunctionDef, cst.ClassDef):
            continue
        stack.extend(children(node))


def import_bound_names(node: cst.Import | cst.ImportFrom) -> Iterator[str]:
    if type(node) is cst.Import:
        for alias in node.names:
            if alias.asname is not None:
                yield alias.asname.name.value  # type: ignore[union-attr]
            else:
                yield (dotted_name(alias.name) or "").split(".")[0]
    elif type(node.names) is not cst.ImportStar:
        for alias in node.names:
            if alias.asname is not None:
                yield alias.asname.name.value  # type: ignore[union-attr]
            else:
                yield alias.name.value  # type: ignore[union-attr]



# Words that name a reference implementation in test code: an oracle written in the textbook form
# on purpose (``reference_fn=lambda i: torch.log1p(torch.exp(i))``, ``def softmarginloss_reference``).
# Outside tests "reference" often means a model (a DPO reference policy), whose code counts.
REFERENCE_WORDS = frozenset({"ref", "refs", "reference", "references", "oracle"})
_TEST_FOLDERS = frozenset({"test", "tests", "testing"})


def name_words(name: str) -> list[str]:
    """``multilabel_loss_reference_fn`` and ``referenceFn`` as lower-case words."""
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", name)]


def names_a_reference(name: str) -> bool:
    return not REFERENCE_WORDS.isdisjoint(name_words(name))


def is_test_path(path: str) -> bool:
    """``tests/test_loss.py``, ``torch/testing/_internal/common_nn.py``, ``conftest.py``."""
    *folders, name = re.split(r"[\\/]", path)
    if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
        return True
    return not _TEST_FOLDERS.isdisjoint(folder.lower() for folder in folders)
