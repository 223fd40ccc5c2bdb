"""The session: settings, the open documents' analyses, debounced re-analysis, publishing.

Analyses run on one worker thread (they share parse caches); the event loop stays free for the
client's messages. The features the client calls are in ``handlers``."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from logitlint import __version__
from logitlint.analysis.project import ProjectIndex
from logitlint.config import ConfigError, validate_selectors
from logitlint.diagnostics import Diagnostic
from logitlint.engine import SyntaxErrorInFile, check_source
from logitlint.fixer import fix_source
from logitlint.limits import TooComplex
from logitlint.lsp import actions, convert, handlers
from logitlint.lsp.actions import Analysis
from logitlint.lsp.notebook import is_cell, notebook_of, open_notebook
from logitlint.rules import rule_by_code
from logitlint.runner import Overrides, RunConfig

PARSE_CACHE_SIZE = 8192  # parses and their positions: a few thousand units fit
# Every this many tidies, frozen objects are collected too (a cleared cache, a closed document).
FULL_COLLECT_EVERY = 32


class BoundedCache(dict):
    """Parsed units of a document, reused across edits (only changed pieces are parsed again)."""

    def __setitem__(self, key, value):
        if len(self) >= PARSE_CACHE_SIZE:
            self.clear()
        super().__setitem__(key, value)


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
        self.disabled_actions = False  # does the client show disabled code actions (with their reason)?
        self.analyses: dict[str, Analysis] = {}  # by document (or cell) uri
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.caches: dict[str, BoundedCache] = {}
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="logitlint")
        self.tidies = 0

    @property
    def codec(self):
        return self.workspace.position_codec

    def error(self, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(types.MessageType.Error, f"logitlint: {message}"))

    # --- settings -----------------------------------------------------------------------------
    def configure(self, options: dict, roots: list[str]) -> None:
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
            self.error(str(exc))
        if "unsafeFixes" in options:
            overrides.unsafe_fixes = bool(options["unsafeFixes"])
        self.debounce = max(0.0, float(options.get("debounceMs", 150)) / 1000)
        self.config = RunConfig(overrides=overrides, project=ProjectIndex(roots))

    def settings(self, path: str, line_label: Callable[[int], str] | None = None):
        settings = self.config.settings(path)
        settings.parse_cache = self.caches.setdefault(path, BoundedCache())
        settings.line_label = line_label
        return settings

    # --- analysis -----------------------------------------------------------------------------
    def analyse(self, path: str, text: str, line_label: Callable[[int], str] | None = None) -> list[Diagnostic]:
        try:
            settings = self.settings(path, line_label)
        except ConfigError as exc:
            self.error(str(exc))
            return []
        try:
            return check_source(text, path, settings)
        except (SyntaxErrorInFile, TooComplex, RecursionError):
            return []  # a document being edited: no findings rather than stale ones

    async def analyse_off_loop(self, path: str, text: str, line_label=None) -> list[Diagnostic]:
        try:
            return await asyncio.get_running_loop().run_in_executor(self.worker, self.analyse, path, text, line_label)
        except Exception as exc:  # noqa: BLE001 - never take the editor's server down
            self.window_log_message(types.LogMessageParams(types.MessageType.Error, f"logitlint: {exc!r}"))
            return []

    def schedule(self, uri: str, delay: float) -> None:
        self.cancel(uri)
        loop = asyncio.get_running_loop()
        self.timers[uri] = loop.call_later(delay, lambda: asyncio.ensure_future(self.refresh(uri)))

    def cancel(self, uri: str) -> None:
        timer = self.timers.pop(uri, None)
        if timer is not None:
            timer.cancel()

    async def refresh(self, uri: str) -> None:
        """Analyse a document (or the notebook owning a cell) and publish its findings."""
        self.timers.pop(uri, None)
        notebook = notebook_of(self.workspace, uri)
        if notebook is not None:
            await self.refresh_notebook(notebook)
            return
        document = self.workspace.get_text_document(uri)
        version, text, path = document.version, document.source, convert.uri_to_path(uri)
        found = await self.analyse_off_loop(path, text)
        if self.workspace.get_text_document(uri).version != version:
            return  # edited meanwhile: the next analysis publishes
        self.publish(Analysis(uri, version, text, path, found))
        self.worker.submit(self.tidy)

    def tidy(self) -> None:
        """After a publish, on the worker: collect the analysis' cyclic garbage, then freeze what
        survives (mostly the parse caches). Python's full collections otherwise rescan every cached
        tree in the middle of an analysis (about 115 ms each on a 2,000-line file, the slowest
        responses); frozen objects are skipped. Every ``FULL_COLLECT_EVERY`` tidies they are
        unfrozen first, so frozen objects that became garbage are collected too."""
        self.tidies += 1
        if self.tidies % FULL_COLLECT_EVERY == 0:
            gc.unfreeze()
        gc.collect()
        gc.freeze()

    async def refresh_notebook(self, document: types.NotebookDocument) -> None:
        notebook = open_notebook(self.workspace, document)
        path = convert.uri_to_path(notebook.uri)
        found = await self.analyse_off_loop(path, notebook.program.virtual, notebook.program.place)
        by_cell = notebook.by_cell(found)
        for cell in notebook.cells:
            self.publish(Analysis(cell.uri, cell.version, cell.text, path, by_cell[cell.uri], notebook))
        self.worker.submit(self.tidy)

    def publish(self, analysis: Analysis) -> None:
        self.analyses[analysis.uri] = analysis
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=analysis.uri,
                version=analysis.version,
                diagnostics=[self.shown(analysis, d) for d in analysis.diagnostics],
            )
        )

    def shown(self, analysis: Analysis, d: Diagnostic) -> types.Diagnostic:
        return convert.diagnostic(self.codec, d, analysis.lines, analysis.cell_document)

    def forget(self, uri: str) -> None:
        self.cancel(uri)
        self.analyses.pop(uri, None)
        self.caches.pop(convert.uri_to_path(uri), None)
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def current(self, uri: str) -> Analysis | None:
        """The analysis of the document as it is now (made now for a plain file if it is stale)."""
        document = self.workspace.get_text_document(uri)
        analysis = self.analyses.get(uri)
        if analysis is not None and analysis.version == document.version and analysis.text == document.source:
            return analysis
        if is_cell(self.workspace, uri):
            return None  # a notebook cell not yet analysed at this version
        path = convert.uri_to_path(uri)
        analysis = Analysis(uri, document.version, document.source, path, self.analyse(path, document.source))
        self.analyses[uri] = analysis
        return analysis

    # --- code actions and hovers (on the analysis thread) --------------------------------------
    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        analysis = self.current(params.text_document.uri)
        if analysis is None:
            return []
        only = params.context.only
        found: list[types.CodeAction | None] = []
        for d in analysis.diagnostics:
            shown = self.shown(analysis, d)
            if not convert.overlaps(shown.range, params.range) or not actions.wants(
                only, types.CodeActionKind.QuickFix
            ):
                continue
            if d.fix is not None:
                found.append(actions.quick_fix(self.codec, analysis, d, shown))
            elif self.disabled_actions:
                found.append(actions.no_fix(d, shown))
            found.append(actions.disable(self.codec, analysis, d, shown))
        if actions.wants(only, actions.FIX_ALL, explicit_only=True) and analysis.notebook is None:
            found.append(self.fix_all(analysis))
        return [action for action in found if action is not None]

    def fix_all(self, analysis: Analysis) -> types.CodeAction | None:
        """One edit covering what changes when every safe fix (or, with unsafeFixes, every fix) is applied."""
        settings = self.settings(analysis.path)
        unsafe = self.config.unsafe_fixes(analysis.path)
        try:
            outcome = fix_source(analysis.text, lambda t: check_source(t, analysis.path, settings), unsafe=unsafe)
        except Exception:  # noqa: BLE001 - a fix that fails offers no action
            return None
        return actions.fix_all(self.codec, analysis, outcome.text, unsafe)

    def hover(self, params: types.HoverParams) -> types.Hover | None:
        analysis = self.current(params.text_document.uri)
        if analysis is None:
            return None
        texts = []
        for d in analysis.diagnostics:
            if convert.contains(self.shown(analysis, d).range, params.position):
                rule = rule_by_code(d.code)
                texts.append(actions.hover_text(d, rule.docs_url() if rule else None))
        if not texts:
            return None
        return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, "\n\n---\n\n".join(texts)))


def build() -> LogitlintServer:
    server = LogitlintServer()
    handlers.register(server)
    return server
