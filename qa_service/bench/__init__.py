"""The performance benchmark: ours against the tutorial LangChain pipeline, same machine, model and corpus.

`guideline-qa bench` (see `qa_service/bench_cli.py` and docs/bench.md) runs `run_benchmark`:

- `ingest_bench`  corpus/ and MedQuAD through `build_index` and through the naive splitter + FAISS
- `inprocess`     search and ask latency over the gold questions
- `http_bench`    both services under uvicorn: cold start, bounded load (`load`), peak RSS (`server`)
- `levers`        encoder threads, idle threads spinning, the query cache, uvicorn workers
- `naive`         the naive pipeline and its FastAPI app; `serving` the server entry points
- `stats`, `report`  percentiles, ratios and the table

Nothing heavy is imported here: torch, the model and langchain-community load when a run starts.
"""

from qa_service.bench.errors import BenchError, BenchInputError, ServerStartError
from qa_service.bench.load import LoadResult, run_load
from qa_service.bench.report import Row, render_table, write_report
from qa_service.bench.runner import BenchOptions, BenchResult, run_benchmark
from qa_service.bench.stats import LatencySummary, advantage, median, median_of_runs, percentile

__all__ = [
    "BenchError",
    "BenchInputError",
    "BenchOptions",
    "BenchResult",
    "LatencySummary",
    "LoadResult",
    "Row",
    "ServerStartError",
    "advantage",
    "median",
    "median_of_runs",
    "percentile",
    "render_table",
    "run_benchmark",
    "run_load",
    "write_report",
]
