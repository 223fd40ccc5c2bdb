"""The rule catalog. Each family module defines rule classes; ``all_rules`` instantiates them."""

from __future__ import annotations

from functools import lru_cache

from logitlint.rules.base import Invalid, LossInputRule, LossRule, Rule

__all__ = ["Rule", "Invalid", "LossRule", "LossInputRule", "all_rules", "rule_by_code", "rule_classes"]


@lru_cache(maxsize=1)
def rule_classes() -> tuple[type[Rule], ...]:
    from logitlint.rules import bce, cross_entropy, elementwise, kl_div, log_softmax, manual, models, softmax_misc

    classes: list[type[Rule]] = []
    for module in (cross_entropy, models, kl_div, bce, log_softmax, elementwise, manual, softmax_misc):
        classes.extend(module.RULES)
    return tuple(sorted(classes, key=lambda cls: cls.code))


def all_rules() -> list[Rule]:
    return [cls() for cls in rule_classes()]


def rule_by_code(code: str) -> type[Rule] | None:
    for cls in rule_classes():
        if cls.code == code.upper() or cls.name == code:
            return cls
    return None
