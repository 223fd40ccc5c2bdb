"""``logitlint lsp``: a Language Server over stdio (pygls), a thin adapter over the engine.

Diagnostics are published on open, on change (debounced) and on save, and cleared on close; each
carries its rule code, a link to the rule's documentation, and related locations (the layer that
applies the softmax). Code actions: a quick fix per fixable finding (unsafe ones say so), a
``source.fixAll.logitlint`` action applying every safe fix (every fix with ``unsafeFixes``, and its
title says so), "disable for this line" (``# noqa``), and for a finding without a fix the reason (a
disabled action, where the client shows those; the hover says it in every client). Settings: the
workspace's ``[tool.logitlint]``, overridden by ``initializationOptions`` (``select``,
``extendSelect``, ``ignore``, ``unsafeFixes``, ``debounceMs``). Notebook documents (LSP 3.17) are
analysed as one program, cell after cell, with findings published per cell.

Layout (as ruff's server): ``server`` holds the session state and runs analyses, ``handlers`` has
one small function per LSP feature, ``actions`` builds code actions, ``convert`` turns positions,
findings and edits into LSP types, ``notebook`` maps notebook documents to cells and back.
"""

from __future__ import annotations

import sys

from logitlint.lsp.stream import ResyncingInput

_OPTIONAL = ("pygls", "lsprotocol", "cattrs")  # the `lsp` extra


def build_server():
    """The configured server; a clear message (not a traceback) without the ``lsp`` extra."""
    try:
        # Imported here, not at the top: `logitlint` works without the optional pygls.
        from logitlint.lsp.server import build
    except ImportError as exc:
        if exc.name is None or exc.name.split(".")[0] in _OPTIONAL:
            raise SystemExit(
                "logitlint lsp needs pygls: pip install 'logitlint[lsp]' (from a clone: python -m pip install '.[lsp]')"
            ) from None
        raise
    return build()


def main() -> int:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    build_server().start_io(stdin=ResyncingInput(sys.stdin.buffer))  # type: ignore[arg-type]
    return 0
