"""The torch function mode that sees every watched loss call (imports torch)."""

from __future__ import annotations

import inspect
import os
import sys
import warnings

import torch
from torch.overrides import TorchFunctionMode

from logitlint.runtime import LogitlintRuntimeError, LogitlintRuntimeWarning, checks

_SKIPPED_DIRS = (os.path.dirname(torch.__file__), os.path.dirname(__file__))
# Positional parameter names of each watched loss (binding with inspect costs more than the checks).
_PARAMETERS = {function: tuple(inspect.signature(function).parameters) for function in checks.WATCHED}


def call_site() -> tuple[str, int]:
    """The first frame outside torch and this package: the user's loss call."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_SKIPPED_DIRS):
            return filename, frame.f_lineno
        frame = frame.f_back
    return "<unknown>", 0


def _checkable(tensor) -> bool:
    """A plain floating tensor with values (not a fake, meta or other subclass tensor)."""
    return (
        type(tensor) in (torch.Tensor, torch.nn.Parameter)
        and tensor.is_floating_point()
        and tensor.device.type != "meta"
    )


class GuardMode(TorchFunctionMode):
    def __init__(self, *, strict: bool = False, sample_limit: int | None = None):
        super().__init__()
        self.strict = strict
        self.sample_limit = sample_limit or checks.SAMPLE_LIMIT
        self.registry: dict = {}  # warnings' "once per location" memory, for this guard

    def __torch_function__(self, func, types, args=(), kwargs=None):
        __tracebackhide__ = True  # pytest: a strict-mode failure points at the user's code
        kwargs = kwargs or {}
        check = checks.WATCHED.get(func)
        if check is not None and not torch.compiler.is_compiling():
            self.inspect(func, check, args, kwargs)
        return func(*args, **kwargs)

    def inspect(self, func, check, args, kwargs) -> None:
        __tracebackhide__ = True
        arguments = dict(zip(_PARAMETERS[func], args))
        arguments.update(kwargs)
        tensor = arguments.get("input")
        if not _checkable(tensor):
            return
        try:
            with torch.no_grad():
                found = check(checks.sample(tensor, self.sample_limit), arguments, checks.producer(tensor))
        except Exception:  # noqa: BLE001 - a check must never break the user's training
            return
        if found is None:
            return
        code, explanation = found
        filename, lineno = call_site()
        shape = tuple(tensor.shape)
        message = (
            f"{code} {func.__name__}: {explanation} (input shape {shape}, {str(tensor.dtype)[6:]}; "
            f"called at {filename}:{lineno})"
        )
        if self.strict:
            raise LogitlintRuntimeError(message, code)
        warning = LogitlintRuntimeWarning(message, code, func.__name__, shape, filename, lineno)
        warnings.warn_explicit(warning, LogitlintRuntimeWarning, filename, lineno, registry=self.registry)
