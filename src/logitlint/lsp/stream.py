"""The language server's input, guarded against a client that sends a wrong ``Content-Length``.

pygls reads a header line, then exactly ``Content-Length`` bytes. When the length is wrong, the
rest of a body (which ends without a newline) runs into the next header, ``...}Content-Length: 52``,
and pygls skips every later message, ``exit`` included: the server hangs. This reader starts a line
at the last ``Content-Length:`` in it, so the stream resynchronises on the next header; at most
the message that the wrong length ran into is lost, and the end of input still ends the server.
"""

from __future__ import annotations

from typing import BinaryIO

HEADER = b"Content-Length:"


class ResyncingInput:
    def __init__(self, stream: BinaryIO):
        self.stream = stream

    def readline(self) -> bytes:
        line = self.stream.readline()
        start = line.rfind(HEADER)
        return line[start:] if start > 0 else line

    def read(self, n: int) -> bytes:
        return self.stream.read(n)
