"""The differential fix fuzzer's fast slice (``tests/fix_grammar.py``, ``tests/fix_oracle.py``):
for every fixable rule, programs from the grammar go through the real ``logitlint fix
--unsafe-fixes`` path and run before and after with torch; each fix must hold its class, each
refusal must say the reason that holds. Fixed seeds: the slice is the same on every run.
``python bench/fuzz_fixes.py`` is the long run."""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")

from tests.fix_grammar import SITES  # noqa: E402
from tests.fix_oracle import Tally, fuzz  # noqa: E402

PER_RULE = 20 * int(os.environ.get("LOGITLINT_FUZZ", "1"))
SEED = 20261203


def explain(tally: Tally) -> str:
    parts = []
    for verdict in tally.failures[:3]:
        parts.append(f"{verdict.failure}\nnote: {verdict.note}\n--- program\n{verdict.case.source}--- fixed\n{verdict.fixed}")
    return "\n\n".join(parts)


@pytest.mark.parametrize("rule", sorted(SITES))
def test_fixes_hold_their_class(rule):
    tally = fuzz(PER_RULE, SEED + int(rule[3:]), rules=[rule])
    assert not tally.failures, explain(tally)
    assert tally.fixed + tally.refused > 0, tally.figures()  # the slice reaches the rule's fix


def test_the_slice_is_not_vacuous():
    """Over every rule: fixes of each class are applied and judged, refusals are shown true by
    running the rejected rewrite, and fixes turn non-finite values or gradients finite."""
    tally = fuzz(len(SITES) * 3, SEED)
    assert not tally.failures, explain(tally)
    assert set(tally.by_class) == {"exact", "finite", "precision", "bug-fix", "value-change"}, tally.figures()
    assert tally.refused > 0 and tally.repaired > 0, tally.figures()
