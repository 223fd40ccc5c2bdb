"""Resource bounds: what logitlint refuses to parse, and how long it spends on one file.

LibCST's native parser overflows the stack (and takes the process down) on deeply nested code
(10,000 nested parentheses, or a 10,000-term ``a + a + ...``), so text is checked before it
reaches the parser: a cheap count first, and for text with many operators a parse by CPython's own
``ast`` (which fails cleanly) and an iterative depth count. A statement larger than a few MB is not
parsed at all. ``deadline`` bounds the time spent on one file.
"""

from __future__ import annotations

import ast
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

MAX_UNIT_CHARS = 2_000_000
MAX_DEPTH = 400  # of the syntax tree; real code stays under ~60
FILE_SECONDS = 120.0
# Everything that can make a syntax tree one level deeper (a generous over-count is fine).
_OPERATORS = (
    "(",
    "[",
    "{",
    "+",
    "-",
    "*",
    "/",
    "%",
    "|",
    "&",
    "^",
    "@",
    "~",
    "<",
    ">",
    "=",
    ".",
    '"',
    "'",
    " and ",
    " or ",
    "not ",
    " if ",
    " else",
    "lambda",
    "await ",
    "yield",
    " in ",
    " is ",
)


class TooComplex(Exception):
    """Text logitlint will not parse (too large, or nested too deeply)."""


def check_parseable(text: str) -> None:
    if len(text) > MAX_UNIT_CHARS:
        raise TooComplex(f"a statement of {len(text):,} characters is too large to analyse")
    if sum(text.count(op) for op in _OPERATORS) < MAX_DEPTH:
        return  # cannot nest deeper than it has operators and brackets
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        # LibCST reports the syntax error (or knows newer syntax), unless brackets nest deeper than
        # it can take ("too many nested parentheses" is CPython's limit at 200).
        if _bracket_depth(text) > MAX_DEPTH // 2:
            raise TooComplex("code nested too deeply to analyse") from None
        return
    except (RecursionError, MemoryError):
        raise TooComplex("code nested too deeply to analyse") from None
    if _depth(tree) > MAX_DEPTH:
        raise TooComplex(f"code nested more than {MAX_DEPTH} levels deep is not analysed")


_BRACKETS = re.compile(r"[()\[\]{}]")


def _bracket_depth(text: str) -> int:
    depth = deepest = 0
    for match in _BRACKETS.finditer(text):
        if match.group() in "([{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def _depth(tree: ast.AST) -> int:
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > MAX_DEPTH:
                return deepest
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


class FileTimeout(Exception):
    pass


@contextmanager
def deadline(seconds: float = FILE_SECONDS) -> Iterator[None]:
    """Raise FileTimeout in this block after ``seconds`` (main thread of a process only)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise FileTimeout(f"gave up after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
