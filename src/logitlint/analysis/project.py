"""Cross-file analysis: imports of project modules resolved to files, analysed on demand.

A file's check asks about the names it imports (``from .models import Net``); the index finds
``models.py`` next to it (or in its package, or under a checked root), builds that module's
``ModuleContext`` once per run, and answers from it: what ``Net(...)(x)`` returns, whether a helper
passes its parameter to a loss. Only the parts needed are parsed (see ``logitlint.outline``).
Third-party packages (torch itself) are never analysed: only files under the project's roots.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from logitlint.analysis.evaluate import Evaluator
from logitlint.analysis.module import ModuleContext
from logitlint.analysis.torchapi import LOSS_WORDS
from logitlint.analysis.values import Ref, Value
from logitlint.outline import FullOutline, Outline, UnitParseError
from logitlint.source import Source, SourceError

# Imported modules kept analysed between files, per process, weighed by their source size: the
# least recently used are forgotten first, so a module every file imports is built once per run.
MAX_CONTEXT_CHARS = 3_000_000
MAX_OUTLINES = 8  # cuts of files checked or imported lately (a checked file is often imported next)


def module_info(path: Path | str) -> tuple[str, bool, Path]:
    """(dotted module name, is a package ``__init__``, the folder it is importable from)."""
    return _module_info(os.path.abspath(path))


@lru_cache(maxsize=16384)
def _module_info(absolute: str) -> tuple[str, bool, Path]:
    path = Path(absolute)
    is_package = path.stem == "__init__"
    package, root = _package_of(path.parent)
    parts = [*package, *([] if is_package else [path.stem])]
    return ".".join(parts), is_package, root


@lru_cache(maxsize=4096)
def _package_of(folder: Path) -> tuple[tuple[str, ...], Path]:
    """(the package names a folder sits in, the folder above the outermost package)."""
    if folder.parent == folder or not (folder / "__init__.py").exists():
        return (), folder
    parents, root = _package_of(folder.parent)
    return (*parents, folder.name), root


class ProjectIndex:
    def __init__(self, roots: Iterable[Path | str] = ()):
        self.roots = [Path(os.path.abspath(r)) for r in roots]
        self._contexts: OrderedDict[Path, ModuleContext | None] = OrderedDict()  # analysed on demand, LRU
        self._weights: dict[Path, int] = {}  # source characters of each kept context
        self._weight = 0
        self._files: dict[tuple[str, Path], Path | None] = {}
        self._found: dict[tuple[str, str], Path | None] = {}
        self._outlines: OrderedDict[Path, Outline] = OrderedDict()  # files checked lately, kept for import
        self._whole: set[Path] = set()  # files whose pieces did not parse alone: parsed whole
        self._loss_entries: dict[tuple[Path, str], bool] = {}  # (defining file, name) -> may_be_loss_entry
        self.edges: dict[Path, set[Path]] = {}  # file -> project files its analysis read
        # file -> modules whose importers its analysis searched for call sites (a file that starts
        # importing one of them may add a call site: the cache re-checks the file then)
        self.searched: dict[Path, set[str]] = {}
        self.extensions: dict[str, object] = {}  # per-run indexes of other modules (callsites)

    def view(self, path: Path | str) -> ProjectView:
        return ProjectView(self, Path(os.path.abspath(path)))

    def find_module(self, module: str, near: Path) -> Path | None:
        """The project file of a dotted module name, as Python would find it from ``near``."""
        # The answer depends on the folder only: shared by its files (a string key: building and
        # hashing ``near.parent`` cost more than the lookup it keys).
        key = (module, os.path.dirname(near))
        found = self._found.get(key, False)
        if found is False:
            found = self._found[key] = self._find_module(module, near)
        return found

    def _find_module(self, module: str, near: Path) -> Path | None:
        _, _, root = module_info(near)
        for base in (root, near.parent, *self.roots):
            key = (module, base)
            if key not in self._files:
                self._files[key] = _probe(base, module)
            if self._files[key] is not None:
                return self._files[key]
        return None

    def context(self, path: Path, reader: Path | None = None) -> ModuleContext | None:
        if reader is not None and reader != path:
            self.edges.setdefault(reader, set()).add(path)
        if path in self._contexts:
            self._contexts.move_to_end(path)
            return self._contexts[path]
        self._contexts[path] = None  # a cycle while it is being built reads as "unknown"
        built = self._contexts[path] = self._build(path)
        weight = len(built.outline.text) if built is not None else 0
        self._weight += weight - self._weights.get(path, 0)
        self._weights[path] = weight
        return built

    def outline(self, path: Path, text: str) -> Outline:
        """The cut of a file: the same object for the file checked and the file imported, so its
        words are scanned and its units parsed once (units are immutable trees)."""
        path = Path(os.path.abspath(path))
        found = self._outlines.get(path)
        if found is None or found.text != text:
            found = self._outlines[path] = Outline(text, path=str(path))
        self._outlines.move_to_end(path)
        while len(self._outlines) > MAX_OUTLINES:
            self._outlines.popitem(last=False)
        return found

    def forget(self, path: str) -> None:
        """A file changed (saved in the editor): analyse the project's modules afresh."""
        del path  # any module may have read it: start over
        self._contexts.clear()
        self._outlines.clear()
        self._weights.clear()
        self._weight = 0
        self._loss_entries.clear()
        self.edges.clear()
        self.searched.clear()
        self.extensions.clear()

    def trim(self) -> None:
        """Between two files (never during a check): forget the least recently used analysed modules
        until the kept ones weigh at most MAX_CONTEXT_CHARS. A module read again is rebuilt from the
        same text, so it answers as before."""
        while self._weight > MAX_CONTEXT_CHARS and len(self._contexts) > 1:
            path, _ = self._contexts.popitem(last=False)
            self._weight -= self._weights.pop(path, 0)

    def dependencies_of(self, path: Path) -> set[Path]:
        """Every project file whose analysis a check of ``path`` used (transitively)."""
        start = Path(os.path.abspath(path))
        seen: set[Path] = set()
        stack = [start]
        while stack:
            for dep in self.edges.get(stack.pop(), ()):
                if dep not in seen and dep != start:
                    seen.add(dep)
                    stack.append(dep)
        return seen

    def callers_searched_by(self, path: Path) -> set[str]:
        """The modules whose importers a check of ``path`` searched for call sites."""
        return self.searched.get(Path(os.path.abspath(path)), set())

    def parse_whole(self, path: str) -> bool:
        """A piece of ``path`` did not parse alone: analyse it from a whole-file parse. False if
        that was already so (then the file itself does not parse and is left out)."""
        file = Path(os.path.abspath(path))
        if file in self._whole:
            self._contexts[file] = None
            return False
        self._whole.add(file)
        self._contexts.pop(file, None)
        self._weight -= self._weights.pop(file, 0)
        return True

    def _build(self, path: Path) -> ModuleContext | None:

        try:
            if path.stat().st_size > 5_000_000:
                return None
            source = Source.from_bytes(path.read_bytes())
        except (OSError, SourceError):
            return None
        name, is_package, _ = module_info(path)
        try:
            whole = path in self._whole
            outline = FullOutline(source.text, path=str(path)) if whole else self.outline(path, source.text)
        except UnitParseError:
            return None
        return ModuleContext(outline, str(path), module_name=name, is_package=is_package, project=self.view(path))


