"""Speed levers, each measured against the headline configuration of our service.

Baseline: the encoder's default threads (all cores), idle threads sleeping, query cache off, one
uvicorn worker.
- encoder threads 1: intra-op threads of the question encoder (`GQA_EMBEDDING__TORCH_THREADS=1`;
  onnxruntime's threads with the default int8 or ONNX encoder, torch's with `QUERY_BACKEND=torch`).
- query cache on: repeated questions skip the encoder (every question asked once before measuring).
- threads spin: the ONNX encoder's idle threads spin instead of sleeping (`GQA_EMBEDDING__SPIN_THREADS=1`).
- uvicorn workers 2: two processes, each with the model and the index (with all threads and with 1).
- reranker on: the cross-encoder rescores the 10 best fused passages (`GQA_RETRIEVAL__RERANK`).
- sentence rescoring on: the cross-encoder rescores the composer's best sentences
  (`GQA_ANSWER__SENTENCE_RERANK`). Both are off by default; these rows are what they cost a question.
- judge off: the answer judge (`GQA_ANSWER__JUDGE`, on by default) does not read the answers the gate
  scored below its band; the gain over the baseline is what the judge costs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from bench.http_bench import ServerConfig, compare_servers, ours_config
from bench.inprocess import time_calls
from bench.report import Row
from bench.stats import LatencySummary, median_of_runs
from ingest import load_embedder

if TYPE_CHECKING:
    from bench.options import BenchOptions
    from qa_service.pipeline import QAPipeline

Say = Callable[[str], None]
NO_CACHE = {"GQA_RETRIEVAL__QUERY_CACHE_SIZE": "0"}
ONE_THREAD = {"GQA_EMBEDDING__TORCH_THREADS": "1"}
BASELINE = "ours, baseline"


def _median_latency(runs: Sequence[LatencySummary]) -> dict[str, float | None]:
    return median_of_runs([r.to_json() for r in runs])


def _asker(pipeline: QAPipeline) -> Callable[[str], object]:
    from qa_service.schemas import AskRequest

    return lambda q: pipeline.ask(AskRequest(question=q))


def inprocess_threads(pipeline: QAPipeline, questions: Sequence[str], repeat: int, say: Say) -> dict[str, Any]:
    """Full-answer latency with the question encoder at 1 thread and at its default, taking turns."""
    from qa_service.pipeline import QAPipeline

    one_thread = load_embedder(pipeline.settings.embedding.model_copy(update={"torch_threads": 1}), for_queries=True)
    targets = {"1": QAPipeline(pipeline.index, one_thread, pipeline.settings), "default": pipeline}
    runs: dict[str, list[LatencySummary]] = {name: [] for name in targets}
    for r in range(repeat):
        for threads, target in targets.items():
            runs[threads].append(LatencySummary.of(time_calls(_asker(target), questions)))
            say(
                f"  in-process ask, encoder threads {threads} (run {r + 1}/{repeat}): "
                f"median {runs[threads][-1].median_ms:.1f} ms"
            )
    return {f"threads_{k}": _median_latency(v) for k, v in runs.items()}


def inprocess_cache(pipeline: QAPipeline, questions: Sequence[str], repeat: int, say: Say) -> dict[str, Any]:
    """Full-answer latency for repeated questions with the query cache on, against the cache off."""
    from qa_service.retrieval import QueryEmbeddingCache
    from qa_service.schemas import AskRequest

    size = max(1024, len(questions))
    cached = pipeline.with_settings(retrieval=pipeline.settings.retrieval.model_copy(update={"query_cache_size": size}))
    cached.retriever.cache = QueryEmbeddingCache(size)
    for question in questions:  # every question seen once: the cache is warm
        cached.ask(AskRequest(question=question))

    runs: dict[str, list[LatencySummary]] = {"off": [], "on": []}
    for r in range(repeat):
        for state, target in (("off", pipeline), ("on", cached)):
            runs[state].append(LatencySummary.of(time_calls(_asker(target), questions)))
            median_ms = runs[state][-1].median_ms
            say(f"  in-process ask, query cache {state} (run {r + 1}/{repeat}): median {median_ms:.1f} ms")
    return {f"cache_{k}": _median_latency(v) for k, v in runs.items()}


THREADS_SECTION = "lever: encoder threads 1 (baseline: all cores)"
CACHE_SECTION = "lever: query cache on, repeated questions (baseline off)"


def http_lever_configs(options: BenchOptions) -> list[ServerConfig]:
    """Our service with one lever changed each."""
    index = options.index_dir
    return [
        ours_config(BASELINE, index, env=NO_CACHE),  # measured again beside the levers, same machine load
        ours_config("ours, encoder threads 1", index, env={**NO_CACHE, **ONE_THREAD}),
        ours_config("ours, query cache on", index, env={}, prefill=True),
        ours_config("ours, threads spin", index, env={**NO_CACHE, "GQA_EMBEDDING__SPIN_THREADS": "1"}),
        ours_config("ours, 2 workers", index, env=NO_CACHE, workers=2),
        ours_config("ours, 2 workers, encoder threads 1", index, env={**NO_CACHE, **ONE_THREAD}, workers=2),
        ours_config("ours, reranker on", index, env={**NO_CACHE, "GQA_RETRIEVAL__RERANK": "true"}),
        ours_config("ours, sentence rescoring on", index, env={**NO_CACHE, "GQA_ANSWER__SENTENCE_RERANK": "true"}),
        ours_config("ours, judge off", index, env={**NO_CACHE, "GQA_ANSWER__JUDGE": "false"}),
    ]


def _http_lever_rows(section: str, lever: dict[str, Any], base: dict[str, Any], levels: Sequence[int]) -> list[Row]:
    low, high = str(levels[0]), str(levels[-1])
    lo, bo, lh, bh = lever["levels"][low], base["levels"][low], lever["levels"][high], base["levels"][high]
    return [
        Row(section, f"HTTP c={low} median", "ms", lo.get("latency_median_ms"), bo.get("latency_median_ms")),
        Row(section, f"HTTP c={low} p99", "ms", lo.get("latency_p99_ms"), bo.get("latency_p99_ms")),
        Row(
            section,
            f"HTTP c={high} throughput",
            "req/s",
            lh.get("requests_per_second"),
            bh.get("requests_per_second"),
            True,
        ),
        Row(section, f"HTTP c={high} p99", "ms", lh.get("latency_p99_ms"), bh.get("latency_p99_ms")),
        Row(
            section,
            "HTTP errors",
            "count",
            sum(v["errors"] for v in lever["levels"].values()),
            sum(v["errors"] for v in base["levels"].values()),
            compared=False,
        ),
        Row(section, "peak RSS", "MiB", lever["peak_rss_mib"], base["peak_rss_mib"]),
        Row(section, "cold start", "s", lever["cold_start_s"], base["cold_start_s"]),
    ]


def lever_section(
    options: BenchOptions,
    pipeline: QAPipeline,
    questions: Sequence[str],
    bodies: list[dict[str, Any]],
    say: Say,
) -> tuple[dict[str, Any], list[Row]]:
    """Every lever in-process, then over HTTP (beside a fresh baseline run) unless HTTP is skipped."""
    say("levers: encoder threads, query cache" + ("" if options.skip_http else ", uvicorn workers, reranker"))
    out: dict[str, Any] = {
        "inprocess": {
            **inprocess_threads(pipeline, questions, options.repeat, say),
            **inprocess_cache(pipeline, questions, options.repeat, say),
        }
    }
    ip = out["inprocess"]
    rows = [
        Row(
            THREADS_SECTION,
            "in-process ask median",
            "ms",
            ip["threads_1"]["median_ms"],
            ip["threads_default"]["median_ms"],
        ),
        Row(
            CACHE_SECTION,
            "in-process ask median",
            "ms",
            ip["cache_on"]["median_ms"],
            ip["cache_off"]["median_ms"],
        ),
    ]
    if options.skip_http:
        return out, rows
    configs = http_lever_configs(options)
    out["http"] = compare_servers(
        configs,
        bodies,
        repeat=options.lever_repeat,
        requests=options.requests,
        levels=options.levels,
        log_dir=options.out_dir / "logs",
        say=say,
    )
    base = out["http"][BASELINE]
    sections = {
        "ours, encoder threads 1": THREADS_SECTION,
        "ours, query cache on": CACHE_SECTION,
        "ours, threads spin": "lever: idle encoder threads spin (baseline: they sleep)",
        "ours, 2 workers": "lever: uvicorn workers 2 (baseline 1)",
        "ours, 2 workers, encoder threads 1": "lever: uvicorn workers 2 + encoder threads 1 "
        "(baseline 1 worker, all cores)",
        "ours, reranker on": "lever: reranker on, 10 passages (baseline off; a gain under 1x is its cost)",
        "ours, sentence rescoring on": "lever: sentence rescoring on, 8 sentences (baseline off; its cost)",
        "ours, judge off": "lever: answer judge off (baseline on; a gain over 1x is what the judge costs)",
    }
    by_section: dict[str, list[Row]] = {}
    for row in rows:
        by_section.setdefault(row.section, []).append(row)
    for name, section in sections.items():
        by_section.setdefault(section, []).extend(_http_lever_rows(section, out["http"][name], base, options.levels))
    return out, [row for section_rows in by_section.values() for row in section_rows]
