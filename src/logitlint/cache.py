"""A content-hash cache of results, so an unchanged tree is re-checked in a fraction of a second.

An entry is keyed by the file's bytes (BLAKE2b), logitlint's version, the effective configuration
for that file (its rules) and the bytes of every project file its analysis read (a model imported
from ``models.py``): change any of them and the file is checked again. The cache lives in one
pickle per run root, ``.logitlint_cache/<version>/results.pickle`` (like ``.ruff_cache``), written
atomically; a cache that cannot be read is ignored.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from logitlint import __version__
from logitlint.diagnostics import Diagnostic, FileError

CACHE_DIR = ".logitlint_cache"


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass
class Entry:
    digest: str
    settings: tuple  # what else decides the result: rules, prefilter
    dependencies: tuple[tuple[str, str], ...]  # (absolute path, digest) of project files read
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: FileError | None = None


class Cache:
    def __init__(self, folder: Path | None, *, version: str = __version__):
        self.folder = folder
        self.version = version
        self.entries: dict[tuple[str, str], Entry] = {}
        self.changed = False
        self._digests: dict[str, str | None] = {}
        if folder is not None:
            self._load()

    @property
    def file(self) -> Path | None:
        return None if self.folder is None else self.folder / self.version / "results.pickle"

    def _load(self) -> None:
        try:
            with open(self.file, "rb") as handle:  # type: ignore[arg-type]
                data = pickle.load(handle)
            if isinstance(data, dict) and data.get("version") == self.version:
                self.entries = data["entries"]
        except Exception:  # noqa: BLE001 - a missing, stale or corrupt cache is just empty
            self.entries = {}

    def digest_of(self, path: str) -> str | None:
        if path not in self._digests:
            try:
                with open(path, "rb") as handle:
                    self._digests[path] = digest(handle.read())
            except OSError:
                self._digests[path] = None
        return self._digests[path]

    def get(self, key: tuple[str, str], file_digest: str, settings: tuple) -> Entry | None:
        entry = self.entries.get(key)
        if entry is None or entry.digest != file_digest or entry.settings != settings:
            return None
        for path, dep_digest in entry.dependencies:
            if self.digest_of(path) != dep_digest:
                return None
        return entry

    def put(self, key: tuple[str, str], entry: Entry) -> None:
        self.entries[key] = entry
        self.changed = True

    def dependency_digests(self, paths) -> tuple[tuple[str, str], ...]:
        found = []
        for path in sorted(paths):
            value = self.digest_of(path)
            if value is not None:
                found.append((path, value))
        return tuple(found)

    def save(self) -> None:
        if self.folder is None or not self.changed:
            return
        target = self.file
        assert target is not None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            gitignore = self.folder / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("# Automatically created by logitlint.\n*\n")
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".results.", suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(
                    {"version": self.version, "entries": self.entries}, handle, protocol=pickle.HIGHEST_PROTOCOL
                )
            os.replace(temp, target)
        except OSError:
            pass  # a cache we cannot write only costs time next run
