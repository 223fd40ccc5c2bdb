"""Running the engine over files: discovery, the cache, parallel workers, fixing and writing back.

The engine (and LibCST) is imported only when a file has to be analysed, so a warm run over an
unchanged tree reads, hashes and answers from the cache without it.
"""

from __future__ import annotations

import gc
import os
import signal
import stat
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from logitlint.analysis.project import ProjectIndex, module_info
from logitlint.cache import Cache, Entry, digest
from logitlint.config import Config, load_config
from logitlint.diagnostics import Diagnostic, FileError
from logitlint.files import ChangedOnDisk, WriteRefused, discover, excluded, remove_stale_temporaries, write_atomic
from logitlint.limits import FileTimeout, TooComplex, deadline
from logitlint.source import Source, SourceError

MAX_BYTES = 50 * 1024 * 1024
PARALLEL_FROM = 8  # fewer files than this are checked in this process
GC_THRESHOLDS = (50_000, 20, 100)


@dataclass
class Overrides:
    """What the command line says, over the configuration file (None: not given)."""

    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] | None = None
    per_file_ignores: dict[str, list[str]] | None = None
    unsafe_fixes: bool | None = None
    exclude: list[str] | None = None
    extend_exclude: list[str] = field(default_factory=list)
    respect_gitignore: bool | None = None

    def apply(self, config: Config) -> Config:
        return replace(
            config,
            select=self.select if self.select is not None else config.select,
            extend_select=[*config.extend_select, *self.extend_select],
            ignore=self.ignore if self.ignore is not None else config.ignore,
            per_file_ignores=self.per_file_ignores if self.per_file_ignores is not None else config.per_file_ignores,
            unsafe_fixes=self.unsafe_fixes if self.unsafe_fixes is not None else config.unsafe_fixes,
            exclude=self.exclude if self.exclude is not None else config.exclude,
            extend_exclude=[*config.extend_exclude, *self.extend_exclude],
            respect_gitignore=(
                self.respect_gitignore if self.respect_gitignore is not None else config.respect_gitignore
            ),
        )


@dataclass
class RunConfig:
    overrides: Overrides = field(default_factory=Overrides)
    prefilter: bool = True
    project: ProjectIndex | None = None  # imports of project modules are followed through it
    force_exclude: bool = False  # apply excludes to files named on the command line too (pre-commit)
    jobs: int | None = None  # worker processes (default: the CPU count)
    cache_dir: Path | None = None  # None: no cache
    progress: bool = False
    # --config FILE / --isolated: this configuration for every file, none discovered
    base: Config | None = None
    # fix runs: (text, path, diagnostics) -> diagnostics, called on each round's findings before the
    # fixer picks fixes (``fix --prove`` strips the fixes it cannot prove)
    fix_filter: Callable[[str, str, list[Diagnostic]], list[Diagnostic]] | None = None
    _configs: dict[Path, Config] = field(default_factory=dict, repr=False)

    def config_for(self, path: str | Path) -> Config:
        """The file's configuration (the nearest [tool.logitlint]) with the command line on top."""
        folder = Path(os.path.abspath(path))
        folder = folder if folder.is_dir() else folder.parent
        config = self._configs.get(folder)
        if config is None:
            found = self.base if self.base is not None else load_config(folder)
            config = self._configs[folder] = self.overrides.apply(found)
        return config

    def _real(self, path: str) -> bool:
        return bool(path) and not path.startswith("<")

    def codes(self, path: str) -> tuple[str, ...]:
        real = self._real(path)
        return self.config_for(path if real else ".").selection(path if real else None).codes()

    def settings(self, path: str):
        from logitlint.config import Selection
        from logitlint.engine import CheckSettings

        settings = CheckSettings(rules=Selection(self.codes(path)).rules(), prefilter=self.prefilter)
        if self.project is not None and self._real(path):
            settings.project = self.project.view(Path(path))
            settings.module_name, settings.is_package, _ = module_info(Path(path))
        return settings

    def unsafe_fixes(self, path: str) -> bool:
        return self.config_for(path if self._real(path) else ".").unsafe_fixes


