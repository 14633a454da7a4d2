"""The performance benchmark: ours against the tutorial LangChain pipeline, same machine, model and corpus.

`guideline-qa bench` (see `bench/cli.py` and docs/benchmarks.md) runs `run_benchmark`:

- `ingest_bench`  corpus/ and MedQuAD through `build_index` and through the naive splitter + FAISS
- `inprocess`     search and ask latency over the gold questions
- `http_bench`    both services under uvicorn: cold start, bounded load (`load`), peak RSS (`server`)
- `levers`        encoder threads, idle threads spinning, the query cache, uvicorn workers, the reranker
- `scale`         `--scale`: ingest and serve MedQuAD subsets of growing size, exact against HNSW
- `soak`          `--soak MINUTES`: load with live index updates, swap delays and resident memory
- `naive`         the naive pipeline and its FastAPI app; `serving` the server entry points
- `stats`, `report`  percentiles, ratios and the table

Nothing heavy is imported here: torch, the model and langchain-community load when a run starts.
"""

from bench.errors import BenchError, BenchInputError, ServerStartError
from bench.load import LoadResult, run_load
from bench.options import BenchOptions
from bench.report import Row, render_table, write_report
from bench.runner import BenchResult, run_benchmark
from bench.stats import LatencySummary, advantage, median, median_of_runs, percentile

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
