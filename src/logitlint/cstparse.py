"""Parsing with LibCST without re-validating every node the parser builds.

LibCST's native parser builds each Python node through its dataclass ``__init__``, whose
``__post_init__`` validates the node (whitespace and parenthesis rules). A tree straight from the
parser passes those checks by construction, and the checks are 10-20% of a parse (measured on the
transformers modeling files). Only the nodes built inside ``parse_module`` skip them: the hook is
swapped under a lock for the duration of one parse and restored even when the parse fails, so
nodes that rules and fixes build keep their validation.

The analysis runs on one thread (the LSP server uses a single worker); another thread that builds
nodes during a parse would skip their validation too, which changes no node, only drops a check.
"""

from __future__ import annotations

import threading

import libcst as cst
from libcst._nodes.base import CSTNode

_VALIDATE = CSTNode.__post_init__
_LOCK = threading.Lock()


def _no_validation(self: CSTNode) -> None:
    pass


def parse_module(text: str) -> cst.Module:
    """``libcst.parse_module`` without per-node validation; the same tree, the same errors for
    text that does not parse."""
    with _LOCK:
        CSTNode.__post_init__ = _no_validation  # type: ignore[method-assign]
        try:
            return cst.parse_module(text)
        finally:
            CSTNode.__post_init__ = _VALIDATE  # type: ignore[method-assign]


def validating() -> bool:
    """Is LibCST's node validation in place (outside a parse it always is)?"""
    return CSTNode.__post_init__ is _VALIDATE
