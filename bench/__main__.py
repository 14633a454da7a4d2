"""`python -m bench naive-serve|serve ...`: the servers the benchmark starts."""

from bench.serving import main

raise SystemExit(main())
