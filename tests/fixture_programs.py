"""Fixture programs under fixtures/fixes/: each ``before.py`` and its fixed ``after.py``.

The docstring of ``before.py`` says how to run it:

    fix-class: bug-fix            the class the fix must show at run time
    inputs: logits, target        arguments of ``compute`` (see ``make_inputs``)
    shapes: 2d, 4d                input layouts to try (2d = (N, C), 4d = (N, C, H, W), 1d = (C,))
    reference: cross_entropy      the float64 maths (``tests/references.py``) the result must equal
    moderate: 1.0                 (optional) the moderate input scales, where the values must agree
    tolerance-f64: 3e-9           (optional) a looser tolerance, where FIX-SEMANTICS measured one
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
    reference: str | None
    moderate: tuple[float, ...] = (1.0, 3.0)
    tolerance: dict | None = None  # dtype name -> absolute and relative tolerance

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

        def split(text: str) -> tuple[str, ...]:
            return tuple(x.strip() for x in text.split(",") if x.strip())

        def optional(name: str, doc: str = doc) -> str | None:
            return _field(doc, name) if re.search(rf"^{name}:", doc, re.M) else None

        tolerance = {d: float(optional(f"tolerance-{d}")) for d in ("f32", "f64") if optional(f"tolerance-{d}")}
        found.append(
            FixtureProgram(
                folder.name,
                before,
                folder / "after.py",
                _field(doc, "fix-class"),
                split(_field(doc, "inputs")),
                split(optional("shapes") or ""),
                optional("reference"),
                tuple(float(v) for v in split(optional("moderate") or "1.0, 3.0")),
                tolerance or None,
            )
        )
    return found
