"""`guideline-qa bench --scale`: what ingest and serving cost as the corpus grows, exact against HNSW search.

The corpus is `../shared/benchmarks/medquad_nih` (15,811 real documents). For each size (700, 4,000
and all documents by default) the run:

1. writes a subset of the corpus: the documents behind a fixed sample of questions first, then a
   seeded shuffle of the rest, so every larger subset holds every smaller one and the same questions
   are asked at every size (more documents are more distractors);
2. ingests it with `guideline-qa ingest` in a subprocess (time, chunks/s, peak memory), then ingests
   it again into a copy with `GQA_INDEX__HNSW_THRESHOLD=1`: the vectors are kept, only the dense
   index is rebuilt as an HNSW graph;
3. serves each index with `guideline-qa serve` (cold start to `/readyz`), sends every sampled
   question once to `/v1/ask` at concurrency 1 (median and p99), then a fixed number at concurrency
   32 (throughput), reads the server's peak memory, and scores `/v1/search` by doc MRR@10.

The query-embedding cache is off in the servers (`GQA_RETRIEVAL__QUERY_CACHE_SIZE=0`): every request
pays for its embedding, as a stream of distinct clinicians' questions would.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from bench.errors import BenchInputError
from bench.load import run_load
from bench.report import Row, render_table
from bench.server import ServerProcess, free_port, ingest_command, peak_rss_mib, serve_command
from eval.gold import EvalQuestion, EvalSet, load_benchmark
from ingest.index import current_generation

Say = Callable[[str], None]
KINDS = ("exact", "hnsw")
SERVER_ENV = {"GQA_RETRIEVAL__QUERY_CACHE_SIZE": "0"}


@dataclass(frozen=True)
class Subsets:
    """Nested document subsets of one corpus and the questions asked at every size."""

    doc_ids: list[str]
    """Every document in the order subsets take them: the sampled questions' documents first."""
    sizes: list[int]
    qids: list[str]


def choose_subsets(
    doc_ids: Sequence[str],
    questions: Sequence[EvalQuestion],
    sizes: Sequence[int],
    *,
    n_questions: int,
    seed: int,
) -> Subsets:
    """Nested subsets: the sampled answerable questions' gold documents (strict and lenient) come first.

    Questions are dropped from the sample until their documents fit in the smallest size, so the
    smallest subset still holds distractors (at least a third of it). Sizes above the corpus are
    clipped to it; duplicates after clipping are dropped.
    """
    all_ids = list(doc_ids)
    known = set(all_ids)
    rng = random.Random(seed)
    answerable = [q for q in questions if q.answerable and q.doc_ids and set(q.doc_ids) <= known]
    rng.shuffle(answerable)
    clipped = sorted({min(int(s), len(all_ids)) for s in sizes if int(s) > 0})
    if not clipped:
        raise BenchInputError("scale: no positive corpus size given")
    room = max(1, (2 * clipped[0]) // 3)
    base: list[str] = []
    qids: list[str] = []
    for q in answerable:
        if len(qids) >= n_questions:
            break
        new = [d for d in (q.lenient_doc_ids or q.doc_ids) if d in known and d not in base]
        if len(base) + len(new) > room:
            continue
        base.extend(new)
        qids.append(q.qid)
    if not qids:
        raise BenchInputError(f"scale: no answerable question's documents fit in {clipped[0]} documents")
    chosen = set(base)
    rest = [d for d in all_ids if d not in chosen]
    rng.shuffle(rest)
    return Subsets(doc_ids=base + rest, sizes=clipped, qids=qids)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise BenchInputError(f"scale: {path} not found (see ../shared/benchmarks/README.md)")
    with path.open("rb") as handle:
        return [orjson.loads(line) for line in handle if line.strip()]


def _write_subset(path: Path, records: Sequence[dict[str, Any]]) -> None:
    """Write the subset's corpus.jsonl, leaving the file alone when its bytes would not change."""
    data = b"".join(orjson.dumps(r) + b"\n" for r in records)
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def disk_mib(folder: Path) -> float:
    """Bytes of every file under `folder`, in MiB."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def run_ingest(corpus: Path, index_dir: Path, *, env: dict[str, str] | None = None, log: Path) -> dict[str, Any]:
    """`guideline-qa ingest` in a subprocess: wall seconds, peak resident memory and the manifest's counts."""
    command = ingest_command(corpus, index_dir)
    started = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        peak = 0.0
        while process.poll() is None:
            peak = max(peak, peak_rss_mib(process.pid))
            time.sleep(0.25)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        tail = "\n  ".join(log.read_text(errors="replace").strip().splitlines()[-8:])
        raise BenchInputError(f"scale: ingest of {corpus} failed with code {process.returncode}:\n  {tail}")
    generation = current_generation(index_dir)
    manifest = orjson.loads((generation / "manifest.json").read_bytes())
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(peak, 1),
        "documents": len(manifest["documents"]),
        "chunks": manifest["counts"]["chunks"],
        "dense_kind": manifest["dense_kind"],
        "disk_mib": round(disk_mib(generation), 1),
    }


