"""Reading a file's imports: which local name stands for which qualified name.

Top-level import statements are read with ``ast`` (ten times cheaper than LibCST for them), all of a
file's in one parse; imports inside functions come as LibCST nodes and are read here too.
"""

from __future__ import annotations

import ast
import bisect
from collections.abc import Callable, Iterator

import libcst as cst

from logitlint.analysis import syntax
from logitlint.outline import Outline

Resolve = Callable[[str | None, int], str | None]  # (module, level) -> absolute module name


def relative_module(own: str | None, is_package: bool, module: str | None, level: int) -> str | None:
    """The absolute name of ``from <level dots><module> import ...`` written in module ``own``."""
    if level == 0:
        return module
    if own is None:
        return None
    parts = own.split(".")
    if not is_package:
        parts = parts[:-1]
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    if module:
        base.append(module)
    return ".".join(base) or None


def top_level_imports(outline: Outline, resolve: Resolve) -> dict[int, list[tuple[str, str]]]:
    """Item index -> (local name, qualified name) for each top-level import statement."""
    result: dict[int, list[tuple[str, str]]] = {}
    pieces: list[tuple[int, str]] = []
    for index, item in enumerate(outline.items):
        if item.kind != "statement":
            continue
        text = getattr(item, "text", None)
        if text is None:  # a whole-file parse: the node is at hand
            ((node, _),) = item.statements()
            if (
                isinstance(node, cst.SimpleStatementLine)
                and len(node.body) == 1
                and isinstance(node.body[0], (cst.Import, cst.ImportFrom))
            ):
                result[index] = list(cst_import_bindings(node.body[0], resolve))
            continue
        if text.lstrip().startswith(("import ", "from ")):
            pieces.append((index, text))
    for index, node in _import_statements(pieces):
        result[index] = list(_ast_import_bindings(node, resolve))
    return dict(sorted(result.items()))


def _ast_import_bindings(node: ast.Import | ast.ImportFrom, resolve: Resolve) -> Iterator[tuple[str, str]]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                yield alias.asname, alias.name
            else:
                yield alias.name.split(".")[0], alias.name.split(".")[0]
    else:
        base = resolve(node.module, node.level)
        for alias in node.names:
            if alias.name != "*" and base is not None:
                yield alias.asname or alias.name, f"{base}.{alias.name}"


def cst_import_bindings(node: cst.Import | cst.ImportFrom, resolve: Resolve) -> Iterator[tuple[str, str]]:
    if isinstance(node, cst.Import):
        for alias in node.names:
            name = syntax.dotted_name(alias.name) or ""
            if alias.asname is not None:
                yield alias.asname.name.value, name  # type: ignore[union-attr]
            else:
                yield name.split(".")[0], name.split(".")[0]
        return
    if isinstance(node.names, cst.ImportStar):
        return
    module = syntax.dotted_name(node.module) if node.module is not None else None
    base = resolve(module, len(node.relative))
    for alias in node.names:
        if base is None:
            continue
        name = alias.name.value  # type: ignore[union-attr]
        local = alias.asname.name.value if alias.asname is not None else name  # type: ignore[union-attr]
        yield local, f"{base}.{name}"


def _import_statements(pieces: list[tuple[int, str]]) -> Iterator[tuple[int, ast.Import | ast.ImportFrom]]:
    """The pieces (item index, text) that are one import statement each, with its node: one parse
    of them all, or one per piece where that fails (a piece that does not parse is left out)."""
    starts, lines, joined = [], 1, []
    for _, text in pieces:
        starts.append(lines)
        text = text if text.endswith(("\n", "\r")) else text + "\n"
        joined.append(text)
        lines += text.count("\n") if "\r" not in text else len(text.splitlines())
    try:
        tree = ast.parse("".join(joined))
    except (SyntaxError, ValueError):
        tree = None
    if tree is not None:
        found: dict[int, list[ast.stmt]] = {}
        for node in tree.body:
            piece = bisect.bisect_right(starts, node.lineno) - 1
            if node.end_lineno is not None and bisect.bisect_right(starts, node.end_lineno) - 1 != piece:
                tree = None  # a statement across two pieces: read them one by one
                break
            found.setdefault(piece, []).append(node)
        else:
            for piece, nodes in sorted(found.items()):
                if len(nodes) == 1 and isinstance(nodes[0], (ast.Import, ast.ImportFrom)):
                    yield pieces[piece][0], nodes[0]
            return
    for index, text in pieces:
        try:
            body = ast.parse(text).body
        except (SyntaxError, ValueError):
            continue
        if len(body) == 1 and isinstance(body[0], (ast.Import, ast.ImportFrom)):
            yield index, body[0]
