"""Machine-readable output: every finding with its fix class and edits (1-based columns)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from logitlint import __version__
from logitlint.diagnostics import Diagnostic
from logitlint.formats.text import statistics_rows

if TYPE_CHECKING:
    from logitlint.runner import FileReport


def diagnostic_dict(d: Diagnostic) -> dict[str, Any]:
    result: dict[str, Any] = {
        "path": d.path,
        "code": d.code,
        "name": d.name,
        "severity": d.severity.value,
        "message": d.message,
        "line": d.span.line,
        "column": d.span.col + 1,
        "end_line": d.span.end_line,
        "end_column": d.span.end_col + 1,
        "fix": None,
        "related": [
            {
                "path": r.path,
                **({"cell": r.cell} if r.cell is not None else {}),
                "line": r.line,
                "column": r.col + 1,
                "message": r.message,
            }
            for r in d.related
        ],
    }
    if d.cell is not None:
        result["cell"] = d.cell
    if d.fix is not None:
        result["fix"] = {
            "title": d.fix.title,
            "class": d.fix.fix_class.value,
            "safe": d.fix.safe,
            "edits": [
                {
                    "line": e.span.line,
                    "column": e.span.col + 1,
                    "end_line": e.span.end_line,
                    "end_column": e.span.end_col + 1,
                    "content": e.text,
                    **({"cell": e.cell} if e.cell is not None else {}),
                }
                for e in d.fix.edits
            ],
        }
    elif d.fix_note:
        result["fix_note"] = d.fix_note
    return result


def render(reports: Sequence[FileReport], *, statistics: bool = False, **_: Any) -> str:
    if statistics:  # as ruff's --statistics --output-format json
        rows = statistics_rows([d for r in reports for d in r.diagnostics])
        table = [
            {"code": code, "name": name, "count": n, "fixable_count": safe + unsafe, "safe_fixable_count": safe}
            for n, code, name, safe, unsafe in rows
        ]
        return json.dumps(table, indent=2) + "\n"
    payload = {
        "version": __version__,
        "diagnostics": [diagnostic_dict(d) for r in reports for d in r.diagnostics],
        "errors": [
            {
                "path": r.error.path,
                "code": r.error.code,
                "message": r.error.message,
                "line": r.error.line or None,
                "column": r.error.col + 1 if r.error.line else None,
            }
            for r in reports
            if r.error is not None
        ],
        "fixed": [
            {
                "path": r.path,
                "code": d.code,
                **({"cell": d.cell} if d.cell is not None else {}),
                "line": d.span.line,
                "title": d.fix.title if d.fix else "",
            }
            for r in reports
            for d in r.applied
        ],
    }
    return json.dumps(payload, indent=2) + "\n"
