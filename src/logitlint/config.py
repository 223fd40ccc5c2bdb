"""Configuration: ``[tool.logitlint]`` in ``pyproject.toml`` (found by walking up from the checked
path), rule selection by code prefix, per-file ignores, excludes, and unsafe fixes.

    [tool.logitlint]
    select = ["LGT1", "LGT2"]        # default: every rule
    extend-select = ["LGT301"]
    ignore = ["LGT302"]
    per-file-ignores = { "tests/*.py" = ["LGT1"] }
    exclude = ["build", "vendor/*"]  # replaces the defaults (.git, venvs, build, dist, ...)
    extend-exclude = ["legacy"]      # adds to them
    unsafe-fixes = false
    respect-gitignore = true
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from logitlint.files import DEFAULT_EXCLUDES
from logitlint.rules import CODES, Rule

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

KEYS = (
    "select",
    "extend-select",
    "ignore",
    "per-file-ignores",
    "exclude",
    "extend-exclude",
    "unsafe-fixes",
    "respect-gitignore",
)


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the file and the key."""


def _matches(code: str, selector: str) -> bool:
    return selector == "ALL" or code.startswith(selector)


def validate_selectors(selectors: Iterable[object], key: str) -> list[str]:
    known = CODES
    result = []
    for selector in selectors:
        if not isinstance(selector, str):
            raise ConfigError(f"{key}: expected rule codes as strings, got {selector!r}")
        code = selector.strip().upper()
        if not code:
            continue
        if code != "ALL" and not any(k.startswith(code) for k in known):
            raise ConfigError(f"{key}: unknown rule code or prefix {selector!r} (`logitlint rules` lists them)")
        result.append(code)
    return result


@dataclass
class Selection:
    select: Sequence[str] = ("ALL",)
    extend_select: Sequence[str] = ()
    ignore: Sequence[str] = ()

    def enabled(self, code: str) -> bool:
        chosen = any(_matches(code, s) for s in [*self.select, *self.extend_select])
        return chosen and not any(_matches(code, s) for s in self.ignore)

    def codes(self) -> tuple[str, ...]:
        return _codes(tuple(self.select), tuple(self.extend_select), tuple(self.ignore))

    def rules(self) -> list[Rule]:
        return _rules(self.codes())


@lru_cache(maxsize=256)
def _codes(select: tuple[str, ...], extend_select: tuple[str, ...], ignore: tuple[str, ...]) -> tuple[str, ...]:
    """The enabled codes of a selection (asked once per checked file, mostly with the same answer)."""
    selection = Selection(select, extend_select, ignore)
    return tuple(code for code in CODES if selection.enabled(code))


@lru_cache(maxsize=64)
def _rules(codes: tuple[str, ...]) -> list[Rule]:
    from logitlint.rules import rule_classes

    return [cls() for cls in rule_classes() if cls.code in codes]


@dataclass
class Config:
    root: Path | None = None  # the folder of the pyproject.toml it came from
    source: str = "defaults"
    select: list[str] = field(default_factory=lambda: ["ALL"])
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDES))
    extend_exclude: list[str] = field(default_factory=list)
    unsafe_fixes: bool = False
    respect_gitignore: bool = True

    @property
    def excludes(self) -> tuple[str, ...]:
        return (*self.exclude, *self.extend_exclude)

    def selection(self, path: str | Path | None = None) -> Selection:
        ignore = list(self.ignore)
        if path is not None and self.per_file_ignores:
            for pattern, codes in self.per_file_ignores.items():
                if matches_path(path, pattern, self.root):
                    ignore.extend(codes)
        return Selection(self.select, self.extend_select, ignore)


def matches_path(path: str | Path, pattern: str, root: Path | None) -> bool:
    """A per-file-ignores glob against a path: the path relative to the config's folder or to the
    current folder, the absolute path, or (for a pattern without a slash) the file name."""
    absolute = Path(os.path.abspath(path))
    candidates = [absolute.as_posix()]
    for base in {root, Path(os.getcwd())} - {None}:  # the config's folder, or where the command runs
        try:
            candidates.append(absolute.relative_to(base).as_posix())  # type: ignore[arg-type]
        except ValueError:
            pass
    if "/" not in pattern:
        candidates.append(absolute.name)
    return any(fnmatch.fnmatch(c, pattern) for c in candidates)


