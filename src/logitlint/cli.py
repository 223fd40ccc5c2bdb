"""``logitlint``: check and fix loss/probability misuse in PyTorch code.

Exit codes: 0 no findings, 1 findings (or, with ``fix --diff``, changes to make), 2 usage or I/O
errors (a bad configuration, a file that could not be read or parsed; every other file is still
checked).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from pathlib import Path

from logitlint import __version__
from logitlint.cache import CACHE_DIR
from logitlint.config import ConfigError, validate_selectors
from logitlint.formats import FORMATS
from logitlint.formats.text import location, use_color
from logitlint.runner import FileReport, Overrides, RunConfig, check_text, fix_text, run
from logitlint.source import Source, SourceError

EPILOG = """\
markers: [*] a safe fix is available (`logitlint fix`); [!] an unsafe fix is available
(`logitlint fix --unsafe-fixes`): it changes values, deliberately, to what the maths means.

configuration: [tool.logitlint] in the nearest pyproject.toml (select, extend-select, ignore,
per-file-ignores, exclude, extend-exclude, unsafe-fixes, respect-gitignore); flags override it.
A finding is suppressed by `# noqa` or `# noqa: LGT101` on its line, as in flake8.

exit codes: 0 clean, 1 findings, 2 usage, configuration or I/O errors.

examples:
  logitlint check .                       check every Python file under the current folder
  logitlint check train.py --select LGT1  only the wrong-input-to-loss family
  logitlint check . --format sarif        for GitHub code scanning
  logitlint fix src/ --diff               show what `fix` would change, change nothing
  logitlint fix src/ --unsafe-fixes       also apply bug-fix and value-change fixes
  logitlint fix src/ --prove              write only the fixes torch measurements prove
  logitlint rule LGT101                   explain a rule
