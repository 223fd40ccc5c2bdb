"""Which rules run where: selection by code prefix, ``# noqa`` comments."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from logitlint.rules import Rule, rule_classes


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the offending key."""


def _matches(code: str, selector: str) -> bool:
    selector = selector.strip().upper()
    return selector == "ALL" or code.startswith(selector)


def validate_selectors(selectors: Iterable[str], key: str) -> list[str]:
    known = [cls.code for cls in rule_classes()]
    result = []
    for selector in selectors:
        s = str(selector).strip().upper()
        if not s:
            continue
        if s != "ALL" and not any(code.startswith(s) for code in known):
            raise ConfigError(
                f"{key}: unknown rule code or prefix {selector!r} (codes are LGT101..LGT303; see `logitlint rules`)"
            )
        result.append(s)
    return result


@dataclass
class Selection:
    select: Sequence[str] = ("ALL",)
    extend_select: Sequence[str] = ()
    ignore: Sequence[str] = ()

    def enabled(self, code: str) -> bool:
        chosen = any(_matches(code, s) for s in [*self.select, *self.extend_select])
        return chosen and not any(_matches(code, s) for s in self.ignore)

    def rules(self) -> list[Rule]:
        return [cls() for cls in rule_classes() if self.enabled(cls.code)]


_NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z][0-9]+(?:[,\s]+[A-Z][0-9]+)*))?", re.IGNORECASE)
_CODE = re.compile(r"[A-Z][0-9]+", re.IGNORECASE)


@dataclass
class Noqa:
    """``# noqa`` and ``# noqa: LGT101,LGT102`` per line, as flake8 reads them."""

    lines: dict[int, frozenset[str] | None] = field(default_factory=dict)

    @classmethod
    def scan(cls, text: str) -> Noqa:
        found: dict[int, frozenset[str] | None] = {}
        if "noqa" not in text.lower():
            return cls(found)
        for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
            if "#" not in line:
                continue
            match = _NOQA.search(line)
            if match is None:
                continue
            codes = match.group("codes")
            found[number] = None if codes is None else frozenset(c.upper() for c in _CODE.findall(codes))
        return cls(found)

    def suppresses(self, code: str, lines: Iterable[int]) -> bool:
        for line in lines:
            if line in self.lines:
                codes = self.lines[line]
                if codes is None or any(code.startswith(c) for c in codes):
                    return True
        return False
