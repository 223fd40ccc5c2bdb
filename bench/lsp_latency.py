"""How long after a didChange (and its debounce) do diagnostics arrive from ``logitlint lsp``?

    python bench/lsp_latency.py                     # a 2,000-line generated training module
    python bench/lsp_latency.py --file path/to/modeling_x.py --edits 50

It starts the real server over stdio, opens the document, then sends edits one at a time (an edit
that alternates one loss line between a double softmax and the fixed call, so every edit changes the
findings) and times each from sending didChange to receiving the publishDiagnostics for that
version. The debounce is subtracted: what is reported is the server's own response time. A file
given with --file is cut or repeated to --lines lines. Not part of the test suite (it is a
measurement, not a test); tests/test_lsp.py runs it with two edits to keep it working.
"""

from __future__ import annotations

import argparse
import ast
import json
import queue
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The edited code names its own alias, so a file that rebinds ``F`` (or never imports it) cannot
# change what the edit means.
HEADER = "import torch\nimport torch.nn.functional as _latency_F\n\n\n"
BAD = "        loss = _latency_F.cross_entropy(_latency_F.softmax(logits, dim=1), target)  # edited\n"
GOOD = "        loss = _latency_F.cross_entropy(logits, target)  # edited\n"
EDITED_FUNCTION = (
    "class EditedTrainer:\n"
    "    def step(self, model, batch, target):\n"
    "        logits = model(batch)\n"
    f"{GOOD}"
    "        return loss\n\n\n"
)


def generated_module(lines: int) -> str:
    """Realistic material: the fix fixtures' programs, renamed apart and repeated."""
    header = HEADER + "import torch.nn as nn\nimport torch.nn.functional as F\n\n\n"
    bodies = []
    for before in sorted((ROOT / "fixtures" / "fixes").glob("*/before.py")):
        body = before.read_text().split('"""', 2)[2]
        bodies.append("\n".join(line for line in body.splitlines() if not line.startswith(("import ", "from "))))
    return fill(header, "\n\n".join(bodies) + "\n\n", lines)


def fill(header: str, material: str, lines: int) -> str:
    """``header``, then whole top-level statements of ``material`` (repeated as needed) up to about
    ``lines`` lines, with the edited class inserted between two statements in the middle. Cutting at
    statements that ``ast`` found (never at a line that merely starts in column 0, which may close a
    bracket) keeps any real file valid; ``from __future__`` imports move to the top."""
    statements = _top_level_statements(material)
    future = [s for s in statements if s.startswith("from __future__")]
    body = [s for s in statements if not s.startswith("from __future__")] or ["pass\n"]
    chunks, count, copy = [], header.count("\n"), 0
    while count < lines:
        for statement in body:
            chunks.append(_RENAME.sub(lambda m, c=copy: f"{m.group(1)}{m.group(2)} {'v' if m.group(2) == 'def' else 'V'}{c}_", statement))
            count += statement.count("\n")
            if count >= lines:
                break
        copy += 1
    middle = len(chunks) // 2
    return "".join([*future, header, *chunks[:middle], "\n\n", EDITED_FUNCTION, *chunks[middle:]])


_RENAME = re.compile(r"^([ \t]*(?:async[ \t]+)?)(def|class)[ \t]+", re.M)  # each copy defines its own names


def _top_level_statements(material: str) -> list[str]:
    """The source of each top-level statement (its decorators and leading comments included)."""
    source = material if material.endswith("\n") else material + "\n"
    lines = source.splitlines(keepends=True)
    starts = []
    for node in ast.parse(source).body:
        decorators = getattr(node, "decorator_list", [])
        starts.append(min([node.lineno, *(d.lineno for d in decorators)]) - 1)
    if not starts:
        return []
    starts[0] = 0
    ends = [*starts[1:], len(lines)]
    return ["".join(lines[a:b]) for a, b in zip(starts, ends)]


class Client:
    """A minimal LSP client over the server's stdio."""

    def __init__(self, command: list[str], env: dict | None = None):
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
        )
        self.messages: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.next_id = 0

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            length = None
            while True:  # headers, up to the blank line
                line = stream.readline()
                if not line:
                    return  # the server exited
                if not line.strip():
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            self.messages.put((time.perf_counter(), json.loads(stream.read(length))))

    def send(self, method: str, params: dict, *, request: bool = False) -> None:
        message = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            self.next_id += 1
            message["id"] = self.next_id
        body = json.dumps(message).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.process.stdin.flush()

    def wait(self, accept, timeout: float = 60.0) -> tuple[float, dict]:
        deadline = time.perf_counter() + timeout
        while True:
            at, message = self.messages.get(timeout=max(0.01, deadline - time.perf_counter()))
            if accept(message):
                return at, message

    def close(self) -> None:
        self.send("shutdown", {}, request=True)
        self.send("exit", {})
        self.process.wait(timeout=10)


def diagnostics_for(uri: str, version: int):
    def accept(message: dict) -> bool:
        params = message.get("params") or {}
        return (
            message.get("method") == "textDocument/publishDiagnostics"
            and params.get("uri") == uri
            and params.get("version") == version
        )

    return accept


def measure(text: str, edits: int, debounce_ms: int) -> list[float]:
    path = Path("/tmp/logitlint_latency/train.py")
    uri = path.as_uri()
    client = Client([sys.executable, "-m", "logitlint", "lsp"])
    try:
        client.send(
            "initialize",
            {
                "processId": None,
                "capabilities": {},
                "rootUri": path.parent.as_uri(),
                "initializationOptions": {"debounceMs": debounce_ms},
            },
            request=True,
        )
        client.wait(lambda m: m.get("id") == 1)
        client.send("initialized", {})
        client.send(
            "textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}
        )
        client.wait(diagnostics_for(uri, 1))
        line = text.splitlines(keepends=True).index(GOOD)
        current, samples = GOOD, []
        for version in range(2, edits + 2):
            new = BAD if current == GOOD else GOOD
            change = {
                "range": {"start": {"line": line, "character": 0}, "end": {"line": line + 1, "character": 0}},
                "text": new,
            }
            sent = time.perf_counter()
            client.send(
                "textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}
            )
            received, message = client.wait(diagnostics_for(uri, version))
            codes = [d["code"] for d in message["params"]["diagnostics"] if d["range"]["start"]["line"] == line]
            assert codes == (["LGT101"] if new == BAD else []), codes  # the right findings, not just any
            samples.append((received - sent) * 1000 - debounce_ms)
            current = new
        return samples
    finally:
        client.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", type=Path, help="a real module to use (cut or repeated to --lines)")
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--debounce-ms", type=int, default=150)
    args = parser.parse_args()
    if args.file:
        text = fill(HEADER, args.file.read_text(), args.lines)
    else:
        text = generated_module(args.lines)
    samples = measure(text, args.edits, args.debounce_ms)
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(
        f"{text.count(chr(10))} lines, {len(samples)} edits, debounce {args.debounce_ms} ms subtracted: "
        f"median {statistics.median(samples):.0f} ms, p95 {p95:.0f} ms, max {max(samples):.0f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
