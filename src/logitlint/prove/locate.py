"""Which expressions a fix changes, and what their free names stand for (pure ``ast``, no torch).

A fix is a set of edits; the compared pair is the smallest expression of the finding's statement that
covers every edit inside that statement, widened until both sides compute something (``probs`` ->
``logits`` is compared at the loss call). Names are followed back to one plain, earlier assignment
that nothing rebinds in between (the same rule the fixer's own flow analysis applies); the rest are
free: the prover generates tensors for them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from logitlint.diagnostics import Diagnostic, Edit
from logitlint.fixes import apply_fixes, offsets
from logitlint.source import NEWLINE


class NotProvable(Exception):
    """The fix cannot be checked here; the message says why (never a crash of the run)."""


@dataclass
class Binding:
    """``name = value`` at a statement: evaluated lazily, under no_grad if the statement is."""

    value: ast.expr
    program: Program
    no_grad: bool


@dataclass
class Program:
    """One text, parsed, with character offsets for every node."""

    text: str
    tree: ast.Module
    line_starts: list[int]
    parents: dict[int, ast.AST] = field(default_factory=dict)
    memo: dict[tuple, object] = field(default_factory=dict)  # answers of the lookups below, per node

    def cached(self, key: tuple, compute):
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    @classmethod
    def parse(cls, text: str) -> Program:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError) as exc:
            raise NotProvable(f"does not parse with ast ({type(exc).__name__})") from exc
        program = cls(text, tree, [0] + [m.end() for m in NEWLINE.finditer(text)])
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                program.parents[id(child)] = node
        return program

    def offset(self, line: int, byte_col: int) -> int:
        start = self.line_starts[line - 1]
        end = self.line_starts[line] if line < len(self.line_starts) else len(self.text)
        row = self.text[start:end]
        return start + len(row.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))

    def range(self, node: ast.AST) -> tuple[int, int]:
        return (
            self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
            self.offset(node.end_lineno, node.end_col_offset),  # type: ignore[attr-defined]
        )

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self.parents.get(id(node))

    def ancestors(self, node: ast.AST):
        current = self.parent(node)
        while current is not None:
            yield current
            current = self.parent(current)

    def statement_at(self, start: int, end: int) -> ast.stmt:
        """The innermost simple statement covering [start, end)."""
        best: ast.stmt | None = None
        for node in ast.walk(self.tree):
            if isinstance(node, ast.stmt) and not _compound(node):
                a, b = self.range(node)
                if a <= start and end <= b and (best is None or b - a < _size(self, best)):
                    best = node
        if best is None:
            raise NotProvable("the fix is not inside a simple statement")
        return best

    def expression_covering(self, stmt: ast.stmt, start: int, end: int) -> ast.expr:
        best: ast.expr | None = None
        for node in ast.walk(stmt):
            if isinstance(node, ast.expr):
                a, b = self.range(node)
                if a <= start and end <= b and (best is None or b - a < _size(self, best)):
                    best = node
        if best is None:
            raise NotProvable("the fix does not change an expression")
        return best

    def scope_of(self, node: ast.AST) -> ast.AST:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)):
                return ancestor
        return self.tree

    def under_no_grad(self, node: ast.AST) -> bool:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                return False
            if isinstance(ancestor, ast.With) and any(_is_no_grad(item.context_expr) for item in ancestor.items):
                return True
        return False


def _size(program: Program, node: ast.AST) -> int:
    a, b = program.range(node)
    return b - a


def _compound(node: ast.stmt) -> bool:
    return hasattr(node, "body")


def _is_no_grad(expr: ast.expr) -> bool:
    func = expr.func if isinstance(expr, ast.Call) else expr
    return isinstance(func, ast.Attribute) and func.attr in ("no_grad", "inference_mode")


# --- the compared pair ---------------------------------------------------------------------------
@dataclass
class Pair:
    before: ast.expr
    after: ast.expr
    original: Program
    fixed: Program


def _is_import_insertion(text: str, edit_range: tuple[int, int], edit: Edit) -> bool:
    return edit_range[0] == edit_range[1] and edit.text.lstrip().startswith(("import ", "from "))


def compared_pair(text: str, diagnostic: Diagnostic, *, whole: bool = False) -> Pair:
    """The original expression the fix changes and the expression that replaces it."""
    assert diagnostic.fix is not None
    original = Program.parse(text)
    starts = original.line_starts
    fixed_text, applied = apply_fixes(text, [diagnostic], starts)
    if not applied:
        raise NotProvable("the fix's edits overlap")
    fixed = Program.parse(fixed_text)
    ranges = [(offsets(text, e.span, starts), e) for e in diagnostic.fix.edits]
    ranges = [(r, e) for r, e in ranges if not _is_import_insertion(text, r, e)]
    finding = offsets(text, diagnostic.span, starts)
    stmt = original.statement_at(*finding)
    s_start, s_end = original.range(stmt)
    inside = [(r, e) for r, e in ranges if s_start <= r[0] and r[1] <= s_end]
    if not inside:
        raise NotProvable("the fix does not change the finding's statement")
    lo, hi = min(r[0] for r, _ in inside), max(r[1] for r, _ in inside)
    before = original.expression_covering(stmt, lo, hi)
    if whole:  # the statement's whole value (a bug-fix is judged on the loss, not on its input)
        while (outer := _enclosing_expression(original, before)) is not None:
            before = outer
    while True:
        a, b = original.range(before)
        # The same expression in the fixed text: shifted by the edits before it, grown by those inside.
        shift = sum(len(e.text) - (r[1] - r[0]) for r, e in ranges if r[1] <= a and not (r[0] == r[1] == a))
        grow = sum(len(e.text) - (r[1] - r[0]) for r, e in ranges if a <= r[0] and r[1] <= b and (r, e) in inside)
        fa, fb = a + shift, b + shift + grow
        fixed_stmt = fixed.statement_at(fa, fb)
        after = _node_with_range(fixed, fixed_stmt, fa, fb)
        if after is not None and _computes(before) and _computes(after):
            return Pair(before, after, original, fixed)
        parent = _enclosing_expression(original, before)
        if parent is None:
            raise NotProvable("the fix replaces a whole statement value by a name")
        before = parent


def _enclosing_expression(program: Program, node: ast.expr) -> ast.expr | None:
    """The nearest expression around ``node`` (through keywords, comprehension parts), inside its statement."""
    for ancestor in program.ancestors(node):
        if isinstance(ancestor, ast.stmt):
            return None
        if isinstance(ancestor, ast.expr):
            return ancestor
    return None


def _node_with_range(program: Program, stmt: ast.stmt, start: int, end: int) -> ast.expr | None:
    best = None
    for node in ast.walk(stmt):
        if isinstance(node, ast.expr) and program.range(node) == (start, end):
            best = node  # the outermost one: ast.walk goes top-down
            break
    return best


def _computes(node: ast.expr) -> bool:
    return not isinstance(node, (ast.Name, ast.Attribute, ast.Constant))


# --- following names back ------------------------------------------------------------------------
def binding_of(program: Program, name: ast.Name) -> Binding | None:
    """The one plain assignment ``name.id = value`` that reaches ``name``, if it is certain."""
    return program.cached(("binding", id(name)), lambda: _binding_of(program, name))  # type: ignore[return-value]


def _binding_of(program: Program, name: ast.Name) -> Binding | None:
    scope = program.scope_of(name)
    use = program.range(name)[0]
    stores = [n for n in _walk_scope(scope) if _stores(n, name.id)]
    if not stores and scope is not program.tree:
        return _module_constant(program, name.id)
    earlier = []
    for store in stores:
        stmt = next((a for a in program.ancestors(store) if isinstance(a, ast.stmt)), None)
        if stmt is None:
            return None
        start, end = program.range(stmt)
        if start <= use < end:
            if _compound(stmt):  # a loop variable, a ``with ... as`` name, a walrus: unknown here
                return None
            continue  # ``x = x / x.sum()``: the right side reads the value from before
        if end <= use:
            earlier.append(store)
    if not earlier:
        return None
    last = max(earlier, key=lambda n: program.range(n)[0])
    assign = program.parent(last)
    if not (
        isinstance(assign, ast.Assign)
        and len(assign.targets) == 1
        and assign.targets[0] is last
        and isinstance(last, ast.Name)
    ):
        return None
    # The assignment must run on every path to the use: the use is later in the assignment's block.
    if not _same_block_later(program, assign, name):
        return None
    for loop in (a for a in program.ancestors(name) if isinstance(a, (ast.For, ast.While, ast.AsyncFor))):
        if any(program.range(n)[0] > use for n in stores if _inside(program, n, loop)):
            return None  # the next iteration sees another value
    for node in _walk_scope(scope):  # in-place changes between the assignment and the use
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            base = node.func.value
            if isinstance(base, ast.Name) and base.id == name.id and node.func.attr.endswith("_"):
                if program.range(assign)[1] <= program.range(node)[0] < use:
                    return None
    return Binding(assign.value, program, program.under_no_grad(assign))


def _module_constant(program: Program, name: str) -> Binding | None:
    """A global read in a function: its one module-level assignment (``criterion = nn.CrossEntropyLoss()``)."""
    return program.cached(("global", name), lambda: _find_module_constant(program, name))  # type: ignore[return-value]


def _find_module_constant(program: Program, name: str) -> Binding | None:
    stores = [n for n in ast.walk(program.tree) if _stores(n, name) or _declares_global(n, name)]
    if len(stores) != 1:
        return None
    assign = program.parent(stores[0])
    if isinstance(assign, ast.Assign) and len(assign.targets) == 1 and program.parent(assign) is program.tree:
        return Binding(assign.value, program, False)
    return None


def _declares_global(node: ast.AST, name: str) -> bool:
    return isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names


def _same_block_later(program: Program, stmt: ast.stmt, use: ast.AST) -> bool:
    owner = program.parent(stmt)
    # ``with torch.no_grad():`` always runs its body: an assignment there reaches what follows
    while isinstance(owner, ast.With) and all(_is_no_grad(i.context_expr) for i in owner.items):
        if _inside(program, use, owner):
            break
        stmt, owner = owner, program.parent(owner)
    for field_name in ("body", "orelse", "finalbody"):
        block = getattr(owner, field_name, None)
        if isinstance(block, list) and any(s is stmt for s in block):
            later = block[block.index(stmt) + 1 :]
            return any(s is use or _inside(program, use, s) for s in later)
    return False


def _inside(program: Program, node: ast.AST, container: ast.AST) -> bool:
    return any(a is container for a in program.ancestors(node))


def _stores(node: ast.AST, name: str) -> bool:
    if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, (ast.Store, ast.Del)):
        return True
    if isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, (ast.Store, ast.Del)):
        base = node.value
        while isinstance(base, (ast.Subscript, ast.Attribute)):
            base = base.value
        return isinstance(base, ast.Name) and base.id == name
    if isinstance(node, ast.arg) and node.arg == name:
        return True
    return False


def _walk_scope(scope: ast.AST):
    """Nodes of ``scope`` without descending into nested functions and classes."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


