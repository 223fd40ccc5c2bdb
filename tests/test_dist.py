"""The release path: ``python -m build`` makes a wheel and an sdist (the wheel built from the sdist,
so the sdist is complete), and each, installed into a fresh virtual environment with nothing but its
own dependencies, checks the shipped example from the command line and through flake8."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import logitlint
from tests.conftest import ROOT, copy_project

EXAMPLE = ROOT / "examples" / "train_classifier.py"


def run(*command, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    # A fresh environment sees only what is installed in it: no PYTHONPATH from the test's own run.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # A copy without build/ or *.egg-info/ left by an editable install, as a fresh clone has it.
    source = copy_project(out / "source")
    result = run(sys.executable, "-m", "build", "--outdir", out / "dist", source)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "dist"


def artifact(dist: Path, suffix: str) -> Path:
    (path,) = dist.glob(f"logitlint-*{suffix}")
    return path


def test_the_version_has_one_source_and_names_the_artifacts(dist):
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and 'attr = "logitlint.__version__"' in pyproject
    version = logitlint.__version__
    assert artifact(dist, ".whl").name == f"logitlint-{version}-py3-none-any.whl"
    assert artifact(dist, ".tar.gz").name == f"logitlint-{version}.tar.gz"
    with zipfile.ZipFile(artifact(dist, ".whl")) as wheel:
        metadata = wheel.read(f"logitlint-{version}.dist-info/METADATA").decode()
        entry_points = wheel.read(f"logitlint-{version}.dist-info/entry_points.txt").decode()
    assert f"\nVersion: {version}\n" in metadata
    runtime = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert runtime and not any("torch" in line for line in runtime)  # torch stays out of the runtime dependencies
    assert "LGT = logitlint.flake8_plugin:LogitlintChecker" in entry_points
    assert "logitlint = logitlint.__main__:run" in entry_points


def test_the_sdist_carries_the_example_and_the_hooks(dist):
    with tarfile.open(artifact(dist, ".tar.gz")) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"README.md", "pyproject.toml", ".pre-commit-hooks.yaml", "examples/train_classifier.py"} <= names
    assert "docs/rules.md" in names and "src/logitlint/py.typed" in names


@pytest.mark.parametrize("suffix", [".whl", ".tar.gz"])
def test_installed_into_a_fresh_venv_it_checks_the_example(dist, tmp_path, suffix):
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", venv).returncode == 0
    python, bin_dir = venv / "bin" / "python", venv / "bin"
    flake8 = f"flake8=={importlib.metadata.version('flake8')}"
    installed = run(python, "-m", "pip", "install", "--quiet", artifact(dist, suffix), flake8)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]

    work = tmp_path / "work"  # away from the source tree, so only the installed package can answer
    work.mkdir()
    shutil.copy(EXAMPLE, work / EXAMPLE.name)
    where = run(python, "-c", "import logitlint; print(logitlint.__file__)", cwd=work)
    assert str(venv) in where.stdout, where.stdout + where.stderr
    assert run(python, "-c", "import torch", cwd=work).returncode != 0  # nothing pulled torch in

    version = run(bin_dir / "logitlint", "--version", cwd=work)
    assert version.stdout.strip() == f"logitlint {logitlint.__version__}"

    check = run(bin_dir / "logitlint", "check", "--no-source", "--no-cache", EXAMPLE.name, cwd=work)
    assert check.returncode == 1, check.stdout + check.stderr
    found = {line.split()[1] for line in check.stdout.splitlines() if line.startswith(EXAMPLE.name + ":")}
    assert found == {"LGT101", "LGT201", "LGT302"}, check.stdout

    plugin = run(bin_dir / "flake8", "--isolated", "--select", "LGT", EXAMPLE.name, cwd=work)
    assert plugin.returncode == 1, plugin.stdout + plugin.stderr
    assert {line.split()[1] for line in plugin.stdout.splitlines()} == found
