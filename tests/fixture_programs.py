"""Fixture programs under fixtures/fixes/: each ``before.py`` and its fixed ``after.py``.

The docstring of ``before.py`` says how to run it:

    fix-class: bug-fix            the class the fix must show at run time
    inputs: logits, target        arguments of ``compute`` (see ``make_inputs``)
    shapes: 2d, 4d                input layouts to try (2d = (N, C), 4d = (N, C, H, W), 1d = (C,))
    reference: cross_entropy      the float64 maths (``tests/references.py``) the result must equal
    moderate: 1.0                 (optional) the moderate input scales, where the values must agree
    tolerance-f64: 3e-9           (optional) a looser tolerance, where FIX-SEMANTICS measured one
    tolerance-half-grad-mulp: 13  (optional) float16/bfloat16 gradients: torch's own kernel is less exact
    bound: eps 1e-8               (value-change) what the hack did: ``eps E`` (log(p + E)) or ``clamp E``

The programs the runtime tests execute are not the checked-in ``after.py`` (that is only the text
``logitlint fix`` is expected to write, compared in test_fix_fixtures.py) but what the real
``logitlint fix --unsafe-fixes`` writes, today, for a copy of every ``before.py``: ``load("fixed")``.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
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
    bound: tuple[str, float] | None = None  # value-change: ("eps", 1e-8) or ("clamp", 1e-6)

    @property
    def code(self) -> str:
        return self.name.split("-", 1)[0]

    def reference_function(self):
        """The float64 maths the fix must match: ``reference.py`` next to ``before.py`` (its
        ``reference`` function), else the function the docstring's ``reference:`` names in
        ``tests/references.py``. A new rule's fixture can bring its own maths in its folder."""
        local = self.before.parent / "reference.py"
        if local.exists():
            spec = importlib.util.spec_from_file_location(f"fixture_reference_{self.name.replace('-', '_')}", local)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module.reference
        if self.reference is None:
            raise AssertionError(f"{self.name}: add reference.py next to before.py or name a `reference:` in its docstring")
        from tests import references

        return getattr(references, self.reference)

    @property
    def fixed(self) -> Path:
        """The copy of ``before.py`` that the real ``logitlint fix --unsafe-fixes`` rewrote."""
        return fixed_root() / self.name / "program.py"

    def load(self, which: str) -> ModuleType:
        path = {"before": self.before, "after": self.after, "fixed": self.fixed}[which]
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

        bound = optional("bound")
        tolerance = {
            d: float(optional(f"tolerance-{d}")) for d in ("f32", "f64", "half-grad-mulp") if optional(f"tolerance-{d}")
        }
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
                (bound.split()[0], float(bound.split()[1])) if bound else None,
            )
        )
    return found


FIX_COMMAND = ("fix", "--unsafe-fixes", "--no-cache")


@functools.cache
def fixed_root() -> Path:
    """Copies every ``before.py`` to a temporary tree (one folder per fixture) and runs the real
    ``logitlint fix --unsafe-fixes`` over it, once per test process, as a user would."""
    root = Path(tempfile.mkdtemp(prefix="logitlint-fixed-"))
    atexit.register(shutil.rmtree, root, True)
    for folder in sorted(FIX_DIR.iterdir()):
        if (folder / "before.py").exists():
            (root / folder.name).mkdir()
            shutil.copy(folder / "before.py", root / folder.name / "program.py")
    result = subprocess.run(
        [sys.executable, "-m", "logitlint", *FIX_COMMAND, str(root)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode in (0, 1), f"logitlint fix failed:\n{result.stdout}\n{result.stderr}"
    return root
