"""One small function per LSP feature; ``register`` wires them to the server."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lsprotocol import types

from logitlint.lsp.actions import FIX_ALL
from logitlint.lsp.convert import uri_to_path
from logitlint.lsp.notebook import is_cell

if TYPE_CHECKING:
    from logitlint.lsp.server import LogitlintServer


def initialize(ls: LogitlintServer, params: types.InitializeParams) -> None:
    roots = [uri_to_path(folder.uri) for folder in params.workspace_folders or []]
    if not roots and params.root_uri:
        roots.append(uri_to_path(params.root_uri))
    options = params.initialization_options if isinstance(params.initialization_options, dict) else {}
    ls.configure(options, roots)
    code_action = params.capabilities.text_document and params.capabilities.text_document.code_action
    ls.disabled_actions = bool(code_action and code_action.disabled_support)


async def did_open(ls: LogitlintServer, params: types.DidOpenTextDocumentParams) -> None:
    await ls.refresh(params.text_document.uri)


def did_change(ls: LogitlintServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri, ls.debounce)


async def did_save(ls: LogitlintServer, params: types.DidSaveTextDocumentParams) -> None:
    saved = params.text_document.uri
    if ls.config.project is not None:
        ls.config.project.forget(uri_to_path(saved))
    for uri in list(ls.analyses):  # open files may use the saved one (its model, its loss helper)
        if uri != saved and not is_cell(ls.workspace, uri):
            ls.schedule(uri, ls.debounce)
    if saved in ls.workspace.text_documents:
        await ls.refresh(saved)


def did_close(ls: LogitlintServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.forget(params.text_document.uri)


async def notebook_open(ls: LogitlintServer, params: types.DidOpenNotebookDocumentParams) -> None:
    await ls.refresh(params.notebook_document.uri)


def notebook_change(ls: LogitlintServer, params: types.DidChangeNotebookDocumentParams) -> None:
    ls.schedule(params.notebook_document.uri, ls.debounce)


async def notebook_save(ls: LogitlintServer, params: types.DidSaveNotebookDocumentParams) -> None:
    await ls.refresh(params.notebook_document.uri)


def notebook_close(ls: LogitlintServer, params: types.DidCloseNotebookDocumentParams) -> None:
    ls.cancel(params.notebook_document.uri)
    for cell in params.cell_text_documents:
        ls.forget(cell.uri)


async def code_action(ls: LogitlintServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    return await _on_worker(ls, ls.code_actions, params, [])


async def hover(ls: LogitlintServer, params: types.HoverParams) -> types.Hover | None:
    return await _on_worker(ls, ls.hover, params, None)


async def _on_worker(ls: LogitlintServer, work, params, failed):
    """On the analysis thread (analyses never run concurrently over shared caches), never fatal."""
    try:
        return await asyncio.get_running_loop().run_in_executor(ls.worker, work, params)
    except Exception as exc:  # noqa: BLE001 - never take the editor's server down
        ls.window_log_message(types.LogMessageParams(types.MessageType.Error, f"logitlint: {exc!r}"))
        return failed


CODE_ACTIONS = types.CodeActionOptions(
    code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=False
)
FEATURES = [
    (types.INITIALIZE, initialize, None),
    (types.TEXT_DOCUMENT_DID_OPEN, did_open, None),
    (types.TEXT_DOCUMENT_DID_CHANGE, did_change, None),
    (types.TEXT_DOCUMENT_DID_SAVE, did_save, None),
    (types.TEXT_DOCUMENT_DID_CLOSE, did_close, None),
    (types.NOTEBOOK_DOCUMENT_DID_OPEN, notebook_open, None),
    (types.NOTEBOOK_DOCUMENT_DID_CHANGE, notebook_change, None),
    (types.NOTEBOOK_DOCUMENT_DID_SAVE, notebook_save, None),
    (types.NOTEBOOK_DOCUMENT_DID_CLOSE, notebook_close, None),
    (types.TEXT_DOCUMENT_CODE_ACTION, code_action, CODE_ACTIONS),
    (types.TEXT_DOCUMENT_HOVER, hover, None),
]


def register(server: LogitlintServer) -> None:
    for method, handler, options in FEATURES:
        server.feature(method, options)(handler)
