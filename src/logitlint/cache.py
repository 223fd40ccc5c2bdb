"""A content-hash cache of results, so an unchanged tree is re-checked in a fraction of a second.

An entry is keyed by the file's bytes (BLAKE2b), logitlint's version and code, the effective configuration
for that file (its rules) and the bytes of every project file its analysis read (a model imported
from ``models.py``): change any of them and the file is checked again. The cache lives in one JSON
file per run root, ``.logitlint_cache/<version>/results.json`` (like ``.ruff_cache``), written
atomically.

The cache folder sits inside the tree being checked, which may not be trusted (a pull request, a
fresh clone). So the file is plain data that cannot run code when read (JSON, never pickle), every
entry is validated field by field, and every entry carries an HMAC made with a key that lives in
the user's own cache folder, outside the tree: an entry that a repository ships, or that was
edited, does not verify and is ignored, exactly like a missing or corrupt one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logitlint import __version__
from logitlint.diagnostics import Diagnostic, Edit, FileError, Fix, FixClass, Related, Severity, Span

CACHE_DIR = ".logitlint_cache"
RESULTS = "results.json"
MAX_BYTES = 256 * 1024 * 1024  # a larger cache file is not read


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


_CODE_VERSION: str | None = None


def code_version() -> str:
    """The version plus a fingerprint of the installed package's modules: an edited checkout (a
    developer's, the test suite's) never reads results its old code wrote."""
    global _CODE_VERSION
    if _CODE_VERSION is None:
        _CODE_VERSION = f"{__version__}-{fingerprint(Path(__file__).resolve().parent)}"
    return _CODE_VERSION


def fingerprint(package: Path) -> str:
    """A short digest of the name, size and mtime of every module under ``package``."""
    stamp = hashlib.blake2b(digest_size=6)
    for path in sorted(package.rglob("*.py")):
        info = path.stat()
        stamp.update(f"{path.relative_to(package)}:{info.st_size}:{info.st_mtime_ns};".encode())
    return stamp.hexdigest()


@dataclass
class Entry:
    digest: str
    settings: tuple  # what else decides the result: rules, prefilter
    dependencies: tuple[tuple[str, str], ...]  # (absolute path, digest) of project files read
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: FileError | None = None
    skipped: bool = False  # the prefilter found no PyTorch loss code
    # modules whose importers the analysis searched for call sites: a changed or new file that
    # imports one of them may be a new caller, and then this entry is not used
    callers_of: tuple[str, ...] = ()


class Cache:
    def __init__(self, folder: Path | None, *, version: str | None = None, key: bytes | None = None):
        self.folder = folder
        self.version = version if version is not None else code_version()
        self.entries: dict[tuple[str, str], Entry] = {}
        self.changed = False
        self._digests: dict[str, str | None] = {}
        self._key = key if key is not None else (user_key() if folder is not None else None)
        if folder is not None and self._key is not None:
            self._load()

    @property
    def file(self) -> Path | None:
        return None if self.folder is None else self.folder / self.version / RESULTS

    def _load(self) -> None:
        try:
            path = self.file
            assert path is not None
            if not path.is_file() or path.stat().st_size > MAX_BYTES:  # not a FIFO, not a huge file
                return
            data = json.loads(path.read_bytes())
        except (OSError, ValueError, RecursionError):
            return  # a missing, unreadable or corrupt cache is just empty
        if not isinstance(data, dict) or data.get("version") != self.version:
            return
        rows = data.get("entries")
        for row in rows if isinstance(rows, list) else ():
            loaded = self._verified(row)
            if loaded is not None:
                self.entries[loaded[0]] = loaded[1]

    def _verified(self, row: Any) -> tuple[tuple[str, str], Entry] | None:
        """The entry in ``row`` if its signature holds and every field has its type, else None."""
        if not isinstance(row, dict) or not isinstance(row.get("mac"), str) or "body" not in row:
            return None
        body = row["body"]
        if not hmac.compare_digest(row["mac"], self._mac(body)):
            return None
        try:
            return decode_entry(body)
        except (KeyError, TypeError, ValueError, AttributeError):
            return None

    def _mac(self, body: Any) -> str:
        assert self._key is not None
        payload = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8", "surrogatepass")
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()

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
        if entry is None or entry.digest != file_digest or entry.settings != canonical(settings):
            return None
        for path, dep_digest in entry.dependencies:
            if self.digest_of(path) != dep_digest:
                return None
        return entry

    def put(self, key: tuple[str, str], entry: Entry) -> None:
        entry.settings = canonical(entry.settings)
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
        if self.folder is None or self._key is None or not self.changed:
            return
        target = self.file
        assert target is not None
        rows = []
        for key, entry in self.entries.items():
            body = encode_entry(key, entry)
            rows.append({"mac": self._mac(body), "body": body})
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            gitignore = self.folder / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("# Automatically created by logitlint.\n*\n")
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".results.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8", errors="surrogatepass") as handle:
                    json.dump({"version": self.version, "entries": rows}, handle, separators=(",", ":"))
                os.replace(temp, target)
            finally:
                if os.path.exists(temp):
                    os.unlink(temp)
        except OSError:
            pass  # a cache we cannot write only costs time next run


def user_key() -> bytes | None:
    """The per-user signing key, made on first use in the user's cache folder (None: no such folder
    can be written, and then nothing is cached rather than trusted unsigned)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = os.path.join(base, "logitlint", "cache-key")
    try:
        with open(path, "rb") as handle:
            key = handle.read(64)
        if len(key) >= 32:
            return key
    except OSError:
        pass
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        key = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return key
    except OSError:
        return None


