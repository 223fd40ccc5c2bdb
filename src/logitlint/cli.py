"""``logitlint``: check and fix loss/probability misuse in PyTorch code. The flags follow ruff's
(``check --fix``, ``--output-format``, ``--statistics``, ``--add-noqa``, ``--watch``, ...).

Exit codes: 0 no findings, 1 findings (or, with ``--diff``, changes to make), 2 usage or I/O
errors (a bad configuration, a file that could not be read or parsed; every other file is still
checked).
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from logitlint import __version__
from logitlint.cache import CACHE_DIR
from logitlint.cli_commands import cmd_add_noqa, cmd_show_files, cmd_show_settings
from logitlint.cli_hints import mistyped_command, unrecognized
from logitlint.config import Config, ConfigError, forget_files, load_file, validate_selectors
from logitlint.diagnostics import Severity
from logitlint.formats import FORMATS
from logitlint.formats.text import location, use_color
from logitlint.runner import FileReport, Overrides, RunConfig, check_text, files, fix_text, run
from logitlint.source import Source, SourceError

EPILOG = """\
markers: [*] a safe fix is available (`logitlint fix`); [!] an unsafe fix is available
(`logitlint fix --unsafe-fixes`): it changes values, deliberately, to what the maths means.

configuration: [tool.logitlint] in the nearest pyproject.toml (select, extend-select, ignore,
per-file-ignores, exclude, extend-exclude, unsafe-fixes, respect-gitignore), or the file given
with --config, or none with --isolated; flags override it.
A finding is suppressed by `# noqa` or `# noqa: LGT101` on its line, as in flake8; a whole file by
a line `# flake8: noqa` or `# logitlint: noqa` (`# logitlint: noqa: LGT101` for one rule).

exit codes: 0 clean, 1 findings (at or above --fail-on), 2 usage, configuration or I/O errors.

examples:
  logitlint check .                       check every Python file under the current folder
  logitlint check train.py --select LGT1  only the wrong-input-to-loss family
  logitlint check . --output-format sarif for GitHub code scanning
  logitlint check . --fix                 apply the safe fixes (same as `logitlint fix .`)
  logitlint check . --diff                show what the fixes would change, change nothing
  logitlint fix src/ --unsafe-fixes       also apply bug-fix and value-change fixes
  logitlint check . --statistics          count findings by rule
  logitlint check . --add-noqa            adopt on an existing code base: silence today's findings
  logitlint check . --watch               check again whenever a file changes
  logitlint fix src/ --prove              write only the fixes torch measurements prove
  logitlint rule LGT101                   explain a rule
"""
SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}
# --output-format: ruff's text variants, besides the formats themselves
TEXT_VARIANTS = {"full": "text", "concise": "text"}


def _selectors(values: Sequence[str] | None) -> list[str]:
    out: list[str] = []
    for value in values or ():
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logitlint",
        description="Find and fix loss and probability misuse in PyTorch code "
        "(double softmax, log of softmax, probabilities into losses that expect logits, ...).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"logitlint {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    common, output, fixing = _common_flags(), _output_flags(), _fix_flags()
    _add_commands(sub, common, output, fixing)
    parser.commands = sub.choices  # type: ignore[attr-defined]  # for "did you mean" on a subcommand's options
    return parser


def _common_flags() -> argparse.ArgumentParser:
    """Paths, rule and file selection: shared by check and fix."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "paths",
        nargs="*",
        default=["."],
        metavar="PATH",
        help="files or folders to check (default: .); - reads standard input",
    )
    rules = common.add_argument_group("rule selection")
    rules.add_argument(
        "--select",
        action="append",
        metavar="CODES",
        help="only these rules (comma-separated codes or prefixes, e.g. LGT1,LGT201); "
        "replaces `select` from pyproject.toml",
    )
    rules.add_argument("--extend-select", action="append", metavar="CODES", help="add rules to the selection")
    rules.add_argument(
        "--ignore",
        action="append",
        metavar="CODES",
        help="skip these rules (codes or prefixes); replaces `ignore` from pyproject.toml",
    )
    rules.add_argument(
        "--per-file-ignores",
        action="append",
        metavar="GLOB:CODES",
        help="skip rules in matching files, e.g. 'tests/*.py:LGT1' (repeatable)",
    )
    found = common.add_argument_group("file selection")
    found.add_argument(
        "--exclude",
        action="append",
        metavar="GLOB",
        help="replace the excluded folders and files (default: .git, venvs, build, dist, ...)",
    )
    found.add_argument("--extend-exclude", action="append", metavar="GLOB", help="exclude more folders and files")
    found.add_argument(
        "--force-exclude",
        action="store_true",
        help="apply the excludes to files named on the command line too (for pre-commit)",
    )
    found.add_argument(
        "--respect-gitignore",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="skip files git ignores (default: on)",
    )
    found.add_argument("--stdin-filename", metavar="PATH", help="the name to report for standard input")
    _run_flags(common)
    return common


