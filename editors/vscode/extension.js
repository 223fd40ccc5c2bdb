// The logitlint extension: starts `logitlint lsp` (the command is the `logitlint.path` setting) and
// hands it the documents; diagnostics, quick fixes and fix-all come from the server.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function initializationOptions(settings) {
  const options = { unsafeFixes: settings.get("unsafeFixes", false) };
  // Empty lists leave the workspace's [tool.logitlint] in charge.
  for (const key of ["select", "ignore"]) {
    const codes = settings.get(key, []);
    if (codes.length > 0) {
      options[key] = codes;
    }
  }
  return options;
}

function createClient() {
  const settings = vscode.workspace.getConfiguration("logitlint");
  const server = { command: settings.get("path", "logitlint"), args: ["lsp"], transport: TransportKind.stdio };
  return new LanguageClient(
    "logitlint",
    "logitlint",
    { run: server, debug: server },
    {
      // Notebooks are synchronised as notebook documents: the server asks for them itself.
      documentSelector: [
        { scheme: "file", language: "python" },
        { scheme: "untitled", language: "python" },
      ],
      initializationOptions: initializationOptions(settings),
    }
  );
}

async function restart() {
  if (client) {
    await client.stop();
  }
  client = createClient();
  await client.start();
}

async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand("logitlint.restart", restart),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("logitlint")) {
        restart();
      }
    })
  );
  await restart();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