def self_attribute(program: Program, node: ast.Attribute) -> Binding | None:
    """``self.attr`` read in a method: its one assignment in the class's ``__init__``."""
    return program.cached(("self", id(node)), lambda: _self_attribute(program, node))  # type: ignore[return-value]


def _self_attribute(program: Program, node: ast.Attribute) -> Binding | None:
    if not (isinstance(node.value, ast.Name) and node.value.id == "self"):
        return None
    cls = next((a for a in program.ancestors(node) if isinstance(a, ast.ClassDef)), None)
    if cls is None:
        return None
    found: list[ast.Assign] = []
    for child in ast.walk(cls):
        if isinstance(child, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = child.targets if isinstance(child, ast.Assign) else [child.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr == node.attr
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                ):
                    found.append(child)  # type: ignore[arg-type]
    if len(found) != 1 or not isinstance(found[0], ast.Assign) or len(found[0].targets) != 1:
        return None
    init = next((a for a in program.ancestors(found[0]) if isinstance(a, ast.FunctionDef)), None)
    if init is None or init.name != "__init__":
        return None
    return Binding(found[0].value, program, False)


def torch_imports(program: Program) -> dict[str, str]:
    """Module-level names bound to torch objects by imports: ``F`` -> ``torch.nn.functional``."""
    return program.cached(("imports",), lambda: _torch_imports(program))  # type: ignore[return-value]


def _torch_imports(program: Program) -> dict[str, str]:
    names: dict[str, str] = {}
    rebound: set[str] = set()
    for node in ast.walk(program.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "torch" or alias.name.startswith("torch."):
                    if alias.asname:
                        names[alias.asname] = alias.name
                    else:
                        names["torch"] = "torch"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "torch" or node.module.startswith("torch."):
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in program.tree.body:  # a module-level rebinding makes the import uncertain
        for target in getattr(node, "targets", []) + [getattr(node, "target", None)]:
            if isinstance(target, ast.Name):
                rebound.add(target.id)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            rebound.add(node.name)
    return {k: v for k, v in names.items() if k not in rebound}
