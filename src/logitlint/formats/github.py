"""GitHub Actions workflow commands: one annotation per finding (``::error file=...::message``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from logitlint.diagnostics import Severity

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
            props = (
                f"file={_property(d.path)},line={s.line},col={s.col + 1},endLine={s.end_line},"
                f"endColumn={s.end_col + 1},title={_property(d.code + ' ' + d.name)}"
            )
            lines.append(f"::{COMMAND[d.severity]} {props}::{_data(d.code + ' ' + d.message)}")
        if report.error is not None:
            e = report.error
            where = f"file={_property(e.path)}" + (f",line={e.line},col={e.col + 1}" if e.line else "")
            lines.append(f"::error {where},title=logitlint::{_data(e.message)}")
    return "\n".join(lines) + ("\n" if lines else "")
