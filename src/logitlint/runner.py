"""Running the engine over files: reading, checking, fixing and writing back."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from logitlint.analysis.project import ProjectIndex, module_info
from logitlint.config import Config, load_config
from logitlint.diagnostics import Diagnostic, FileError
from logitlint.engine import CheckSettings, SyntaxErrorInFile, check_source
from logitlint.files import ChangedOnDisk, discover, excluded, write_atomic
from logitlint.fixer import fix_source
from logitlint.source import Source, SourceError

MAX_BYTES = 50 * 1024 * 1024


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
        )


@dataclass
class RunConfig:
    overrides: Overrides = field(default_factory=Overrides)
    prefilter: bool = True
    project: ProjectIndex | None = None  # imports of project modules are followed through it
    force_exclude: bool = False  # apply excludes to files named on the command line too (pre-commit)
    _configs: dict[Path, Config] = field(default_factory=dict, repr=False)

    def config_for(self, path: str | Path) -> Config:
        """The file's configuration (the nearest [tool.logitlint]) with the command line on top."""
        folder = Path(os.path.abspath(path))
        folder = folder if folder.is_dir() else folder.parent
        config = self._configs.get(folder)
        if config is None:
            config = self._configs[folder] = self.overrides.apply(load_config(folder))
        return config

    def settings(self, path: str) -> CheckSettings:
        real = path and not path.startswith("<")
        config = self.config_for(path if real else ".")
        settings = CheckSettings(rules=config.selection(path if real else None).rules(), prefilter=self.prefilter)
        if self.project is not None and real:
            settings.project = self.project.view(Path(path))
            settings.module_name, settings.is_package, _ = module_info(Path(path))
        return settings

    def unsafe_fixes(self, path: str) -> bool:
        return self.config_for(path if path and not path.startswith("<") else ".").unsafe_fixes


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
            unsafe=config.unsafe_fixes(path),
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
    found = []
    for path in paths:
        settings = config.config_for(path)
        for item in discover([path], settings.excludes, errors):
            if (
                item.explicit
                and config.force_exclude
                and excluded(item.path, settings.excludes, settings.root or Path.cwd())
            ):
                continue
            found.append(item)
    if config.project is None:
        config.project = ProjectIndex(p for p in paths if Path(p).is_dir())
    reports = [FileReport(p, error=FileError(p, m)) for p, m in errors]
    seen: set[Path] = set()
    for item in found:
        if item.path in seen:
            continue
        seen.add(item.path)
        reports.append(fix_file(item.path, config, write=write) if fix else check_file(item.path, config))
    return reports