@dataclass
class FileReport:
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: FileError | None = None
    applied: list[Diagnostic] = field(default_factory=list)
    dropped: list[tuple[Diagnostic, str]] = field(default_factory=list)
    original: str | None = None
    fixed: str | None = None
    notebook: bool = False
    digest: str | None = None  # of the bytes checked, for the cache
    dependencies: tuple[str, ...] = ()  # project files the analysis read
    callers_of: tuple[str, ...] = ()  # modules whose importers the analysis searched for call sites
    skipped: bool = False  # not analysed: the prefilter found no PyTorch loss code

    @property
    def changed(self) -> bool:
        return self.fixed is not None and self.fixed != self.original


# --- one file ------------------------------------------------------------------------------------
def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}"
    return str(exc)


def _read(path: Path) -> bytes:
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):  # a FIFO would block the run; a device never ends
        raise SourceError("not a regular file; skipped")
    size = info.st_size
    if size > MAX_BYTES:
        raise SourceError(f"file too large ({size} bytes; the limit is {MAX_BYTES})")
    return path.read_bytes()


class _Checker:
    """``check_source`` for one file that remembers whether the prefilter skipped the last text."""

    def __init__(self, path: str, config: RunConfig) -> None:
        self.path, self.settings, self.skipped = path, config.settings(path), False
        # a fix run's filter (``RunConfig.fix_filter``: ``fix --prove`` strips the fixes it cannot prove)
        self.fix_filter: Callable[[str, str, list[Diagnostic]], list[Diagnostic]] | None = None

    def __call__(self, text: str) -> list[Diagnostic]:
        from logitlint.engine import FileCheck

        run = FileCheck(text, self.path, self.settings)
        diagnostics = run.run()
        self.skipped = run.skipped
        return diagnostics if self.fix_filter is None else self.fix_filter(text, self.path, diagnostics)


class _CellsChecker(_Checker):
    """For a notebook's virtual module: messages name cells, also in texts a fix has changed."""

    def __init__(self, path: str, config: RunConfig, book) -> None:
        super().__init__(path, config)
        self.book = book

    def __call__(self, text: str) -> list[Diagnostic]:
        self.settings.line_label = self.book.rebased(text).place
        return super().__call__(text)


def _checker(path: str, config: RunConfig, *, fixing: bool = False) -> _Checker:
    checker = _Checker(path, config)
    if fixing:
        checker.fix_filter = config.fix_filter
    return checker


def _syntax_error(path: str, exc, book=None) -> FileError:
    if book is not None:  # a notebook: say which cell
        cell, line = book.to_cell(exc.line)
        return FileError(path, f"syntax error in cell {cell + 1}, line {line}: {exc}", 0, 0, "LGT001")
    return FileError(path, f"syntax error: {exc}", exc.line, exc.col, "LGT001")


def _consulted(config: RunConfig, path: str) -> tuple[str, ...]:
    if config.project is None or not config._real(path):
        return ()
    return tuple(str(p) for p in config.project.dependencies_of(Path(path)))


def _callers_of(config: RunConfig, path: str) -> tuple[str, ...]:
    if config.project is None or not config._real(path):
        return ()
    return tuple(sorted(config.project.callers_searched_by(Path(path))))


def check_text(text: str, path: str, config: RunConfig, *, notebook: bool = False) -> FileReport:
    from logitlint.engine import SyntaxErrorInFile

    check = _checker(path, config)
    book = None
    try:
        if notebook:
            from logitlint.notebooks import Notebook, NotebookError

            try:
                book = Notebook.parse(text)
            except NotebookError as exc:
                return FileReport(path, error=FileError(path, str(exc)), original=text, notebook=True)
            check = _CellsChecker(path, config, book)
            diagnostics = [book.diagnostic(d) for d in check(book.virtual)]
        else:
            diagnostics = check(text)
    except SyntaxErrorInFile as exc:
        return FileReport(path, error=_syntax_error(path, exc, book), original=text, notebook=notebook)
    return FileReport(
        path,
        diagnostics,
        original=text,
        notebook=notebook,
        dependencies=_consulted(config, path),
        callers_of=_callers_of(config, path),
        skipped=check.skipped,
    )


