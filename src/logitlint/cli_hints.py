""""Did you mean ...?" for the command line: a mistyped command, a path given without a command
(``logitlint train.py``, as old ruff accepted), an option spelled wrong."""

from __future__ import annotations

import argparse
import difflib
import os
import shlex
from collections.abc import Sequence

from logitlint.files import SUFFIXES

COMMANDS = ("check", "fix", "rule", "rules", "lsp")


def _looks_like_path(word: str) -> bool:
    return word in (".", "..", "-") or "/" in word or word.endswith(SUFFIXES) or os.path.exists(word)


def mistyped_command(argv: Sequence[str]) -> str | None:
    """The error for a first argument that is not a command, with the command meant; None if fine."""
    first = next((a for a in argv if not a.startswith("-") or a == "-"), None)
    if first is None or first in COMMANDS or argv.index(first) != 0:
        return None  # options first (--version, --help): argparse decides
    if _looks_like_path(first):
        return f"{first!r} is not a command; did you mean `logitlint check {shlex.join(argv)}`?"
    close = difflib.get_close_matches(first, COMMANDS, n=1, cutoff=0.6)
    if close:
        return f"unknown command {first!r}; did you mean `logitlint {shlex.join([close[0], *argv[1:]])}`?"
    return f"unknown command {first!r} (commands: {', '.join(COMMANDS)})"


def unrecognized(extras: Sequence[str], parser: argparse.ArgumentParser) -> str:
    """argparse's message for unknown arguments, with the closest option for each misspelled one."""
    known = [o for action in parser._actions for o in action.option_strings if o.startswith("--")]
    hints = []
    for extra in extras:
        name = extra.split("=", 1)[0]
        if name.startswith("-"):
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            if close:
                hints.append(f"{name}: did you mean {close[0]}?")
    message = f"unrecognized arguments: {' '.join(extras)}"
    return f"{message} ({'; '.join(hints)})" if hints else message