def _strings(value: object, key: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key}: expected a list of strings, got {value!r}")
    return list(value)


def _boolean(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    return value


def parse(table: object, *, root: Path | None = None, source: str = "pyproject.toml") -> Config:
    """A validated Config from a ``[tool.logitlint]`` table."""
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [tool.logitlint] must be a table")
    where = f"{source}: [tool.logitlint]"
    for key in table:
        if key not in KEYS:
            raise ConfigError(f"{where} {key}: unknown key{_did_you_mean(str(key))}; known keys: {', '.join(KEYS)}")
    config = Config(root=root, source=source)
    if "select" in table:
        config.select = validate_selectors(_strings(table["select"], f"{where} select"), f"{where} select")
    if "extend-select" in table:
        config.extend_select = validate_selectors(
            _strings(table["extend-select"], f"{where} extend-select"), f"{where} extend-select"
        )
    if "ignore" in table:
        config.ignore = validate_selectors(_strings(table["ignore"], f"{where} ignore"), f"{where} ignore")
    if "per-file-ignores" in table:
        value = table["per-file-ignores"]
        if not isinstance(value, dict):
            raise ConfigError(f"{where} per-file-ignores: expected a table of glob = [codes], got {value!r}")
        config.per_file_ignores = {
            pattern: validate_selectors(
                _strings(codes, f"{where} per-file-ignores.{pattern}"), f"{where} per-file-ignores.{pattern}"
            )
            for pattern, codes in value.items()
        }
    if "exclude" in table:
        config.exclude = _strings(table["exclude"], f"{where} exclude")
    if "extend-exclude" in table:
        config.extend_exclude = _strings(table["extend-exclude"], f"{where} extend-exclude")
    if "unsafe-fixes" in table:
        config.unsafe_fixes = _boolean(table["unsafe-fixes"], f"{where} unsafe-fixes")
    if "respect-gitignore" in table:
        config.respect_gitignore = _boolean(table["respect-gitignore"], f"{where} respect-gitignore")
    return config


def _did_you_mean(key: str) -> str:
    spelled = key.replace("_", "-").lower()
    close = [spelled] if spelled in KEYS else difflib.get_close_matches(spelled, KEYS, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_file(path: str | Path) -> Config:
    """The configuration in one named file (``--config``): a pyproject.toml's [tool.logitlint], or
    a TOML file holding the same keys at its top level (as ruff reads a ruff.toml). Relative
    paths in it (per-file-ignores, excludes) are relative to its folder."""
    file = Path(os.path.abspath(path))
    if not file.is_file():
        raise ConfigError(f"--config {path}: no such file")
    if file.name == "pyproject.toml":
        return _load(file, file.stat().st_mtime_ns)
    data = _read_toml(file)
    tool = data.get("tool")
    table = tool["logitlint"] if isinstance(tool, dict) and "logitlint" in tool else data
    return parse(table, root=file.parent, source=str(file))


def find_pyproject(start: str | Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.logitlint] table, from ``start`` upwards."""
    folder = Path(os.path.abspath(start))
    if not folder.is_dir():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        found = _has_table(candidate / "pyproject.toml")
        if found:
            return candidate / "pyproject.toml"
    return None


@lru_cache(maxsize=256)
def _has_table(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        data = path.read_bytes()
    except OSError:
        return False
    return b"tool.logitlint" in data or b"[tool]" in data and b"logitlint" in data


def forget_files() -> None:
    """Read configuration files afresh (``--watch``: one may have appeared or changed)."""
    _has_table.cache_clear()
    _load.cache_clear()


def load_config(start: str | Path) -> Config:
    """The configuration that applies to ``start`` (defaults if no pyproject.toml configures it)."""
    pyproject = find_pyproject(start)
    if pyproject is None:
        return Config()
    return _load(pyproject, pyproject.stat().st_mtime_ns)


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


@lru_cache(maxsize=64)
def _load(pyproject: Path, _mtime: int) -> Config:
    data = _read_toml(pyproject)
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{pyproject}: `tool` must be a table, not {type(tool).__name__}")
    table = tool.get("logitlint")
    if table is None:
        return Config(root=pyproject.parent, source=str(pyproject))
    return parse(table, root=pyproject.parent, source=str(pyproject))