class ProjectView:
    """The project as seen from one file (absolute imports resolve relative to it)."""

    def __init__(self, index: ProjectIndex, path: Path):
        self.index, self.path = index, path

    def lookup(self, qualname: str) -> Value | None:
        """The value of ``pkg.module.name`` (or a longer attribute path) if a project file defines it."""

        parts = qualname.split(".")
        if self.index.find_module(qualname, self.path) is not None:
            return Ref(qualname)  # a module of the project: its attributes are looked up in turn
        for cut in range(len(parts) - 1, 0, -1):
            file = self.index.find_module(".".join(parts[:cut]), self.path)
            if file is None:
                continue
            ctx = self.index.context(file, self.path)
            if ctx is None:
                return None
            value = ctx.global_value(parts[cut])
            evaluator = Evaluator(ctx, None, flow_insensitive=True)
            for attr in parts[cut + 1 :]:
                value = evaluator.attribute(value, attr)
            return value
        return None

    def may_be_loss_entry(self, qualname: str) -> bool:
        """Cheap: could ``qualname`` be a loss object or a helper passing a parameter to a loss?"""
        file, name = self._defining_file(qualname)
        if file is None:
            return False
        if file != self.path:  # its analysis decides: a dependency (as ProjectIndex.context records)
            self.index.edges.setdefault(self.path, set()).add(file)
        found = self.index._loss_entries.get((file, name))
        if found is None:  # asked once per defining file, whichever folder imports the name
            found = self.index._loss_entries[(file, name)] = self._defines_loss_entry(file, name)
        return found

    def _known_loss_entry(self, qualname: str) -> bool | None:
        """``may_be_loss_entry``'s answer if some file asked already (None if not yet known)."""
        file, name = self._defining_file(qualname)
        return False if file is None else self.index._loss_entries.get((file, name))

    def _defining_file(self, qualname: str) -> tuple[Path | None, str]:
        module, _, name = qualname.rpartition(".")
        file = self.index.find_module(module, self.path) if module else None
        return file, name

    def _defines_loss_entry(self, file: Path, name: str) -> bool:
        ctx = self.index.context(file, self.path)
        if ctx is None or not ctx.outline.has_tokens(LOSS_WORDS):
            return False
        if name in ctx.sink_candidates:
            return True
        return any(
            item.kind == "statement" and item.tokens & LOSS_WORDS and item.mentions(name) for item in ctx.outline.items
        )

    def imports_loss_entry(self, ctx: ModuleContext) -> bool:
        """Does a file without loss words import (and use) a project loss object or loss helper?"""
        outline = ctx.outline
        for bindings in ctx.import_items.values():
            for local, qualname in bindings:
                if self._known_loss_entry(qualname) is False:
                    continue  # already known not to be one: no need to count the name's uses
                if len(outline.word_positions(local)) > 1 and self.may_be_loss_entry(qualname):
                    return True
        return False


def _probe(base: Path, module: str) -> Path | None:
    if not module:
        return None
    target = base.joinpath(*module.split("."))
    for candidate in (target.with_suffix(".py"), target / "__init__.py"):
        if candidate.is_file():
            return Path(os.path.abspath(candidate))
    return None
