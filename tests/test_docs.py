"""docs/rules.md is generated from the rule classes and must be current."""

from __future__ import annotations

from logitlint.docs import rules_markdown
from tests.conftest import ROOT


def test_rules_md_is_current():
    current = (ROOT / "docs" / "rules.md").read_text()
    assert current == rules_markdown(), "docs/rules.md is stale: run `python -m logitlint.docs > docs/rules.md`"


def test_rules_md_explains_every_fix_class():
    text = rules_markdown()
    for fix_class in ("exact", "finite", "precision", "bug-fix", "value-change"):
        assert f"| {fix_class} |" in text
