"""Fixture programs under fixtures/fixes/: each ``before.py`` and its fixed ``after.py``.

The docstring of ``before.py`` says how to run it:

    fix-class: bug-fix            the class the fix must show at run time
    inputs: logits, target        arguments of ``compute`` (see ``make_inputs``)
    shapes: 2d, 4d                input layouts to try (2d = (N, C), 4d = (N, C, H, W), 1d = (C,))
    reference: cross_entropy      the float64 maths (``tests/references.py``) the result must equal
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from tests.conftest import FIXTURES

FIX_DIR = FIXTURES / "fixes"


@dataclass
class FixtureProgram:
    name: str
    before: Path
    after: Path
    fix_class: str
    inputs: tuple[str, ...]
    shapes: tuple[str, ...]
    reference: str

    @property
    def code(self) -> str:
        return self.name.split("-", 1)[0]

    def load(self, which: str) -> ModuleType:
        path = self.before if which == "before" else self.after
        spec = importlib.util.spec_from_file_location(f"fixture_{self.name.replace('-', '_')}_{which}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


def _field(doc: str, name: str) -> str:
    match = re.search(rf"^{name}:[ \t]*(.*)$", doc, re.M)
    assert match is not None, f"fixture docstring lacks '{name}:'"
    return match.group(1).strip()


def programs() -> list[FixtureProgram]:
    found = []
    for folder in sorted(FIX_DIR.iterdir()):
        before = folder / "before.py"
        if not before.exists():
            continue
        doc = before.read_text()
        split = lambda s: tuple(x.strip() for x in s.split(",") if x.strip())  # noqa: E731
        found.append(
            FixtureProgram(
                folder.name,
                before,
                folder / "after.py",
                _field(doc, "fix-class"),
                split(_field(doc, "inputs")),
                split(_field(doc, "shapes")) if re.search(r"^shapes:", doc, re.M) else (),
                _field(doc, "reference"),
            )
        )
    return found
