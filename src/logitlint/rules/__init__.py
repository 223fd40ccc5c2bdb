"""The rule catalog. Every module of this package (but the helpers named below) defines rule
classes; they are discovered, so adding a rule touches its own module and its fixtures only."""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import lru_cache
from pathlib import Path

from logitlint.rules.base import Invalid, LossInputRule, LossRule, Rule

__all__ = ["CODES", "Rule", "Invalid", "LossRule", "LossInputRule", "all_rules", "rule_by_code", "rule_classes"]

# Modules of this package that hold the rule API and shared helpers, not rules.
HELPER_MODULES = frozenset({"base", "common", "context", "rewrite"})

_CODE_LINE = re.compile(r'^    code = "(LGT\d{3})"$', re.M)


def _declared_codes() -> tuple[str, ...]:
    """Every rule code, read from the rule modules' text: configuration is validated against it at
    start-up without importing the rules (and LibCST). A test checks it against rule_classes()."""
    folder = Path(__file__).parent
    codes = set()
    for path in folder.glob("*.py"):
        if path.stem not in HELPER_MODULES and path.stem != "__init__":
            codes.update(_CODE_LINE.findall(path.read_text(encoding="utf-8")))
    return tuple(sorted(codes))


CODES = _declared_codes()


def _rule_modules() -> list[str]:
    return sorted(
        info.name for info in pkgutil.iter_modules(__path__) if info.name not in HELPER_MODULES and not info.ispkg
    )


@lru_cache(maxsize=1)
def rule_classes() -> tuple[type[Rule], ...]:
    classes: list[type[Rule]] = []
    for name in _rule_modules():
        module = importlib.import_module(f"{__name__}.{name}")
        classes.extend(
            obj
            for obj in vars(module).values()
            if isinstance(obj, type)
            and issubclass(obj, Rule)
            and obj.__module__ == module.__name__
            and "code" in vars(obj)
        )
    return tuple(sorted(classes, key=lambda cls: cls.code))


def all_rules() -> list[Rule]:
    return [cls() for cls in rule_classes()]


def rule_by_code(code: str) -> type[Rule] | None:
    for cls in rule_classes():
        if cls.code == code.upper() or cls.name == code:
            return cls
    return None
