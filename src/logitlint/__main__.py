from logitlint.cli import main

raise SystemExit(main())
