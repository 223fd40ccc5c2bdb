"""Compare logitlint source trees on real code: cold CPU against ruff, and the findings themselves.

    python bench/compare_trees.py speed base=/tmp/old/src head=src            # transformers, 3 rounds
    python bench/compare_trees.py speed --rounds 5 -j 1 base=/tmp/old/src head=src
    python bench/compare_trees.py findings base=/tmp/old/src head=src         # all nine wheels
    python bench/compare_trees.py findings --wheel timm base=/tmp/old/src head=src

A tree is a folder holding the ``logitlint`` package (a checkout's ``src/``, or ``git archive REV
src | tar -x -C DIR``); each is run with ``PYTHONPATH`` pointing at it, with this interpreter. (``bench.py``
measures the working tree only, since it installs it.) ``speed`` interleaves ruff and every tree,
``--rounds`` times, and prints the median CPU (user + sys of the process tree), wall time, peak memory
and the load average. ``findings`` runs ``logitlint check --no-cache --format json`` with every tree on
every wheel and prints, per wheel, whether the findings and errors are identical to the first tree's,
and the ones that are not. Never snapshot a tree you are editing while it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import measure, venv  # noqa: E402
from corpus import PINNED, fetch  # noqa: E402


def _trees(pairs: list[str]) -> list[tuple[str, str]]:
    trees = []
    for pair in pairs:
        label, sep, folder = pair.partition("=")
        if not sep or not (Path(folder) / "logitlint" / "__init__.py").is_file():
            raise SystemExit(f"expected LABEL=DIR with DIR/logitlint/__init__.py, got {pair!r}")
        trees.append((label, str(Path(folder).resolve())))
    return trees


def _logitlint(folder: str, *args: str) -> list[str]:
    return ["env", f"PYTHONPATH={folder}", sys.executable, "-m", "logitlint", *args]


def speed(trees: list[tuple[str, str]], rounds: int, jobs: str, corpus: str) -> None:
    root = fetch(corpus).parent
    ruff = str(venv("tools") / "ruff")
    samples: dict[str, list] = {"ruff": [], **{label: [] for label, _ in trees}}
    print(f"{corpus}: load at start {os.getloadavg()[0]:.2f}", flush=True)
    for _ in range(rounds):
        samples["ruff"].append(measure([ruff, "check", "--no-cache", "--exit-zero", "-q", "."], root))
        for label, folder in trees:
            samples[label].append(measure(_logitlint(folder, "check", "--no-cache", "-q", "-j", jobs, "."), root))
    ruff_cpu = statistics.median(s.cpu for s in samples["ruff"])
    ruff_wall = statistics.median(s.wall for s in samples["ruff"])
    for label, runs in samples.items():
        cpu, wall = statistics.median(s.cpu for s in runs), statistics.median(s.wall for s in runs)
        peak = max(s.peak for s in runs) / 2**20
        each = ", ".join(f"{s.cpu:.2f}" for s in runs)
        print(
            f"{label:12s} CPU {cpu:7.2f} s ({cpu / ruff_cpu:5.2f}x ruff)  wall {wall:7.2f} s "
            f"({wall / ruff_wall:5.2f}x)  peak {peak:4.0f} MB  CPU per round: {each}"
        )
    print(f"load at end {os.getloadavg()[0]:.2f}")


def _findings(folder: str, root: Path) -> tuple[set[str], set[str]]:
    result = subprocess.run(
        _logitlint(folder, "check", "--no-cache", "--format", "json", "."), cwd=root, capture_output=True, text=True
    )
    data = json.loads(result.stdout)
    key = lambda d: json.dumps(d, sort_keys=True)  # noqa: E731
    return set(map(key, data["diagnostics"])), set(map(key, data["errors"]))


def findings(trees: list[tuple[str, str]], wheels: list[str]) -> int:
    differ = 0
    for wheel in wheels:
        root = fetch(wheel).parent
        (first, (base, base_errors)), *others = [(label, _findings(folder, root)) for label, folder in trees]
        for label, (found, errors) in others:
            same = found == base and errors == base_errors
            differ += not same
            print(f"{wheel}: {first} {len(base)}, {label} {len(found)}: {'identical' if same else 'DIFFERENT'}")
            for line in sorted(found - base):
                d = json.loads(line)
                print(f"  + {d['path']}:{d['line']}:{d['column']} {d['code']} {d['message'][:160]}")
            for line in sorted(base - found):
                d = json.loads(line)
                print(f"  - {d['path']}:{d['line']}:{d['column']} {d['code']}")
            for line in sorted(errors ^ base_errors):
                print(f"  error {'+' if line in errors else '-'} {line[:200]}")
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["speed", "findings"])
    parser.add_argument("trees", nargs="+", metavar="LABEL=DIR")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-j", "--jobs", default="2")
    parser.add_argument("--corpus", default="transformers", choices=sorted(PINNED))
    parser.add_argument("--wheel", action="append", choices=sorted(PINNED), help="repeatable (default: all nine)")
    args = parser.parse_args()
    trees = _trees(args.trees)
    if args.what == "speed":
        speed(trees, args.rounds, args.jobs, args.corpus)
        return 0
    if len(trees) < 2:
        raise SystemExit("findings: give at least two trees")
    return findings(trees, args.wheel or list(PINNED))


if __name__ == "__main__":
    sys.exit(main())