def canonical(value: Any) -> Any:
    """A JSON-shaped form of a settings value that is the same in every process (sets sorted)."""
    if isinstance(value, (set, frozenset)):
        return tuple(sorted((canonical(v) for v in value), key=repr))
    if isinstance(value, (tuple, list)):
        return tuple(canonical(v) for v in value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _json_shape(value: Any) -> Any:
    return [_json_shape(v) for v in value] if isinstance(value, tuple) else value


def _tuple_shape(value: Any) -> Any:
    return tuple(_tuple_shape(v) for v in value) if isinstance(value, list) else value


def encode_entry(key: tuple[str, str], entry: Entry) -> dict:
    return {
        "key": list(key),
        "digest": entry.digest,
        "settings": _json_shape(canonical(entry.settings)),
        "dependencies": [list(pair) for pair in entry.dependencies],
        "diagnostics": [_encode_diagnostic(d) for d in entry.diagnostics],
        "error": None if entry.error is None else vars(entry.error).copy(),
        "skipped": entry.skipped,
        "callers_of": list(entry.callers_of),
    }


def decode_entry(body: dict) -> tuple[tuple[str, str], Entry]:
    key = _strings(body["key"], 2)
    dependencies = tuple(_strings(pair, 2) for pair in body["dependencies"])
    error = body["error"]
    entry = Entry(
        digest=_typed(body["digest"], str),
        settings=_tuple_shape(body["settings"]),
        dependencies=dependencies,  # type: ignore[arg-type]
        diagnostics=[_decode_diagnostic(d) for d in body["diagnostics"]],
        error=None if error is None else _decode_error(error),
        skipped=_typed(body.get("skipped", False), bool),
        callers_of=tuple(_typed(m, str) for m in _typed(body.get("callers_of", []), list)),
    )
    return key, entry  # type: ignore[return-value]


def _encode_diagnostic(d: Diagnostic) -> dict:
    fix = None
    if d.fix is not None:
        fix = {
            "title": d.fix.title,
            "class": d.fix.fix_class.value,
            "edits": [{"span": _span(e.span), "text": e.text, "cell": e.cell} for e in d.fix.edits],
        }
    return {
        "code": d.code,
        "name": d.name,
        "message": d.message,
        "severity": d.severity.value,
        "path": d.path,
        "span": _span(d.span),
        "fix": fix,
        "related": [[r.path, r.line, r.col, r.message, r.cell] for r in d.related],
        "cell": d.cell,
        "fix_note": d.fix_note,
    }


def _decode_diagnostic(row: dict) -> Diagnostic:
    fix = row["fix"]
    return Diagnostic(
        code=_typed(row["code"], str),
        name=_typed(row["name"], str),
        message=_typed(row["message"], str),
        severity=Severity(row["severity"]),
        path=_typed(row["path"], str),
        span=_decode_span(row["span"]),
        fix=None
        if fix is None
        else Fix(
            _typed(fix["title"], str),
            FixClass(fix["class"]),
            tuple(
                Edit(_decode_span(e["span"]), _typed(e["text"], str), _optional(e["cell"], int))
                for e in fix["edits"]
            ),
        ),
        related=tuple(
            Related(_typed(p, str), _typed(line, int), _typed(col, int), _typed(m, str), _optional(cell, int))
            for p, line, col, m, cell in row["related"]  # an older entry (no cell) is not read
        ),
        cell=_optional(row["cell"], int),
        fix_note=_optional(row["fix_note"], str),
    )


def _decode_error(row: dict) -> FileError:
    return FileError(
        _typed(row["path"], str),
        _typed(row["message"], str),
        _typed(row["line"], int),
        _typed(row["col"], int),
        _typed(row["code"], str),
    )


def _span(span: Span) -> list[int]:
    return [span.line, span.col, span.end_line, span.end_col]


def _decode_span(row: Any) -> Span:
    if not isinstance(row, list) or len(row) != 4:
        raise ValueError("a span is four numbers")
    return Span(*(_typed(v, int) for v in row))


def _strings(row: Any, count: int) -> tuple[str, ...]:
    if not isinstance(row, list) or len(row) != count:
        raise ValueError(f"expected {count} strings")
    return tuple(_typed(v, str) for v in row)


def _typed(value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"expected {kind.__name__}")
    return value


def _optional(value: Any, kind: type) -> Any:
    return None if value is None else _typed(value, kind)
