"""The pytest plugin driven as users run it (a real pytest subprocess on a user's training tests),
and logitlint without torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

pytest.importorskip("torch")

USER_TESTS = textwrap.dedent(
    """
    import pytest
    import torch
    import torch.nn as nn

    TABLE = torch.tensor([[[[0.2, 0.5], [0.3, 0.1]], [[0.3, 0.25], [0.3, 0.6]], [[0.5, 0.25], [0.4, 0.3]]]])
    TARGET = torch.tensor([[[0, 1], [2, 1]]])


    def test_probability_table():
        nn.CrossEntropyLoss()(TABLE, TARGET)


    def test_logits():
        nn.CrossEntropyLoss()(torch.randn(1, 3, 2, 2), TARGET)


    @pytest.mark.logitlint_guard_off
    def test_opted_out():
        nn.CrossEntropyLoss()(TABLE, TARGET)
    """
)
WITHOUT_TORCH = "import sys; sys.modules['torch'] = None\n"


def run_pytest(tmp_path, *args: str, ini: str = "") -> subprocess.CompletedProcess:
    (tmp_path / "test_training.py").write_text(USER_TESTS)
    (tmp_path / "pytest.ini").write_text(f"[pytest]\n{ini}")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )


def test_guard_option_warns_in_the_users_test(tmp_path):
    result = run_pytest(tmp_path, "--logitlint-guard")
    assert result.returncode == 0, result.stdout
    assert "3 passed" in result.stdout
    assert "test_training.py::test_probability_table" in result.stdout
    assert "LogitlintRuntimeWarning: LGT102 cross_entropy" in result.stdout
    assert result.stdout.count("LogitlintRuntimeWarning") == 1  # not the logits, not the opted-out test


def test_strict_fails_the_test(tmp_path):
    result = run_pytest(tmp_path, "--logitlint-guard-strict")
    assert result.returncode == 1
    assert "FAILED test_training.py::test_probability_table" in result.stdout
    assert "logitlint.runtime.LogitlintRuntimeError: LGT102 cross_entropy" in result.stdout
    assert "2 passed" in result.stdout


def test_without_the_option_nothing_is_watched(tmp_path):
    result = run_pytest(tmp_path)
    assert result.returncode == 0 and "LogitlintRuntimeWarning" not in result.stdout


def test_ini_option_and_explicit_plugin_flag(tmp_path):
    result = run_pytest(tmp_path, "-p", "logitlint.pytest_plugin", ini="logitlint_guard = strict\n")
    assert result.returncode == 1 and "LogitlintRuntimeError: LGT102" in result.stdout
    bad = run_pytest(tmp_path, ini="logitlint_guard = loud\n")
    assert bad.returncode == 4 and "logitlint_guard: expected one of off, warn, strict, got 'loud'" in bad.stderr


def test_logitlint_works_without_torch():
    code = WITHOUT_TORCH + textwrap.dedent(
        """
        import logitlint, logitlint.runtime
        from logitlint.cli import main
        status = main(["check", "--no-cache", "examples/"])
        try:
            logitlint.runtime.guard().__enter__()
        except ImportError as exc:
            print("ImportError:", exc)
        sys.exit(status)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 1, result.stderr  # findings in the example, found without torch
    assert "LGT101" in result.stdout
    assert (
        "ImportError: logitlint's runtime guard needs PyTorch, which is not installed: pip install torch"
        in result.stdout
    )


def test_plugin_without_torch_says_what_to_install(tmp_path):
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    code = (
        WITHOUT_TORCH
        + f"import pytest; sys.exit(pytest.main(['-p', 'no:cacheprovider', '--logitlint-guard', {str(tmp_path)!r}]))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 4
    assert "needs PyTorch, which is not installed: pip install torch" in result.stderr
    plain = subprocess.run(
        [sys.executable, "-c", code.replace("'--logitlint-guard', ", "")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert plain.returncode == 0, plain.stdout + plain.stderr  # the plugin costs nothing when unused
