"""Running the engine over files: reading, checking, fixing and writing back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from logitlint.analysis.project import ProjectIndex, module_info
from logitlint.config import Selection
from logitlint.diagnostics import Diagnostic, FileError
from logitlint.engine import CheckSettings, SyntaxErrorInFile, check_source
from logitlint.files import DEFAULT_EXCLUDES, ChangedOnDisk, discover, write_atomic
from logitlint.fixer import fix_source
from logitlint.source import Source, SourceError

MAX_BYTES = 50 * 1024 * 1024


@dataclass
class RunConfig:
    selection: Selection = field(default_factory=Selection)
    prefilter: bool = True
    unsafe_fixes: bool = False
    excludes: tuple[str, ...] = DEFAULT_EXCLUDES
    project: ProjectIndex | None = None  # imports of project modules are followed through it

    def settings(self, path: str) -> CheckSettings:
        settings = CheckSettings(rules=self._rules(), prefilter=self.prefilter)
        if self.project is not None and path and not path.startswith("<"):
            settings.project = self.project.view(Path(path))
            settings.module_name, settings.is_package, _ = module_info(Path(path))
        return settings

    def _rules(self):
        rules = self.__dict__.get("_rules_cache")
        if rules is None:
            rules = self.__dict__["_rules_cache"] = self.selection.rules()
        return rules


@dataclass
class FileReport:
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: FileError | None = None
    applied: list[Diagnostic] = field(default_factory=list)
    dropped: list[tuple[Diagnostic, str]] = field(default_factory=list)
    original: str | None = None
    fixed: str | None = None

    @property
    def changed(self) -> bool:
        return self.fixed is not None and self.fixed != self.original


def read(path: Path) -> Source:
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SourceError(f"file too large ({size} bytes; the limit is {MAX_BYTES})")
    return Source.from_bytes(path.read_bytes())


def check_text(text: str, path: str, config: RunConfig) -> FileReport:
    try:
        return FileReport(path, check_source(text, path, config.settings(path)))
    except SyntaxErrorInFile as exc:
        return FileReport(path, error=FileError(path, f"syntax error: {exc}", exc.line, exc.col, "LGT001"))


def check_file(path: Path, config: RunConfig) -> FileReport:
    name = str(path)
    try:
        source = read(path)
    except (OSError, SourceError) as exc:
        return FileReport(name, error=FileError(name, _describe(exc)))
    return check_text(source.text, name, config)


def fix_file(path: Path, config: RunConfig, *, write: bool = True) -> FileReport:
    name = str(path)
    try:
        data = path.read_bytes() if path.stat().st_size <= MAX_BYTES else None
        if data is None:
            raise SourceError(f"file too large (the limit is {MAX_BYTES} bytes)")
        source = Source.from_bytes(data)
    except (OSError, SourceError) as exc:
        return FileReport(name, error=FileError(name, _describe(exc)))
    report = fix_text(source, name, config)
    if report.error is None and report.changed and write:
        try:
            write_atomic(path, source.to_bytes(report.fixed), expected=data)
        except (OSError, ChangedOnDisk) as exc:
            report.error = FileError(name, _describe(exc))
    return report


def fix_text(source: Source, path: str, config: RunConfig) -> FileReport:
    settings = config.settings(path)
    try:
        outcome = fix_source(
            source.text,
            lambda text: check_source(text, path, settings),
            unsafe=config.unsafe_fixes,
            newline=source.newline,
        )
    except SyntaxErrorInFile as exc:
        return FileReport(
            path, error=FileError(path, f"syntax error: {exc}", exc.line, exc.col, "LGT001"), original=source.text
        )
    return FileReport(
        path,
        outcome.remaining,
        applied=outcome.applied,
        dropped=outcome.dropped,
        original=source.text,
        fixed=outcome.text,
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}"
    return str(exc)


def run(paths: list[str], config: RunConfig, *, fix: bool = False, write: bool = True) -> list[FileReport]:
    errors: list[tuple[str, str]] = []
    found = discover(paths, config.excludes, errors)
    if config.project is None:
        config.project = ProjectIndex(p for p in paths if Path(p).is_dir())
    reports = [FileReport(p, error=FileError(p, m)) for p, m in errors]
    for item in found:
        reports.append(fix_file(item.path, config, write=write) if fix else check_file(item.path, config))
    return reports
