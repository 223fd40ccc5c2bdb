"""``# noqa`` comments, read exactly as flake8 reads them, so the CLI and the flake8 plugin agree.

flake8 searches its regular expression in the physical line of a finding, widened to every line of
a token that spans several lines (a multi-line string); codes match by prefix."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable
from functools import cached_property

# flake8's own expression (flake8.defaults.NOQA_INLINE_REGEXP)
NOQA = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)
_SPLIT = re.compile(r"[,\s]")


class Noqa:
    def __init__(self, text: str):
        self.text = text
        self.lines = io.StringIO(text, newline="").readlines()  # \n, \r\n, \r only (not \x0c)
        self.any = "noqa" in text.lower()

    @cached_property
    def _ranges(self) -> dict[int, str]:
        """Line number -> the text flake8 searches for that line."""
        mapping: dict[int, str] = {}
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(self.text).readline))
        except (tokenize.TokenError, SyntaxError, IndentationError):
            return {}
        low, high = len(self.lines) + 2, -1
        for kind, _, (start, _), (end, _), _ in tokens:
            if kind in (tokenize.ENDMARKER, tokenize.DEDENT):
                continue
            low, high = min(low, start), max(high, end)
            if kind in (tokenize.NL, tokenize.NEWLINE):
                joined = "".join(self.lines[low - 1 : high])
                for line in range(low, high + 1):
                    mapping[line] = joined
                low, high = len(self.lines) + 2, -1
        return mapping

    def suppresses(self, code: str, line: int) -> bool:
        if not self.any:
            return False
        searched = self._ranges.get(line)
        if searched is None:
            searched = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        match = NOQA.search(searched)
        if match is None:
            return False
        codes_text = match.group("codes")
        if codes_text is None:
            return True  # a blanket noqa comment
        codes = {c for c in _SPLIT.split(codes_text) if c}
        return code in codes or code.startswith(tuple(codes))

    def filter(self, diagnostics: Iterable) -> list:
        return [d for d in diagnostics if not self.suppresses(d.code, d.span.line)]
