"""``# noqa`` comments, read exactly as flake8 reads them, so the CLI and the flake8 plugin agree,
and written (``--add-noqa``) so that flake8 reads them back.

flake8 searches its regular expression in the physical line of a finding, widened to every line of
a token that spans several lines (a multi-line string); codes match by prefix.

A whole file is exempt when a line starts (after blanks) with ``# flake8: noqa``: flake8 7 skips
such a file whatever follows, codes included (``# flake8: noqa: E501`` skips it too); a
``# flake8: noqa`` after code on the same line counts for nothing. ``# logitlint: noqa`` is our own
form, honoured by every surface (the flake8 plugin included) and read as ruff reads ``# ruff: noqa``:
bare, the whole file; with codes (``# logitlint: noqa: LGT101, LGT2``), those rules in the file."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterable
from functools import cached_property

# flake8's own expression (flake8.defaults.NOQA_INLINE_REGEXP)
NOQA = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)
_SPLIT = re.compile(r"[,\s]")
# flake8's own expression (flake8.defaults.NOQA_FILE), matched at the start of a physical line
FLAKE8_FILE = re.compile(r"\s*# flake8[:=]\s*noqa", re.IGNORECASE)
OWN_FILE = re.compile(
    r"\s*#\s*logitlint[:=]\s*noqa(?::\s?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?\s*$", re.IGNORECASE
)
ALL = frozenset({""})  # every code starts with the empty prefix


def _codes(text: str) -> set[str]:
    return {c.upper() for c in _SPLIT.split(text) if c}


class Noqa:
    def __init__(self, text: str):
        self.text = text
        self.lines = io.StringIO(text, newline="").readlines()  # \n, \r\n, \r only (not \x0c)
        self.any = "noqa" in text.lower()

    @cached_property
    def _spans(self) -> dict[int, tuple[int, int]]:
        """Line number -> the first and last line flake8 searches together for that line."""
        mapping: dict[int, tuple[int, int]] = {}
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
                for line in range(low, high + 1):
                    mapping[line] = (low, high)
                low, high = len(self.lines) + 2, -1
        return mapping

    def suppresses(self, code: str, line: int) -> bool:
        if not self.any:
            return False
        low, high = self._spans.get(line, (line, line))
        searched = "".join(self.lines[max(low, 1) - 1 : high])
        match = NOQA.search(searched)
        if match is None:
            return False
        codes_text = match.group("codes")
        if codes_text is None:
            return True  # a blanket noqa comment
        codes = {c for c in _SPLIT.split(codes_text) if c}
        return code in codes or code.startswith(tuple(codes))

    def file_exemptions(self, *, flake8: bool = True) -> frozenset[str]:
        """Code prefixes the whole file is exempt from (``ALL``: every code). ``flake8=False``
        leaves ``# flake8: noqa`` to flake8 itself (the plugin), which skips such a file."""
        if not self.any:
            return frozenset()
        prefixes: set[str] = set()
        for line in self.lines:
            if "noqa" not in line.lower():
                continue
            if flake8 and FLAKE8_FILE.match(line):
                return ALL
            own = OWN_FILE.match(line)
            if own is not None:
                if own.group("codes") is None:
                    return ALL
                prefixes |= _codes(own.group("codes"))
        return frozenset(prefixes)

    def filter(self, diagnostics: Iterable, *, lines: bool = True) -> list:
        """The findings no noqa comment suppresses. ``lines=False``: only ``# logitlint: noqa``
        counts (the flake8 plugin, where flake8 reads every other comment itself)."""
        exempt = tuple(self.file_exemptions(flake8=lines))
        return [
            d
            for d in diagnostics
            if not d.code.startswith(exempt) and not (lines and self.suppresses(d.code, d.span.line))
        ]

    # --- writing (--add-noqa) --------------------------------------------------------------------
    def with_codes(self, codes_by_line: dict[int, set[str]]) -> tuple[str, int]:
        """The text with ``# noqa: CODE`` for each given line, and how many comments changed.

        flake8 reads the first noqa comment of the lines it joins (those of a multi-line string
        or a backslash continuation), so the codes of such lines go into one comment: the noqa
        comment already there, merged, or a new one where a comment can end the line. Codes a
        comment already suppresses are left alone, so a second run changes nothing."""
        groups: dict[int, tuple[list[int], list[int], set[str]]] = {}
        for line, codes in codes_by_line.items():
            wanted = {c for c in codes if not self.suppresses(c, line)}
            if wanted and 0 < line <= len(self.lines):
                span = self._statement(line)
                group = groups.setdefault(span[0], (span, [], set()))
                group[1].append(line)
                group[2].update(wanted)
        lines = list(self.lines)
        for span, findings, codes in groups.values():
            target, match = self._comment_site(span, min(findings))
            body, ending = _split_ending(lines[target - 1])
            if match is not None:
                body = _merge_codes(body, match, sorted(codes))
            else:
                body = f"{body.rstrip()}  # noqa: {', '.join(sorted(codes))}"
            lines[target - 1] = body + ending
        return "".join(lines), len(groups)

    def _comment_site(self, span: list[int], line: int) -> tuple[int, re.Match | None]:
        """The noqa comment flake8 reads for these lines if there is one; else the first line
        from the finding's on that a comment can end (not inside a string, not before a
        backslash), else the last line of the span."""
        for number in span:
            match = NOQA.search(self.lines[number - 1])
            if match is not None:
                return number, match
        ends = self._comment_lines
        if not ends:
            return line, None
        return next((n for n in span if n >= line and n in ends), span[-1]), None

    def _statement(self, line: int) -> list[int]:
        """The physical lines flake8 reads together with ``line``, in order."""
        low, high = self._spans.get(line, (line, line))
        return list(range(low, high + 1))

    @cached_property
    def _comment_lines(self) -> set[int]:
        """Lines whose end is outside a string and not a backslash continuation: a comment fits."""
        ends: set[int] = set()
        try:
            for kind, _, start, _, _ in tokenize.generate_tokens(io.StringIO(self.text).readline):
                if kind in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
                    ends.add(start[0])
        except (tokenize.TokenError, SyntaxError, IndentationError):
            return set()
        return ends


def _split_ending(line: str) -> tuple[str, str]:
    body = line.rstrip("\r\n")
    return body, line[len(body) :]


def _merge_codes(body: str, match: re.Match, codes: list[str]) -> str:
    """``# noqa: E501`` -> ``# noqa: E501, LGT101``, the rest of the line as it was."""
    if match.group("codes") is None:  # a blanket noqa already suppresses everything
        return body
    end = match.end("codes")
    existing = match.group("codes")
    kept = existing.rstrip(", \t")
    end -= len(existing) - len(kept)
    return f"{body[:end]}, {', '.join(codes)}{body[end:]}"
