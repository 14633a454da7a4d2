"""`run_benchmark`: ingest, in-process queries, HTTP load and cold start, ours beside the naive pipeline.

Every figure is a median over `repeat` runs (ingest: `ingest_repeat`), ours and naive taking turns so
drift in the machine's load hits both alike. Our service runs with its query-embedding cache off in
the headline figures (each request is a question it has not embedded before); the cache, torch
threads and uvicorn workers are measured separately as levers (`bench/levers.py`).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.errors import BenchInputError
from bench.http_bench import compare_servers, naive_config, ours_config
from bench.ingest_bench import (
    Encoders,
    IngestRun,
    compare_ingest,
    limited_jsonl,
    pdf_parse_speed,
    reingest_unchanged,
)
from bench.inprocess import compare_latency, medians
from bench.levers import lever_section
from bench.options import BenchOptions
from bench.report import LEVER_COLUMNS, LEVER_LEGEND, Row, render_table
from bench.stats import median_of_runs
from ingest import build_index, load_embedder
from qa_service.settings import Settings

Say = Callable[[str], None]
NO_CACHE = {"GQA_RETRIEVAL__QUERY_CACHE_SIZE": "0"}


@dataclass
class BenchResult:
    """The JSON report, the table rows and the rendered tables."""

    report: dict[str, Any]
    rows: list[Row]
    lever_rows: list[Row]

    @property
    def table(self) -> str:
        """The main table, then the levers table if any lever was measured."""
        text = render_table(self.rows)
        if self.lever_rows:
            text += "\n\n" + render_table(self.lever_rows, columns=LEVER_COLUMNS, legend=LEVER_LEGEND)
        targets = self.report.get("targets", [])
        if targets:
            text += "\n\nTargets:\n" + "\n".join(
                f"  {'PASS' if t['passed'] else 'FAIL' if t['passed'] is False else 'n/a '}  {t['target']}"
                f" (measured: {t['measured']})"
                for t in targets
            )
        return text


def load_questions(path: Path, limit: int | None = None) -> list[str]:
    """The `question` field of each record of a gold JSONL file."""
    if not path.is_file():
        raise BenchInputError(f"gold questions not found at {path}")
    questions = [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not questions:
        raise BenchInputError(f"no questions in {path}")
    return questions[:limit] if limit else questions


def _machine() -> dict[str, Any]:
    import torch

    return {
        "cpus": os.cpu_count(),
        "torch_threads_default": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


# -- ingest -------------------------------------------------------------------------------------


def _ingest_rows(label: str, ours: Sequence[IngestRun], naive: Sequence[IngestRun]) -> tuple[dict[str, Any], list[Row]]:
    o = median_of_runs([r.to_json() for r in ours])
    n = median_of_runs([r.to_json() for r in naive])
    section = f"ingest: {label}"
    rows = [
        Row(section, "documents/s", "docs/s", o["documents_per_second"], n["documents_per_second"], True),
        Row(
            section,
            "chunks/s",
            "chunks/s",
            o["chunks_per_second"],
            n["chunks_per_second"],
            True,
            note="chunkers differ: compare docs/s",
        ),
        Row(section, "total time", "s", o["seconds"], n["seconds"]),
        Row(section, "chunks", "count", o["chunks"], n["chunks"], compared=False),
        Row(section, "documents", "count", o["documents"], n["documents"], compared=False),
    ]
    report = {
        "ours": {"median": o, "runs": [r.to_json() for r in ours]},
        "naive": {"median": n, "runs": [r.to_json() for r in naive]},
    }
    return report, rows


def ingest_section(
    options: BenchOptions, encoders: Encoders, work: Path, say: Say
) -> tuple[dict[str, Any], list[Row], Path]:
    """Ingest corpus/ and MedQuAD both ways; returns the report part, rows and the naive corpus store."""
    report: dict[str, Any] = {}
    rows: list[Row] = []
    say(f"ingest: {', '.join(map(str, options.corpus_paths))} (ours, then naive) x{options.ingest_repeat}")
    ours, naive, store = compare_ingest(
        options.corpus_paths, encoders, repeat=options.ingest_repeat, work_dir=work / "ingest-corpus"
    )
    report["corpus"], part = _ingest_rows("corpus/", ours, naive)
    rows += part
    pdf_report, part = realdocs_section(options, encoders, say)
    report["realdocs"] = pdf_report
    rows += part
    if not options.medquad_path.is_file():
        message = f"MedQuAD corpus not found at {options.medquad_path}: its ingest figures are skipped"
        say(message)
        report["medquad"] = {"skipped": message}
        return report, rows, store
    medquad = options.medquad_path
    label = "MedQuAD"
    if options.medquad_limit:
        medquad = limited_jsonl(medquad, options.medquad_limit, work / "medquad-subset")
        label = f"MedQuAD (first {options.medquad_limit} records)"
    say(f"ingest: {label} (ours, then naive) x{options.ingest_repeat}")
    ours, naive, _ = compare_ingest([medquad], encoders, repeat=options.ingest_repeat, work_dir=work / "ingest-mq")
    report["medquad"], part = _ingest_rows(label, ours, naive)
    report["medquad"]["records_limit"] = options.medquad_limit
    rows += part
    return report, rows, store


def realdocs_section(options: BenchOptions, encoders: Encoders, say: Say) -> tuple[dict[str, Any], list[Row]]:
    """PDF pages parsed per second (ours against pypdf's plain text), and re-ingesting an unchanged folder."""
    pdfs = sorted(options.realdocs_path.rglob("*.pdf")) if options.realdocs_path.is_dir() else []
    if not pdfs:
        message = f"no real guideline PDFs at {options.realdocs_path}: PDF parsing and re-ingest figures are skipped"
        say(message)
        return {"skipped": message}, []
    say(f"PDF parsing: {len(pdfs)} PDFs (ours, then pypdf) x{options.ingest_repeat}")
    ours, naive = pdf_parse_speed(pdfs, repeat=options.ingest_repeat)
    say(f"re-ingest: {options.realdocs_path} built, then again unchanged")
    again = reingest_unchanged([options.realdocs_path], encoders.ours, encoders.settings)
    rows = [
        Row(
            "real PDFs",
            "pages parsed per second",
            "pages/s",
            ours["pages_per_second"],
            naive["pages_per_second"],
            higher_is_better=True,
            note="layout, tables, headings vs pypdf plain text",
        ),
        Row(
            "real PDFs",
            f"ingest of {options.realdocs_path.name}/ ({again['documents']} docs)",
            "s",
            again["build_seconds"],
            None,
            compared=False,
        ),
        Row("real PDFs", "re-ingest, nothing changed", "s", again["reingest_unchanged_seconds"], None, compared=False),
    ]
    return {"parse": {"ours": ours, "pypdf": naive}, "reingest": again}, rows


# -- in-process queries -------------------------------------------------------------------------


def _latency_rows(section: str, ours: dict[str, float | None], naive: dict[str, float | None]) -> list[Row]:
    return [
        Row(section, label, "ms", ours[key], naive[key])
        for label, key in (("median", "median_ms"), ("p95", "p95_ms"), ("p99", "p99_ms"))
    ]


def inprocess_section(
    pipeline: Any, naive: Any, questions: Sequence[str], repeat: int, say: Say
) -> tuple[dict[str, Any], list[Row]]:
    """Retrieval and full-answer latency in-process over the gold questions."""
    from qa_service.schemas import AskRequest, SearchRequest

    say(f"in-process queries: {len(questions)} questions x{repeat}")
    runs = compare_latency(
        {
            "ours search": lambda q: pipeline.search(SearchRequest(query=q)),
            "naive search": naive.search,
            "ours ask": lambda q: pipeline.ask(AskRequest(question=q)),
            "naive ask": naive.ask,
        },
        questions,
        repeat=repeat,
        say=say,
    )
    m = {name: medians(summaries) for name, summaries in runs.items()}
    rows = _latency_rows("in-process: retrieval (search vs similarity_search)", m["ours search"], m["naive search"])
    rows += _latency_rows("in-process: full answer (ask vs search + join)", m["ours ask"], m["naive ask"])
    report = {name: {"median": m[name], "runs": [s.to_json() for s in r]} for name, r in runs.items()}
    return report, rows


# -- over HTTP ----------------------------------------------------------------------------------


def http_rows(ours: dict[str, Any], naive: dict[str, Any], levels: Sequence[int]) -> list[Row]:
    """Throughput, latency and errors per concurrency level, then cold start and peak RSS."""
    rows = []
    for level in levels:
        o, n = ours["levels"][str(level)], naive["levels"][str(level)]
        section = f"HTTP POST /v1/ask, concurrency {level}"
        rows += [
            Row(section, "throughput", "req/s", o.get("requests_per_second"), n.get("requests_per_second"), True),
            Row(section, "latency median", "ms", o.get("latency_median_ms"), n.get("latency_median_ms")),
            Row(section, "latency p95", "ms", o.get("latency_p95_ms"), n.get("latency_p95_ms")),
            Row(section, "latency p99", "ms", o.get("latency_p99_ms"), n.get("latency_p99_ms")),
            Row(section, "errors", "count", o["errors"], n["errors"], compared=False),
        ]
    section = "HTTP: process"
    rows += [
        Row(section, "cold start to /readyz", "s", ours["cold_start_s"], naive["cold_start_s"]),
        Row(section, "peak RSS (VmHWM)", "MiB", ours["peak_rss_mib"], naive["peak_rss_mib"]),
    ]
    return rows


def http_section(
    options: BenchOptions, bodies: list[dict[str, Any]], naive_store: Path, say: Say
) -> tuple[dict[str, Any], list[Row]]:
    """Both services under uvicorn, cold start and bounded load at each concurrency."""
    say(f"HTTP: {options.requests} requests at concurrency {', '.join(map(str, options.levels))}, x{options.repeat}")
    results = compare_servers(
        [ours_config("ours", options.index_dir, env=NO_CACHE), naive_config(naive_store)],
        bodies,
        repeat=options.repeat,
        requests=options.requests,
        levels=options.levels,
        log_dir=options.out_dir / "logs",
        say=say,
    )
    return results, http_rows(results["ours"], results["naive"], options.levels)


# -- targets ------------------------------------------------------------------------------------


def check_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets against what was measured (None where the figure was not measured)."""
    ours = report.get("http", {}).get("ours", {})
    levels = ours.get("levels", {})
    c1, c32 = levels.get("1", {}), levels.get("32", {})
    medquad = report.get("ingest", {}).get("medquad", {})
    ingest_ratio = None
    if "ours" in medquad:
        o, n = medquad["ours"]["median"]["documents_per_second"], medquad["naive"]["median"]["documents_per_second"]
        ingest_ratio = o / n if n else None

    def target(text: str, measured: float | None, ok: Callable[[float], bool], fmt: str) -> dict[str, Any]:
        shown = "not measured" if measured is None else fmt.format(measured)
        return {"target": text, "measured": shown, "passed": None if measured is None else ok(measured)}

    return [
        target("HTTP c=1 median <= 12 ms", c1.get("latency_median_ms"), lambda v: v <= 12, "{:.1f} ms"),
        target("HTTP c=1 p99 <= 40 ms", c1.get("latency_p99_ms"), lambda v: v <= 40, "{:.1f} ms"),
        target("HTTP c=32 >= 150 req/s", c32.get("requests_per_second"), lambda v: v >= 150, "{:.0f} req/s"),
        target(
            "HTTP errors == 0",
            sum(v["errors"] for v in levels.values()) if levels else None,
            lambda v: v == 0,
            "{:.0f}",
        ),
        target("MedQuAD ingest >= 1.5x naive docs/s", ingest_ratio, lambda v: v >= 1.5, "{:.2f}x"),
        target("cold start <= 5 s", ours.get("cold_start_s"), lambda v: v <= 5, "{:.2f} s"),
    ]


# -- the whole run ------------------------------------------------------------------------------


def ensure_index(options: BenchOptions, settings: Settings, say: Say) -> None:
    """Bring the index the service is measured on up to date with the settings (at once when it is)."""
    summary = build_index(
        options.corpus_paths,
        options.index_dir,
        embedding=settings.embedding,
        chunking=settings.chunking,
        index_settings=settings.index,
    )
    if not summary.up_to_date:
        say(f"built the index at {options.index_dir} from {', '.join(map(str, options.corpus_paths))}")


def run_benchmark(options: BenchOptions, say: Say = print) -> BenchResult:
    """Run every part the options ask for and return the report (the caller writes it)."""
    from bench.naive import NaivePipeline
    from qa_service.pipeline import QAPipeline

    started = time.perf_counter()
    questions = load_questions(options.gold_path, options.question_limit)
    settings = Settings(index_dir=options.index_dir)
    ensure_index(options, settings, say)
    report: dict[str, Any] = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()},
        "machine": _machine(),
        "questions": len(questions),
    }
    report["options"]["corpus_paths"] = [str(p) for p in options.corpus_paths]
    rows: list[Row] = []
    lever_rows: list[Row] = []
    work = Path(tempfile.mkdtemp(prefix="gqa-bench-"))
    try:
        t = time.perf_counter()
        embedding = settings.embedding
        embedder = load_embedder(embedding)
        fp32 = embedding.model_copy(update={"precision": "fp32"})
        naive_embedder = embedder if embedding.precision == "fp32" else load_embedder(fp32)
        for encoder in {id(embedder): embedder, id(naive_embedder): naive_embedder}.values():
            encoder.embed(["warm up the encoder", "so no ingest pays for lazy initialisation"])
        report["model_load_s"] = round(time.perf_counter() - t, 3)
        report["precision"] = embedding.precision
        encoders = Encoders(embedder, naive_embedder, embedding)
        naive_store = work / "naive-corpus"
        if options.skip_ingest:
            say("ingest: skipped (--skip-ingest); building the naive corpus store untimed")
            from bench.ingest_bench import ingest_naive

            ingest_naive(options.corpus_paths, naive_store, naive_embedder)
        else:
            report["ingest"], part, naive_store = ingest_section(options, encoders, work, say)
            rows += part

        from ingest import as_langchain_embeddings

        naive = NaivePipeline.load(naive_store, as_langchain_embeddings(naive_embedder))
        settings.retrieval.query_cache_size = 0  # headline: every question embedded afresh
        pipeline = QAPipeline.from_settings(settings)
        report["inprocess"], part = inprocess_section(pipeline, naive, questions, options.repeat, say)
        rows += part

        bodies = [{"question": q} for q in questions]
        if options.skip_http:
            say("HTTP: skipped (--skip-http)")
        else:
            report["http"], part = http_section(options, bodies, naive_store, say)
            rows += part
        if not options.skip_levers:
            report["levers"], lever_rows = lever_section(options, pipeline, questions, bodies, say)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["rows"] = [r.to_json() for r in rows]
    report["lever_rows"] = [r.to_json() for r in lever_rows]
    report["targets"] = check_targets(report)
    return BenchResult(report, rows, lever_rows)