def measure_server(
    index_dir: Path,
    dataset: EvalSet,
    *,
    throughput_requests: int,
    log: Path,
) -> dict[str, Any]:
    """Cold start, latency at concurrency 1, throughput at 32, peak memory and doc MRR@10 of one index served."""
    from eval.runner import evaluate
    from eval.targets import HttpTarget

    port = free_port()
    command = serve_command(index_dir, port)
    bodies = [{"question": q.question} for q in dataset.questions]
    with ServerProcess(index_dir.name, command, port, env=SERVER_ENV, log_path=log) as server:
        single = run_load(server.base_url, bodies, requests=len(bodies), concurrency=1, warmup=3).summary()
        many = run_load(server.base_url, bodies, requests=throughput_requests, concurrency=32, warmup=32).summary()
        target = HttpTarget(server.base_url, name=index_dir.name)
        try:
            scored = evaluate(target, dataset, answers=False, top_k=10)
        finally:
            target.close()
        return {
            "cold_start_s": round(server.cold_start_s or 0.0, 2),
            "peak_rss_mib": round(server.peak_rss_mib(), 1),
            "c1": single,
            "c32": many,
            "doc_mrr@10": scored.metrics.get("doc_mrr@10"),
            "doc_lenient_mrr@10": scored.metrics.get("doc_lenient_mrr@10"),
        }


@dataclass(frozen=True)
class ScaleOptions:
    """What `guideline-qa bench --scale` measures (defaults: the shared MedQuAD NIH corpus at three sizes)."""

    corpus_path: Path = Path("../shared/benchmarks/medquad_nih/corpus.jsonl")
    questions_path: Path = Path("../shared/benchmarks/medquad_nih/questions.jsonl")
    sizes: tuple[int, ...] = (700, 4000, 15811)
    questions: int = 200
    throughput_requests: int = 600
    seed: int = 13
    work_dir: Path = Path(".cache/bench-scale")
    out_dir: Path = Path("reports/bench-scale")


