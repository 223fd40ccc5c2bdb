"""``logitlint fix --prove``: every fix is evaluated with torch before it is written.

Importing this package does not import torch; ``session`` (and everything under it) does, and is
imported only when ``--prove`` is used. torch is an optional extra: ``pip install 'logitlint[prove]'``.
"""

from __future__ import annotations

INSTALL_HINT = (
    "logitlint: error: --prove needs torch, which is not installed here.\n"
    "Install the optional extra (CPU torch, pinned): pip install 'logitlint[prove]'\n"
    "  (until logitlint is on PyPI, from a clone of it: python -m pip install '.[prove]';\n"
    "  or: pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu)"
)


def torch_problem() -> str | None:
    """Why torch cannot be used here, or None. (torch is imported here, and only here, on purpose:
    the linter itself never needs it.)"""
    import warnings

    try:
        with warnings.catch_warnings():  # "Failed to initialize NumPy" and the like: not our business
            warnings.simplefilter("ignore")
            import torch  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - an ImportError, or a broken install
        return f"{type(exc).__name__}: {exc}"
    return None
