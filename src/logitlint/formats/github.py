"""GitHub Actions workflow commands: one annotation per finding (``::error file=...::message``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from logitlint.diagnostics import Severity
from logitlint.formats.text import location

if TYPE_CHECKING:
    from logitlint.runner import FileReport

COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(reports: Sequence[FileReport], **_: Any) -> str:
    lines = []
    for report in reports:
        for d in report.diagnostics:
            s = d.span
            title = f"title={_property(d.code + ' ' + d.name)}"
            if d.cell is not None:
                # A line of the .ipynb's JSON would point nowhere useful: annotate the file and say
                # where in the notebook, as the text format does.
                props = f"file={_property(d.path)},{title}"
                message = f"{location(d)}: {d.code} {d.message}"
            else:
                props = (
                    f"file={_property(d.path)},line={s.line},col={s.col + 1},endLine={s.end_line},"
                    f"endColumn={s.end_col + 1},{title}"
                )
                message = f"{d.code} {d.message}"
            lines.append(f"::{COMMAND[d.severity]} {props}::{_data(message)}")
        if report.error is not None:
            e = report.error
            where = f"file={_property(e.path)}" + (f",line={e.line},col={e.col + 1}" if e.line else "")
            lines.append(f"::error {where},title=logitlint::{_data(e.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
