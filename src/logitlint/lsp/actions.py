"""Code actions for one document's findings: quick fixes, "disable for this line", the reason a
finding has no fix, and fix-all."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from logitlint.diagnostics import Diagnostic, Edit
from logitlint.lsp import convert
from logitlint.lsp.notebook import OpenNotebook
from logitlint.noqa import NOQA

FIX_ALL = "source.fixAll.logitlint"


@dataclass
class Analysis:
    """The findings of one document version (kept for code actions and hovers)."""

    uri: str
    version: int | None
    text: str
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    notebook: OpenNotebook | None = None  # for a notebook cell: the notebook it is in

    @cached_property
    def lines(self) -> list[str]:  # asked once per finding shown: split once
        return convert.lines_of(self.text)

    def cell_document(self, number: int) -> tuple[str, str] | None:
        cell = self.notebook.cell(number) if self.notebook is not None else None
        return (cell.uri, cell.text) if cell is not None else None


def wants(only: Iterable[str] | None, kind: str, *, explicit_only: bool = False) -> bool:
    """Does the request's ``only`` filter ask for ``kind``? (fixAll: only when asked for a source action)"""
    if not only:
        return not explicit_only
    return any(kind == k or kind.startswith(k + ".") for k in only)


def quick_fix(codec: PositionCodec, analysis: Analysis, d: Diagnostic, shown: types.Diagnostic) -> types.CodeAction:
    assert d.fix is not None
    return types.CodeAction(
        title=f"{d.fix.title} ({d.code})",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[shown],
        is_preferred=d.fix.safe,
        edit=fix_edit(codec, analysis, d.fix.edits),
    )


def no_fix(d: Diagnostic, shown: types.Diagnostic) -> types.CodeAction | None:
    """A disabled action saying why there is no fix (for clients that show disabled actions)."""
    if d.fix is not None or not d.fix_note:
        return None
    return types.CodeAction(
        title=f"No automatic fix for {d.code}",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[shown],
        disabled=types.CodeActionDisabled(reason=d.fix_note),
    )


def disable(codec: PositionCodec, analysis: Analysis, d: Diagnostic, shown: types.Diagnostic) -> types.CodeAction:
    return types.CodeAction(
        title=f"Disable {d.code} for this line",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[shown],
        edit=convert.workspace_edit({analysis.uri: (analysis.version, [noqa_edit(codec, analysis.lines, d)])}),
    )


def fix_all(codec: PositionCodec, analysis: Analysis, fixed: str, unsafe: bool) -> types.CodeAction | None:
    edit = convert.replacement(codec, analysis.text, fixed)
    if edit is None:
        return None
    return types.CodeAction(
        # with unsafeFixes the action also applies value-changing fixes: say so
        title="Fix all logitlint findings (including unsafe fixes)" if unsafe else "Fix all safe logitlint findings",
        kind=FIX_ALL,
        edit=convert.workspace_edit({analysis.uri: (analysis.version, [edit])}),
    )


def fix_edit(codec: PositionCodec, analysis: Analysis, edits: Iterable[Edit]) -> types.WorkspaceEdit:
    """A fix's edits, each in its document (in a notebook, an import may go to another cell)."""
    changes: dict[str, tuple[int | None, list[types.TextEdit]]] = {}
    for e in edits:
        uri, version, text = analysis.uri, analysis.version, analysis.text
        cell = analysis.notebook.cell(e.cell) if analysis.notebook is not None and e.cell is not None else None
        if cell is not None:
            uri, version, text = cell.uri, cell.version, cell.text
        changes.setdefault(uri, (version, []))[1].append(
            types.TextEdit(convert.to_range(codec, convert.lines_of(text), e.span), e.text)
        )
    return convert.workspace_edit(changes)


def noqa_edit(codec: PositionCodec, lines: list[str], d: Diagnostic) -> types.TextEdit:
    """Append ``# noqa: CODE`` to the finding's line (or the code to the line's noqa list)."""
    number = d.span.line
    body = (lines[number - 1] if number <= len(lines) else "").rstrip("\r\n")
    existing = NOQA.search(body)
    if existing and existing.group("codes"):
        col = existing.start("codes") + len(existing.group("codes").rstrip(", \t"))
        at = convert.position(codec, lines, number, col)
        return types.TextEdit(types.Range(at, at), f", {d.code}")
    stripped = body.rstrip()  # trailing blanks are replaced
    start, end = convert.position(codec, lines, number, len(stripped)), convert.position(codec, lines, number, len(body))
    return types.TextEdit(types.Range(start, end), f"  # noqa: {d.code}")


def hover_text(d: Diagnostic, docs_url: str | None) -> str:
    """What the hover over a finding says: the finding, its fix or why there is none, its docs."""
    parts = [f"**{d.code}** ({d.name}): {d.message}"]
    if d.fix is not None:
        safety = "safe" if d.fix.safe else "unsafe: changes values, review it"
        parts.append(f"Fix: {d.fix.title} [{d.fix.fix_class.value}, {safety}]")
    else:
        parts.append(d.fix_note[0].upper() + d.fix_note[1:] if d.fix_note else "No automatic fix.")
    if docs_url:
        parts.append(f"[{d.code} documentation]({docs_url})")
    return "\n\n".join(parts)
