"""The long fuzzing run: the suite's fuzz tests with N times more examples (default 50).

python bench/fuzz.py [N]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

if __name__ == "__main__":
    scale = sys.argv[1] if len(sys.argv) > 1 else "50"
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "LOGITLINT_FUZZ": scale}
    raise SystemExit(
        subprocess.call(
            [sys.executable, "-m", "pytest", "-q", "tests/test_fuzz.py", "-p", "no:cacheprovider"], cwd=root, env=env
        )
    )
