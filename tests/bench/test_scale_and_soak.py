"""`guideline-qa bench --scale` and `--soak`: subsets, tables and the time-bounded load, without real servers."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bench.errors import BenchInputError
from bench.load import run_load
from bench.report import render_table
from bench.scale import SCALE_COLUMNS, ScaleOptions, choose_subsets, replace_sizes, scale_rows
from bench.soak import SoakLog, SoakOptions, soak_report, soak_rows
from eval.gold import EvalQuestion, load_benchmark


def _corpus(n: int) -> list[str]:
    return [f"d{i}" for i in range(n)]


def _questions(tmp_path: Path) -> tuple[EvalQuestion, ...]:
    """The records as a benchmark states them, read by the project's benchmark loader."""
    records = [
        {"qid": "q1", "question": "a", "gold_doc_ids": ["d5"], "meta": {"lenient_gold_doc_ids": ["d6"]}},
        {"qid": "q2", "question": "b", "gold_doc_ids": ["d7"]},
        {"qid": "q3", "question": "c", "gold_doc_ids": ["d8", "d9", "d10", "d11", "d12", "d13", "d14"]},
        {"qid": "q4", "question": "d", "gold_doc_ids": ["missing"]},  # its document is not in the corpus
        {"qid": "q5", "question": "e", "gold_doc_ids": [], "answerable": False},
    ]
    path = tmp_path / "questions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return load_benchmark(path).questions


def test_subsets_are_nested_start_with_the_questions_documents_and_leave_room_for_distractors(tmp_path):
    questions = _questions(tmp_path)
    subsets = choose_subsets(_corpus(40), questions, [9, 20, 500], n_questions=10, seed=1)

    assert subsets.sizes == [9, 20, 40]  # 500 is clipped to the corpus
    assert sorted(subsets.qids) == ["q1", "q2"]  # q3's seven documents do not fit in two thirds of 9
    head = subsets.doc_ids[:9]
    assert {"d5", "d6", "d7"} <= set(head)
    assert len(set(subsets.doc_ids)) == 40  # every document once: each size is a prefix of the next
    assert subsets.doc_ids == choose_subsets(_corpus(40), questions, [9, 20], n_questions=10, seed=1).doc_ids


def test_subsets_refuse_sizes_no_question_fits_in(tmp_path):
    questions = _questions(tmp_path)
    with pytest.raises(BenchInputError, match="fit in 1 documents"):
        choose_subsets(_corpus(40), questions[2:3], [1], n_questions=5, seed=1)
    with pytest.raises(BenchInputError, match="no positive"):
        choose_subsets(_corpus(4), questions, [0], n_questions=5, seed=1)


def test_a_questions_documents_come_strict_first_without_repeats(tmp_path):
    path = tmp_path / "q.jsonl"
    record = {"qid": "q", "question": "x", "gold_doc_ids": ["a", "b"], "meta": {"lenient_gold_doc_ids": ["b", "c"]}}
    path.write_text(json.dumps(record) + "\n")
    (question,) = load_benchmark(path).questions
    subsets = choose_subsets(["c", "b", "a", "z", "y"], [question], [5], n_questions=1, seed=1)
    assert subsets.doc_ids[:3] == ["a", "b", "c"]


def test_scale_sizes_option_parses_or_names_the_problem():
    assert replace_sizes(ScaleOptions(), "700, 4000").sizes == (700, 4000)
    assert replace_sizes(ScaleOptions(), None).sizes == ScaleOptions().sizes
    for bad in ("700,many", "0"):
        with pytest.raises(BenchInputError, match="--scale-sizes"):
            replace_sizes(ScaleOptions(), bad)


def _served(median: float, rps: float, mrr: float, errors: int = 0) -> dict[str, object]:
    return {
        "cold_start_s": 1.5,
        "peak_rss_mib": 300.0,
        "c1": {"latency_median_ms": median, "latency_p99_ms": 2 * median, "errors": errors},
        "c32": {"requests_per_second": rps, "errors": 0},
        "doc_mrr@10": mrr,
    }


def test_the_scale_table_puts_exact_beside_hnsw_and_counts_failed_requests():
    ingest = {"seconds": 10.0, "peak_rss_mib": 400.0, "chunks": 1000, "disk_mib": 20.0}
    results = [
        {
            "documents": 700,
            "ingest": {"exact": ingest, "hnsw": {**ingest, "seconds": 2.0, "disk_mib": 22.0}},
            "serve": {"exact": _served(5.0, 200.0, 0.65), "hnsw": _served(4.0, 210.0, 0.64, errors=2)},
        }
    ]
    rows = {r.metric: r for r in scale_rows(results)}

    assert rows["chunks"].note == "failed requests: 2"
    assert rows["ingest chunks/s"].ours == 100.0 and rows["ingest chunks/s"].naive is None
    assert (rows["doc MRR@10"].ours, rows["doc MRR@10"].naive) == (0.65, 0.64)
    table = render_table(scale_rows(results), columns=SCALE_COLUMNS)
    assert "[700 documents]" in table and "exact vs HNSW" in table


def test_a_time_bounded_load_keeps_sending_until_the_time_is_up():
    app = FastAPI()
    calls: list[int] = []

    @app.post("/v1/ask")
    def ask() -> dict[str, bool]:
        calls.append(1)
        return {"ok": True}

    result = run_load(
        "http://bench",
        [{"question": "q"}],
        requests=1,
        concurrency=3,
        seconds=0.3,
        transport=httpx.ASGITransport(app=app),
    )

    assert result.requests == len(calls) > 3  # far more than the one request asked for, and every one counted
    assert result.errors == 0 and len(result.latencies_ms) == result.requests
    assert 0.3 <= result.seconds < 2


def test_the_soak_report_reads_memory_after_the_warm_up_and_every_swap():
    log = SoakLog(
        rss=[(0.0, 100.0), (30.0, 180.0), (60.0, 200.0), (90.0, 210.0), (120.0, 205.0)],
        swaps=[{"update": 1, "served_after_s": 0.5}, {"update": 2, "served_after_s": None}],
    )
    load = {"requests": 900, "errors": 0, "requests_per_second": 15.0, "latency_median_ms": 9.0}
    report = soak_report(SoakOptions(minutes=2, warmup_s=60), load, log)

    assert report["rss_after_warmup_first_mib"] == 200.0 and report["rss_after_warmup_max_mib"] == 210.0
    assert report["rss_after_warmup_last_mib"] == 205.0
    assert (report["updates"], report["updates_not_served"], report["swap_seconds_max"]) == (2, 1, 0.5)
    rows = {r.metric: r.ours for r in soak_rows(report)}
    assert rows["failed requests"] == 0 and rows["updates never served"] == 1
