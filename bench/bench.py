"""Benchmark logitlint against its peers on one corpus, in one run.

    python bench/bench.py                      # transformers wheel, every tool (TorchFix takes minutes)
    python bench/bench.py --skip torchfix      # without TorchFix
    python bench/bench.py --corpus timm

It fetches the corpus with pip at a pinned version (bench/corpus.py, never committed) and installs
each tool in its own virtual environment under bench/.venvs/ (pinned versions; TorchFix needs an
older LibCST, and flake8 is measured once bare and once with the logitlint plugin). It prints CPU
time (user + sys of the whole process tree, from ``wait4``: on a shared machine this is the figure
that means the same from run to run), wall time, both as ratios to ruff, peak memory (the resident
set of the whole process tree, sampled) and the load average. Runs are interleaved (``--repeat N``
rounds, the median shown). It also checks 10/25/50/100% subsets of the files and prints µs of CPU
per line, so a cost that grows faster than the corpus shows. It is not part of the test suite.

    python bench/bench.py --skip flake8 --skip flake8+logitlint --skip torchfix   # while iterating
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass
class Sample:
    wall: float  # seconds
    cpu: float  # user + sys seconds of the process and every descendant it waited for
    peak: int  # resident bytes of the process tree, sampled
    code: int


def measure(command: list[str], cwd: Path) -> Sample:
    """Run once; CPU time from ``wait4`` (the child's usage includes the workers it reaped)."""
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
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    sampler.join()
    return Sample(elapsed, usage.ru_utime + usage.ru_stime, peak, process.returncode)


def _lines(files: list[Path]) -> int:
    return sum(p.read_bytes().count(b"\n") for p in files)


def subset(package: Path, percent: int) -> Path:
    """A copy of ``percent``% of the package's files (chosen by a hash of the path, so the same
    files every time; each with its packages' ``__init__.py``), for the growth measurement."""
    if percent >= 100:
        return package
    target = package.parent.parent / "subsets" / f"{package.name}-{percent}" / package.name
    marker = target.parent / ".complete"
    if marker.exists():
        return target
    shutil.rmtree(target.parent, ignore_errors=True)
    for source in sorted(package.rglob("*.py")):
        relative = source.relative_to(package)
        if zlib.crc32(str(relative).encode()) % 100 >= percent:
            continue
        chain = [relative, *(parent / "__init__.py" for parent in relative.parents)]
        for member in chain:
            origin, copy = package / member, target / member
            if origin.exists() and not copy.exists():
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(origin, copy)
    marker.write_text("")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default="transformers", choices=["transformers", "timm"])
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        help="leave out a run: ruff, cold, warm, flake8, flake8+logitlint, torchfix, subsets (repeatable)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds; runs are interleaved, the median is shown")
    parser.add_argument("--subsets", default="10,25,50,100", help="percentages of the files for µs per line")
    parser.add_argument("-j", "--jobs", type=int, default=None, help="logitlint worker processes (default: CPUs)")
    args = parser.parse_args()

    package = fetch(args.corpus)
    files = sorted(package.rglob("*.py"))
    lines = _lines(files)
    tools, bare, ours = venv("tools"), venv("flake8"), venv("logitlint")
    cache = package.parent / ".logitlint_bench_cache"
    jobs = ["-j", str(args.jobs)] if args.jobs else []
    logitlint = [str(ours / "logitlint"), "check", "--no-source", *jobs]
    runs: list[tuple[str, str, list[str], Path, Callable[[], None] | None]] = [
        ("ruff (--no-cache)", "ruff", [str(tools / "ruff"), "check", "--no-cache", "--quiet"], package, None),
        ("logitlint check --no-cache", "cold", [*logitlint, "--no-cache"], package, None),
        (
            "logitlint, empty cache",
            "warm",
            [*logitlint, "--cache-dir", str(cache)],
            package,
            lambda: shutil.rmtree(cache, ignore_errors=True),
        ),
        ("logitlint, warm cache", "warm", [*logitlint, "--cache-dir", str(cache)], package, None),
        ("flake8", "flake8", [str(bare / "flake8")], package, None),
        ("flake8 + logitlint plugin", "flake8+logitlint", [str(ours / "flake8")], package, None),
        ("TorchFix 0.7.0", "torchfix", [str(tools / "torchfix")], package, None),
    ]
    sizes: dict[str, tuple[int, int]] = {}
    if "subsets" not in args.skip:
        for percent in (int(p) for p in args.subsets.split(",")):
            folder = subset(package, percent)
            chosen = sorted(folder.rglob("*.py"))
            label = f"{percent}%"
            sizes[label] = (len(chosen), _lines(chosen))
            if percent < 100:
                runs.append((f"ruff, {label}", "ruff", runs[0][2], folder, None))
                runs.append((f"logitlint --no-cache, {label}", "cold", runs[1][2], folder, None))
    runs = [run for run in runs if run[1] not in args.skip]
    load = os.getloadavg()
    print(
        f"corpus: {args.corpus} {package.parent.name}: {len(files)} files, {lines} lines; {os.cpu_count()} CPUs; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start"
    )
    samples: dict[str, list[Sample]] = {label: [] for label, *_ in runs}
    for round_ in range(args.repeat):  # interleaved: a burst of load on the machine hits every tool alike
        for label, _, command, folder, before in runs:
            if before is not None:
                before()
            result = measure([*command, folder.name], folder.parent)
            samples[label].append(result)
            print(
                f"  [{round_ + 1}] {label}: cpu {result.cpu:.2f} s, wall {result.wall:.2f} s, exit {result.code}",
                file=sys.stderr,
            )
    results = {label: _median(found) for label, found in samples.items()}
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; median of {args.repeat} round(s)")
    ruff = results.get("ruff (--no-cache)")
    print(f"{'tool':34} {'CPU':>9} {'x ruff':>7} {'wall':>9} {'x ruff':>7} {'peak memory':>12}")
    for label, found in results.items():
        if "%" in label:
            continue
        cpu_ratio = f"{found.cpu / ruff.cpu:.2f}" if ruff else "-"
        wall_ratio = f"{found.wall / ruff.wall:.2f}" if ruff else "-"
        print(
            f"{label:34} {found.cpu:8.2f}s {cpu_ratio:>7} {found.wall:8.2f}s {wall_ratio:>7} "
            f"{found.peak / 2**20:10.0f} MB"
        )
    if "flake8" in results and "flake8 + logitlint plugin" in results:
        base, plugin = results["flake8"], results["flake8 + logitlint plugin"]
        print(
            f"flake8 plugin overhead: CPU {100 * (plugin.cpu - base.cpu) / base.cpu:+.1f}%, "
            f"wall {100 * (plugin.wall - base.wall) / base.wall:+.1f}%"
        )
    if sizes:
        print(f"{'subset':8} {'files':>6} {'lines':>9} {'logitlint CPU':>14} {'µs/line':>8} {'ruff CPU':>9} {'x ruff':>7}")
        for label, (count, size) in sizes.items():
            whole = label == "100%"
            ours_run = results.get("logitlint check --no-cache" if whole else f"logitlint --no-cache, {label}")
            ruff_run = results.get("ruff (--no-cache)" if whole else f"ruff, {label}")
            if ours_run is None:
                continue
            ratio = f"{ours_run.cpu / ruff_run.cpu:.2f}" if ruff_run else "-"
            ruff_cpu = f"{ruff_run.cpu:8.2f}s" if ruff_run else "-"
            print(
                f"{label:8} {count:6} {size:9} {ours_run.cpu:13.2f}s {1e6 * ours_run.cpu / size:8.1f} "
                f"{ruff_cpu:>9} {ratio:>7}"
            )
    return 0


def _median(found: list[Sample]) -> Sample:
    ordered = sorted(found, key=lambda s: s.cpu)
    return ordered[(len(ordered) - 1) // 2]


if __name__ == "__main__":
    raise SystemExit(main())
