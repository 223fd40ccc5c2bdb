"""Call sites of project functions and classes, and the facts of their arguments.

A parameter that holds the model, the loss object or an activation takes the facts of the
arguments at the function's call sites in the project: ``train(model, criterion, loader)`` in
train.py, called from main.py with ``Net()`` and ``nn.CrossEntropyLoss()``. Each call site is a
context of its own, so when call sites disagree only the bad ones count (see ``contexts``).

The reverse lookup costs nothing until a function needs it, and little then: project files are read
once for their import lines (which modules each file imports); only the files that import the
function's module (and its own file) are searched for its name, and only their units that mention
the name are parsed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import libcst as cst

from logitlint.analysis import syntax
from logitlint.analysis.evaluate import Evaluator
from logitlint.analysis.flow import assigned_names
from logitlint.analysis.module import ClassInfo, FunctionInfo, ModuleContext, relative_module
from logitlint.analysis.project import ProjectIndex, module_info
from logitlint.analysis.values import (
    UNKNOWN,
    Alternatives,
    ClassValue,
    ExternalModel,
    FunctionValue,
    Instance,
    Layer,
    LossObject,
    Origin,
    Sequential,
    Tensor,
    TupleValue,
    Value,
    force,
    is_distribution,
)

MAX_FILES = 20_000  # a project larger than this is not searched for callers
MAX_CALLER_FILES = 40  # files searched for one function's callers
MAX_DEPTH = 2  # callers of callers followed for an argument that is the caller's parameter
_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "build", "dist"})
_IMPORT_LINE = re.compile(  # on bytes: no file is decoded for it
    rb"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)|import[ \t]+([^\n#;]*))", re.M
)


@dataclass(frozen=True)
class CallSite:
    """One call of a project function or class: where it is (a resolved file position, no syntax
    tree) and the arguments worth binding (``worth``); any other argument is UNKNOWN, so a record
    keeps neither the caller's tree nor the evaluator that read it."""

    origin: Origin  # the call expression, resolved to (path, line, col)
    positional: tuple[Value, ...]
    keywords: tuple[tuple[str, Value], ...]


def worth(value: Value) -> bool:
    """Is an argument a fact the callee can use: a loss object, an activation, a model (or an
    ``nn.Sequential``) whose output is probabilities or log-probabilities?"""
    value = force(value)
    if isinstance(value, (LossObject, Layer)):
        return True
    if isinstance(value, Tensor):
        return is_distribution(value)  # compute_loss(torch.softmax(x, 1), y, ce)
    if isinstance(value, Alternatives):
        return any(worth(option) for option in value.options)
    if isinstance(value, Instance):
        result = force(value.cls.call_value(value.overrides)[0])
        items = result.items if isinstance(result, TupleValue) else (result,)  # forward returns (a, b)
        return any(is_distribution(r) for r in map(force, items))
    if isinstance(value, Sequential):
        return worth(value.last)
    if isinstance(value, ExternalModel):
        head = dict(value.overrides).get(value.head)
        return head is not None and worth(head)
    return False


def _record(site: CallSite, path: str) -> CallSite:
    """The small record kept of a call site (see ``CallSite``)."""

    def kept(value: Value) -> Value:
        value = force(value)
        if isinstance(value, Tensor):  # no producer, and its origin as a file position: no tree kept
            origin = value.origin.resolve(path) if value.origin is not None else None
            return replace(value, producer=None, origin=origin) if worth(value) else UNKNOWN
        return value if worth(value) else UNKNOWN

    return CallSite(
        site.origin.resolve(path),
        tuple(kept(v) for v in site.positional),
        tuple((k, kept(v)) for k, v in site.keywords),
    )


def target_key(target: FunctionInfo | ClassInfo) -> tuple[str, str]:
    """The same function or class seen from two files' analyses (two ``FunctionInfo`` objects)."""
    return os.path.abspath(target.ctx.path), target.qualname if isinstance(target, FunctionInfo) else target.name


