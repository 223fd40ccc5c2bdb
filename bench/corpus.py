"""Real code bases to measure logitlint on, fetched from the package registry at pinned versions.

    python bench/corpus.py            # download and unpack into bench/corpus/ (git-ignored)

Nothing here is committed: the wheels are fetched with ``pip download --no-deps`` and unzipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

# The precision corpus (bench/precision.py checks every one of these).
PINNED = {
    "transformers": "5.24.0",
    "timm": "1.0.31",
    "torch": "2.13.0",
    "torchvision": "0.29.1",
    "diffusers": "0.42.1",
    "speechbrain": "1.1.2",
    "monai": "1.6.1",
    "torchmetrics": "1.9.0",
    "lightning": "2.6.6",
}
CORPUS = Path(os.environ.get("LOGITLINT_CORPUS", Path(__file__).resolve().parent / "corpus"))


def fetch(name: str) -> Path:
    """The unpacked sources of ``name`` (its Python package folder), fetched once."""
    version = PINNED[name]
    target = CORPUS / f"{name}-{version}"
    package = target / name
    if package.is_dir():
        return package
    wheels = CORPUS / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    found = list(wheels.glob(f"{name}-{version}[-+]*.whl"))  # torch, torchvision: +cpu
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", f"{name}=={version}", "-d", str(wheels)],
            check=True,
        )
        found = list(wheels.glob(f"{name}-{version}[-+]*.whl"))  # torch, torchvision: +cpu
    with zipfile.ZipFile(found[0]) as wheel:
        members = [m for m in wheel.namelist() if m.startswith(f"{name}/") and m.endswith(".py")]
        wheel.extractall(target, members)
    return package


if __name__ == "__main__":
    for pkg in sys.argv[1:] or list(PINNED):
        print(fetch(pkg))