def run_scale(options: ScaleOptions, say: Say = print) -> tuple[dict[str, Any], str]:
    """Measure every size with exact and HNSW search; returns the JSON report and the table."""
    started = time.perf_counter()
    corpus = _read_jsonl(options.corpus_path)
    if not options.questions_path.is_file():
        raise BenchInputError(f"scale: {options.questions_path} not found (see ../shared/benchmarks/README.md)")
    questions = load_benchmark(options.questions_path)
    by_id = {str(d["doc_id"]): d for d in corpus}
    subsets = choose_subsets(
        list(by_id), questions.questions, options.sizes, n_questions=options.questions, seed=options.seed
    )
    picked = set(subsets.qids)
    asked = replace(questions, questions=tuple(q for q in questions.questions if q.qid in picked))
    say(f"scale: {len(asked.questions)} questions asked at sizes {', '.join(map(str, subsets.sizes))}")
    logs = options.out_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    for size in subsets.sizes:
        folder = options.work_dir / str(size)
        subset_path = folder / "corpus" / "corpus.jsonl"
        _write_subset(subset_path, [by_id[d] for d in subsets.doc_ids[:size]])
        entry: dict[str, Any] = {"documents": size, "ingest": {}, "serve": {}}
        for kind in KINDS:
            index_dir = folder / f"index-{kind}"
            shutil.rmtree(index_dir, ignore_errors=True)
            env = {"GQA_INDEX__HNSW_THRESHOLD": "1000000000"}  # exact whatever the default threshold
            if kind == "hnsw":  # the exact index's vectors are kept: only the dense index is rebuilt
                shutil.copytree(folder / "index-exact", index_dir)
                env = {"GQA_INDEX__HNSW_THRESHOLD": "1"}
            say(f"scale: {size} documents: ingest ({kind})")
            entry["ingest"][kind] = run_ingest(subset_path, index_dir, env=env, log=logs / f"ingest-{size}-{kind}.log")
            say(f"  {entry['ingest'][kind]}")
        for kind in KINDS:
            say(f"scale: {size} documents: serve ({kind})")
            served = measure_server(
                folder / f"index-{kind}",
                asked,
                throughput_requests=options.throughput_requests,
                log=logs / f"serve-{size}-{kind}.log",
            )
            entry["serve"][kind] = served
            say(
                f"  cold start {served['cold_start_s']} s, c=1 median {served['c1'].get('latency_median_ms')} ms, "
                f"c=32 {served['c32']['requests_per_second']} req/s, RSS {served['peak_rss_mib']} MiB, "
                f"MRR@10 {served['doc_mrr@10']}"
            )
        results.append(entry)
    report = {
        "kind": "scale",
        "corpus": str(options.corpus_path),
        "questions": len(asked.questions),
        "seed": options.seed,
        "query_cache": "off",
        "sizes": results,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return report, render_table(scale_rows(results), columns=SCALE_COLUMNS, legend=SCALE_LEGEND)


SCALE_COLUMNS = ("exact", "HNSW", "exact vs HNSW")
SCALE_LEGEND = "exact vs HNSW: how many times better exact search is than HNSW (>1x: exact is better)."


def scale_rows(results: Sequence[dict[str, Any]]) -> list[Row]:
    """One row per figure and size: exact search first, HNSW beside it where the figure has two."""
    rows: list[Row] = []
    for entry in results:
        section = f"{entry['documents']:,} documents"
        ingest, serve = entry["ingest"], entry["serve"]
        exact, hnsw = serve["exact"], serve["hnsw"]
        chunks = ingest["exact"]["chunks"]
        figures: list[tuple[str, str, float | None, float | None, bool]] = [
            ("ingest", "s", ingest["exact"]["seconds"], None, False),
            ("ingest chunks/s", "chunks/s", chunks / ingest["exact"]["seconds"], None, True),
            ("HNSW rebuild from kept vectors", "s", ingest["hnsw"]["seconds"], None, False),
            ("ingest peak memory", "MiB", ingest["exact"]["peak_rss_mib"], None, False),
            ("index on disk", "MiB", ingest["exact"]["disk_mib"], ingest["hnsw"]["disk_mib"], False),
            ("cold start", "s", exact["cold_start_s"], hnsw["cold_start_s"], False),
            ("service peak memory", "MiB", exact["peak_rss_mib"], hnsw["peak_rss_mib"], False),
            ("/v1/ask median, c=1", "ms", *[s["c1"].get("latency_median_ms") for s in (exact, hnsw)], False),
            ("/v1/ask p99, c=1", "ms", *[s["c1"].get("latency_p99_ms") for s in (exact, hnsw)], False),
            ("throughput, c=32", "req/s", *[s["c32"]["requests_per_second"] for s in (exact, hnsw)], True),
            ("doc MRR@10", "", exact["doc_mrr@10"], hnsw["doc_mrr@10"], True),
        ]
        errors = sum(s[c]["errors"] for s in (exact, hnsw) for c in ("c1", "c32"))
        rows.append(Row(section, "chunks", "", float(chunks), compared=False, note=f"failed requests: {errors}"))
        rows += [
            Row(section, metric, unit, ours, other, higher, compared=other is not None)
            for metric, unit, ours, other, higher in figures
        ]
    return rows


def replace_sizes(options: ScaleOptions, sizes: str | None) -> ScaleOptions:
    """Options with `--scale-sizes 700,4000` applied."""
    if not sizes:
        return options
    try:
        parsed = tuple(int(s) for s in sizes.split(",") if s.strip())
    except ValueError:
        raise BenchInputError(f"--scale-sizes takes numbers separated by commas, got {sizes!r}") from None
    if not parsed or min(parsed) < 1:
        raise BenchInputError(f"--scale-sizes takes positive numbers, got {sizes!r}")
    return replace(options, sizes=parsed)