def check_file(path: Path, config: RunConfig) -> FileReport:
    name = str(path)
    try:
        data = _read(path)
        notebook = path.suffix == ".ipynb"
        text = data.decode("utf-8") if notebook else Source.from_bytes(data).text
    except (OSError, SourceError, UnicodeDecodeError) as exc:
        return FileReport(name, error=FileError(name, _describe(exc)))
    report = check_text(text, name, config, notebook=notebook)
    report.digest = digest(data)
    return report


def fix_text(source: Source, path: str, config: RunConfig, *, notebook: bool = False) -> FileReport:
    from logitlint.engine import SyntaxErrorInFile
    from logitlint.fixer import fix_source

    check = _checker(path, config, fixing=True)
    unsafe = config.unsafe_fixes(path)
    book = None
    try:
        if notebook:
            from logitlint.notebooks import Notebook, NotebookError

            try:
                book = Notebook.parse(source.text)
                check = _CellsChecker(path, config, book)
                check.fix_filter = config.fix_filter
                outcome = fix_source(book.virtual, check, unsafe=unsafe)
                fixed = book.with_virtual(outcome.text)
            except NotebookError as exc:
                return FileReport(path, error=FileError(path, str(exc)), original=source.text, notebook=True)
            return FileReport(
                path,
                [book.rebased(outcome.text).diagnostic(d) for d in outcome.remaining],
                applied=[book.diagnostic(d) for d in outcome.applied],
                dropped=[(book.diagnostic(d), why) for d, why in outcome.dropped],
                original=source.text,
                fixed=fixed,
                notebook=True,
                skipped=check.skipped,
            )
        outcome = fix_source(source.text, check, unsafe=unsafe, newline=source.newline)
    except SyntaxErrorInFile as exc:
        return FileReport(path, error=_syntax_error(path, exc, book), original=source.text, notebook=notebook)
    return FileReport(
        path,
        outcome.remaining,
        applied=outcome.applied,
        dropped=outcome.dropped,
        original=source.text,
        fixed=outcome.text,
        dependencies=_consulted(config, path),
        callers_of=_callers_of(config, path),
        skipped=check.skipped,
    )


def fix_file(path: Path, config: RunConfig, *, write: bool = True) -> FileReport:
    name = str(path)
    if write:
        remove_stale_temporaries(path)  # left by a run that was killed while writing this file
    notebook = path.suffix == ".ipynb"
    try:
        data = _read(path)
        source = Source(data.decode("utf-8")) if notebook else Source.from_bytes(data)
    except (OSError, SourceError, UnicodeDecodeError) as exc:
        return FileReport(name, error=FileError(name, _describe(exc)))
    report = fix_text(source, name, config, notebook=notebook)
    report.digest = digest(data)
    if report.error is None and report.changed and write:
        try:
            write_atomic(path, source.to_bytes(report.fixed), expected=data)
        except (OSError, ChangedOnDisk, WriteRefused) as exc:  # read-only folder, full disk, ...
            return _not_written(path, config, exc)
    return report


def _not_written(path: Path, config: RunConfig, exc: BaseException) -> FileReport:
    """The file as it still is on disk: its findings, none counted as fixed, and why."""
    report = check_file(path, config)
    if isinstance(exc, OSError):
        message = f"cannot write: {exc.strerror or exc}; not fixed"
    else:
        message = f"not fixed: {exc}" if isinstance(exc, WriteRefused) else str(exc)
    report.error = FileError(str(path), message)
    return report


# --- many files ----------------------------------------------------------------------------------
_WORKER: tuple[RunConfig, bool, bool] | None = None