def _run_flags(common: argparse.ArgumentParser) -> None:
    """Speed, configuration and log levels."""
    speed = common.add_argument_group("speed")
    speed.add_argument("-j", "--jobs", type=int, metavar="N", help="worker processes (default: the CPU count)")
    speed.add_argument("--no-cache", action="store_true", help="do not read or write the result cache")
    speed.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where to keep the result cache (default: .logitlint_cache in the project root)",
    )
    speed.add_argument("--no-prefilter", action="store_true", help=argparse.SUPPRESS)
    configuration = common.add_argument_group("configuration")
    configuration.add_argument(
        "--config",
        metavar="FILE",
        help="use this configuration file for every checked file (a pyproject.toml, or a TOML file "
        "with the [tool.logitlint] keys at its top level) instead of the nearest pyproject.toml",
    )
    configuration.add_argument("--isolated", action="store_true", help="ignore every configuration file")
    configuration.add_argument(
        "--show-settings", action="store_true", help="print the settings used for the first path, then exit"
    )
    configuration.add_argument(
        "--show-files", action="store_true", help="print the files that would be checked, then exit"
    )
    configuration.add_argument(
        "-w", "--watch", action="store_true", help="run again whenever a checked file changes (Ctrl-C stops)"
    )
    loud = common.add_argument_group("log levels").add_mutually_exclusive_group()
    loud.add_argument("-q", "--quiet", action="store_true", help="print findings, but no summary")
    loud.add_argument(
        "-s", "--silent", action="store_true", help="print nothing on standard output (the exit code still tells)"
    )
    loud.add_argument(
        "-v", "--verbose", action="store_true", help="also say which configuration applies, and counts and timing"
    )


def _output_flags() -> argparse.ArgumentParser:
    output = argparse.ArgumentParser(add_help=False)
    shown = output.add_argument_group("output and exit code")
    formats = sorted([*FORMATS, *TEXT_VARIANTS])
    shown.add_argument(
        "--output-format",
        "--format",
        dest="format",
        choices=formats,
        default="text",
        metavar="FORMAT",
        help=f"{', '.join(formats)} (default: text; `concise` is text without source excerpts, `full` is text)",
    )
    shown.add_argument("--statistics", action="store_true", help="count findings by rule instead of listing them")
    shown.add_argument("--no-source", action="store_true", help="do not print source excerpts")
    shown.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    shown.add_argument(
        "--exit-non-zero-on-fix",
        action="store_true",
        help="exit 1 if any file was fixed, even if no finding remains",
    )
    shown.add_argument(
        "--fail-on",
        choices=[s.value for s in SEVERITY_RANK],
        default=Severity.INFO.value,
        metavar="SEVERITY",
        help="exit 1 only for findings of this severity or worse: error, warning or info (default: info, every finding)",
    )
    return output


def _fix_flags() -> argparse.ArgumentParser:
    fixing = argparse.ArgumentParser(add_help=False)
    fixes = fixing.add_argument_group("fixes")
    fixes.add_argument(
        "--unsafe-fixes",
        action="store_true",
        default=None,
        help="also apply fixes that change values (bug-fix, value-change)",
    )
    fixes.add_argument(
        "--no-unsafe-fixes",
        dest="unsafe_fixes",
        action="store_false",
        help="do not, even if pyproject.toml says `unsafe-fixes = true`",
    )
    fixes.add_argument(
        "--diff", action="store_true", help="print a unified diff instead of writing; exit 1 if anything would change"
    )
    fixes.add_argument("--show-fixes", action="store_true", help="list every fix applied")
    return fixing


