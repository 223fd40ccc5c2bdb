"""The prefilter must never change results: check a real corpus with it and with every file parsed
whole (``--no-prefilter``), and compare the findings.

    python bench/equivalence.py [transformers|timm]

The test suite runs the same comparison on the project's own programs (tests/test_runs.py); this
is the long run (the whole-file parse of transformers takes several minutes).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import fetch  # noqa: E402


def findings(package: Path, *flags: str) -> list[tuple]:
    result = subprocess.run(
        [sys.executable, "-m", "logitlint", "check", "--no-cache", "--format", "json", *flags, package.name],
        capture_output=True,
        text=True,
        cwd=package.parent,
    )
    data = json.loads(result.stdout)
    return sorted((d["path"], d["line"], d["column"], d["code"], d["message"]) for d in data["diagnostics"]) + [
        ("error", e["path"], e["message"]) for e in data["errors"]
    ]


def main() -> int:
    package = fetch(sys.argv[1] if len(sys.argv) > 1 else "transformers")
    with_prefilter = findings(package)
    whole = findings(package, "--no-prefilter")
    print(f"{package.parent.name}: {len(with_prefilter)} findings with the prefilter, {len(whole)} without")
    if with_prefilter == whole:
        print("identical")
        return 0
    for item in sorted(set(with_prefilter) ^ set(whole)):
        print(("only with prefilter: " if item in with_prefilter else "only without: ") + str(item))
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
