"""``logitlint lsp``: a Language Server over stdio (pygls), a thin adapter over the engine.

Diagnostics are published on open, on change (debounced) and on save, and cleared on close; each
carries its rule code, a link to the rule's documentation, and related locations (the layer that
applies the softmax). Code actions: a quick fix per fixable finding (unsafe ones say so), a
``source.fixAll.logitlint`` action applying every safe fix, and "disable for this line" (``# noqa``).
Settings: the workspace's ``[tool.logitlint]``, overridden by ``initializationOptions``
(``select``, ``extendSelect``, ``ignore``, ``unsafeFixes``, ``debounceMs``). Notebook documents
(LSP 3.17) are analysed as one program, cell after cell, with findings published per cell.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

try:
    from lsprotocol import types
    from pygls.lsp.server import LanguageServer
    from pygls.uris import from_fs_path
except ImportError:  # pragma: no cover - the lsp extra is not installed
    types = None  # type: ignore[assignment]

from logitlint.lsp_stream import ResyncingInput
from logitlint import __version__
from logitlint.diagnostics import Diagnostic, Span
from logitlint.runner import Overrides, RunConfig

FIX_ALL = "source.fixAll.logitlint"
SEVERITY = {"error": 1, "warning": 2, "info": 3}
PARSE_CACHE_SIZE = 8192  # parses and their positions: a few thousand units fit


@dataclass
class Analysis:
    """The findings of one document version (kept for code actions)."""

    version: int | None
    text: str
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # For a notebook cell: every cell of the notebook (number -> uri, version, text), where a fix's
    # edits may land (the import a fix adds goes with the notebook's imports).
    cells: dict[int, tuple[str, int | None, str]] = field(default_factory=dict)


def uri_to_path(uri: str) -> str:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return f"<{uri}>"


class BoundedCache(dict):
    """Parsed units of a document, reused across edits (only changed pieces are parsed again)."""

    def __setitem__(self, key, value):
        if len(self) >= PARSE_CACHE_SIZE:
            self.clear()
        super().__setitem__(key, value)


def build_server():
    if types is None:
        raise SystemExit("logitlint lsp needs pygls: pip install 'logitlint[lsp]'")

    class LogitlintServer(LanguageServer):
        def __init__(self) -> None:
            super().__init__(
                "logitlint",
                __version__,
                text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
                notebook_document_sync=types.NotebookDocumentSyncOptions(
                    notebook_selector=[
                        types.NotebookDocumentFilterWithCells(
                            cells=[types.NotebookCellLanguage(language="python")], notebook="jupyter-notebook"
                        )
                    ],
                    save=True,
                ),
            )
            self.config = RunConfig()
            self.debounce = 0.15
            self.analyses: dict[str, Analysis] = {}  # by document (or cell) uri
            self.timers: dict[str, asyncio.TimerHandle] = {}
            self.caches: dict[str, BoundedCache] = {}
            self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="logitlint")

        # --- settings ---------------------------------------------------------------------------
        def configure(self, options: dict | None, roots: list[str]) -> None:
            from logitlint.analysis.project import ProjectIndex
            from logitlint.config import validate_selectors

            options = options or {}
            overrides = Overrides()
            try:
                if options.get("select"):
                    overrides.select = validate_selectors(options["select"], "initializationOptions.select")
                if options.get("extendSelect"):
                    overrides.extend_select = validate_selectors(
                        options["extendSelect"], "initializationOptions.extendSelect"
                    )
                if options.get("ignore"):
                    overrides.ignore = validate_selectors(options["ignore"], "initializationOptions.ignore")
            except Exception as exc:  # noqa: BLE001 - bad options: say so, keep the defaults
                self.window_show_message(types.ShowMessageParams(types.MessageType.Error, f"logitlint: {exc}"))
            if "unsafeFixes" in options:
                overrides.unsafe_fixes = bool(options["unsafeFixes"])
            self.debounce = max(0.0, float(options.get("debounceMs", 150)) / 1000)
            self.config = RunConfig(overrides=overrides, project=ProjectIndex(roots))

        # --- analysis ---------------------------------------------------------------------------
        def analyse(self, path: str, text: str, notebook: bool = False) -> list[Diagnostic]:
            from logitlint.config import ConfigError
            from logitlint.engine import SyntaxErrorInFile, check_source
            from logitlint.limits import TooComplex

            try:
                settings = self.config.settings(path)
            except ConfigError as exc:
                self.window_show_message(types.ShowMessageParams(types.MessageType.Error, f"logitlint: {exc}"))
                return []
            settings.parse_cache = self.caches.setdefault(path, BoundedCache())
            try:
                return check_source(text, path, settings)
            except (SyntaxErrorInFile, TooComplex, RecursionError):
                return []  # a document being edited: no findings rather than stale ones

        def schedule(self, uri: str, delay: float) -> None:
            timer = self.timers.pop(uri, None)
            if timer is not None:
                timer.cancel()
            loop = asyncio.get_running_loop()
            self.timers[uri] = loop.call_later(delay, lambda: asyncio.ensure_future(self.refresh(uri)))

        async def refresh(self, uri: str) -> None:
            """Analyse a document (or the notebook owning a cell) and publish its findings."""
            self.timers.pop(uri, None)
            notebook = self.workspace.get_notebook_document(notebook_uri=uri) or self.workspace.get_notebook_document(
                cell_uri=uri
            )
            if notebook is not None:
                await self.refresh_notebook(notebook)
                return
            document = self.workspace.get_text_document(uri)
            version, text, path = document.version, document.source, uri_to_path(uri)
            loop = asyncio.get_running_loop()
            try:
                found = await loop.run_in_executor(self.worker, self.analyse, path, text)
            except Exception as exc:  # noqa: BLE001 - never take the editor's server down
                self.window_log_message(types.LogMessageParams(types.MessageType.Error, f"logitlint: {exc!r}"))
                found = []
            current = self.workspace.get_text_document(uri)
            if current.version != version:
                return  # edited meanwhile: the next analysis publishes
            self.analyses[uri] = Analysis(version, text, path, found)
            self.publish(uri, version, text, found)

        async def refresh_notebook(self, notebook) -> None:
            from logitlint.notebooks import Notebook

            cells = [self.workspace.get_text_document(cell.document) for cell in notebook.cells]
            raw = json.dumps(
                {
                    "cells": [
                        {
                            "cell_type": "code" if cell.kind == types.NotebookCellKind.Code else "markdown",
                            "source": doc.source,
                        }
                        for cell, doc in zip(notebook.cells, cells)
                    ]
                }
            )
            book = Notebook.parse(raw)
            path = uri_to_path(notebook.uri)
            loop = asyncio.get_running_loop()
            try:
                found = await loop.run_in_executor(self.worker, self.analyse, path, book.virtual)
            except Exception as exc:  # noqa: BLE001
                self.window_log_message(types.LogMessageParams(types.MessageType.Error, f"logitlint: {exc!r}"))
                found = []
            by_cell: dict[int, list[Diagnostic]] = {i: [] for i in range(len(cells))}
            for d in found:
                mapped = book.diagnostic(d)
                if mapped.cell is not None and mapped.cell - 1 in by_cell:
                    by_cell[mapped.cell - 1].append(mapped)
            documents = {index + 1: (doc.uri, doc.version, doc.source) for index, doc in enumerate(cells)}
            for index, doc in enumerate(cells):
                self.analyses[doc.uri] = Analysis(doc.version, doc.source, path, by_cell[index], documents)
                self.publish(doc.uri, doc.version, doc.source, by_cell[index])

        def publish(self, uri: str, version: int | None, text: str, found: list[Diagnostic]) -> None:
            lines = text.splitlines(keepends=True) or [""]
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=uri, version=version, diagnostics=[self.to_lsp(d, lines) for d in found]
                )
            )

        # --- conversions ------------------------------------------------------------------------
        def position(self, lines, line: int, col: int):
            """Our 1-based line and code-point column -> an LSP position in the client's encoding."""
            codec = self.workspace.position_codec
            return codec.position_to_client_units(lines, types.Position(line=max(line - 1, 0), character=col))

        def to_range(self, lines, span: Span):
            return types.Range(
                start=self.position(lines, span.line, span.col), end=self.position(lines, span.end_line, span.end_col)
            )

        def to_lsp(self, d: Diagnostic, lines):
            from logitlint.rules import rule_by_code

            rule = rule_by_code(d.code)
            related = [
                types.DiagnosticRelatedInformation(
                    location=types.Location(
                        uri=from_fs_path(os.path.abspath(r.path)) or r.path,
                        range=types.Range(
                            types.Position(max(r.line - 1, 0), r.col), types.Position(max(r.line - 1, 0), r.col)
                        ),
                    ),
                    message=r.message,
                )
                for r in d.related
                if not r.path.startswith("<")
            ]
            return types.Diagnostic(
                range=self.to_range(lines, d.span),
                message=d.message,
                severity=types.DiagnosticSeverity(SEVERITY[d.severity.value]),
                code=d.code,
                code_description=types.CodeDescription(href=rule.docs_url()) if rule else None,
                source="logitlint",
                related_information=related or None,
            )

        # --- code actions -----------------------------------------------------------------------
        def code_actions(self, params) -> list:
            uri = params.text_document.uri
            document = self.workspace.get_text_document(uri)
            analysis = self.analyses.get(uri)
            if analysis is None or analysis.version != document.version or analysis.text != document.source:
                cell = self.workspace.get_notebook_document(cell_uri=uri) is not None
                if cell:
                    return []  # a notebook cell not yet analysed at this version
                analysis = Analysis(
                    document.version, document.source, uri_to_path(uri), self.analyse(uri_to_path(uri), document.source)
                )
                self.analyses[uri] = analysis
            lines = analysis.text.splitlines(keepends=True) or [""]
            wanted = params.context.only
            actions = []
            requested = params.range
            for d in analysis.diagnostics:
                where = self.to_range(lines, d.span)
                if not _overlaps(where, requested):
                    continue
                lsp_diagnostic = self.to_lsp(d, lines)
                if d.fix is not None and _wants(wanted, types.CodeActionKind.QuickFix):
                    actions.append(
                        types.CodeAction(
                            title=f"{d.fix.title} ({d.code})",
                            kind=types.CodeActionKind.QuickFix,
                            diagnostics=[lsp_diagnostic],
                            is_preferred=d.fix.safe,
                            edit=self.fix_edit(analysis, uri, document.version, d.fix.edits),
                        )
                    )
                if _wants(wanted, types.CodeActionKind.QuickFix):
                    actions.append(
                        types.CodeAction(
                            title=f"Disable {d.code} for this line",
                            kind=types.CodeActionKind.QuickFix,
                            diagnostics=[lsp_diagnostic],
                            edit=self.edit(uri, document.version, [self.noqa_edit(lines, d)]),
                        )
                    )
            if (
                _wants(wanted, FIX_ALL, explicit_only=True)
                and self.workspace.get_notebook_document(cell_uri=uri) is None
            ):
                fixed = self.fix_all(analysis)
                if fixed is not None:
                    unsafe = self.config.unsafe_fixes(analysis.path)
                    actions.append(
                        types.CodeAction(
                            # with unsafeFixes the action also applies value-changing fixes: say so
                            title="Fix all logitlint findings (including unsafe fixes)"
                            if unsafe
                            else "Fix all safe logitlint findings",
                            kind=FIX_ALL,
                            edit=self.edit(uri, document.version, [fixed]),
                        )
                    )
            return actions

        def fix_edit(self, analysis: Analysis, uri: str, version: int | None, edits):
            """A fix's edits, each in its document (in a notebook, an import may go to another cell)."""
            by_document: dict[str, tuple[int | None, list]] = {}
            for e in edits:
                target, target_version, text = (uri, version, analysis.text)
                if e.cell is not None and e.cell in analysis.cells:
                    target, target_version, text = analysis.cells[e.cell]
                lines = text.splitlines(keepends=True) or [""]
                by_document.setdefault(target, (target_version, []))[1].append(
                    types.TextEdit(self.to_range(lines, e.span), e.text)
                )
            return types.WorkspaceEdit(
                document_changes=[
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=target, version=target_version),
                        edits=document_edits,
                    )
                    for target, (target_version, document_edits) in by_document.items()
                ]
            )

        def edit(self, uri: str, version: int | None, edits: list):
            return types.WorkspaceEdit(
                document_changes=[
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
                        edits=edits,
                    )
                ]
            )

        def noqa_edit(self, lines, d: Diagnostic):
            """Append ``# noqa: CODE`` to the finding's line (or the code to the line's noqa list)."""
            from logitlint.noqa import NOQA

            number = d.span.line
            body = (lines[number - 1] if number <= len(lines) else "").rstrip("\r\n")
            existing = NOQA.search(body)
            if existing and existing.group("codes"):
                col = existing.start("codes") + len(existing.group("codes").rstrip(", \t"))
                at = self.position(lines, number, col)
                return types.TextEdit(types.Range(at, at), f", {d.code}")
            stripped = body.rstrip()  # trailing blanks are replaced
            start, end = self.position(lines, number, len(stripped)), self.position(lines, number, len(body))
            return types.TextEdit(types.Range(start, end), f"  # noqa: {d.code}")

        def fix_all(self, analysis: Analysis):
            """One edit covering what changes when every safe fix is applied (or None)."""
            from logitlint.engine import check_source
            from logitlint.fixer import fix_source

            settings = self.config.settings(analysis.path)
            settings.parse_cache = self.caches.setdefault(analysis.path, BoundedCache())
            try:
                outcome = fix_source(
                    analysis.text,
                    lambda t: check_source(t, analysis.path, settings),
                    unsafe=self.config.unsafe_fixes(analysis.path),
                )
            except Exception:  # noqa: BLE001
                return None
            new = outcome.text
            old = analysis.text
            if new == old:
                return None
            start = 0
            while start < min(len(old), len(new)) and old[start] == new[start]:
                start += 1
            end_old, end_new = len(old), len(new)
            while end_old > start and end_new > start and old[end_old - 1] == new[end_new - 1]:
                end_old, end_new = end_old - 1, end_new - 1
            lines = old.splitlines(keepends=True) or [""]
            return types.TextEdit(
                types.Range(self.offset_position(old, lines, start), self.offset_position(old, lines, end_old)),
                new[start:end_new],
            )

        def offset_position(self, text: str, lines, offset: int):
            line = text.count("\n", 0, offset)
            col = offset - (text.rfind("\n", 0, offset) + 1)
            return self.position(lines, line + 1, col)

    server = LogitlintServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: LogitlintServer, params: types.InitializeParams) -> None:
        roots = []
        for folder in params.workspace_folders or []:
            roots.append(uri_to_path(folder.uri))
        if not roots and params.root_uri:
            roots.append(uri_to_path(params.root_uri))
        ls.configure(params.initialization_options if isinstance(params.initialization_options, dict) else {}, roots)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: LogitlintServer, params: types.DidOpenTextDocumentParams) -> None:
        await ls.refresh(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LogitlintServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, ls.debounce)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: LogitlintServer, params: types.DidSaveTextDocumentParams) -> None:
        saved = params.text_document.uri
        if ls.config.project is not None:
            ls.config.project.forget(uri_to_path(saved))
        for uri in list(ls.analyses):  # open files may use the saved one (its model, its loss helper)
            if uri != saved and ls.workspace.get_notebook_document(cell_uri=uri) is None:
                ls.schedule(uri, ls.debounce)
        if saved in ls.workspace.text_documents:
            await ls.refresh(saved)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LogitlintServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        timer = ls.timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        ls.analyses.pop(uri, None)
        ls.caches.pop(uri_to_path(uri), None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    async def notebook_open(ls: LogitlintServer, params: types.DidOpenNotebookDocumentParams) -> None:
        await ls.refresh(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_change(ls: LogitlintServer, params: types.DidChangeNotebookDocumentParams) -> None:
        ls.schedule(params.notebook_document.uri, ls.debounce)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    async def notebook_save(ls: LogitlintServer, params: types.DidSaveNotebookDocumentParams) -> None:
        await ls.refresh(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_close(ls: LogitlintServer, params: types.DidCloseNotebookDocumentParams) -> None:
        for cell in params.cell_text_documents:
            ls.analyses.pop(cell.uri, None)
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=cell.uri, diagnostics=[]))

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=False),
    )
    async def code_action(ls: LogitlintServer, params: types.CodeActionParams):
        try:  # on the analysis thread: analyses never run concurrently over shared caches
            return await asyncio.get_running_loop().run_in_executor(ls.worker, ls.code_actions, params)
        except Exception as exc:  # noqa: BLE001 - never take the editor's server down
            ls.window_log_message(types.LogMessageParams(types.MessageType.Error, f"logitlint: {exc!r}"))
            return []

    return server


def _overlaps(a, b) -> bool:
    def key(p):
        return (p.line, p.character)

    return not (key(a.end) < key(b.start) or key(b.end) < key(a.start))


def _wants(only, kind: str, *, explicit_only: bool = False) -> bool:
    """Does the request's ``only`` filter ask for ``kind``? (fixAll: only when asked for a source action)"""
    if not only:
        return not explicit_only
    return any(kind == k or kind.startswith(k + ".") for k in only)


def main() -> int:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    build_server().start_io(stdin=ResyncingInput(sys.stdin.buffer))  # type: ignore[arg-type]
    return 0
