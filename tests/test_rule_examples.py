"""Every rule's own VALID and INVALID examples (as Fixit runs them): each INVALID example is
reported with the rule's code, no VALID one is; and every rule is documented."""

from __future__ import annotations

import pytest

from logitlint.engine import CheckSettings, check_source
from logitlint.rules import rule_classes
from logitlint.source import Source

CASES = [(cls, "invalid", i, ex) for cls in rule_classes() for i, ex in enumerate(cls.invalid)]
CASES += [(cls, "valid", i, ex) for cls in rule_classes() for i, ex in enumerate(cls.valid)]


@pytest.mark.parametrize("prefilter", [True, False], ids=["prefilter", "full-parse"])
@pytest.mark.parametrize("cls,which,index,example", CASES, ids=[f"{c.code}-{w}-{i}" for c, w, i, _ in CASES])
def test_example(cls, which, index, example, prefilter):
    source = example if which == "valid" else example.source
    found = [d for d in check_source(source, "example.py", CheckSettings(prefilter=prefilter)) if d.code == cls.code]
    if which == "valid":
        assert not found, f"{cls.code} reported on a valid example:\n{source}"
        return
    assert found, f"{cls.code} missed:\n{source}"
    text = Source(source)
    reported = [
        source[text.offset(d.span.line, d.span.col) : text.offset(d.span.end_line, d.span.end_col)] for d in found
    ]
    assert example.at in reported, f"{cls.code} reported at {reported}, expected at {example.at!r}"


@pytest.mark.parametrize("cls", rule_classes(), ids=lambda c: c.code)
def test_rule_is_documented(cls):
    assert cls.code.startswith("LGT") and len(cls.code) == 6
    assert cls.name == cls.name.lower() and " " not in cls.name
    for part in ("summary", "what", "why", "example", "use_instead", "fix_safety"):
        assert len(getattr(cls, part).strip()) > 20, f"{cls.code}.{part} is missing"
    assert cls.valid and cls.invalid, f"{cls.code} needs VALID and INVALID examples"
    if cls.fix_class is not None:
        assert cls.fix_class.value in cls.fix_safety


def test_rule_tokens_are_in_the_prefilter_vocabulary():
    from logitlint.outline import SOFTMAX_NODIM, VOCABULARY

    for cls in rule_classes():
        assert cls.requires <= VOCABULARY | {SOFTMAX_NODIM}, cls.code


def test_codes_and_names_are_unique():
    classes = rule_classes()
    assert len({c.code for c in classes}) == len(classes)
    assert len({c.name for c in classes}) == len(classes)


def test_static_code_list_matches_the_rules():
    from logitlint.rules import CODES

    assert CODES == tuple(cls.code for cls in rule_classes())
