"""Fixing a file: apply non-overlapping fixes, re-check, repeat; never produce code that does not
parse. ``fix_source`` works on text; writing files is ``files.write_atomic``'s job."""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from logitlint.diagnostics import Diagnostic
from logitlint.fixes import apply_fixes
from logitlint.limits import check_parseable
from logitlint.source import NEWLINE

MAX_ROUNDS = 8


@dataclass
class FixOutcome:
    text: str
    applied: list[Diagnostic] = field(default_factory=list)
    remaining: list[Diagnostic] = field(default_factory=list)
    dropped: list[tuple[Diagnostic, str]] = field(default_factory=list)  # fixes refused, and why

    def changed(self, original: str) -> bool:
        return self.text != original


def parses(text: str) -> bool:
    try:
        ast.parse(text)
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
    try:  # ``ast`` follows the running Python's grammar; LibCST may know newer syntax
        check_parseable(text)
        cst.parse_module(text)
        return True
    except Exception:  # noqa: BLE001
        return False


def fix_source(
    text: str,
    check: Callable[[str], list[Diagnostic]],
    *,
    unsafe: bool = False,
    newline: str = "\n",
) -> FixOutcome:
    """Apply every applicable fix of ``check(text)``'s diagnostics, round after round."""
    original_parses = parses(text)
    current = text
    outcome = FixOutcome(text)
    refused: set[tuple[str, str]] = set()
    diagnostics = check(current)
    if not original_parses:  # the prefilter found these in the parts that parse: report, never write
        outcome.remaining = diagnostics
        outcome.dropped.extend((d, "the file does not parse as a whole") for d in diagnostics if d.fix is not None)
        return outcome
    for _ in range(MAX_ROUNDS):
        fixable = [d for d in diagnostics if d.fix is not None and (d.fix.safe or unsafe) and _key(d) not in refused]
        if not fixable:
            break
        starts = [0] + [m.end() for m in NEWLINE.finditer(current)]
        candidate, applied = apply_fixes(current, _with_newline(fixable, newline), starts)
        if candidate == current:
            break
        if not parses(candidate):
            # Find the fixes that break parsing by applying them one at a time.
            good: list[Diagnostic] = []
            for diagnostic in applied:
                trial, _ = apply_fixes(current, _with_newline([*good, diagnostic], newline), starts)
                if parses(trial):
                    good.append(diagnostic)
                else:
                    refused.add(_key(diagnostic))
                    outcome.dropped.append((diagnostic, "the fixed code would not parse"))
            if not good:
                continue
            candidate, applied = apply_fixes(current, _with_newline(good, newline), starts)
        after = check(candidate)
        unclear = _not_cleared(diagnostics, applied, after)
        if unclear:
            # Either a fix leaves (or makes) its own finding again, or one fix revealed a new finding
            # of another's code (a BCELoss fix whose input turns out to be softmax output). Tried one
            # at a time, the first kind is refused; the second is applied in a later round.
            suspects = [d for d in applied if d.code in unclear]
            culprits = [d for d in suspects if _not_cleared(diagnostics, [d], check(_apply(current, [d], newline)))]
            for diagnostic in culprits:
                refused.add(_key(diagnostic))
                outcome.dropped.append((diagnostic, "the fixed code still has the finding"))
            if culprits:
                continue
            keep = [d for d in applied if d.code not in unclear] or suspects[:1]
            candidate, applied = apply_fixes(current, _with_newline(keep, newline), starts)
            after = check(candidate)
            if _not_cleared(diagnostics, applied, after):  # still not clean: give up on these
                for diagnostic in applied:
                    refused.add(_key(diagnostic))
                    outcome.dropped.append((diagnostic, "the fixed code still has the finding"))
                continue
        outcome.applied.extend(applied)
        current, diagnostics = candidate, after
    outcome.text = current
    outcome.remaining = diagnostics
    return outcome


def _apply(text: str, diagnostics: list[Diagnostic], newline: str) -> str:
    starts = [0] + [m.end() for m in NEWLINE.finditer(text)]
    return apply_fixes(text, _with_newline(diagnostics, newline), starts)[0]


def _not_cleared(before: list[Diagnostic], applied: list[Diagnostic], after: list[Diagnostic]) -> set[str]:
    """Codes whose fixes did not remove as many findings of that code as were fixed."""
    counts_before = Counter(d.code for d in before)
    counts_after = Counter(d.code for d in after)
    fixed = Counter(d.code for d in applied)
    return {code for code, n in fixed.items() if counts_after[code] > counts_before[code] - n}


def _key(diagnostic: Diagnostic) -> tuple[str, str]:
    return (diagnostic.code, f"{diagnostic.span.line}:{diagnostic.span.col}:{diagnostic.message}")


def _with_newline(diagnostics: list[Diagnostic], newline: str) -> list[Diagnostic]:
    """Inserted lines (imports) use the file's own newline style."""
    if newline == "\n":
        return diagnostics
    from dataclasses import replace

    result = []
    for d in diagnostics:
        assert d.fix is not None
        edits = tuple(replace(e, text=e.text.replace("\n", newline)) for e in d.fix.edits)
        result.append(replace(d, fix=replace(d.fix, edits=edits)))
    return result
