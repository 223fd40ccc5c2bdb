"""Reading Python source faithfully: encoding (PEP 263, BOM), newline style, line/offset maps."""

from __future__ import annotations

import bisect
import codecs
import re
import tokenize
from dataclasses import dataclass, field

NEWLINE = re.compile(r"\r\n|\r|\n")


class SourceError(Exception):
    """The bytes are not Python source we can read (binary, undecodable, bad coding line)."""


@dataclass
class Source:
    text: str
    encoding: str = "utf-8"
    bom: bool = False
    newline: str = "\n"
    _line_starts: list[int] | None = field(default=None, repr=False)

    @classmethod
    def from_bytes(cls, data: bytes) -> Source:
        if b"\x00" in data:
            raise SourceError("binary file (contains NUL bytes)")
        bom = data.startswith(codecs.BOM_UTF8)
        try:
            # Lines split as Python's compiler splits them: a CR-only file is many lines, not one
            # (else a "coding:" further down would be read as the first line's cookie).
            first_lines = iter(data.splitlines(keepends=True)[:2])
            encoding, _ = tokenize.detect_encoding(lambda: next(first_lines, b""))
        except SyntaxError as exc:
            raise SourceError(f"cannot decode: {exc}") from None
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise SourceError(f"cannot decode as {encoding}: {exc}") from None
        if bom and text.startswith("\ufeff"):
            text = text[1:]
        if encoding == "utf-8-sig":
            encoding = "utf-8"
        match = NEWLINE.search(text)
        return cls(text=text, encoding=encoding, bom=bom, newline=match.group(0) if match else "\n")

    def to_bytes(self, text: str | None = None) -> bytes:
        data = (self.text if text is None else text).encode(self.encoding)
        return codecs.BOM_UTF8 + data if self.bom else data

    @property
    def line_starts(self) -> list[int]:
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in NEWLINE.finditer(self.text)]
        return self._line_starts

    def offset(self, line: int, col: int) -> int:
        """Character offset of a 1-based line and 0-based column."""
        starts = self.line_starts
        if line - 1 >= len(starts):
            return len(self.text)
        return starts[line - 1] + col

    def position(self, offset: int) -> tuple[int, int]:
        starts = self.line_starts
        index = bisect.bisect_right(starts, offset) - 1
        return index + 1, offset - starts[index]

    def line_text(self, line: int) -> str:
        starts = self.line_starts
        if not 1 <= line <= len(starts):
            return ""
        end = starts[line] if line < len(starts) else len(self.text)
        return self.text[starts[line - 1] : end].rstrip("\r\n")
