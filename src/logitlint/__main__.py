import sys

try:
    from logitlint.cli import main
except KeyboardInterrupt:  # Ctrl-C while starting (a slow machine): one line, as during a run
    sys.stderr.write("logitlint: interrupted\n")
    raise SystemExit(130) from None

raise SystemExit(main())