def _work(path: Path) -> FileReport:
    assert _WORKER is not None
    config, fix, write = _WORKER
    try:
        with deadline():
            report = fix_file(path, config, write=write) if fix else check_file(path, config)
    except (TooComplex, FileTimeout) as exc:
        report = FileReport(str(path), error=FileError(str(path), str(exc), code="LGT002"))
    except (RecursionError, MemoryError) as exc:
        report = FileReport(
            str(path), error=FileError(str(path), f"too complex to analyse ({type(exc).__name__})", code="LGT002")
        )
    if config.project is not None:
        config.project.trim()
    return _slim(report)


def _slim(report: FileReport) -> FileReport:
    """A report is sent back to the parent and kept until the run ends: its source text stays only
    where the output shows it (a finding's excerpt, a diff). Keeping every file's text made the
    parent as large as the corpus (about 115 MB of 440 MB on the transformers wheel)."""
    if not report.diagnostics and not report.changed:
        report.original = report.fixed = None
    return report


def _start_worker(config: RunConfig, fix: bool, write: bool) -> None:
    global _WORKER
    _WORKER = (config, fix, write)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    # Parsing allocates millions of small, long-lived tree nodes: with the default thresholds the
    # cyclic collector rescans them over and over (a sixth of a check's CPU); garbage cycles are rare.
    gc.set_threshold(*GC_THRESHOLDS)


def _start_pool_worker(config: RunConfig, fix: bool, write: bool) -> None:
    # Ctrl-C reaches the whole process group: only the parent reacts (one line, exit 130); a
    # worker finishes its file (writes are atomic) and the pool is cancelled.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _start_worker(config, fix, write)


class _DeferredInterrupt:
    """Ctrl-C during analysis takes effect between files: never inside a write, nor inside the lazy
    import of LibCST (where Python turns KeyboardInterrupt into a RuntimeError)."""

    def __init__(self) -> None:
        self.requested = False
        self.previous = None

    def __enter__(self) -> _DeferredInterrupt:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._request)
        return self

    def _request(self, _signum, _frame) -> None:
        self.requested = True

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        self.check()


def _execute(paths: list[Path], config: RunConfig, fix: bool, write: bool) -> list[FileReport]:
    with _DeferredInterrupt() as interrupt:
        return _execute_files(paths, config, fix, write, interrupt)


def _execute_files(
    paths: list[Path], config: RunConfig, fix: bool, write: bool, interrupt: _DeferredInterrupt
) -> list[FileReport]:
    jobs = config.jobs or os.cpu_count() or 1
    if jobs <= 1 or len(paths) < PARALLEL_FROM:
        _start_worker(config, fix, write)
        reports = []
        for i, path in enumerate(paths):
            reports.append(_report_progress(config, i, len(paths), _work(path)))
            interrupt.check()
        return reports
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    context = multiprocessing.get_context(method)
    # Largest first: the long files do not end up alone at the end.
    order = sorted(range(len(paths)), key=lambda i: -_size(paths[i]))
    results: list[FileReport | None] = [None] * len(paths)
    pool = ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_start_pool_worker, initargs=(config, fix, write)
    )
    try:
        for done, (index, report) in enumerate(zip(order, pool.map(_work, [paths[i] for i in order], chunksize=4))):
            results[index] = _report_progress(config, done, len(paths), report)
            interrupt.check()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results  # type: ignore[return-value]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _report_progress(config: RunConfig, done: int, total: int, report: FileReport) -> FileReport:
    if config.progress and total >= 50 and (done % 25 == 0 or done + 1 == total):
        width = 30
        filled = width * (done + 1) // total
        sys.stderr.write(f"\r[{'#' * filled}{' ' * (width - filled)}] {done + 1}/{total} files")
        if done + 1 == total:
            sys.stderr.write("\r" + " " * (width + 30) + "\r")
        sys.stderr.flush()
    return report


