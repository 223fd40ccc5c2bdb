"""Human output, as ruff prints it: ``path:line:col: CODE [*] message`` and a source excerpt."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from logitlint.diagnostics import Diagnostic

if TYPE_CHECKING:
    from logitlint.runner import FileReport

SAFE_MARK = "[*]"
UNSAFE_MARK = "[!]"


def _color(enabled: bool):
    def paint(code: str, text: str) -> str:
        return f"\033[{code}m{text}\033[0m" if enabled else text

    return paint


def marker(diagnostic: Diagnostic) -> str:
    if diagnostic.fix is None:
        return ""
    return (SAFE_MARK if diagnostic.fix.safe else UNSAFE_MARK) + " "


def place(path: str, line: int, col: int, cell: int | None = None) -> str:
    """``path:line:col`` (1-based column, as ruff prints), ``path:cell 3:line:col`` in a notebook."""
    return f"{path}:{'' if cell is None else f'cell {cell}:'}{line}:{col + 1}"


def location(d: Diagnostic) -> str:
    return place(d.path, d.span.line, d.span.col, d.cell)


def excerpt(diagnostic: Diagnostic, lines: Sequence[str], paint) -> list[str]:
    span = diagnostic.span
    if not 1 <= span.line <= len(lines):
        return []
    number = str(span.line)
    pad = " " * len(number)
    line = lines[span.line - 1].rstrip("\r\n").expandtabs(1)
    end = span.end_col if span.end_line == span.line else len(line)
    width = max(1, end - span.col)
    out = [
        f"{pad} {paint('34', '|')}",
        f"{paint('34', number)} {paint('34', '|')} {line}",
        f"{pad} {paint('34', '|')} {' ' * span.col}{paint('31', '^' * width)} {paint('31', diagnostic.code)}",
        f"{pad} {paint('34', '|')}",
    ]
    if diagnostic.fix is not None:
        how = "" if diagnostic.fix.safe else " (unsafe: apply with `logitlint fix --unsafe-fixes`)"
        out.append(f"{pad} = fix: {diagnostic.fix.title} [{diagnostic.fix.fix_class.value}]{how}")
    elif diagnostic.fix_note:
        out.append(f"{pad} = {diagnostic.fix_note}")
    for related in diagnostic.related:
        out.append(f"{pad} = note: {related.message}: {place(related.path, related.line, related.col, related.cell)}")
    return out


def render(
    reports: Sequence[FileReport],
    *,
    color: bool = False,
    show_source: bool = True,
    statistics: bool = False,
    fix_mode: bool = False,
    quiet: bool = False,
) -> str:
    paint = _color(color)
    out: list[str] = []
    diagnostics = [d for r in reports for d in r.diagnostics]
    for report in reports:
        lines = (report.fixed if report.fixed is not None else report.original) or None
        text_lines: list[str] | None = None
        for d in () if statistics else report.diagnostics:  # --statistics: the table instead (as ruff)
            out.append(f"{paint('1', location(d))}: {paint('1;31', d.code)} {marker(d)}{d.message}")
            if show_source:
                if d.cell is not None:
                    from logitlint.notebooks import cell_lines

                    if lines is None:  # answered from the cache: the notebook is read for its excerpt
                        lines = "\n".join(_read_lines(report.path))
                    out.extend(excerpt(d, cell_lines(lines, d.cell), paint))
                else:
                    if text_lines is None:
                        text_lines = lines.splitlines() if lines is not None else _read_lines(report.path)
                    out.extend(excerpt(d, text_lines, paint))
                out.append("")
        if report.error is not None:
            e = report.error
            where = f"{e.path}:{e.line}:{e.col + 1}" if e.line else e.path
            out.append(f"{paint('1', where)}: {paint('1;31', 'error')}: {e.message}")
    if statistics:
        out.extend(statistics_table(diagnostics))
    if not quiet:
        out.append(summary(reports, fix_mode=fix_mode))
    return "".join(f"{line}\n" for line in out)


def statistics_rows(diagnostics: Sequence[Diagnostic]) -> list[tuple[int, str, str, int, int]]:
    """(count, code, name, safe fixes, unsafe fixes) per rule, most frequent first."""
    counts: Counter = Counter()
    safe: Counter = Counter()
    unsafe: Counter = Counter()
    for d in diagnostics:
        key = (d.code, d.name)
        counts[key] += 1
        if d.fix is not None:
            (safe if d.fix.safe else unsafe)[key] += 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(n, code, name, safe[(code, name)], unsafe[(code, name)]) for (code, name), n in ordered]


def statistics_table(diagnostics: Sequence[Diagnostic]) -> list[str]:
    """ruff's ``--statistics``: ``count<TAB>code<TAB>[*] name``; [*] every finding of the rule has a
    safe fix, [!] every one has a fix and some are unsafe, [~] some have one, [ ] none has."""
    lines = []
    for n, code, name, safe, unsafe in statistics_rows(diagnostics):
        if safe == n:
            mark = SAFE_MARK
        elif safe + unsafe == n:
            mark = UNSAFE_MARK
        else:
            mark = "[~]" if safe + unsafe else "[ ]"
        lines.append(f"{n:5d}\t{code}\t{mark} {name}")
    return lines


def summary(reports: Sequence[FileReport], *, fix_mode: bool = False) -> str:
    diagnostics = [d for r in reports for d in r.diagnostics]
    errors = sum(1 for r in reports if r.error is not None)
    parts = []
    if fix_mode:
        applied = sum(len(r.applied) for r in reports)
        files = sum(1 for r in reports if r.changed)
        parts.append(f"Fixed {applied} finding{'s' * (applied != 1)} in {files} file{'s' * (files != 1)}.")
    n = len(diagnostics)
    if n:
        parts.append(f"{'Remaining' if fix_mode else 'Found'} {n} finding{'s' * (n != 1)}.")
        safe = sum(1 for d in diagnostics if d.fix is not None and d.fix.safe)
        unsafe = sum(1 for d in diagnostics if d.fix is not None and not d.fix.safe)
        if safe:
            parts.append(f"{SAFE_MARK} {safe} fixable with `logitlint fix`.")
        if unsafe:
            parts.append(
                f"{UNSAFE_MARK} {unsafe} fixable with `logitlint fix --unsafe-fixes` (changes values; review them)."
            )
    elif not fix_mode:
        parts.append(_no_findings(reports, errors))
    skipped = sum(1 for r in reports if r.skipped)
    if skipped:
        parts.append(f"{_files(skipped)} skipped (no PyTorch loss code).")
    if errors:
        parts.append(f"{errors} file{'s' * (errors != 1)} could not be checked.")
    return " ".join(parts) if not fix_mode else "\n".join(parts)


def _files(n: int) -> str:
    return f"{n} file{'s' * (n != 1)}"


def _no_findings(reports: Sequence[FileReport], errors: int) -> str:
    """"All checks passed" only when every file was analysed; otherwise say how many were."""
    checked = sum(1 for r in reports if r.error is None and not r.skipped)
    if checked == len(reports):
        return "All checks passed."
    return f"No findings in {_files(checked)} checked;"


def _read_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as handle:
            return handle.read().splitlines()
    except OSError:
        return []


def use_color(stream) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()
