"""The flake8 plugin: a thin adapter over the engine (codes ``LGT``).

flake8 handles ``# noqa``, ``--select``/``--ignore``/``--per-file-ignores`` and ``-j``; the plugin also
honours ``[tool.logitlint]`` in pyproject.toml, so a project configured once gets the same findings
from ``flake8`` and ``logitlint check``. flake8 shows one file at a time: a model defined in another
file is not followed here (``logitlint check`` follows project imports).
"""

from __future__ import annotations

import ast
import gc
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from logitlint import __version__
from logitlint.config import load_config
from logitlint.engine import CheckSettings, SyntaxErrorInFile, check_source, may_report
from logitlint.runner import GC_THRESHOLDS


class LogitlintChecker:
    name = "logitlint"
    version = __version__

    def __init__(self, tree: ast.AST, lines: Sequence[str], filename: str):
        self.lines = lines
        self.filename = filename

    def run(self) -> Iterator[tuple[int, int, str, type[Any]]]:
        text = "".join(self.lines)
        if not may_report(text):  # the engine's own gate, before any configuration is read
            return
        real = self.filename not in ("stdin", "-") and os.path.exists(self.filename)
        config = load_config(self.filename if real else os.getcwd())
        settings = CheckSettings(rules=config.selection(self.filename if real else None).rules(), noqa=False)
        try:
            with _collector_thresholds():
                diagnostics = check_source(text, self.filename, settings)
        except SyntaxErrorInFile:
            return  # flake8 reports E999 itself
        for d in diagnostics:
            yield d.span.line, _byte_column(self.lines, d.span.line, d.span.col), f"{d.code} {d.message}", type(self)


@contextmanager
def _collector_thresholds() -> Iterator[None]:
    """The engine's thresholds for the cyclic collector while it checks a file, as in
    ``logitlint check``'s workers: its many small, long-lived LibCST nodes made the default
    thresholds rescan flake8's objects and its own (a fifth of the plugin's CPU on transformers).
    flake8's own work keeps the thresholds it had."""
    previous = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def _byte_column(lines: Sequence[str], line: int, col: int) -> int:
    """flake8's AST plugins (pyflakes, flake8-bugbear) report ``ast`` offsets: UTF-8 bytes."""
    if 0 < line <= len(lines):
        return len(lines[line - 1][:col].encode("utf-8"))
    return col
