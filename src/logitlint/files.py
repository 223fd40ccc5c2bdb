"""Finding the files to check, reading them, and writing fixes back safely."""

from __future__ import annotations

import fnmatch
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from logitlint.gitignore import GitIgnores, for_walk

# As ruff's defaults: folders that are never someone's source.
DEFAULT_EXCLUDES = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".ipynb_checkpoints",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pyenv",
    ".pytest_cache",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    ".vscode",
    "__pypackages__",
    "__pycache__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
    ".logitlint_cache",
)
SUFFIXES = (".py", ".pyi", ".ipynb")


@dataclass(frozen=True)
class Discovered:
    path: Path
    explicit: bool  # named on the command line (checked even if excluded)


class MissingPath(Exception):
    pass


def excluded(path: Path, patterns: Iterable[str], root: Path | None = None) -> bool:
    """Does ``path`` (below ``root``, where it was found) match an exclude pattern? A pattern without
    a slash matches any one folder or file name (``build``, ``*_pb2.py``); one with a slash matches
    the path relative to ``root`` (``vendor/*``). Folders above ``root`` never count: checking
    ``~/build/project`` is not excluded by the pattern ``build``."""
    rel = path
    if root is not None:
        try:
            rel = Path(os.path.abspath(path)).relative_to(Path(os.path.abspath(root)))
        except ValueError:
            rel = Path(path.name)
    names, paths = _compiled(tuple(patterns))
    if names is not None and any(names.match(part) for part in rel.parts):
        return True
    return paths is not None and paths.match(rel.as_posix()) is not None


@lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """The exclude patterns as two expressions (as ``fnmatch`` reads them): one for the patterns
    matched against each name, one for those (with a slash) matched against the relative path, or
    a folder in it. One match per name instead of one per pattern: discovery asks of every path."""
    names = [fnmatch.translate(p) for p in patterns if "/" not in p]
    paths = [fnmatch.translate(q) for p in patterns if "/" in p for q in (p, p.rstrip("/") + "/*")]
    return (
        re.compile("|".join(names)) if names else None,
        re.compile("|".join(paths)) if paths else None,
    )


def discover(
    paths: Iterable[str],
    excludes: Iterable[str] = DEFAULT_EXCLUDES,
    errors: list[tuple[str, str]] | None = None,
    *,
    gitignore: bool = True,
) -> list[Discovered]:
    """Python files (and notebooks) under ``paths``, in a stable order, without duplicates."""
    excludes = tuple(excludes)
    found: dict[Path, Discovered] = {}
    for raw in paths:
        path = Path(raw)
        if not os.path.lexists(path):
            if errors is not None:
                errors.append((raw, "no such file or directory"))
            continue
        if path.is_dir():
            ignores = for_walk(os.path.abspath(path)) if gitignore else None
            for file in _walk(path, excludes, ignores):
                found.setdefault(file, Discovered(file, False))
        else:
            found[path] = Discovered(path, True)
    return sorted(found.values(), key=lambda d: d.path.as_posix())


def _walk(root: Path, excludes: tuple[str, ...], ignores: GitIgnores | None) -> Iterator[Path]:
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        try:
            info = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        key = (info.st_dev, info.st_ino)
        if key in seen:  # a symlink loop
            dirnames[:] = []
            continue
        seen.add(key)
        base = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not _skipped(base / d, excludes, root, ignores, is_dir=True))
        for name in sorted(filenames):
            if name.endswith(SUFFIXES):
                file = base / name
                if not _skipped(file, excludes, root, ignores, is_dir=False):
                    yield file


def _skipped(path: Path, excludes: tuple[str, ...], root: Path, ignores: GitIgnores | None, *, is_dir: bool) -> bool:
    if excluded(path, excludes, root):
        return True
    return ignores is not None and ignores.ignored(os.path.abspath(path), is_dir=is_dir)


def write_atomic(path: Path, data: bytes, expected: bytes | None = None) -> None:
    """Replace ``path``'s content with ``data`` atomically, keeping its permissions and owner.

    With ``expected``, refuse (ChangedOnDisk) if the file no longer holds those bytes. A file with
    more than one hard link is refused (WriteRefused): a rename would split it from its other
    names, and writing in place could leave half a file if the process is killed. The temporary
    file is named after this process (``.NAME.logitlint-PID-XXXX.tmp``), so a later run removes one
    that a killed run left behind, and never one that a live process is still writing."""
    path = Path(os.path.realpath(path))  # through a symlink: replace the file, keep the link
    directory = path.parent
    info = os.stat(path)
    if info.st_nlink > 1:
        raise WriteRefused(f"has {info.st_nlink} hard links, which a fix would break; left as it is")
    remove_stale_temporaries(path)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.logitlint-{os.getpid()}-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, stat.S_IMODE(info.st_mode))
        if (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
            try:
                os.chown(temp, info.st_uid, info.st_gid)
            except PermissionError:
                raise WriteRefused(f"cannot keep its owner (uid {info.st_uid}, gid {info.st_gid}); left as it is")
        if expected is not None and path.read_bytes() != expected:
            raise ChangedOnDisk(f"{path} changed on disk while it was being fixed; left as it is")
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def remove_stale_temporaries(path: Path) -> None:
    """Remove temporary files for ``path`` left by logitlint processes that no longer run."""
    marker = f".{path.name}.logitlint-"
    try:
        names = [n for n in os.listdir(path.parent) if n.startswith(marker) and n.endswith(".tmp")]
    except OSError:
        return
    for name in names:
        pid = name[len(marker) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            try:
                os.unlink(path.parent / name)
            except OSError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass  # exists, owned by someone else
    try:  # a killed worker whose parent died too can linger as a zombie, which writes nothing
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


class WriteRefused(Exception):
    pass


class ChangedOnDisk(Exception):
    pass
