"""The language server's own pieces, in process: position conversion and the memory tidy that runs
after each publish. (End to end over stdio: tests/test_lsp.py.)"""

from __future__ import annotations

import gc
import weakref

import pytest

pytest.importorskip("pygls")
from lsprotocol import types  # noqa: E402
from pygls.workspace.position_codec import PositionCodec  # noqa: E402

from logitlint.lsp import convert  # noqa: E402
from logitlint.lsp.server import FULL_COLLECT_EVERY, build  # noqa: E402

LINES = convert.lines_of("x = 1\r\nlabel = '\U0001f525é'; y = 2\n\n    z\nlast")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_positions_match_pygls_on_every_line_and_column(encoding):
    """The ASCII shortcut gives what pygls computes, past the line's end and past the last line too."""
    codec = PositionCodec(encoding)
    for line in range(1, len(LINES) + 3):
        for col in range(0, 40):
            expected = codec.position_to_client_units(LINES, types.Position(line=max(line - 1, 0), character=col))
            assert convert.position(codec, LINES, line, col) == expected, (line, col)


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_tidy_freezes_survivors_and_collects_frozen_garbage_in_time():
    server = build()
    gc.unfreeze()
    try:
        kept = Cycle()
        server.tidy()
        assert gc.get_freeze_count() > 0  # what survived is no longer rescanned
        ref = weakref.ref(kept)
        del kept  # frozen cyclic garbage: only a tidy that unfreezes can collect it
        while server.tidies % FULL_COLLECT_EVERY != FULL_COLLECT_EVERY - 1:
            server.tidy()
            assert ref() is not None
        server.tidy()
        assert ref() is None
    finally:
        gc.unfreeze()
        server.worker.shutdown()
