"""Text searches that stand in for a regex with a leading ``\\b`` find exactly what it finds."""

import re
from pathlib import Path

import pytest

from logitlint.analysis.callsites import _IMPORT_LINE, import_line_matches
from logitlint.analysis.contexts import _ASSIGNED_FROM_NAME, _SELF_CALL, _called
from logitlint.analysis.scopes import _ASSIGNED_NAME
from logitlint.outline import findall_after_boundary

ROOT = Path(__file__).resolve().parent.parent

TRICKY = [
    "self.crit = crit\nmyself.loss = loss\n",
    "myself.a: self.b = c\n",  # a candidate inside a name hides a real match that starts within it
    "itself.model(x); self.model(x)\nself.loss_fn.forward(out)\n",
    "self.x=y;self.z = w # note\n_self.q = r\n",
    "xself.f(self.g(1))\n",
    "self.a = b",
]


def _with_boundary(pattern: re.Pattern[str]) -> re.Pattern[str]:
    return re.compile(r"\b" + pattern.pattern, pattern.flags)


def _texts() -> list[str]:
    sources = sorted((ROOT / "src" / "logitlint").rglob("*.py")) + sorted((ROOT / "fixtures").rglob("*.py"))
    return TRICKY + [p.read_text(encoding="utf-8") for p in sources]


@pytest.mark.parametrize("pattern", [_SELF_CALL, _ASSIGNED_FROM_NAME], ids=["self call", "assigned from name"])
def test_a_match_after_a_boundary_is_what_a_leading_word_boundary_finds(pattern):
    reference = _with_boundary(pattern)
    for text in _texts():
        assert findall_after_boundary(pattern, text) == reference.findall(text), text[:200]
    assert findall_after_boundary(_ASSIGNED_FROM_NAME, "myself.a: self.b = c\n") == [("b", "c")]


def test_the_assigned_names_look_behind_changes_no_match():
    without = re.compile(_ASSIGNED_NAME.pattern.removeprefix(r"(?<!\w)"), _ASSIGNED_NAME.flags)
    assert without.pattern != _ASSIGNED_NAME.pattern
    for text in _texts():
        assert _ASSIGNED_NAME.findall(text) == without.findall(text), text[:200]


IMPORT_TEXTS = [
    b"from a import (b,\n    import_c,\n)\nimport d\n",
    b"x = 1; import os\nimport a; import b\n  import c  # from e import f\n",
    b"from . import (\n  x)  \nfrom .m import y as z, w\n\rimport q\n",
    b"s = 'import'\n\nimport",
    b"from a import (b,\nimport c); import d\n",  # a line inside the parentheses is not a statement
]


def test_import_lines_are_what_the_import_line_pattern_finds_everywhere():
    sources = sorted((ROOT / "src" / "logitlint").rglob("*.py")) + sorted((ROOT / "fixtures").rglob("*.py"))
    for data in IMPORT_TEXTS + [p.read_bytes() for p in sources]:
        expected = [m.span() for m in _IMPORT_LINE.finditer(data)]
        assert [m.span() for m in import_line_matches(data)] == expected, data[:200]
    assert len(list(import_line_matches(IMPORT_TEXTS[0]))) == 2


@pytest.mark.parametrize("name", ["criterion", "self.loss_fn", "model", "f", "size"])
def test_a_name_is_called_where_a_look_behind_pattern_finds_its_call(name):
    reference = re.compile(r"(?<![\w.])" + re.escape(name) + r"\s*(?:\.\s*forward\s*)?\(")
    texts = _texts() + ["x.criterion(a); criterion (b)", "my_model(x)\nself.model.forward(y)", "a.f(1)", "f.f(2)"]
    for text in texts:
        assert _called(text, name) == (reference.search(text) is not None), (name, text[:200])
    assert _called("a.f(1); f(2)", "f") and not _called("a.f(1); g.f(2)", "f")
