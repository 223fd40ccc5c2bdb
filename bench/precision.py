"""Precision on real code: run ``logitlint check`` over the pinned wheels (bench/corpus.py PINNED)
and print every finding and the counts per wheel and rule, for review by hand.

    LOGITLINT_CORPUS=/work/corpus python bench/precision.py [NAME ...]   # default: every pinned wheel

The check runs without the result cache, so the figures are those of the installed logitlint.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import time
from pathlib import Path

from corpus import PINNED, fetch


def check(name: str) -> collections.Counter[str]:
    package = fetch(name)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "logitlint", "check", "--no-cache", "--format", "json", str(package)],
        capture_output=True,
        text=True,
        cwd=package.parent,
    )
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"logitlint failed on {name} (exit {result.returncode}):\n{result.stderr}")
    data = json.loads(result.stdout)
    files = sum(1 for _ in package.rglob("*.py"))
    print(
        f"== {name} {PINNED[name]}: {files} files, {len(data['diagnostics'])} findings, "
        f"{len(data['errors'])} files not checked, {elapsed:.1f} s"
    )
    for d in data["diagnostics"]:
        print(f"{d['path']}:{d['line']}:{d['column']}: {d['code']} [{d['severity']}] {d['message']}")
    counts = collections.Counter(d["code"] for d in data["diagnostics"])
    for code, n in sorted(counts.items()):
        print(f"  {code}: {n}")
    for error in data["errors"]:
        print(f"  not checked: {error['path']}: {error['message']}")
    return counts


def main(names: list[str]) -> int:
    unknown = [n for n in names if n not in PINNED]
    if unknown:
        print(f"not pinned in bench/corpus.py: {', '.join(unknown)}", file=sys.stderr)
        return 2
    table = {name: check(name) for name in names}
    codes = sorted(set().union(*table.values()))
    print("\n== findings per wheel and rule")
    print("| wheel | total | " + " | ".join(codes) + " |")
    print("|---|---|" + "---|" * len(codes))
    for name, counts in table.items():
        cells = " | ".join(str(counts.get(code, 0)) for code in codes)
        print(f"| {name} {PINNED[name]} | {sum(counts.values())} | {cells} |")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main(sys.argv[1:] or list(PINNED)))
