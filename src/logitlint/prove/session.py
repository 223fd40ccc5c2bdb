"""The ``--prove`` hook of a fix run: prove each fix before the fixer may apply it, strip the fixes
that are refuted or not provable, and say per fix what was measured."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace

from logitlint.diagnostics import Diagnostic
from logitlint.formats.text import location
from logitlint.prove.prover import PROVED, REFUTED, UNPROVABLE, Verdict, prove


@dataclass
class ProveSession:
    """Called by the runner with each round's text and diagnostics (``RunConfig.fix_filter``)."""

    unsafe: object = None  # callable path -> bool: would the fixer apply unsafe fixes there?
    verdicts: dict[tuple, Verdict] = field(default_factory=dict)  # by text and fix
    reported: dict[tuple, Verdict] = field(default_factory=dict)  # by fix: each printed once
    seconds: float = 0.0
    stream: object = None

    def __call__(self, text: str, path: str, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
        unsafe = bool(self.unsafe(path)) if self.unsafe is not None else False
        result = []
        for d in diagnostics:
            if d.fix is None or not (d.fix.safe or unsafe):
                result.append(d)
                continue
            key = (path, hash(text), d.code, d.span, d.fix.edits)
            if key not in self.verdicts:
                started = time.process_time()
                self.verdicts[key] = prove(text, d)
                self.seconds += time.process_time() - started
            verdict = self.verdicts[key]
            shown = (path, d.code, d.span, tuple(e.text for e in d.fix.edits), verdict.status)
            if shown not in self.reported:
                self.reported[shown] = verdict
                self._print(d, verdict)
            if verdict.proved:
                result.append(d)
            else:
                result.append(replace(d, fix=None, fix_note=f"fix not written: {verdict.status}: {verdict.detail}"))
        return result

    def _print(self, d: Diagnostic, verdict: Verdict) -> None:
        assert d.fix is not None
        stream = self.stream or sys.stderr
        head = f"{d.code} {location(d)}: [{d.fix.fix_class.value}]"
        if verdict.proved:
            print(f"{head} proved: {verdict.detail}", file=stream)
        else:
            print(f"{head} {verdict.status}, fix not written: {verdict.detail}", file=stream)

    def counts(self) -> dict[str, int]:
        counts = {PROVED: 0, REFUTED: 0, UNPROVABLE: 0}
        for verdict in self.reported.values():
            counts[verdict.status] += 1
        return counts

    def print_summary(self) -> None:
        c = self.counts()
        print(
            f"prove: {c[PROVED]} proved, {c[REFUTED]} refuted, {c[UNPROVABLE]} not provable here "
            f"(refuted and unprovable fixes were not written); {self.seconds:.1f}s CPU proving",
            file=self.stream or sys.stderr,
        )
