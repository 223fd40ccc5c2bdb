"""pytest plugin: ``pytest --logitlint-guard`` runs the test session under the runtime guard.

Registered as a ``pytest11`` entry point (so the option exists wherever logitlint is installed)
and loadable with ``-p logitlint.pytest_plugin``. Without the option it does nothing and imports
nothing heavy. ``--logitlint-guard-strict`` raises instead of warning, failing the test that
feeds a loss the wrong kind of tensor. The ini option ``logitlint_guard = warn|strict`` does the
same from ``pytest.ini`` / ``[tool.pytest.ini_options]``.
"""

from __future__ import annotations

import pytest

CHOICES = ("off", "warn", "strict")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("logitlint", "logitlint runtime guard")
    group.addoption(
        "--logitlint-guard",
        action="store_const",
        const="warn",
        dest="logitlint_guard",
        default=None,
        help="check every cross_entropy / nll_loss / kl_div / BCE call the tests make, and warn "
        "(LogitlintRuntimeWarning) when a loss gets the wrong kind of tensor",
    )
    group.addoption(
        "--logitlint-guard-strict",
        action="store_const",
        const="strict",
        dest="logitlint_guard",
        help="the same, but raise LogitlintRuntimeError: the test fails",
    )
    parser.addini("logitlint_guard", "logitlint runtime guard: off, warn or strict", default="off")


def _mode(config: pytest.Config) -> str:
    chosen = config.getoption("logitlint_guard") or config.getini("logitlint_guard") or "off"
    if chosen not in CHOICES:
        raise pytest.UsageError(f"logitlint_guard: expected one of {', '.join(CHOICES)}, got {chosen!r}")
    return chosen


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Each test body runs under its own guard (the mode stack is per thread, and tests run in
    pytest's main thread), so warnings are attributed to the test that caused them."""
    chosen = _mode(item.config)
    if chosen == "off" or item.get_closest_marker("logitlint_guard_off"):
        return (yield)
    from logitlint.runtime import guard

    with guard(strict=chosen == "strict"):
        return (yield)


def pytest_configure(config: pytest.Config) -> None:
    if _mode(config) != "off":
        from logitlint.runtime import _mode_module

        try:
            _mode_module()  # fail early, with the install hint
        except ImportError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.addinivalue_line("markers", "logitlint_guard_off: run this test without the logitlint runtime guard")
