"""Fuzzing ``check`` and ``fix`` (a fast slice; ``python bench/fuzz.py`` runs longer): no exception
escapes, every fixed output parses, and fixing twice changes nothing."""

from __future__ import annotations

import ast
import os
import random

import pytest

from logitlint.engine import SyntaxErrorInFile, check_source
from logitlint.fixer import fix_source, parses
from logitlint.limits import TooComplex
from tests.conftest import FIXTURES

# The fast slice runs in CI; `python bench/fuzz.py` (or LOGITLINT_FUZZ=N) runs N times more.
SCALE = int(os.environ.get("LOGITLINT_FUZZ", "1"))

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::SyntaxWarning")

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.fuzzing import mutate, random_program, torch_programs  # noqa: E402


def check(text: str):
    return check_source(text, "fuzz.py")


def fix_twice(text: str) -> None:
    try:
        first = fix_source(text, check, unsafe=True)
    except (SyntaxErrorInFile, TooComplex):
        return
    if parses(text):
        assert parses(first.text), first.text
    second = fix_source(first.text, check, unsafe=True)
    assert second.text == first.text, f"not idempotent:\n{first.text}\n---\n{second.text}"


@settings(max_examples=60 * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(torch_programs)
def test_generated_torch_programs(program):
    ast.parse(program)
    check(program)
    fix_twice(program)


def test_the_generator_reaches_the_rules():
    """Not vacuous: generated programs produce findings of most rules, and fixes."""
    rng = random.Random(7)
    codes, fixed = set(), 0
    for _ in range(300):
        found = check(random_program(rng))
        codes |= {d.code for d in found}
        fixed += sum(1 for d in found if d.fix is not None)
    assert len(codes) >= 12 and fixed > 100, (sorted(codes), fixed)


def test_mutated_fixtures():
    rng = random.Random(20261129)
    sources = [p.read_text() for p in sorted(FIXTURES.rglob("*.py"))]
    for _ in range(150 * SCALE):
        text = rng.choice(sources)
        for _ in range(rng.randrange(1, 4)):
            text = mutate(text, rng)
        try:
            check(text)
        except (SyntaxErrorInFile, TooComplex):
            continue
        fix_twice(text)


hypothesmith = pytest.importorskip("hypothesmith")


@settings(max_examples=25 * SCALE, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar(auto_target=False))
def test_grammar_generated_programs(program):
    try:
        check("import torch\n" + program)
    except (SyntaxErrorInFile, TooComplex):
        return
    fix_twice("import torch\n" + program)
