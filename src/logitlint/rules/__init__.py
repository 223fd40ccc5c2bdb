"""The rule catalog. Each family module defines rule classes; ``all_rules`` instantiates them."""

from __future__ import annotations

from functools import lru_cache

from logitlint.rules.base import Invalid, LossInputRule, LossRule, Rule

__all__ = ["CODES", "Rule", "Invalid", "LossRule", "LossInputRule", "all_rules", "rule_by_code", "rule_classes"]

# Every rule code, without importing the rule modules (and LibCST): configuration is validated
# against it at start-up. A test checks it against rule_classes().
CODES = (
    "LGT101",
    "LGT102",
    "LGT103",
    "LGT104",
    "LGT105",
    "LGT106",
    "LGT107",
    "LGT108",
    "LGT201",
    "LGT202",
    "LGT203",
    "LGT204",
    "LGT205",
    "LGT206",
    "LGT207",
    "LGT208",
    "LGT209",
    "LGT301",
    "LGT302",
    "LGT303",
)


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
