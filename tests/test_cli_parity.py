"""Issue 15: the command line as a ruff or flake8 user expects it, driven as a subprocess.

Point 3: `check --fix/--unsafe-fixes/--diff`, "did you mean". Point 6: flag parity (fix's output
flags, -q/-s/-v, --config, --isolated, --show-settings, --show-files, --output-format,
--exit-non-zero-on-fix, --fail-on, --watch, a mistyped pyproject key). Point 7: --add-noqa and the
file-level noqa comments, against a real flake8. Point 9: --statistics prints only the table.
"""

from __future__ import annotations

import json
import os
import queue
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli

# LGT101 (error, unsafe fix) on line 5
DOUBLE_SOFTMAX = "import torch.nn.functional as F\n\n\ndef step(logits, y):\n    return F.cross_entropy(F.softmax(logits, dim=1), y)\n"
# LGT201 (warning, safe fix) on line 5
LOG_SOFTMAX = "import torch\n\n\ndef logp(x):\n    return torch.log(torch.softmax(x, dim=1))  # keep this comment\n"
FIXED_LOG_SOFTMAX = "import torch\n\n\ndef logp(x):\n    return torch.log_softmax(x, dim=1)  # keep this comment\n"
# LGT302 (info, safe fix) on line 5
ARGMAX = "import torch.nn.functional as F\n\n\ndef predict(logits):\n    return F.softmax(logits, dim=1).argmax(dim=1)\n"
BROKEN = "import torch\ndef f(:\n    return torch.log(x)\n"
CLEAN = "import torch.nn.functional as F\n\n\ndef step(logits, y):\n    return F.cross_entropy(logits, y)\n"


def codes_in(output: str) -> list[str]:
    return [line.split()[1] for line in output.splitlines() if ": LGT" in line]


