"""Benchmark logitlint against its peers on one corpus, in one run.

    python bench/bench.py                      # transformers wheel, every tool (TorchFix takes minutes)
    python bench/bench.py --skip torchfix      # without TorchFix
    python bench/bench.py --corpus timm

It fetches the corpus with pip at a pinned version (bench/corpus.py, never committed) and installs
each tool in its own virtual environment under bench/.venvs/ (pinned versions; TorchFix needs an
older LibCST, and flake8 is measured once bare and once with the logitlint plugin). It prints wall
time, the ratio to ruff, and peak memory (the resident set of the whole process tree, sampled).
It is not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import fetch  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENVS = HERE / ".venvs"
TOOLS = {
    "tools": ["ruff==0.17.6", "torchfix==0.7.0"],
    "flake8": ["flake8==7.5.0"],
    "logitlint": ["flake8==7.5.0", str(ROOT)],
}


def venv(name: str) -> Path:
    folder = VENVS / name
    marker = folder / ".installed"
    wanted = "\n".join(TOOLS[name])
    if not marker.exists() or marker.read_text() != wanted or name == "logitlint":
        if not (folder / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run(
            [
                str(folder / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--upgrade",
                "--force-reinstall" if name == "logitlint" else "--no-input",
                *TOOLS[name],
            ],
            check=True,
        )
        marker.write_text(wanted)
    return folder / "bin"


def _tree_rss(root: int) -> int:
    """Resident memory (bytes) of a process and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            parent, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, ()))
    return total


def measure(command: list[str], cwd: Path) -> tuple[float, int, int]:
    """(wall seconds, peak resident bytes of the process tree, exit code)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(process.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    return elapsed, peak, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="transformers", choices=["transformers", "timm"])
    parser.add_argument("--skip", action="append", default=[], help="ruff, torchfix, flake8, flake8+logitlint")
    args = parser.parse_args()

    package = fetch(args.corpus)
    work = package.parent
    files = sum(1 for _ in package.rglob("*.py"))
    lines = sum(p.read_bytes().count(b"\n") for p in package.rglob("*.py"))
    tools, bare, ours = venv("tools"), venv("flake8"), venv("logitlint")
    cache = work / ".logitlint_bench_cache"
    shutil.rmtree(cache, ignore_errors=True)
    target = package.name
    runs = [
        ("ruff (--no-cache)", "ruff", [str(tools / "ruff"), "check", "--no-cache", "--quiet", target]),
        (
            "logitlint check, cold",
            "logitlint",
            [str(ours / "logitlint"), "check", "--no-source", "--cache-dir", str(cache), target],
        ),
        (
            "logitlint check, warm",
            "logitlint",
            [str(ours / "logitlint"), "check", "--no-source", "--cache-dir", str(cache), target],
        ),
        ("flake8", "flake8", [str(bare / "flake8"), target]),
        ("flake8 + logitlint plugin", "flake8+logitlint", [str(ours / "flake8"), target]),
        ("TorchFix 0.7.0", "torchfix", [str(tools / "torchfix"), target]),
    ]
    print(f"corpus: {args.corpus} {package.parent.name}: {files} files, {lines} lines; {os.cpu_count()} CPUs")
    results = {}
    for label, key, command in runs:
        if key in args.skip:
            continue
        elapsed, peak, code = measure(command, work)
        results[label] = (elapsed, peak)
        print(f"  measured {label}: {elapsed:.2f} s (exit {code})", file=sys.stderr)
    ruff = results.get("ruff (--no-cache)", (None,))[0]
    print(f"{'tool':32} {'wall time':>10} {'x ruff':>8} {'peak memory':>12}")
    for label, (elapsed, peak) in results.items():
        ratio = f"{elapsed / ruff:.2f}" if ruff else "-"
        print(f"{label:32} {elapsed:9.2f}s {ratio:>8} {peak / 2**20:10.0f} MB")
    if "flake8" in results and "flake8 + logitlint plugin" in results:
        base, with_plugin = results["flake8"][0], results["flake8 + logitlint plugin"][0]
        print(f"flake8 plugin overhead: {100 * (with_plugin - base) / base:+.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
