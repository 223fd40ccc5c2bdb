"""The data every surface shares: diagnostics, their fixes and positions.

Positions are 1-based lines and 0-based columns counted in code points, as LibCST, ``ast`` and
flake8 count them; the CLI prints columns 1-based (as ruff does) and the LSP adapter converts to
UTF-16.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"  # the maths is wrong
    WARNING = "warning"  # right maths, numerically fragile
    INFO = "info"  # redundant or unclear


class FixClass(str, Enum):
    """What a fix does to the numbers (see docs/rules.md, "Fix safety")."""

    EXACT = "exact"
    FINITE = "finite"
    PRECISION = "precision"
    BUG_FIX = "bug-fix"
    VALUE_CHANGE = "value-change"

    @property
    def safe(self) -> bool:
        return self in (FixClass.EXACT, FixClass.FINITE, FixClass.PRECISION)


@dataclass(frozen=True, order=True)
class Span:
    line: int
    col: int
    end_line: int
    end_col: int


@dataclass(frozen=True)
class Edit:
    """Replace ``span`` of the original source with ``text`` (an insertion has an empty span). In a
    notebook an edit may land in another cell than its finding (an import): ``cell`` says which."""

    span: Span
    text: str
    cell: int | None = None


@dataclass(frozen=True)
class Fix:
    title: str
    fix_class: FixClass
    edits: tuple[Edit, ...]

    @property
    def safe(self) -> bool:
        return self.fix_class.safe


@dataclass(frozen=True)
class Related:
    """Another place that explains a finding, e.g. the layer that applies the softmax."""

    path: str
    line: int
    col: int
    message: str
    cell: int | None = None  # in a notebook: the cell (1-based), ``line`` is then the cell's own


@dataclass(frozen=True)
class Diagnostic:
    code: str
    name: str
    message: str
    severity: Severity
    path: str
    span: Span
    fix: Fix | None = None
    related: tuple[Related, ...] = ()
    # For notebooks: the cell index and the span inside the cell (span is then notebook-relative).
    cell: int | None = None
    fix_note: str | None = None  # why a fix was not offered, when it is worth saying

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def col(self) -> int:
        return self.span.col

    def with_path(self, path: str) -> Diagnostic:
        return replace(self, path=path)

    def sort_key(self) -> tuple:
        return (self.path, self.span.line, self.span.col, self.code)


@dataclass
class FileError:
    """A file that could not be checked (I/O, decoding, syntax, resource bound)."""

    path: str
    message: str
    line: int = 0
    col: int = 0
    code: str = "LGT000"  # reported like a diagnostic; exit code 2


@dataclass
class FileResult:
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: FileError | None = None
