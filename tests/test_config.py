"""[tool.logitlint] in pyproject.toml, command-line overrides, and clear errors for bad config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli

TWO_FINDINGS = (FIXTURES / "fixes" / "LGT101-direct" / "before.py").read_text() + (
    "\n\ndef logp(x):\n    import torch\n    return torch.log(F.softmax(x, dim=1))\n"
)


def codes(folder: Path, *args: str) -> set[tuple[str, str]]:
    result = run_cli("check", "--format", "json", *args, ".", cwd=folder)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return {(Path(d["path"]).as_posix(), d["code"]) for d in json.loads(result.stdout)["diagnostics"]}


@pytest.fixture
def project(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "train.py").write_text(TWO_FINDINGS)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_train.py").write_text(TWO_FINDINGS)
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "generated.py").write_text(TWO_FINDINGS)
    return tmp_path


def write_config(folder: Path, body: str) -> None:
    (folder / "pyproject.toml").write_text("[project]\nname = 'x'\n\n[tool.logitlint]\n" + body)


def test_defaults_exclude_build(project):
    assert codes(project) == {(f, c) for f in ("pkg/train.py", "tests/test_train.py") for c in ("LGT101", "LGT201")}


def test_select_ignore_and_per_file_ignores(project):
    write_config(project, 'select = ["LGT2"]\n')
    assert {c for _, c in codes(project)} == {"LGT201"}
    write_config(project, 'ignore = ["LGT201"]\nper-file-ignores = { "tests/*" = ["LGT1"] }\n')
    assert codes(project) == {("pkg/train.py", "LGT101")}
    write_config(project, 'select = ["LGT2"]\nextend-select = ["LGT101"]\n')
    assert {c for _, c in codes(project)} == {"LGT101", "LGT201"}


def test_command_line_overrides_the_file(project):
    write_config(project, 'select = ["LGT2"]\nignore = ["LGT101"]\n')
    assert {c for _, c in codes(project)} == {"LGT201"}
    assert {c for _, c in codes(project, "--select", "ALL")} == {"LGT201"}  # --select replaces select; ignore stays
    assert {c for _, c in codes(project, "--select", "ALL", "--ignore", "LGT2")} == {"LGT101"}  # --ignore replaces it


def test_exclude_and_extend_exclude(project):
    write_config(project, 'extend-exclude = ["tests"]\n')
    assert {f for f, _ in codes(project)} == {"pkg/train.py"}
    write_config(project, "exclude = []\n")
    assert {f for f, _ in codes(project)} == {"pkg/train.py", "tests/test_train.py", "build/generated.py"}
    write_config(project, "")
    named = run_cli("check", "--no-source", "build/generated.py", cwd=project)
    assert "LGT101" in named.stdout  # a file named on the command line is checked...
    forced = run_cli("check", "--no-source", "--force-exclude", "build/generated.py", cwd=project)
    assert "LGT101" not in forced.stdout  # ...unless --force-exclude (what the pre-commit hook passes)


def test_config_is_found_walking_up(project):
    write_config(project, 'ignore = ["LGT201"]\n')
    result = run_cli("check", "--format", "json", "train.py", cwd=project / "pkg")
    assert {d["code"] for d in json.loads(result.stdout)["diagnostics"]} == {"LGT101"}


def test_unsafe_fixes_from_config(project):
    target = project / "pkg" / "train.py"
    write_config(project, "unsafe-fixes = true\n")
    run_cli("fix", "pkg/train.py", cwd=project)
    assert "F.cross_entropy(logits, target)" in target.read_text()
    target.write_text(TWO_FINDINGS)
    run_cli("fix", "--no-unsafe-fixes", "pkg/train.py", cwd=project)
    assert "F.softmax(logits, dim=1), target" in target.read_text()


@pytest.mark.parametrize(
    "body,key",
    [
        ('selct = ["LGT1"]\n', "selct"),
        ('select = "LGT1"\n', "select"),
        ('ignore = ["XYZ1"]\n', "ignore"),
        ('per-file-ignores = ["tests/*"]\n', "per-file-ignores"),
        ("unsafe-fixes = 1\n", "unsafe-fixes"),
        ('extend_select = ["LGT1"]\n', "extend_select"),
        ("select = [\n", "invalid TOML"),
    ],
)
def test_bad_config_names_the_key_and_exits_2(project, body, key):
    write_config(project, body)
    result = run_cli("check", ".", cwd=project)
    assert result.returncode == 2
    assert key in result.stderr and "pyproject.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_statistics(project):
    result = run_cli("check", "--statistics", "--no-source", ".", cwd=project)
    assert "    2\tLGT101\t[!] softmax-into-cross-entropy" in result.stdout
    assert "    2\tLGT201\t[*] log-of-softmax" in result.stdout


def test_folders_above_the_checked_folder_do_not_count(tmp_path):
    inner = tmp_path / "build" / "project"
    inner.mkdir(parents=True)
    (inner / "train.py").write_text(TWO_FINDINGS)
    assert {c for _, c in codes(inner)} == {"LGT101", "LGT201"}
