"""The commands of `check` that do not report findings: ``--show-settings``, ``--show-files``
(as ruff's) and ``--add-noqa`` (the work is in baseline.py)."""

from __future__ import annotations

import sys

from logitlint.config import KEYS
from logitlint.runner import RunConfig, files


def cmd_show_settings(args, config: RunConfig) -> int:
    """As ruff's --show-settings: the resolved settings for the first file a run would check."""
    errors: list[tuple[str, str]] = []
    found = files([p for p in args.paths if p != "-"] or ["."], config, errors)
    target = str(found[0].path) if found else next((p for p in args.paths if p != "-"), ".")
    settings = config.config_for(target)
    print(f"Resolved settings for: {target}")
    print(f"Settings path: {'none (--isolated)' if args.isolated else settings.source}")
    for key in KEYS:
        value = getattr(settings, key.replace("-", "_"))
        print(f"{key} = {_toml(value)}")
    codes = config.codes(target)
    print(f"# enabled rules for this file ({len(codes)}): {', '.join(codes) or 'none'}")
    return 0


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k!r} = {_toml(v)}" for k, v in value.items()) + " }" if value else "{}"
    if isinstance(value, list):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    return repr(value)


def cmd_show_files(args, config: RunConfig) -> int:
    errors: list[tuple[str, str]] = []
    for item in files([p for p in args.paths if p != "-"], config, errors):
        print(item.path)
    for path, message in errors:
        print(f"{path}: error: {message}", file=sys.stderr)
    return 2 if errors else 0


def cmd_add_noqa(args, config: RunConfig) -> int:
    from logitlint.baseline import add_noqa

    if "-" in args.paths:
        print("logitlint: error: --add-noqa writes files; it cannot read standard input", file=sys.stderr)
        return 2
    result = add_noqa(list(args.paths), config)
    for e in result.errors:
        where = f"{e.path}:{e.line}:{e.col + 1}" if e.line else e.path
        print(f"{where}: error: {e.message}", file=sys.stderr)
    if not args.silent:
        added, n = result.added, len(result.files)
        print(f"Added {added} noqa comment{'s' * (added != 1)} in {n} file{'s' * (n != 1)}.", file=sys.stderr)
    return 2 if result.errors else 0
