"""A client that sends a wrong ``Content-Length`` does not leave the language server deaf: the
stream resynchronises on the next header, later requests are answered and ``exit`` ends it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

pytest.importorskip("pygls")


def frame(message: dict, wrong_by: int = 0) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % (len(body) + wrong_by) + body


def responses(process: subprocess.Popen, found: list, done: threading.Event, wanted_id: int) -> None:
    stream = process.stdout
    while True:
        header = stream.readline()
        if not header:
            return
        if header.startswith(b"Content-Length:"):
            length = int(header.split(b":")[1])
            while stream.readline().strip():  # other headers, up to the blank line
                pass
            message = json.loads(stream.read(length))
            found.append(message)
            if message.get("id") == wanted_id:
                done.set()


@pytest.mark.parametrize("wrong_by", [-12, 40], ids=["too-short", "too-long"])
def test_wrong_content_length_then_shutdown_and_exit(wrong_by):
    process = subprocess.Popen(
        [sys.executable, "-m", "logitlint", "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    found: list = []
    done = threading.Event()
    threading.Thread(target=responses, args=(process, found, done, 9), daemon=True).start()
    try:
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}, "processId": None}}
        noise = {"jsonrpc": "2.0", "method": "$/setTrace", "params": {"value": "off"}}
        messages = [
            frame(init),
            frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
            frame(noise, wrong_by),  # the broken one
            frame(noise),  # a too-long length may swallow this one
            frame({"jsonrpc": "2.0", "id": 9, "method": "shutdown"}),
            frame({"jsonrpc": "2.0", "method": "exit"}),
        ]
        process.stdin.write(b"".join(messages))
        process.stdin.flush()
        assert done.wait(30), f"no answer to shutdown after a wrong Content-Length: {found}"
        assert process.wait(30) == 0  # `exit` was read: stdin is still open
    finally:
        process.kill()
        process.communicate()