class CallerIndex:
    """Which project files import which modules (read once from their import lines), and the call
    sites found during the check of one file. One per ``ProjectIndex`` (``callers(index)``);
    dropped when it forgets."""

    def __init__(self, index: ProjectIndex):
        self.index = index
        self._imports: dict[tuple[Path, ...], dict[bytes, list[tuple[Path, tuple]]]] = {}
        # Call sites found for the file being checked (its path and text): a function's sites are
        # asked for again within that check (callers of callers, methods and attributes of a class,
        # another fix round of the same text), hardly ever by another file's check. So what is kept
        # is bounded by one file's lookups, and a record never outlives the text it was read from.
        self._checking: tuple[str, int, int] | None = None
        self._sites: dict[tuple[str, str, int], tuple[list[Path], list[CallSite]]] = {}  # (files, sites)

    def _roots(self, near: Path) -> tuple[Path, ...]:
        if self.index.roots:
            return tuple(self.index.roots)
        return (module_info(near)[2],)

    def importers(self, module: str, near: Path) -> set[Path]:
        """Project files that import ``module`` (or a name from it)."""
        roots = self._roots(near)
        table = self._imports.get(roots)
        if table is None:
            table = self._imports[roots] = _import_table(roots)
        found: set[Path] = set()
        for path, groups in table.get(module.rsplit(".", 1)[-1].encode(), ()):
            if path not in found:
                own, is_package, _ = module_info(path)
                text = (g.decode("utf-8", "replace") if g is not None else None for g in groups)
                if module in _imported(own, is_package, *text):
                    found.add(path)
        return found

    def sites(self, target: FunctionInfo | ClassInfo, checking: ModuleContext, depth: int = 0) -> list[CallSite]:
        """Every call of ``target`` found in the project (``checking`` is the file being checked,
        whose own analysis answers for its own calls). An argument that is a parameter of the
        calling function takes the values of that function's own call sites, ``MAX_DEPTH`` deep."""
        reader = os.path.abspath(checking.path)
        text = checking.outline.text
        if self._checking != (reader, len(text), hash(text)):
            self._checking = (reader, len(text), hash(text))
            self._sites.clear()
        key = (*target_key(target), depth)
        found = self._sites.get(key)
        if found is None:
            found = self._sites[key] = self._find(target, checking, depth)
        for file in found[0]:  # a check that used these call sites depends on the files calling
            if str(file) != reader:
                self.index.edges.setdefault(Path(reader), set()).add(file)
        if target.ctx.module_name:  # ... and on which files import the target's module
            self.index.searched.setdefault(Path(reader), set()).add(target.ctx.module_name)
        return found[1]

    def _files(self, target: FunctionInfo | ClassInfo) -> list[Path]:
        own = Path(os.path.abspath(target.ctx.path))
        module = target.ctx.module_name
        files: list[Path] = [own]
        if module:
            files += sorted(p for p in self.importers(module, own) if p != own)[:MAX_CALLER_FILES]
        return files

    def _find(self, target: FunctionInfo | ClassInfo, checking: ModuleContext, depth: int):
        name, key = target.name, target_key(target)
        called = re.compile(rf"(?<![\w]){re.escape(name)}\s*\(")
        own = os.path.abspath(checking.path)
        files: list[Path] = []
        sites: list[CallSite] = []
        for file in self._files(target):
            if str(file) == own:
                ctx: ModuleContext | None = checking
            else:
                try:  # a cheap look at the text before any analysis of the file
                    if not called.search(file.read_text("utf-8", errors="replace")):
                        continue
                except OSError:
                    continue
                ctx = self.index.context(file)
            if ctx is None or not ctx.outline.mentions_word(name):
                continue
            before = len(sites)
            found: list[CallSite] = []
            for item in ctx.outline.items:
                if not _calls_in_text(item, called):
                    continue
                if item.kind == "class":
                    cls = ctx.class_for_item(item)
                    for member in cls.members:
                        if _calls_in_text(member, called):
                            scope = ctx.function_for_item(member, cls=cls) if member.kind == "function" else None
                            found += self._calls(ctx, member.statements(), scope, (name, key), checking, depth)
                else:
                    scope = ctx.function_for_item(item) if item.kind == "function" else None
                    found += self._calls(ctx, item.statements(), scope, (name, key), checking, depth)
            sites += (_record(site, ctx.path) for site in found)
            if len(sites) > before:
                files.append(file)
        return files, sites

    def _calls(self, ctx: ModuleContext, statements, scope: FunctionInfo | None, wanted, checking, depth: int):
        name, key = wanted
        for stmt, unit in statements:
            ev: Evaluator | None = None
            for node in syntax.descendants(stmt):
                if not isinstance(node, cst.Call) or _called_name(node.func) != name:
                    continue
                if any(arg.star for arg in node.args):
                    continue
                if ev is None:
                    ev = Evaluator(ctx, scope, flow_insensitive=True, unit=unit)
                callee = force(ev.eval(node.func))
                found = callee.fn if isinstance(callee, FunctionValue) else getattr(callee, "cls", None)
                if not isinstance(callee, (FunctionValue, ClassValue)) or target_key(found) != key:
                    continue
                site = CallSite(
                    Origin("the call", node, unit, path=ctx.path),
                    tuple(ev.eval(a.value) for a in node.args if a.keyword is None),
                    tuple((a.keyword.value, ev.eval(a.value)) for a in node.args if a.keyword is not None),
                )
                yield site
                passed = _passed_parameters(node, scope)
                if scope is not None and passed and depth < MAX_DEPTH:  # run(model, crit) calls train(model, crit)
                    for outer in self.sites(scope, checking, depth + 1):
                        yield _through(site, passed, outer, scope)


def callers(index: ProjectIndex) -> CallerIndex:
    found = index.extensions.get("callers")
    if not isinstance(found, CallerIndex):
        found = index.extensions["callers"] = CallerIndex(index)
    return found


