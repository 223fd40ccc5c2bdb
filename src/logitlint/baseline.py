"""``logitlint check --add-noqa``: adopt logitlint on an existing code base, as ruff's ``--add-noqa``
does. Every line with a finding gets ``# noqa: CODE`` (merged into a noqa comment already there),
so the next run starts clean and only new findings show.

Files are written as fixes are: atomically, in their own encoding and newline style, never if the
result would not parse; a notebook keeps its JSON layout. A second run changes nothing.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from logitlint.diagnostics import Diagnostic, FileError
from logitlint.engine import FileCheck, SyntaxErrorInFile
from logitlint.files import ChangedOnDisk, WriteRefused, write_atomic
from logitlint.noqa import Noqa
from logitlint.notebooks import Notebook, NotebookError
from logitlint.runner import RunConfig, run
from logitlint.source import Source, SourceError


@dataclass
class Baseline:
    added: int = 0  # comments added or extended
    files: list[str] = field(default_factory=list)  # files changed
    errors: list[FileError] = field(default_factory=list)


def add_noqa(paths: list[str], config: RunConfig) -> Baseline:
    result = Baseline()
    for report in run(paths, config):  # which files have findings (cached, in parallel)
        if report.error is not None:
            result.errors.append(report.error)
        elif report.diagnostics:
            try:
                added = _add_to_file(Path(report.path), config)
            except (OSError, SourceError, UnicodeDecodeError, NotebookError, SyntaxErrorInFile) as exc:
                message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                result.errors.append(FileError(report.path, f"noqa comments not added: {message}"))
                continue
            except (ChangedOnDisk, WriteRefused) as exc:
                result.errors.append(FileError(report.path, f"noqa comments not added: {exc}"))
                continue
            if added:
                result.added += added
                result.files.append(report.path)
    return result


def _add_to_file(path: Path, config: RunConfig) -> int:
    """Re-checks the bytes it writes over, so the lines are those of the file as it is now."""
    data = path.read_bytes()
    name = str(path)
    if path.suffix == ".ipynb":
        raw = data.decode("utf-8")
        book = Notebook.parse(raw)
        virtual, added = _with_noqa(book.virtual, _findings(book.virtual, name, config))
        new = book.with_virtual(virtual) if added else raw
        encoded = new.encode("utf-8")
    else:
        source = Source.from_bytes(data)
        new, added = _with_noqa(source.text, _findings(source.text, name, config))
        encoded = source.to_bytes(new)
    if added and encoded != data:
        write_atomic(path, encoded, expected=data)
    return added


def _findings(text: str, name: str, config: RunConfig) -> list[Diagnostic]:
    return FileCheck(text, name, config.settings(name)).run()


def _with_noqa(text: str, diagnostics: list[Diagnostic]) -> tuple[str, int]:
    codes: dict[int, set[str]] = defaultdict(set)
    for d in diagnostics:
        codes[d.span.line].add(d.code)
    new, added = Noqa(text).with_codes(codes)
    if added:
        try:
            ast.parse(new)
        except SyntaxError as exc:  # never write what does not parse
            raise SourceError(f"the result would not parse ({exc.msg}, line {exc.lineno})") from None
    return new, added