def check_json(*args: str, cwd: Path | None = None) -> list[str]:
    result = run_cli("check", "--no-cache", "--output-format", "json", *args, cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return [d["code"] for d in json.loads(result.stdout)["diagnostics"]]


# --- point 3: check --fix / --unsafe-fixes / --diff; did you mean ----------------------------------
def test_check_fix_applies_the_safe_fixes_as_fix_does(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        folder.mkdir()
        (folder / "a.py").write_text(LOG_SOFTMAX)
        (folder / "b.py").write_text(DOUBLE_SOFTMAX)
    by_check = run_cli("check", "--fix", "--no-cache", str(one))
    by_fix = run_cli("fix", "--no-cache", str(two))
    assert (one / "a.py").read_text() == FIXED_LOG_SOFTMAX
    assert (one / "b.py").read_text() == DOUBLE_SOFTMAX  # unsafe: not without --unsafe-fixes
    assert by_check.returncode == by_fix.returncode == 1  # LGT101 remains
    assert [(p.name, p.read_text()) for p in sorted(one.iterdir())] == [
        (p.name, p.read_text()) for p in sorted(two.iterdir())
    ]
    assert "Fixed 1 finding in 1 file." in by_check.stdout


def test_check_fix_unsafe_fixes_applies_value_changing_fixes(tmp_path):
    path = tmp_path / "b.py"
    path.write_text(DOUBLE_SOFTMAX)
    result = run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "F.cross_entropy(logits, y)" in path.read_text()


def test_check_diff_shows_the_fix_and_changes_nothing(tmp_path):
    path = tmp_path / "a.py"
    path.write_text(LOG_SOFTMAX)
    result = run_cli("check", "--diff", "--no-cache", str(path))
    assert result.returncode == 1
    assert "-    return torch.log(torch.softmax(x, dim=1))  # keep this comment" in result.stdout
    assert "+    return torch.log_softmax(x, dim=1)  # keep this comment" in result.stdout
    assert path.read_text() == LOG_SOFTMAX
    assert run_cli("check", "--diff", "--no-cache", str(path), "--exit-zero").returncode == 0


def test_check_no_fix_only_reports(tmp_path):
    path = tmp_path / "a.py"
    path.write_text(LOG_SOFTMAX)
    result = run_cli("check", "--no-fix", "--no-cache", str(path))
    assert result.returncode == 1 and path.read_text() == LOG_SOFTMAX
    assert "Found 1 finding." in result.stdout


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["chek", "."], "unknown command 'chek'; did you mean `logitlint check .`?"),
        (["fxi", "src", "--diff"], "did you mean `logitlint fix src --diff`?"),
        (["train.py"], "'train.py' is not a command; did you mean `logitlint check train.py`?"),
        (["src/", "--fix"], "did you mean `logitlint check src/ --fix`?"),
        (["frobnicate"], "unknown command 'frobnicate' (commands: check, fix, rule, rules, lsp)"),
    ],
)
def test_a_mistyped_command_says_what_was_meant(tmp_path, argv, expected):
    result = run_cli(*argv, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "usage: logitlint" in result.stderr and "Traceback" not in result.stderr


def test_a_mistyped_option_says_what_was_meant(tmp_path):
    result = run_cli("check", "--fxi", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "unrecognized arguments: --fxi (--fxi: did you mean --fix?)" in result.stderr
    result = run_cli("fix", "--unsfe-fixes", ".", cwd=tmp_path)
    assert "did you mean --unsafe-fixes?" in result.stderr


def test_options_before_a_command_still_work():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("logitlint ")


# --- point 6: flag parity --------------------------------------------------------------------------
def test_fix_accepts_no_source_statistics_and_exit_zero(tmp_path):
    (tmp_path / "a.py").write_text(LOG_SOFTMAX)
    (tmp_path / "b.py").write_text(DOUBLE_SOFTMAX)
    result = run_cli("fix", "--no-cache", "--no-source", "--statistics", "--exit-zero", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "    1\tLGT101\t[!] softmax-into-cross-entropy" in result.stdout  # what remains
    assert "LGT201" not in result.stdout  # fixed
    assert "Fixed 1 finding in 1 file." in result.stdout
    (tmp_path / "a.py").write_text(LOG_SOFTMAX)
    result = run_cli("fix", "--no-cache", "--no-source", str(tmp_path))
    assert result.returncode == 1
    assert "b.py:5:28: LGT101" in result.stdout and " | " not in result.stdout


def test_quiet_prints_findings_without_the_summary(tmp_path):
    (tmp_path / "b.py").write_text(DOUBLE_SOFTMAX)
    result = run_cli("check", "-q", "--no-cache", str(tmp_path))
    assert result.returncode == 1
    assert codes_in(result.stdout) == ["LGT101"]
    assert "Found" not in result.stdout and "fixable" not in result.stdout
    (tmp_path / "b.py").write_text(CLEAN)
    result = run_cli("check", "--quiet", "--no-cache", str(tmp_path))
    assert (result.returncode, result.stdout) == (0, "")


def test_silent_prints_nothing_but_keeps_the_exit_code(tmp_path):
    (tmp_path / "b.py").write_text(DOUBLE_SOFTMAX)
    result = run_cli("check", "-s", "--no-cache", str(tmp_path))
    assert (result.returncode, result.stdout) == (1, "")
    (tmp_path / "broken.py").write_text(BROKEN)
    result = run_cli("check", "--silent", "--no-cache", str(tmp_path))
    assert result.returncode == 2 and result.stdout == ""
    assert "broken.py" in result.stderr  # errors still reach standard error


def test_verbose_names_the_configuration_and_counts(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.logitlint]\nignore = ["LGT3"]\n')
    (tmp_path / "b.py").write_text(DOUBLE_SOFTMAX)
    (tmp_path / "plain.py").write_text("x = 1\n")
    result = run_cli("check", "-v", "--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert f"logitlint: configuration for .: {tmp_path / 'pyproject.toml'}" in result.stderr
    assert "logitlint: 2 files in " in result.stderr
    assert "(1 skipped by the prefilter" in result.stderr
    assert "logitlint:" not in result.stdout


def test_quiet_and_verbose_exclude_each_other(tmp_path):
    result = run_cli("check", "-q", "-v", ".", cwd=tmp_path)
    assert result.returncode == 2 and "not allowed with argument" in result.stderr


def test_config_file_replaces_the_discovered_configuration(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.logitlint]\nselect = ["LGT1"]\n')
    (project / "train.py").write_text(DOUBLE_SOFTMAX + LOG_SOFTMAX)
    assert check_json(".", cwd=project) == ["LGT101"]
    elsewhere = tmp_path / "settings" / "logitlint.toml"
    elsewhere.parent.mkdir()
    elsewhere.write_text('select = ["LGT2"]\n')
    assert check_json("--config", str(elsewhere), ".", cwd=project) == ["LGT201"]
    other = tmp_path / "other.toml"
    other.write_text('[tool.logitlint]\nignore = ["LGT201"]\n')  # the pyproject layout is read too
    assert check_json("--config", str(other), ".", cwd=project) == ["LGT101"]


def test_config_file_errors_are_clear(tmp_path):
    (tmp_path / "train.py").write_text(DOUBLE_SOFTMAX)
    result = run_cli("check", "--config", "missing.toml", ".", cwd=tmp_path)
    assert result.returncode == 2 and "--config missing.toml: no such file" in result.stderr
    (tmp_path / "bad.toml").write_text('selct = ["LGT1"]\n')
    result = run_cli("check", "--config", "bad.toml", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "selct: unknown key (did you mean 'select'?)" in result.stderr
    assert "Traceback" not in result.stderr


def test_isolated_ignores_every_configuration_file(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.logitlint]\nignore = ["LGT101"]\nexclude = ["train.py"]\n')
    (tmp_path / "train.py").write_text(DOUBLE_SOFTMAX)
    assert check_json(".", cwd=tmp_path) == []
    assert check_json("--isolated", ".", cwd=tmp_path) == ["LGT101"]
    result = run_cli("check", "--isolated", "--config", "pyproject.toml", ".", cwd=tmp_path)
    assert result.returncode == 2 and "cannot be used together" in result.stderr


@pytest.mark.parametrize(
    ("key", "hint"),
    [("selct", "select"), ("unsafe_fixes", "unsafe-fixes"), ("per-file-ignore", "per-file-ignores"), ("ignores", "ignore")],
)
def test_a_mistyped_pyproject_key_gets_did_you_mean(tmp_path, key, hint):
    (tmp_path / "pyproject.toml").write_text(f"[tool.logitlint]\n{key} = []\n")
    (tmp_path / "train.py").write_text(DOUBLE_SOFTMAX)
    result = run_cli("check", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert f"{key}: unknown key (did you mean '{hint}'?)" in result.stderr


def test_a_key_far_from_every_known_one_gets_no_guess(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.logitlint]\nline-length = 88\n")
    result = run_cli("check", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "line-length: unknown key; known keys: select" in result.stderr


def test_show_settings_prints_the_resolved_settings(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.logitlint]\nignore = ["LGT3"]\nper-file-ignores = { "tests/*" = ["LGT2"] }\n'
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(LOG_SOFTMAX)
    result = run_cli("check", "--show-settings", "tests/test_x.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Resolved settings for: tests/test_x.py"
    assert lines[1] == f"Settings path: {tmp_path / 'pyproject.toml'}"
    assert 'ignore = ["LGT3"]' in lines
    assert "unsafe-fixes = false" in lines
    enabled = lines[-1]
    assert enabled.startswith("# enabled rules for this file (")
    assert "LGT101" in enabled and "LGT201" not in enabled and "LGT301" not in enabled
    assert "LGT" not in " ".join(codes_in(result.stdout))  # nothing was checked
    isolated = run_cli("check", "--show-settings", "--isolated", "tests/test_x.py", cwd=tmp_path)
    assert "Settings path: none (--isolated)" in isolated.stdout and "ignore = []" in isolated.stdout


def test_show_files_lists_what_would_be_checked(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.logitlint]\nextend-exclude = ["legacy"]\n')
    for name in ("a.py", "legacy/old.py", "nb.ipynb", "build/gen.py", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(DOUBLE_SOFTMAX)
    result = run_cli("check", "--show-files", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["a.py", "nb.ipynb"]
    missing = run_cli("fix", "--show-files", "nowhere.py", cwd=tmp_path)
    assert missing.returncode == 2 and "nowhere.py: error: no such file or directory" in missing.stderr
    assert (tmp_path / "a.py").read_text() == DOUBLE_SOFTMAX  # fix --show-files fixed nothing


def test_output_format_is_format_and_knows_ruffs_text_variants(tmp_path):
    (tmp_path / "b.py").write_text(DOUBLE_SOFTMAX)
    as_format = run_cli("check", "--no-cache", "--format", "json", ".", cwd=tmp_path)
    as_output_format = run_cli("check", "--no-cache", "--output-format", "json", ".", cwd=tmp_path)
    assert as_format.stdout == as_output_format.stdout
    assert json.loads(as_format.stdout)["diagnostics"][0]["code"] == "LGT101"
    concise = run_cli("check", "--no-cache", "--output-format", "concise", ".", cwd=tmp_path)
    full = run_cli("check", "--no-cache", "--output-format", "full", ".", cwd=tmp_path)
    assert codes_in(concise.stdout) == codes_in(full.stdout) == ["LGT101"]
    assert " | " not in concise.stdout and " | " in full.stdout
    sarif = run_cli("fix", "--no-cache", "--output-format", "sarif", ".", cwd=tmp_path)
    assert json.loads(sarif.stdout)["version"] == "2.1.0"


def test_exit_non_zero_on_fix(tmp_path):
    path = tmp_path / "a.py"
    path.write_text(LOG_SOFTMAX)
    assert run_cli("fix", "--no-cache", str(path)).returncode == 0  # fixed, nothing remains
    path.write_text(LOG_SOFTMAX)
    result = run_cli("check", "--fix", "--exit-non-zero-on-fix", "--no-cache", str(path))
    assert result.returncode == 1 and path.read_text() == FIXED_LOG_SOFTMAX
    result = run_cli("fix", "--exit-non-zero-on-fix", "--no-cache", str(path))
    assert result.returncode == 0  # nothing left to fix: nothing fixed


@pytest.mark.parametrize(
    ("program", "fail_on", "code"),
    [
        (DOUBLE_SOFTMAX, "error", 1),
        (LOG_SOFTMAX, "error", 0),  # a warning
        (LOG_SOFTMAX, "warning", 1),
        (ARGMAX, "warning", 0),  # information
        (ARGMAX, "info", 1),
        (ARGMAX, None, 1),  # the default: every finding fails
    ],
)
def test_fail_on_severity(tmp_path, program, fail_on, code):
    (tmp_path / "x.py").write_text(program)
    flags = ["--fail-on", fail_on] if fail_on else []
    result = run_cli("check", "--no-cache", *flags, ".", cwd=tmp_path)
    assert result.returncode == code, result.stdout
    assert len(codes_in(result.stdout)) == 1  # reported either way


def test_fail_on_rejects_an_unknown_severity(tmp_path):
    result = run_cli("check", "--fail-on", "fatal", ".", cwd=tmp_path)
    assert result.returncode == 2 and "invalid choice: 'fatal'" in result.stderr


class Lines:
    """A subprocess's standard output read line by line in a thread, with timeouts."""

    def __init__(self, process: subprocess.Popen):
        self.queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(process.stdout,), daemon=True).start()

    def _pump(self, stream) -> None:
        for line in stream:
            self.queue.put(line)

    def until(self, marker: str, timeout: float = 60) -> str:
        seen, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(line)
            if marker in line:
                return "".join(seen)
        raise AssertionError(f"no {marker!r} within {timeout}s; read: {''.join(seen)!r}")


def test_watch_checks_again_when_a_file_changes(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(CLEAN)
    process = subprocess.Popen(
        [sys.executable, "-m", "logitlint", "check", "--watch", "--no-source", "--no-cache", "."],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        lines = Lines(process)
        first = lines.until("Watching for file changes.")
        assert "Starting logitlint in watch mode" in first and "All checks passed." in first
        time.sleep(0.05)
        path.write_text(DOUBLE_SOFTMAX)
        second = lines.until("Watching for file changes.")
        assert "train.py:5:28: LGT101" in second and "Found 1 finding." in second
        (tmp_path / "more.py").write_text(LOG_SOFTMAX)  # a new file counts too
        third = lines.until("Watching for file changes.")
        assert "more.py:5:12: LGT201" in third and "Found 2 findings." in third
        (tmp_path / "pyproject.toml").write_text('[tool.logitlint]\nignore = ["LGT2"]\n')  # so does the configuration
        fourth = lines.until("Watching for file changes.")
        assert "LGT201" not in fourth and "Found 1 finding." in fourth
        assert process.poll() is None  # still watching
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_watch_refuses_standard_input(tmp_path):
    result = run_cli("check", "--watch", "-", stdin="")
    assert result.returncode == 2 and "--watch needs files to watch" in result.stderr


# --- point 7: --add-noqa and file-level noqa ------------------------------------------------------
def flake8_codes(*args: Path | str, cwd: Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select", "LGT", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stderr
    return [line.split()[1] for line in result.stdout.splitlines()]


MANY = (
    "import torch\n"
    "import torch.nn.functional as F\n"
    "\n"
    "\n"
    "def step(logits, y):\n"
    "    loss = F.cross_entropy(F.softmax(logits, dim=1), y)  # noqa: E501\n"  # merged into this comment
    "    logp = torch.log(torch.softmax(logits, 1))  # the log-probabilities\n"  # another comment kept
    '    text = """a\n'
    '    b""" + str(torch.log(torch.softmax(logits, 1)))\n'  # a finding after a multi-line string
    "    both = torch.log(torch.softmax(logits, 1)) + F.softmax(logits, dim=1).argmax(dim=1)\n"  # two rules
    "    ok = torch.log(torch.softmax(logits, 1))  # noqa\n"  # already suppressed
    "    return loss, logp, text, both, ok\n"
)
MANY_WITH_NOQA = (
    "import torch\n"
    "import torch.nn.functional as F\n"
    "\n"
    "\n"
    "def step(logits, y):\n"
    "    loss = F.cross_entropy(F.softmax(logits, dim=1), y)  # noqa: E501, LGT101\n"
    "    logp = torch.log(torch.softmax(logits, 1))  # the log-probabilities  # noqa: LGT201\n"
    '    text = """a\n'
    '    b""" + str(torch.log(torch.softmax(logits, 1)))  # noqa: LGT201\n'
    "    both = torch.log(torch.softmax(logits, 1)) + F.softmax(logits, dim=1).argmax(dim=1)  # noqa: LGT201, LGT302\n"
    "    ok = torch.log(torch.softmax(logits, 1))  # noqa\n"
    "    return loss, logp, text, both, ok\n"
)


def test_add_noqa_silences_todays_findings_for_check_and_flake8(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(MANY)
    before = check_json(str(path))
    assert sorted(before) == ["LGT101", "LGT201", "LGT201", "LGT201", "LGT302"]
    result = run_cli("check", "--add-noqa", "--no-cache", str(path))
    assert result.returncode == 0, result.stderr
    assert "Added 4 noqa comments in 1 file." in result.stderr
    assert path.read_text() == MANY_WITH_NOQA
    assert check_json(str(path)) == []
    assert flake8_codes(path, cwd=tmp_path) == []
    again = run_cli("check", "--add-noqa", "--no-cache", str(path))  # idempotent
    assert again.returncode == 0 and "Added 0 noqa comments in 0 files." in again.stderr
    assert path.read_text() == MANY_WITH_NOQA


def test_add_noqa_then_a_new_finding_shows(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(DOUBLE_SOFTMAX)
    run_cli("check", "--add-noqa", str(path))  # with the cache, as a user runs it
    path.write_text(path.read_text() + "\n\n" + LOG_SOFTMAX.replace("import torch\n", "import torch\n", 1))
    assert check_json(str(path)) == ["LGT201"]


def test_add_noqa_keeps_encoding_newlines_bom_and_mode(tmp_path):
    path = tmp_path / "legacy.py"
    text = "# -*- coding: latin-1 -*-\n# café\n" + DOUBLE_SOFTMAX
    path.write_bytes(text.replace("\n", "\r\n").encode("latin-1"))
    path.chmod(0o751)
    assert run_cli("check", "--add-noqa", "--no-cache", str(path)).returncode == 0
    data = path.read_bytes()
    assert data.count(b"\r\n") == text.count("\n") and b"\n" not in data.replace(b"\r\n", b"")
    assert "# café" in data.decode("latin-1")
    assert data.decode("latin-1").endswith("dim=1), y)  # noqa: LGT101\r\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + DOUBLE_SOFTMAX.encode())
    assert run_cli("check", "--add-noqa", "--no-cache", str(bom)).returncode == 0
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf") and b"# noqa: LGT101" in bom.read_bytes()


def test_add_noqa_in_a_notebook_comments_the_cell(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    book = nbformat.v4.new_notebook()
    book.cells = [
        nbformat.v4.new_markdown_cell("# training"),
        nbformat.v4.new_code_cell("import torch.nn.functional as F\n%matplotlib inline"),
        nbformat.v4.new_code_cell("def step(logits, y):\n    return F.cross_entropy(F.softmax(logits, dim=1), y)"),
    ]
    path = tmp_path / "train.ipynb"
    nbformat.write(book, str(path))
    assert check_json(str(path)) == ["LGT101"]
    result = run_cli("check", "--add-noqa", "--no-cache", str(path))
    assert result.returncode == 0, result.stderr
    cells = nbformat.read(str(path), as_version=4).cells
    assert cells[2].source == "def step(logits, y):\n    return F.cross_entropy(F.softmax(logits, dim=1), y)  # noqa: LGT101"
    assert cells[1].source == "import torch.nn.functional as F\n%matplotlib inline"  # magic kept
    assert check_json(str(path)) == []


def test_add_noqa_reports_bad_files_and_goes_on(tmp_path):
    (tmp_path / "broken.py").write_text(BROKEN)
    (tmp_path / "train.py").write_text(DOUBLE_SOFTMAX)
    result = run_cli("check", "--add-noqa", "--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "broken.py" in result.stderr and "Added 1 noqa comment in 1 file." in result.stderr
    assert "# noqa: LGT101" in (tmp_path / "train.py").read_text()
    assert (tmp_path / "broken.py").read_text() == BROKEN


def test_add_noqa_cannot_be_combined_with_fix(tmp_path):
    result = run_cli("check", "--add-noqa", "--fix", ".", cwd=tmp_path)
    assert result.returncode == 2 and "--add-noqa cannot be used with --fix" in result.stderr


# flake8 7 skips a file with a line starting `# flake8: noqa`, codes or not (flake8.defaults.NOQA_FILE);
# after code on a line it is ignored. `# logitlint: noqa` is ours, read as ruff reads `# ruff: noqa`.
FILE_COMMENTS = [
    ("# flake8: noqa", True),
    ("# flake8: noqa: E501", True),
    ("# FLAKE8= NOQA", True),
    ("    # flake8:noqa", True),
    ("#flake8: noqa", False),
    ("x = 1  # flake8: noqa", False),
    ("# logitlint: noqa", True),
    ("#logitlint:noqa", True),
    ("# logitlint: noqa: LGT101", True),
    ("# logitlint: noqa: LGT1, LGT2", True),
    ("# logitlint: noqa: LGT2", False),  # another rule only
    ("x = 1  # logitlint: noqa", False),
    ("# logitlint: noqa because of X", False),  # not the directive
]


@pytest.mark.parametrize(("comment", "exempt"), FILE_COMMENTS)
def test_file_level_noqa_is_read_by_check_as_by_flake8(tmp_path, comment, exempt):
    path = tmp_path / "train.py"
    path.write_text(f'"""Training."""\n{comment}\n' + DOUBLE_SOFTMAX)
    expected = [] if exempt else ["LGT101"]
    assert check_json(str(path)) == expected
    assert flake8_codes(path, cwd=tmp_path) == expected  # the flake8 plugin gives the same answer
    if exempt:
        assert run_cli("fix", "--unsafe-fixes", "--no-cache", str(path)).returncode == 0
        assert "softmax" in path.read_text()  # an exempt file is not fixed either


def test_file_level_noqa_with_codes_keeps_other_rules(tmp_path):
    path = tmp_path / "train.py"
    path.write_text("# logitlint: noqa: LGT101\n" + DOUBLE_SOFTMAX + "\n\n" + LOG_SOFTMAX)
    assert check_json(str(path)) == ["LGT201"]
    assert flake8_codes(path, cwd=tmp_path) == ["LGT201"]


# --- point 9: --statistics prints the table, not the report ----------------------------------------
def test_statistics_prints_only_the_table_and_the_summary(tmp_path):
    (tmp_path / "a.py").write_text(DOUBLE_SOFTMAX)
    (tmp_path / "b.py").write_text(DOUBLE_SOFTMAX + "\n\n" + LOG_SOFTMAX.replace("def logp", "def other"))
    (tmp_path / "c.py").write_text(ARGMAX)
    result = run_cli("check", "--statistics", "--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "    2\tLGT101\t[!] softmax-into-cross-entropy",
        "    1\tLGT201\t[*] log-of-softmax",
        "    1\tLGT302\t[*] argmax-of-softmax",
        "Found 4 findings. [*] 2 fixable with `logitlint fix`. "
        "[!] 2 fixable with `logitlint fix --unsafe-fixes` (changes values; review them).",
    ]
    as_json = run_cli("check", "--statistics", "--output-format", "json", "--no-cache", ".", cwd=tmp_path)
    assert json.loads(as_json.stdout)[0] == {
        "code": "LGT101",
        "name": "softmax-into-cross-entropy",
        "count": 2,
        "fixable_count": 2,
        "safe_fixable_count": 0,
    }


def test_help_names_the_ruff_flags():
    out = run_cli("check", "--help").stdout
    for flag in (
        "--fix",
        "--unsafe-fixes",
        "--diff",
        "--add-noqa",
        "--statistics",
        "--output-format",
        "--exit-non-zero-on-fix",
        "--fail-on",
        "--watch",
        "--config",
        "--isolated",
        "--show-settings",
        "--show-files",
        "--quiet",
        "--verbose",
    ):
        assert flag in out, flag
    assert "--no-source" in run_cli("fix", "--help").stdout


def test_the_flake8_plugin_leaves_line_noqa_to_flake8(tmp_path):
    """flake8 --disable-noqa shows what `# noqa` hides: the plugin must not hide it itself."""
    path = tmp_path / "train.py"
    path.write_text(DOUBLE_SOFTMAX.replace("dim=1), y)\n", "dim=1), y)  # noqa: LGT101\n"))
    assert flake8_codes(path, cwd=tmp_path) == []
    assert flake8_codes(path, "--disable-noqa", cwd=tmp_path) == ["LGT101"]


def test_readme_statistics_example_is_what_it_prints(tmp_path):
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    shown = readme.split("`--statistics` prints one line per rule", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    (tmp_path / "a.py").write_text(DOUBLE_SOFTMAX)
    (tmp_path / "b.py").write_text(DOUBLE_SOFTMAX + "\n\n" + LOG_SOFTMAX.replace("def logp", "def other"))
    result = run_cli("check", "--statistics", "--no-cache", ".", cwd=tmp_path)
    assert result.stdout == shown


@pytest.mark.parametrize("flag", ["--fix", "--unsafe-fixes", "--diff", "--statistics", "--add-noqa", "--watch",
                                  "--show-settings", "--show-files", "--config", "--isolated", "--output-format",
                                  "--exit-non-zero-on-fix", "--fail-on", "--quiet", "--silent", "--verbose"])
def test_readme_usage_flags_exist(flag):
    from tests.conftest import ROOT

    usage = (ROOT / "README.md").read_text().split("## Usage", 1)[1].split("\n## ", 1)[0]
    assert flag in usage
    assert flag in run_cli("check", "--help").stdout


def test_add_noqa_after_a_backslash_and_inside_a_call(tmp_path):
    path = tmp_path / "edge.py"
    path.write_text(
        "import torch\nimport torch.nn.functional as F\n\n\ndef f(a, y):\n"
        "    x = torch.log(torch.softmax(a, 1)) + \\\n        1\n"
        "    loss = F.cross_entropy(\n        F.softmax(a, dim=1),\n        y,\n    )\n    return x, loss\n"
    )
    assert run_cli("check", "--add-noqa", "--no-cache", str(path)).returncode == 0
    lines = path.read_text().splitlines()
    assert lines[5].endswith("+ \\")  # a comment cannot go before a backslash
    assert lines[6] == "        1  # noqa: LGT201"
    assert lines[8] == "        F.softmax(a, dim=1),  # noqa: LGT101"
    assert check_json(str(path)) == [] and flake8_codes(path, cwd=tmp_path) == []


def test_check_fix_on_standard_input_prints_the_fixed_code():
    result = run_cli("check", "--fix", "-", stdin=LOG_SOFTMAX)
    assert result.returncode == 0, result.stderr
    assert result.stdout == FIXED_LOG_SOFTMAX


def test_add_noqa_refuses_a_file_it_cannot_write_safely_and_says_so(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(DOUBLE_SOFTMAX)
    os.link(path, tmp_path / "alias.py")  # a rename would split the two names
    result = run_cli("check", "--add-noqa", "--no-cache", str(path))
    assert result.returncode == 2
    assert "noqa comments not added: has 2 hard links" in result.stderr
    assert path.read_text() == DOUBLE_SOFTMAX
