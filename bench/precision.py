"""Precision on real code: run ``logitlint check`` over pinned transformers and timm wheels and
print every finding and the counts per rule, for review by hand.

    python bench/precision.py [transformers timm]
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import time

from corpus import fetch


def main(names: list[str]) -> int:
    for name in names:
        package = fetch(name)
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "logitlint", "check", "--format", "json", str(package)],
            capture_output=True,
            text=True,
            cwd=package.parent,
        )
        elapsed = time.perf_counter() - started
        data = json.loads(result.stdout)
        files = sum(1 for _ in package.rglob("*.py"))
        print(
            f"== {name}: {files} files, {len(data['diagnostics'])} findings, "
            f"{len(data['errors'])} files not checked, {elapsed:.1f} s"
        )
        for d in data["diagnostics"]:
            print(f"{d['path']}:{d['line']}:{d['column']}: {d['code']} {d['message']}")
        counts = collections.Counter(d["code"] for d in data["diagnostics"])
        for code, n in sorted(counts.items()):
            print(f"  {code}: {n}")
        for error in data["errors"]:
            print(f"  not checked: {error['path']}: {error['message']}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
    raise SystemExit(main(sys.argv[1:] or ["transformers", "timm"]))
