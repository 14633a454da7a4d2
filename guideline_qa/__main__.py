"""`python -m guideline_qa ...`: the `guideline-qa` command without its console script."""

from guideline_qa.cli import main

raise SystemExit(main())