def _settings_key(config: RunConfig, path: str) -> tuple:
    return (config.codes(path), config.prefilter)


def files(paths: list[str], config: RunConfig, errors: list[tuple[str, str]]) -> list:
    """The files a run over ``paths`` checks (``--show-files``); paths that do not exist go to ``errors``."""
    found = []
    for path in paths:
        settings = config.config_for(path)
        for item in discover([path], settings.excludes, errors, gitignore=settings.respect_gitignore):
            if (
                item.explicit
                and config.force_exclude
                and excluded(item.path, settings.excludes, settings.root or Path.cwd())
            ):
                continue
            found.append(item)
    return found


def run(paths: list[str], config: RunConfig, *, fix: bool = False, write: bool = True) -> list[FileReport]:
    errors: list[tuple[str, str]] = []
    found = files(paths, config, errors)
    if config.project is None:
        config.project = ProjectIndex(p for p in paths if Path(p).is_dir())
    reports: dict[Path, FileReport] = {}
    for path, message in errors:
        reports[Path(path)] = FileReport(path, error=FileError(path, message))
    cache = Cache(config.cache_dir)
    pending: list[Path] = []
    answered: dict[Path, Entry] = {}
    keys: dict[Path, tuple[str, str]] = {}
    for item in found:
        if item.path in reports or item.path in keys:
            continue
        name = str(item.path)
        keys[item.path] = key = (os.path.abspath(name), name)
        entry = None
        if config.cache_dir is not None:
            try:
                entry = cache.get(key, digest(_read(item.path)), _settings_key(config, name))
            except (OSError, SourceError):
                entry = None
        if entry is not None and not (fix and _fixable(entry, config.unsafe_fixes(name))):
            reports[item.path] = FileReport(name, list(entry.diagnostics), entry.error, skipped=entry.skipped)
            answered[item.path] = entry
        else:
            pending.append(item.path)
    for path in _new_callers(answered, pending):  # a file added or changed may call into a cached one
        del reports[path]
        pending.append(path)
    trace = os.environ.get("LOGITLINT_TRACE_ANALYSED")  # tests: which files were not answered from the cache
    if trace:
        with open(trace, "a", encoding="utf-8") as handle:
            handle.writelines(f"{p}\n" for p in pending)
    for report in _execute(pending, config, fix, write):
        path = Path(report.path)
        reports[path] = report
        cacheable = report.error is None or report.error.code == "LGT001"
        if config.cache_dir is not None and report.digest is not None and cacheable and not report.changed:
            cache.put(
                keys[path],
                Entry(
                    report.digest,
                    _settings_key(config, report.path),
                    cache.dependency_digests(report.dependencies),
                    report.diagnostics,
                    report.error,
                    report.skipped,
                    report.callers_of,
                ),
            )
    cache.save()
    order = [Path(p) for p, _ in errors] + [item.path for item in found]
    seen: set[Path] = set()
    result = []
    for path in order:
        if path not in seen and path in reports:
            seen.add(path)
            result.append(reports[path])
    return result


def _new_callers(answered: dict[Path, Entry], pending: list[Path]) -> list[Path]:
    """Files answered from the cache whose analysis searched a module's importers for call sites,
    when a file about to be checked (new or changed) imports that module: it may be a new caller.
    Only the import lines of the files checked anyway are read; an unchanged tree reads nothing."""
    searched = {m for entry in answered.values() for m in entry.callers_of}
    if not searched or not pending:
        return []
    from logitlint.analysis.callsites import imported_modules  # LibCST: only when files are checked

    imported: set[str] = set()
    for path in pending:
        try:
            imported |= imported_modules(path, _read(path)) & searched
        except (OSError, SourceError):
            continue
    return [path for path, entry in answered.items() if imported.intersection(entry.callers_of)]


def _fixable(entry: Entry, unsafe: bool) -> bool:
    return any(d.fix is not None and (d.fix.safe or unsafe) for d in entry.diagnostics)
