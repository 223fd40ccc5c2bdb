"""SARIF 2.1.0 for GitHub code scanning: rules with their help and fix class, results with
regions, related locations and fixes (replacements)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logitlint import __version__
from logitlint.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from logitlint.runner import FileReport

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _uri(path: str) -> str:
    relative = os.path.relpath(path) if os.path.isabs(path) else path
    if relative.startswith(".."):
        return Path(os.path.abspath(path)).as_uri()
    return Path(relative).as_posix()


def _region(line: int, col: int, end_line: int, end_col: int) -> dict[str, int]:
    return {"startLine": line, "startColumn": col + 1, "endLine": end_line, "endColumn": end_col + 1}


def _location(path: str, region: dict[str, int], cell: int | None = None) -> dict[str, Any]:
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": _uri(path), "uriBaseId": "%SRCROOT%"}, "region": region}
    }
    if cell is not None:  # a notebook: the region is the cell's own lines; the cell is named
        location["logicalLocations"] = [{"name": f"cell {cell}", "fullyQualifiedName": f"{path}:cell {cell}"}]
        location["properties"] = {"cell": cell}
    return location


def _rule(cls) -> dict[str, Any]:
    from logitlint.docs import rule_markdown

    fix = cls.fix_class.value if cls.fix_class is not None else "none"
    return {
        "id": cls.code,
        "name": "".join(part.capitalize() for part in cls.name.split("-")),
        "shortDescription": {"text": cls.summary},
        "fullDescription": {"text": cls.what},
        "help": {"text": f"{cls.why}\n\nFix safety: {fix}.", "markdown": rule_markdown(cls)},
        "helpUri": cls.docs_url(),
        "defaultConfiguration": {"level": LEVEL[cls.severity]},
        "properties": {"fixClass": fix, "tags": ["pytorch", "correctness" if cls.code < "LGT200" else "numerics"]},
    }


def _result(d: Diagnostic, index: dict[str, int]) -> dict[str, Any]:
    span = d.span
    result: dict[str, Any] = {
        "ruleId": d.code,
        "ruleIndex": index[d.code],
        "level": LEVEL[d.severity],
        "message": {"text": d.message},
        "locations": [_location(d.path, _region(span.line, span.col, span.end_line, span.end_col), d.cell)],
    }
    if d.related:
        result["relatedLocations"] = [
            {
                "id": i,
                "message": {"text": r.message},
                **_location(r.path, {"startLine": r.line, "startColumn": r.col + 1}, r.cell),
            }
            for i, r in enumerate(d.related)
        ]
    if d.fix is not None and d.cell is None:  # a notebook's cell-relative edits cannot apply to its JSON
        result["fixes"] = [
            {
                "description": {"text": f"{d.fix.title} ({d.fix.fix_class.value}{'' if d.fix.safe else ', unsafe'})"},
                "artifactChanges": [
                    {
                        "artifactLocation": {"uri": _uri(d.path), "uriBaseId": "%SRCROOT%"},
                        "replacements": [
                            {
                                "deletedRegion": _region(e.span.line, e.span.col, e.span.end_line, e.span.end_col),
                                "insertedContent": {"text": e.text},
                            }
                            for e in d.fix.edits
                        ],
                    }
                ],
            }
        ]
    return result


def render(reports: Sequence[FileReport], **_: Any) -> str:
    from logitlint.rules import rule_classes

    classes = list(rule_classes())
    index = {cls.code: i for i, cls in enumerate(classes)}
    notifications = [
        {
            "level": "error",
            "message": {"text": r.error.message},
            "locations": [_location(r.error.path, {"startLine": max(r.error.line, 1)})],
        }
        for r in reports
        if r.error is not None
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "logitlint",
                "version": __version__,
                "informationUri": "https://github.com/logitlint/logitlint",
                "rules": [_rule(cls) for cls in classes],
            }
        },
        "columnKind": "unicodeCodePoints",
        "originalUriBaseIds": {"%SRCROOT%": {"uri": Path(os.getcwd()).as_uri() + "/"}},
        "results": [_result(d, index) for r in reports for d in r.diagnostics],
        "invocations": [{"executionSuccessful": not notifications, "toolExecutionNotifications": notifications}],
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"
