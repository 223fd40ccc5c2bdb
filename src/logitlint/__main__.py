"""``python -m logitlint`` and the ``logitlint`` command. Ctrl-C while the modules are still being
imported (a slow start on a busy machine) exits as it does later: one line, exit code 130."""

import sys


def run() -> int:
    try:
        from logitlint.cli import main
    except KeyboardInterrupt:
        print("logitlint: interrupted", file=sys.stderr)
        return 130
    return main()


if __name__ == "__main__":
    raise SystemExit(run())
