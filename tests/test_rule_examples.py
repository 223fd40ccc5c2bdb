"""Every rule's own VALID and INVALID examples (as Fixit runs them): each INVALID example is
reported with the rule's code and fixed to the text it states, no VALID one is reported; the
docs' Example is reported and its Use instead is not; and every rule is documented."""

from __future__ import annotations

import re

import pytest

from logitlint.engine import CheckSettings, check_source
from logitlint.fixer import fix_source
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


FIXED = [(cls, i, ex) for cls in rule_classes() for i, ex in enumerate(cls.invalid)]


@pytest.mark.parametrize("cls,index,example", FIXED, ids=[f"{c.code}-invalid-{i}" for c, i, _ in FIXED])
def test_invalid_example_is_fixed_as_stated(cls, index, example):
    settings = CheckSettings(rules=[cls()])
    outcome = fix_source(example.source, lambda text: check_source(text, "example.py", settings), unsafe=True)
    expected = example.source if example.fixed is None else example.fixed
    assert outcome.text == expected, f"{cls.code} fixed example {index} to:\n{outcome.text}"


@pytest.mark.parametrize("cls", [c for c in rule_classes() if c.fix_class is not None], ids=lambda c: c.code)
def test_a_fixable_rule_shows_its_fix(cls):
    assert any(example.fixed is not None for example in cls.invalid), f"{cls.code}: no INVALID example shows the fix"


PREAMBLE = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"


def doc_snippets(markdown: str) -> list[str]:
    return [PREAMBLE + block for block in re.findall(r"```python\n(.*?)```", markdown, re.S)]


@pytest.mark.parametrize("cls", rule_classes(), ids=lambda c: c.code)
def test_docs_example_is_reported_and_use_instead_is_not(cls):
    examples, instead = doc_snippets(cls.example), doc_snippets(cls.use_instead)
    assert examples and instead, f"{cls.code}: Example and Use instead need a ```python block"
    for snippet in examples:
        assert any(d.code == cls.code for d in check_source(snippet, "doc.py")), f"{cls.code} Example:\n{snippet}"
    for snippet in instead:
        assert not any(d.code == cls.code for d in check_source(snippet, "doc.py")), f"{cls.code} Use instead:\n{snippet}"


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
