"""Parses are reused by text (the process-wide window of recent units, or the editor's cache), but
never shared by two units of one file: the analysis keys its facts by node."""

from __future__ import annotations

from logitlint.engine import CheckSettings, check_source
from logitlint.outline import Outline, RecentParses

TWINS = """import torch.nn.functional as F


class A:
    def step(self, logits, target):
        return F.cross_entropy(F.softmax(logits, dim=1), target)


class B:
    def step(self, logits, target):
        return F.cross_entropy(F.softmax(logits, dim=1), target)


def unrelated():
    pass
"""


def step_modules(outline: Outline):
    (a, b) = [item for item in outline.items if item.kind == "class"]
    return [member.statements()[0][1].module for member in (*a.members, *b.members) if member.kind == "function"]


def test_a_later_file_reuses_the_parse_and_one_file_never_shares_it():
    first = step_modules(Outline(TWINS))
    assert first[0] is not first[1]  # the same text twice in one file: two trees
    again = step_modules(Outline(TWINS))
    assert again[0] is first[0] and again[1] is first[1]  # both reused, still apart


def test_both_copies_are_reported_with_and_without_a_cache():
    for cache in (None, None, {}, None):  # the second run finds every unit among the recent parses
        lines = [d.span.line for d in check_source(TWINS, "twins.py", CheckSettings(parse_cache=cache))]
        assert lines == [6, 11]


def test_the_window_keeps_the_newest_units_within_its_lines():
    recent = RecentParses(lines=12)
    for n in range(6):
        recent[(0, f"x = {n}\ny = 1\n")] = n  # type: ignore[assignment]  # three lines each
    assert recent.size <= 12
    assert recent.get((0, "x = 5\ny = 1\n")) == 5 and recent.get((0, "x = 4\ny = 1\n")) == 4
    assert recent.get((0, "x = 0\ny = 1\n")) is None
    recent[(0, "\n" * 30)] = "huge"  # type: ignore[assignment]  # more than a quarter of the window: not kept
    assert recent.get((0, "\n" * 30)) is None and recent.get((0, "x = 5\ny = 1\n")) == 5
