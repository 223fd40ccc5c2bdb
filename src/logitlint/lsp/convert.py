"""Between the engine's positions (1-based lines, code-point columns) and LSP's (0-based lines, the
client's encoding, UTF-16 by default): positions, ranges, findings and edits."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.uris import from_fs_path
from pygls.workspace.position_codec import PositionCodec

from logitlint.diagnostics import Diagnostic, Related, Span
from logitlint.rules import rule_by_code

SEVERITY = {"error": 1, "warning": 2, "info": 3}

# For a notebook cell: the cell's uri and text by cell number (1-based), where related locations
# and a fix's edits (an import goes with the imports) may land.
CellFinder = Callable[[int], "tuple[str, str] | None"]


def uri_to_path(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return f"<{uri}>"


def lines_of(text: str) -> list[str]:
    return text.splitlines(keepends=True) or [""]


def position(codec: PositionCodec, lines: Sequence[str], line: int, col: int) -> types.Position:
    """Our 1-based line and code-point column -> an LSP position in the client's encoding. On an
    ASCII line every encoding counts one unit per character, so no per-character count is needed
    (a publish converts hundreds of positions)."""
    index = max(line - 1, 0)
    if index < len(lines) and lines[index].isascii():
        return types.Position(line=index, character=min(col, len(lines[index])))
    return codec.position_to_client_units(lines, types.Position(line=index, character=col))


def to_range(codec: PositionCodec, lines: Sequence[str], span: Span) -> types.Range:
    return types.Range(
        start=position(codec, lines, span.line, span.col), end=position(codec, lines, span.end_line, span.end_col)
    )


def offset_position(codec: PositionCodec, text: str, offset: int) -> types.Position:
    """A character offset into ``text`` as an LSP position."""
    line = text.count("\n", 0, offset)
    col = offset - (text.rfind("\n", 0, offset) + 1)
    return position(codec, lines_of(text), line + 1, col)


def overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return not (key(a.end) < key(b.start) or key(b.end) < key(a.start))


def contains(a: types.Range, at: types.Position) -> bool:
    return (a.start.line, a.start.character) <= (at.line, at.character) <= (a.end.line, a.end.character)


def related_location(codec: PositionCodec, r: Related, cells: CellFinder) -> types.Location | None:
    """Where a related note points: a file, or (in a notebook) the cell's own document."""
    if r.cell is not None:
        found = cells(r.cell)
        if found is None:
            return None
        uri, text = found
        at = position(codec, lines_of(text), r.line, r.col)
    elif r.path.startswith("<"):
        return None
    else:
        uri = from_fs_path(os.path.abspath(r.path)) or r.path
        at = types.Position(max(r.line - 1, 0), r.col)
    return types.Location(uri=uri, range=types.Range(at, at))


def diagnostic(codec: PositionCodec, d: Diagnostic, lines: Sequence[str], cells: CellFinder) -> types.Diagnostic:
    rule = rule_by_code(d.code)
    related = [
        types.DiagnosticRelatedInformation(location=location, message=r.message)
        for r in d.related
        if (location := related_location(codec, r, cells)) is not None
    ]
    return types.Diagnostic(
        range=to_range(codec, lines, d.span),
        message=d.message,
        severity=types.DiagnosticSeverity(SEVERITY[d.severity.value]),
        code=d.code,
        code_description=types.CodeDescription(href=rule.docs_url()) if rule else None,
        source="logitlint",
        related_information=related or None,
    )


def workspace_edit(changes: dict[str, tuple[int | None, list[types.TextEdit]]]) -> types.WorkspaceEdit:
    """Edits by document uri (with the version they were made for) as one workspace edit."""
    return types.WorkspaceEdit(
        document_changes=[
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
                edits=edits,
            )
            for uri, (version, edits) in changes.items()
        ]
    )


def replacement(codec: PositionCodec, old: str, new: str) -> types.TextEdit | None:
    """One edit turning ``old`` into ``new``: the changed middle, common start and end kept."""
    if new == old:
        return None
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end_old, end_new = len(old), len(new)
    while end_old > start and end_new > start and old[end_old - 1] == new[end_new - 1]:
        end_old, end_new = end_old - 1, end_new - 1
    return types.TextEdit(
        types.Range(offset_position(codec, old, start), offset_position(codec, old, end_old)), new[start:end_new]
    )
