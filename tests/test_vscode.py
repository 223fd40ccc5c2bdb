"""The VS Code extension in editors/vscode/: ``npm ci`` from its lockfile and ``vsce package`` build a
.vsix; the built package is read as VS Code reads it (the zip's manifest and package.json), and its
extension.js, run by Node.js with a stand-in for the ``vscode`` module, starts the command its
``logitlint.path`` setting names with ``lsp``, a command that then answers ``initialize`` over stdio.

Node.js and npm are part of this project's machines (CI runs this test): without them the test
fails and says so, rather than skipping."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import logitlint
from tests.conftest import ROOT

EXTENSION = ROOT / "editors" / "vscode"
SOURCES = ["package.json", "package-lock.json", "extension.js", "README.md", ".vscodeignore"]

# Loads extension.js with `vscode` and `vscode-languageclient/node` replaced, calls activate() with
# the settings given as argv[3], and prints what the LanguageClient was constructed with.
HARNESS = r"""
const Module = require("module");
const settings = JSON.parse(process.argv[3]);
const created = [];
const vscode = {
  workspace: {
    getConfiguration: (section) => ({ get: (key, fallback) => (key in settings ? settings[key] : fallback) }),
    onDidChangeConfiguration: () => ({ dispose() {} }),
  },
  commands: { registerCommand: (name) => ({ name, dispose() {} }) },
};
class LanguageClient {
  constructor(id, name, serverOptions, clientOptions) {
    created.push({ id, name, serverOptions, clientOptions });
  }
  async start() {}
  async stop() {}
}
const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === "vscode") return vscode;
  if (request === "vscode-languageclient/node") return { LanguageClient, TransportKind: { stdio: 0 } };
  return load.apply(this, arguments);
};
const extension = require(process.argv[2]);
const context = { subscriptions: [] };
extension.activate(context).then(() => {
  console.log(JSON.stringify({ created, commands: context.subscriptions.map((s) => s.name).filter(Boolean) }));
});
"""


def tool(name: str) -> str:
    found = shutil.which(name)
    assert found, (
        f"`{name}` is not on PATH: the VS Code extension test needs Node.js 20+ and npm "
        "(Debian: apt-get install nodejs npm)"
    )
    return found


@pytest.fixture(scope="module")
def vsix(tmp_path_factory) -> Path:
    npm = tool("npm")
    tool("node")
    build = tmp_path_factory.mktemp("vscode")
    for name in SOURCES:
        shutil.copy(EXTENSION / name, build / name)
    # npm's own cache (~/.npm) keeps the tarballs, so a second run does not download them again.
    installed = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"],
        cwd=build,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    out = build / "logitlint.vsix"
    packaged = subprocess.run(
        [npm, "run", "package", "--", "--out", str(out)], cwd=build, capture_output=True, text=True, timeout=600
    )
    assert packaged.returncode == 0, packaged.stdout[-3000:] + packaged.stderr[-3000:]
    return out


def test_the_vsix_is_a_vscode_extension_of_this_version(vsix):
    with zipfile.ZipFile(vsix) as package:
        names = set(package.namelist())
        manifest = package.read("extension.vsixmanifest").decode()
        meta = json.loads(package.read("extension/package.json"))
    version = logitlint.__version__
    assert f'Id="logitlint" Version="{version}" Publisher="logitlint"' in manifest
    assert meta["version"] == version and meta["main"] == "./extension.js"
    assert {"extension/extension.js", "extension/node_modules/vscode-languageclient/package.json"} <= names
    assert not any(name.startswith("extension/node_modules/@vscode/vsce/") for name in names)  # a dev tool only
    assert "onLanguage:python" in meta["activationEvents"]
    setting = meta["contributes"]["configuration"]["properties"]["logitlint.path"]
    assert setting["default"] == "logitlint"


def test_the_packaged_extension_starts_logitlint_lsp(vsix, tmp_path):
    with zipfile.ZipFile(vsix) as package:
        package.extractall(tmp_path / "vsix")
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS)
    command = str(Path(sys.executable).with_name("logitlint"))
    settings = {"path": command, "select": ["LGT1", "LGT2"]}
    run = subprocess.run(
        [tool("node"), str(harness), str(tmp_path / "vsix" / "extension" / "extension.js"), json.dumps(settings)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    (client,) = report["created"]
    server = client["serverOptions"]["run"]
    assert (server["command"], server["args"]) == (command, ["lsp"])
    assert client["clientOptions"]["initializationOptions"] == {"unsafeFixes": False, "select": ["LGT1", "LGT2"]}
    assert {"language": "python", "scheme": "file"} in client["clientOptions"]["documentSelector"]
    assert report["commands"] == ["logitlint.restart"]

    # The command the extension starts is a language server: it answers initialize over stdio.
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "capabilities": {}}}
    ).encode()
    server_process = subprocess.run(
        [server["command"], *server["args"]],
        input=b"Content-Length: %d\r\n\r\n" % len(body) + body,
        capture_output=True,
        timeout=120,
    )
    headers, _, answer = server_process.stdout.partition(b"\r\n\r\n")
    length = re.search(rb"^Content-Length: *(\d+)", headers, re.M | re.I)
    assert length, server_process.stdout[:500] + server_process.stderr[-2000:]
    reply = json.loads(answer[: int(length[1])])
    assert reply["id"] == 1 and reply["result"]["serverInfo"]["name"] == "logitlint"