def _add_commands(sub, common: argparse.ArgumentParser, output: argparse.ArgumentParser, fixing) -> None:
    check = sub.add_parser(
        "check",
        parents=[common, output, fixing],
        help="report findings (--fix: and apply fixes)",
        description="Report loss and probability misuse; with --fix (or --diff), fix it as `logitlint fix` does.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument(
        "--fix",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="apply the fixes (safe ones; with --unsafe-fixes all), as `logitlint fix`",
    )
    check.add_argument(
        "--add-noqa",
        action="store_true",
        help="add `# noqa: CODE` to every line with a finding (to adopt logitlint on an existing code base)",
    )

    fix = sub.add_parser(
        "fix",
        parents=[common, output, fixing],
        help="apply fixes",
        description="Apply fixes. Safe fixes (exact, finite, precision) by default; "
        "--unsafe-fixes adds bug-fix and value-change fixes.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fix.set_defaults(fix=True, add_noqa=False)  # `fix` is `check --fix`
    fix.add_argument(
        "--prove",
        action="store_true",
        help="before writing, evaluate each fix's original and rewritten expression with torch on generated "
        "tensors (ranks 1-4, float32/float64, moderate, small and extreme scales) and write it only if its "
        "class holds; print what was measured per fix. Expressions that call anything but known torch "
        "functions are 'not provable here' and not written. Needs torch: pip install 'logitlint[prove]'",
    )

    rule = sub.add_parser("rule", help="explain a rule", description="Print a rule's documentation.")
    rule.add_argument("code", help="a rule code (LGT101) or name (softmax-into-cross-entropy)")
    sub.add_parser("rules", help="list the rules", description="List every rule with its fix class.")
    sub.add_parser(
        "lsp",
        help="run the language server (stdio)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run the Language Server Protocol server over stdio (needs `pip install 'logitlint[lsp]'`).\n\n"
        "Diagnostics on open, change and save; quick fixes, 'Disable CODE for this line' (# noqa) and\n"
        "source.fixAll.logitlint. Settings: [tool.logitlint] of the workspace, overridden by the\n"
        "client's initializationOptions: select, extendSelect, ignore (lists of codes or prefixes),\n"
        "unsafeFixes (bool: fix-all applies unsafe fixes too), debounceMs (default 150).\n"
        "Editor set-up (Neovim, Helix, VS Code, python-lsp-server): see the README.",
    )


def _printable_streams() -> None:
    """A file name that is not valid in the terminal's encoding is printed escaped, never a crash."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and stream.errors == "strict":
            reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    _printable_streams()
    try:
        return _main(argv)
    except KeyboardInterrupt:  # as ruff: one line, the shell's exit code for SIGINT
        print("logitlint: interrupted", file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    mistyped = mistyped_command(argv)
    if mistyped:
        parser.print_usage(sys.stderr)
        print(f"logitlint: error: {mistyped}", file=sys.stderr)
        return 2
    args, extras = parser.parse_known_args(argv)
    if extras:
        command = parser.commands.get(args.command, parser)  # type: ignore[attr-defined]
        command.error(unrecognized(extras, command))
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "rule":
        return cmd_rule(args.code)
    if args.command == "rules":
        return cmd_rules()
    if args.command == "lsp":
        from logitlint.lsp import main as lsp_main

        return lsp_main()
    conflict = _conflicting_flags(args)
    if conflict:
        parser.commands[args.command].error(conflict)  # type: ignore[attr-defined]
    if args.watch:
        from logitlint.watch import watch

        def once() -> int:
            forget_files()  # a configuration file may have appeared or changed
            return _run_once(args)

        return watch(once, lambda: _watched(args))
    return _run_once(args)


def _conflicting_flags(args) -> str | None:
    if args.add_noqa and (args.fix or args.diff):
        return "--add-noqa cannot be used with --fix or --diff"
    if args.config and args.isolated:
        return "--config and --isolated cannot be used together"
    if args.watch and ("-" in args.paths or args.show_settings or args.show_files or args.add_noqa):
        return "--watch needs files to watch (not -) and cannot be used with --show-settings, --show-files, --add-noqa"
    return None


def _run_once(args) -> int:
    try:
        config = _run_config(args)
        if args.show_settings:
            return cmd_show_settings(args, config)
        if args.show_files:
            return cmd_show_files(args, config)
        if args.add_noqa:
            return cmd_add_noqa(args, config)
        if getattr(args, "prove", False):
            return cmd_fix_proved(args, config)
        if args.fix or args.diff:
            return cmd_fix(args, config)
        return cmd_check(args, config)
    except ConfigError as exc:
        print(f"logitlint: error: {exc}", file=sys.stderr)
        return 2


def _run_config(args) -> RunConfig:
    config = RunConfig(
        overrides=Overrides(
            select=validate_selectors(_selectors(args.select), "--select") or None,
            extend_select=validate_selectors(_selectors(args.extend_select), "--extend-select"),
            ignore=validate_selectors(_selectors(args.ignore), "--ignore") if args.ignore else None,
            per_file_ignores=_per_file_ignores(args.per_file_ignores),
            unsafe_fixes=getattr(args, "unsafe_fixes", None),
            exclude=_selectors(args.exclude) or None,
            extend_exclude=_selectors(args.extend_exclude),
            respect_gitignore=args.respect_gitignore,
        ),
        prefilter=not args.no_prefilter,
        force_exclude=args.force_exclude,
        jobs=args.jobs,
        progress=sys.stderr.isatty(),
        base=Config() if args.isolated else load_file(args.config) if args.config else None,
    )
    if not args.no_cache:
        config.cache_dir = Path(args.cache_dir) if args.cache_dir else _cache_root(config, args.paths)
    if args.verbose:
        for path in args.paths:
            found = config.config_for(path if path != "-" else ".")
            origin = "none (--isolated)" if args.isolated else found.source
            print(f"logitlint: configuration for {path}: {origin}", file=sys.stderr)
    return config


def _watched(args) -> list[str]:
    """For --watch: the checked files, and every configuration file that could apply to them
    (a pyproject.toml that does not exist yet included: creating one counts as a change)."""
    config = _run_config_quietly(args)  # None: a broken configuration, watched until repaired
    found = [] if config is None else [str(item.path) for item in files(list(args.paths), config, [])]
    if args.config or args.isolated:
        return found + ([args.config] if args.config else [])
    folders = {Path(os.path.abspath(p)) for p in args.paths} | {Path(os.path.abspath(f)).parent for f in found}
    candidates = {folder / "pyproject.toml" for start in folders for folder in (start, *start.parents)}
    return found + sorted(map(str, candidates))


def _run_config_quietly(args) -> RunConfig | None:
    try:
        verbose, args.verbose = args.verbose, False
        return _run_config(args)
    except ConfigError:
        return None
    finally:
        args.verbose = verbose


def _cache_root(config: RunConfig, paths: Sequence[str]) -> Path:
    """``.logitlint_cache`` next to the pyproject.toml that configures the run, else here."""
    first = next((p for p in paths if p != "-"), ".")
    root = config.config_for(first).root
    return (root or Path.cwd()) / CACHE_DIR


def _per_file_ignores(values: Sequence[str] | None) -> dict[str, list[str]] | None:
    if not values:
        return None
    result: dict[str, list[str]] = {}
    for value in values:
        pattern, sep, codes = value.rpartition(":")
        if not sep or not pattern:
            raise ConfigError(f"--per-file-ignores: expected GLOB:CODES, got {value!r}")
        result.setdefault(pattern, []).extend(validate_selectors(_selectors([codes]), "--per-file-ignores"))
    return result


def _stdin_report(args, config: RunConfig, *, fix: bool) -> FileReport:
    name = args.stdin_filename or "<stdin>"
    try:
        source = Source.from_bytes(sys.stdin.buffer.read())
    except SourceError as exc:
        from logitlint.diagnostics import FileError

        return FileReport(name, error=FileError(name, str(exc)))
    if config.project is None and args.stdin_filename:
        from logitlint.analysis.project import ProjectIndex

        config.project = ProjectIndex()
    notebook = name.endswith(".ipynb")
    if fix:
        return fix_text(source, name, config, notebook=notebook)
    return check_text(source.text, name, config, notebook=notebook)


def _reports(args, config: RunConfig, *, fix: bool, write: bool) -> list[FileReport]:
    paths = list(args.paths)
    reports: list[FileReport] = []
    if "-" in paths:
        reports.append(_stdin_report(args, config, fix=fix))
        paths = [p for p in paths if p != "-"]
        if not paths:
            return reports
    return reports + run(paths, config, fix=fix, write=write)


def cmd_check(args, config: RunConfig) -> int:
    started = time.monotonic()
    reports = _reports(args, config, fix=False, write=False)
    _render(args, reports, fix_mode=False)
    _report_counts(args, reports, started)
    return _exit_code(args, reports)


def _diff(report: FileReport) -> list[str]:
    if report.notebook:  # per cell, with the cell's own lines
        from logitlint.notebooks import cell_diff

        return cell_diff(report.original or "", report.fixed or "", report.path)
    return list(
        difflib.unified_diff(
            (report.original or "").splitlines(keepends=True),
            (report.fixed or "").splitlines(keepends=True),
            fromfile=f"a/{report.path.lstrip('/')}",
            tofile=f"b/{report.path.lstrip('/')}",
        )
    )


def cmd_fix(args, config: RunConfig) -> int:
    started = time.monotonic()
    stdin_only = list(args.paths) == ["-"]
    reports = _reports(args, config, fix=True, write=not args.diff)
    changed = any(r.changed for r in reports)
    if args.diff:
        for report in reports:
            if report.changed and not args.silent:
                sys.stdout.writelines(_diff(report))
        _print_errors(reports)
        if any(r.error is not None for r in reports):
            return 2
        return 1 if changed and not args.exit_zero else 0
    if stdin_only:
        report = reports[0]
        sys.stdout.write(report.fixed if report.fixed is not None else (report.original or ""))
        _print_errors(reports)
        return _exit_code(args, reports, fixed=changed)
    if args.show_fixes and not args.silent:
        for report in reports:
            for d in report.applied:
                assert d.fix is not None
                print(f"{location(d)}: {d.code} fixed: {d.fix.title} [{d.fix.fix_class.value}]")
    if not args.silent:
        for report in reports:
            for d, reason in report.dropped:
                print(f"{location(d)}: {d.code} fix not applied: {reason}", file=sys.stderr)
    _render(args, reports, fix_mode=True)
    _report_counts(args, reports, started)
    return _exit_code(args, reports, fixed=changed)


def _render(args, reports: Sequence[FileReport], *, fix_mode: bool) -> None:
    if args.silent:
        _print_errors(reports)
        return
    name = TEXT_VARIANTS.get(args.format, args.format)
    if args.statistics and name not in ("text", "json"):
        name = "text"  # as ruff: the table is text or JSON
    sys.stdout.write(
        FORMATS[name](
            reports,
            color=use_color(sys.stdout),
            show_source=not args.no_source and args.format != "concise",
            statistics=args.statistics,
            fix_mode=fix_mode,
            quiet=args.quiet,
        )
    )


def _exit_code(args, reports: Sequence[FileReport], *, fixed: bool = False) -> int:
    """2 for a file that could not be checked; else as ruff: --exit-zero wins, then
    --exit-non-zero-on-fix, then 1 for a finding at or above --fail-on."""
    if any(r.error is not None for r in reports):
        return 2
    if args.exit_zero:
        return 0
    if args.exit_non_zero_on_fix and fixed:
        return 1
    threshold = SEVERITY_RANK[Severity(args.fail_on)]
    failing = any(SEVERITY_RANK[d.severity] >= threshold for r in reports for d in r.diagnostics)
    return 1 if failing else 0


def _report_counts(args, reports: Sequence[FileReport], started: float) -> None:
    if not args.verbose:
        return
    skipped = sum(1 for r in reports if r.skipped)
    errors = sum(1 for r in reports if r.error is not None)
    print(
        f"logitlint: {len(reports)} file{'s' * (len(reports) != 1)} in {time.monotonic() - started:.2f} s "
        f"({skipped} skipped by the prefilter: no PyTorch loss code; {errors} could not be checked)",
        file=sys.stderr,
    )


def cmd_fix_proved(args, config: RunConfig) -> int:
    """``fix --prove``: torch is imported here only, and only for this flag."""
    from logitlint.prove import INSTALL_HINT, torch_problem

    problem = torch_problem()
    if problem is not None:
        print(f"{INSTALL_HINT}\n  ({problem})", file=sys.stderr)
        return 2
    from logitlint.prove.session import ProveSession

    session = ProveSession(unsafe=config.unsafe_fixes)
    config.fix_filter, config.jobs, config.cache_dir = session, 1, None  # verdicts in this process, all fresh
    code = cmd_fix(args, config)
    session.print_summary()
    return code


def _print_errors(reports: Sequence[FileReport]) -> None:
    for r in reports:
        if r.error is not None:
            e = r.error
            where = f"{e.path}:{e.line}:{e.col + 1}" if e.line else e.path
            print(f"{where}: error: {e.message}", file=sys.stderr)


def cmd_rule(code: str) -> int:
    from logitlint.docs import rule_markdown
    from logitlint.rules import rule_by_code

    cls = rule_by_code(code)
    if cls is None:
        print(f"logitlint: error: unknown rule {code!r}; `logitlint rules` lists them", file=sys.stderr)
        return 2
    print(rule_markdown(cls), end="")
    return 0


def cmd_rules() -> int:
    from logitlint.rules import rule_classes

    rows = [("code", "name", "severity", "fix", "summary")]
    for cls in rule_classes():
        fix = cls.fix_class.value if cls.fix_class is not None else "none"
        rows.append((cls.code, cls.name, cls.severity.value, fix, cls.summary))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
