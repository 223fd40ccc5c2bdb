"""Corpus round trip: over real code bases (pinned transformers, timm and torch wheels), `check`
raises nothing, and `fix --unsafe-fixes` on a copy leaves every file parseable and byte-identical
where there were no findings, a second fix changes nothing, and every file keeps its mode and (run as
root, where the copies are given other owners) its owner.

    LOGITLINT_CORPUS=/work/corpus python bench/roundtrip.py [transformers timm torch torchvision]
"""

from __future__ import annotations

import ast
import os
import json
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import fetch  # noqa: E402


def parses(data: bytes) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(data)
        return True
    except (SyntaxError, ValueError):
        return False


def logitlint(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "logitlint", *args], cwd=cwd, capture_output=True, text=True)


def roundtrip(name: str) -> bool:
    package = fetch(name)
    with tempfile.TemporaryDirectory() as temp:
        copy = Path(temp) / name
        shutil.copytree(package, copy)
        files = sorted(copy.rglob("*.py"))
        for i, path in enumerate(files):  # varied modes and owners, to see that fix keeps them
            os.chmod(path, (0o644, 0o640, 0o600, 0o664)[i % 4])
            if os.geteuid() == 0 and i % 3 == 0:
                os.chown(path, 65534, 65534)
        before = {p: p.read_bytes() for p in files}
        owners = {p: _owner(p) for p in files}
        started = time.perf_counter()
        checked = logitlint("check", "--no-cache", "--format", "json", name, cwd=Path(temp))
        check_seconds = time.perf_counter() - started
        crashed = "Traceback" in checked.stderr or checked.returncode not in (0, 1, 2)
        data = json.loads(checked.stdout) if not crashed else {"diagnostics": [], "errors": []}
        with_findings = {(Path(temp) / d["path"]).resolve() for d in data["diagnostics"]}
        started = time.perf_counter()
        fixed = logitlint("fix", "--unsafe-fixes", "--no-cache", name, cwd=Path(temp))
        fix_seconds = time.perf_counter() - started
        crashed = crashed or "Traceback" in fixed.stderr
        changed = [p for p in files if p.read_bytes() != before[p]]
        after = {p: p.read_bytes() for p in files}
        again = logitlint("fix", "--unsafe-fixes", "--no-cache", name, cwd=Path(temp))
        crashed = crashed or "Traceback" in again.stderr
        not_idempotent = [p for p in files if p.read_bytes() != after[p]]
        lost_owner = [p for p in files if _owner(p) != owners[p]]
        broken = [p for p in files if parses(before[p]) and not parses(p.read_bytes())]
        unexpected = [p for p in changed if p.resolve() not in with_findings]
        print(
            f"== {name}: {len(files)} files; check {check_seconds:.1f} s: {len(data['diagnostics'])} findings in "
            f"{len(with_findings)} files, {len(data['errors'])} not checked; fix --unsafe-fixes {fix_seconds:.1f} s: "
            f"{len(changed)} files changed"
        )
        for error in data["errors"]:
            print(f"   not checked: {error['path']}: {error['message']}")
        for path in broken:
            print(f"   BROKEN by fix: {path.relative_to(temp)}")
        for path in not_idempotent:
            print(f"   CHANGED by a second fix: {path.relative_to(temp)}")
        for path in lost_owner:
            print(f"   OWNER OR MODE LOST: {path.relative_to(temp)}")
        for path in unexpected:
            print(f"   CHANGED without a finding: {path.relative_to(temp)}")
        if crashed:
            print("   CRASH:", checked.stderr[-2000:], fixed.stderr[-2000:])
        ok = not (broken or unexpected or crashed or not_idempotent or lost_owner)
        print(
            f"   {'ok' if ok else 'FAILED'}: every file parses, files without findings are byte-identical, "
            f"a second fix changed nothing, owners and modes kept ({len(changed)} rewritten files checked)"
        )
        return ok


def _owner(path: Path) -> tuple[int, int, int]:
    info = os.stat(path)
    return info.st_uid, info.st_gid, info.st_mode & 0o7777


if __name__ == "__main__":
    names = sys.argv[1:] or ["transformers", "timm", "torch", "torchvision"]
    raise SystemExit(0 if all([roundtrip(n) for n in names]) else 1)
