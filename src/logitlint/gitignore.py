"""git's ignore rules, read from the files that hold them; git itself is never run.

Running git in a repository being checked is not safe: its ``.git/config`` can name commands git
runs (``core.fsmonitor``), and a pull request or a fresh clone is not trusted. The rules are read
as git reads them: every ``.gitignore`` from the file's folder up to the top of its work tree (the
nearer one wins), then ``.git/info/exclude``, then the user's global excludes file; in one file the
last matching pattern wins, and ``!pattern`` re-includes. A folder that is ignored is not entered,
so nothing below it can be re-included (as in git). A folder with its own ``.git`` (a submodule, a
nested repository) starts a new work tree. Outside a work tree nothing is ignored. Files git
tracks although they match an ignore pattern are ignored too (as ruff does: reading git's index
is not worth it).

A folder asked for by name is checked even if git ignores it (as ruff does: ``logitlint check
vendor/`` inside an ignored ``vendor/``): the rules that ignore it come from above it, so below it
only the ignore files in it and its subfolders apply (``GitIgnores(below=folder)``).
"""

from __future__ import annotations

import os

from pathspec import GitIgnoreSpec

MAX_BYTES = 1024 * 1024  # an ignore file larger than this is not read


class GitIgnores:
    def __init__(self, below: str | None = None) -> None:
        self._below = below  # read no rules from above this folder (see the module's docstring)
        self._specs: dict[str, GitIgnoreSpec | None] = {}
        self._tops: dict[str, str | None] = {}
        self._repo: dict[str, tuple[GitIgnoreSpec, ...]] = {}

    def ignored(self, path: str, is_dir: bool = False) -> bool:
        """Is ``path`` (absolute) ignored by git's rules?"""
        if is_dir and os.path.basename(path) == ".git":
            return True
        folder = os.path.dirname(path)
        top = self._top(folder)
        if top is None:
            return False
        suffix = "/" if is_dir else ""
        current = folder
        while True:
            spec = self._spec(os.path.join(current, ".gitignore"))
            if spec is not None:
                decided = spec.check_file(os.path.relpath(path, current).replace(os.sep, "/") + suffix).include
                if decided is not None:
                    return decided
            if current == top or current == self._below:
                break
            current = os.path.dirname(current)
        if self._below is not None and not _inside(top, self._below):
            return False  # the repository's own rules are above the folder asked for
        relative = os.path.relpath(path, top).replace(os.sep, "/") + suffix
        for spec in self._repo_specs(top):
            decided = spec.check_file(relative).include
            if decided is not None:
                return decided
        return False

    def _top(self, folder: str) -> str | None:
        """The nearest folder at or above ``folder`` with a ``.git`` (None: not in a work tree)."""
        if folder not in self._tops:
            parent = os.path.dirname(folder)
            if os.path.lexists(os.path.join(folder, ".git")):
                self._tops[folder] = folder
            else:
                self._tops[folder] = None if parent == folder else self._top(parent)
        return self._tops[folder]

    def _spec(self, path: str) -> GitIgnoreSpec | None:
        if path not in self._specs:
            lines = _read_lines(path)
            self._specs[path] = GitIgnoreSpec.from_lines(lines) if lines else None
        return self._specs[path]

    def _repo_specs(self, top: str) -> tuple[GitIgnoreSpec, ...]:
        """``info/exclude`` of the repository, then the user's global excludes file."""
        if top not in self._repo:
            specs = []
            for path in (os.path.join(_git_dir(top), "info", "exclude"), _global_excludes()):
                spec = self._spec(path) if path else None
                if spec is not None:
                    specs.append(spec)
            self._repo[top] = tuple(specs)
        return self._repo[top]


def for_walk(root: str) -> GitIgnores:
    """The rules for a walk of the folder ``root`` (absolute), asked for by name: all of git's,
    unless they ignore ``root`` itself; then only those in it and below."""
    ignores = GitIgnores()
    return GitIgnores(below=root) if ignores.ignored(root, is_dir=True) else ignores


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _git_dir(top: str) -> str:
    """The repository folder: ``.git``, or where a ``.git`` file points (worktrees, submodules)."""
    dot_git = os.path.join(top, ".git")
    if os.path.isdir(dot_git):
        return dot_git
    lines = _read_lines(dot_git)
    target = lines[0][len("gitdir:") :].strip() if lines and lines[0].startswith("gitdir:") else ""
    if not target:
        return dot_git
    git_dir = os.path.normpath(os.path.join(top, target))
    common = _read_lines(os.path.join(git_dir, "commondir"))  # a worktree: info/ is in the main repository
    return os.path.normpath(os.path.join(git_dir, common[0].strip())) if common else git_dir


def _global_excludes() -> str | None:
    """git's default global excludes file (``core.excludesFile`` set elsewhere is not read)."""
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(config, "git", "ignore")


def _read_lines(path: str) -> list[str]:
    try:
        if not os.path.isfile(path) or os.path.getsize(path) > MAX_BYTES:  # not a FIFO, not a huge file
            return []
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read().splitlines()
    except (OSError, ValueError):
        return []