def _calls_in_text(item, called: re.Pattern[str]) -> bool:
    text = getattr(item, "text", None)
    return called.search(text) is not None if text is not None else True


def _passed_parameters(call: cst.Call, scope: FunctionInfo | None) -> dict[str, str]:
    """Arguments of ``call`` that are parameters of the calling function, never rebound in it:
    argument slot (its position, or its keyword) -> parameter name."""
    if scope is None:
        return {}
    params = set(scope.param_names) - {scope.self_name}
    found: dict[str, str] = {}
    position = 0
    for arg in call.args:
        slot = arg.keyword.value if arg.keyword is not None else str(position)
        if arg.keyword is None:
            position += 1
        if isinstance(arg.value, cst.Name) and arg.value.value in params:
            found[slot] = arg.value.value
    if found:
        rebound = assigned_names(syntax.body_statements(scope.node.body))
        found = {slot: name for slot, name in found.items() if name not in rebound}
    return found


def _through(site: CallSite, passed: dict[str, str], outer: CallSite, scope: FunctionInfo) -> CallSite:
    """``site`` with the arguments that are the caller's parameters replaced by what the caller's
    own call site ``outer`` passes for them; the site named is the outer one."""
    offset = 1 if scope.self_name is not None else 0
    positional_names = [p.name.value for p in scope.params][offset:]
    given = dict(zip(positional_names, outer.positional)) | dict(outer.keywords)
    positional = list(site.positional)
    for i in range(len(positional)):
        name = passed.get(str(i))
        if name is not None and name in given:
            positional[i] = given[name]
    keywords = tuple((k, given[passed[k]]) if passed.get(k) in given else (k, v) for k, v in site.keywords)
    return CallSite(outer.origin, tuple(positional), keywords)


def _called_name(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None


# --- the import table ------------------------------------------------------------------------------
def project_files(roots: tuple[Path, ...]) -> list[Path]:
    found: list[Path] = []
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS]
            if "pyvenv.cfg" in files:
                dirs[:] = []
                continue
            found.extend(Path(folder, f) for f in files if f.endswith(".py"))
            if len(found) > MAX_FILES:
                return []
    return found


def _import_table(roots: tuple[Path, ...]) -> dict[bytes, list[tuple[Path, tuple]]]:
    """The import statements of the project's files, by the last name they may import (``c`` for
    ``from a.b import c``, ``from a.b.c import d`` and ``import a.b.c``); resolved only when a
    module of that name is asked about."""
    table: dict[bytes, list[tuple[Path, tuple]]] = {}
    for path in project_files(roots):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if b"import" not in data:
            continue
        path = Path(os.path.abspath(path))
        for match in import_line_matches(data):
            source, names, plain = groups = match.groups()
            if plain is not None:
                keys = {part.split(b" as ")[0].strip().rsplit(b".", 1)[-1] for part in plain.split(b",")}
            else:
                keys = {source.rsplit(b".", 1)[-1]}
                listed = names.strip(b"()").replace(b"\n", b",").split(b",")
                keys.update(part.split(b" as ")[0].strip() for part in listed)
            for key in keys:
                table.setdefault(key, []).append((path, groups))
    return table


def import_line_matches(data: bytes) -> Iterator[re.Match[bytes]]:
    """``_IMPORT_LINE.finditer(data)``, tried only at the starts of lines that hold ``import`` (a
    statement's first line always does): five times faster than letting the engine test every
    offset for a line start. A line starting inside the previous match is not tried, as there."""
    end = tried = -1
    pos = data.find(b"import")
    while pos >= 0:
        start = data.rfind(b"\n", 0, pos) + 1
        if start >= end and start != tried:
            tried = start
            match = _IMPORT_LINE.match(data, start)
            if match is not None:
                yield match
                end = match.end()
        pos = data.find(b"import", max(pos + 6, end))


def imported_modules(path: Path, data: bytes) -> set[str]:
    """The modules the file ``path`` (its bytes ``data``) imports, or imports a name from, read
    from its import lines as the reverse lookup reads them."""
    if b"import" not in data:
        return set()
    own, is_package, _ = module_info(path)
    found: set[str] = set()
    for match in import_line_matches(data):
        text = (g.decode("utf-8", "replace") if g is not None else None for g in match.groups())
        found.update(_imported(own, is_package, *text))
    return found


def _imported(own: str, is_package: bool, source: str | None, names: str | None, plain: str | None) -> Iterator[str]:
    if plain is not None:
        for part in plain.split(","):
            module = part.split(" as ")[0].strip()
            if module:
                yield module
        return
    assert source is not None and names is not None
    level = len(source) - len(source.lstrip("."))
    base = relative_module(own, is_package, source.lstrip(".") or None, level)
    if base is None:
        return
    yield base
    for part in names.strip("()").replace("\n", ",").split(","):
        imported = part.split(" as ")[0].strip()
        if imported.isidentifier():
            yield f"{base}.{imported}"