"""


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

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "paths",
        nargs="*",
        default=["."],
        metavar="PATH",
        help="files or folders to check (default: .); - reads standard input",
    )
    common.add_argument(
        "--select",
        action="append",
        metavar="CODES",
        help="only these rules (comma-separated codes or prefixes, e.g. LGT1,LGT201); "
        "replaces `select` from pyproject.toml",
    )
    common.add_argument("--extend-select", action="append", metavar="CODES", help="add rules to the selection")
    common.add_argument(
        "--ignore",
        action="append",
        metavar="CODES",
        help="skip these rules (codes or prefixes); replaces `ignore` from pyproject.toml",
    )
    common.add_argument(
        "--per-file-ignores",
        action="append",
        metavar="GLOB:CODES",
        help="skip rules in matching files, e.g. 'tests/*.py:LGT1' (repeatable)",
    )
    common.add_argument(
        "--exclude",
        action="append",
        metavar="GLOB",
        help="replace the excluded folders and files (default: .git, venvs, build, dist, ...)",
    )
    common.add_argument("--extend-exclude", action="append", metavar="GLOB", help="exclude more folders and files")
    common.add_argument(
        "--force-exclude",
        action="store_true",
        help="apply the excludes to files named on the command line too (for pre-commit)",
    )
    common.add_argument(
        "--respect-gitignore",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="skip files git ignores (default: on)",
    )
    common.add_argument("--stdin-filename", metavar="PATH", help="the name to report for standard input")
    common.add_argument("-j", "--jobs", type=int, metavar="N", help="worker processes (default: the CPU count)")
    common.add_argument("--no-cache", action="store_true", help="do not read or write the result cache")
    common.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="where to keep the result cache (default: .logitlint_cache in the project root)",
    )
    common.add_argument("--no-prefilter", action="store_true", help=argparse.SUPPRESS)

    check = sub.add_parser(
        "check",
        parents=[common],
        help="report findings",
        description="Report loss and probability misuse.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("--format", choices=sorted(FORMATS), default="text", help="output format (default: text)")
    check.add_argument("--statistics", action="store_true", help="count findings by rule")
    check.add_argument("--no-source", action="store_true", help="do not print source excerpts")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")

    fix = sub.add_parser(
        "fix",
        parents=[common],
        help="apply fixes",
        description="Apply fixes. Safe fixes (exact, finite, precision) by default; "
        "--unsafe-fixes adds bug-fix and value-change fixes.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fix.add_argument(
        "--unsafe-fixes",
        action="store_true",
        default=None,
        help="also apply fixes that change values (bug-fix, value-change)",
    )
    fix.add_argument(
        "--no-unsafe-fixes",
        dest="unsafe_fixes",
        action="store_false",
        help="do not, even if pyproject.toml says `unsafe-fixes = true`",
    )
    fix.add_argument(
        "--diff", action="store_true", help="print a unified diff instead of writing; exit 1 if anything would change"
    )
    fix.add_argument("--show-fixes", action="store_true", help="list every fix applied")
    fix.add_argument(
        "--prove",
        action="store_true",
        help="before writing, evaluate each fix's original and rewritten expression with torch on generated "
        "tensors (ranks 1-4, float32/float64, moderate, small and extreme scales) and write it only if its "
        "class holds; print what was measured per fix. Expressions that call anything but known torch "
        "functions are 'not provable here' and not written. Needs torch: pip install 'logitlint[prove]'",
    )
    fix.add_argument("--format", choices=sorted(FORMATS), default="text", help="output format for what remains")

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
    return parser


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
    parser = build_parser()
    args = parser.parse_args(argv)
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
    try:
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
        )
        if not args.no_cache:
            config.cache_dir = Path(args.cache_dir) if args.cache_dir else _cache_root(config, args.paths)
        if args.command == "check":
            return cmd_check(args, config)
        if args.prove:
            return cmd_fix_proved(args, config)
        return cmd_fix(args, config)
    except ConfigError as exc:
        print(f"logitlint: error: {exc}", file=sys.stderr)
        return 2


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
    reports = _reports(args, config, fix=False, write=False)
    render = FORMATS[args.format]
    sys.stdout.write(
        render(reports, color=use_color(sys.stdout), show_source=not args.no_source, statistics=args.statistics)
    )
    if any(r.error is not None for r in reports):
        return 2
    if args.exit_zero:
        return 0
    return 1 if any(r.diagnostics for r in reports) else 0


def cmd_fix(args, config: RunConfig) -> int:
    stdin_only = list(args.paths) == ["-"]
    reports = _reports(args, config, fix=True, write=not args.diff)
    if args.diff:
        for report in reports:
            if report.changed:
                sys.stdout.writelines(
                    difflib.unified_diff(
                        (report.original or "").splitlines(keepends=True),
                        (report.fixed or "").splitlines(keepends=True),
                        fromfile=f"a/{report.path.lstrip('/')}",
                        tofile=f"b/{report.path.lstrip('/')}",
                    )
                )
        _print_errors(reports)
        if any(r.error is not None for r in reports):
            return 2
        return 1 if any(r.changed for r in reports) else 0
    if stdin_only:
        report = reports[0]
        sys.stdout.write(report.fixed if report.fixed is not None else (report.original or ""))
        _print_errors(reports)
        return 2 if report.error else (1 if report.diagnostics else 0)
    if args.show_fixes:
        for report in reports:
            for d in report.applied:
                assert d.fix is not None
                print(f"{location(d)}: {d.code} fixed: {d.fix.title} [{d.fix.fix_class.value}]")
    for report in reports:
        for d, reason in report.dropped:
            print(f"{location(d)}: {d.code} fix not applied: {reason}", file=sys.stderr)
    render = FORMATS[args.format]
    sys.stdout.write(render(reports, color=use_color(sys.stdout), fix_mode=True))
    if any(r.error is not None for r in reports):
        return 2
    return 1 if any(r.diagnostics for r in reports) else 0


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
