"""An opt-in runtime guard: the static rules' checks, made on the tensors that reach a loss.

Static analysis cannot know that a tensor loaded from disk or typed in as a table holds
probabilities; the guard can. It watches ``cross_entropy``, ``nll_loss``, ``kl_div``,
``binary_cross_entropy`` and ``binary_cross_entropy_with_logits`` (functional and ``nn`` module
forms) through a ``torch.overrides.TorchFunctionMode`` and warns with a
:class:`LogitlintRuntimeWarning` (or raises a :class:`LogitlintRuntimeError` in strict mode)::

    from logitlint.runtime import guard

    with guard():                 # or @guard() on a function, or guard(strict=True)
        loss = nn.CrossEntropyLoss()(probability_table, target)   # warns: LGT102

    logitlint.runtime.install()   # for the rest of the process (uninstall() undoes it)

The checks are a few reductions over the loss input (large inputs are checked on a leading
slice), run without autograd, and never change what the loss returns. This module imports torch
only when a guard is made, so ``import logitlint`` stays light.
"""

from __future__ import annotations

import functools
from typing import Any

TORCH_MISSING = (
    "logitlint's runtime guard needs PyTorch, which is not installed: pip install torch "
    "(logitlint's static checks do not need it)"
)


class LogitlintRuntimeWarning(UserWarning):
    """A loss received the wrong kind of tensor. ``code``, ``function``, ``shape``, ``filename`` and
    ``lineno`` say which rule, which loss, what input and where it was called."""

    def __init__(
        self, message: str, code: str = "", function: str = "", shape: tuple = (), filename: str = "", lineno: int = 0
    ):
        super().__init__(message)
        self.code, self.function, self.shape = code, function, shape
        self.filename, self.lineno = filename, lineno


class LogitlintRuntimeError(ValueError):
    """Raised instead of the warning in strict mode."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


def _mode_module():
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise ImportError(TORCH_MISSING) from exc
    from logitlint.runtime import mode

    return mode


class guard:  # noqa: N801 - used like contextlib's lower-case context managers
    """Context manager and decorator: check every watched loss call made inside it.

    ``strict=True`` raises :class:`LogitlintRuntimeError` instead of warning; ``sample_limit`` is
    how many elements of a large input are examined (a leading slice along the batch dim)."""

    def __init__(self, *, strict: bool = False, sample_limit: int | None = None):
        self.strict, self.sample_limit = strict, sample_limit
        self._active: list[Any] = []

    def __enter__(self) -> guard:
        mode = _mode_module().GuardMode(strict=self.strict, sample_limit=self.sample_limit)
        mode.__enter__()
        self._active.append(mode)
        return self

    def __exit__(self, *exc_info) -> None:
        self._active.pop().__exit__(*exc_info)

    def __call__(self, function):
        @functools.wraps(function)
        def guarded(*args, **kwargs):
            with guard(strict=self.strict, sample_limit=self.sample_limit):
                return function(*args, **kwargs)

        return guarded


_installed: list[guard] = []


def install(*, strict: bool = False, sample_limit: int | None = None) -> None:
    """Guard every loss call from now on (in this thread), until :func:`uninstall`."""
    uninstall()
    installed = guard(strict=strict, sample_limit=sample_limit)
    installed.__enter__()
    _installed.append(installed)


def uninstall() -> None:
    while _installed:
        _installed.pop().__exit__(None, None, None)


def is_installed() -> bool:
    return bool(_installed)


__all__ = ["LogitlintRuntimeError", "LogitlintRuntimeWarning", "guard", "install", "is_installed", "uninstall"]
