"""`python -m qa_service.bench naive-serve|serve ...`: the servers the benchmark starts."""

from qa_service.bench.serving import main

raise SystemExit(main())
