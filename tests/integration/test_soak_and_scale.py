"""`guideline-qa bench --soak` and `--scale` end to end: real ingest subprocesses, real servers, the real model."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.scale import ScaleOptions, run_scale
from bench.soak import SoakOptions, run_soak
from tests.conftest import CORPUS_DIR
from tests.fakes.evaluation import write_tiny_benchmark

pytestmark = pytest.mark.slow


def test_a_short_soak_serves_every_update_with_no_failed_request_and_flat_memory(tmp_path: Path) -> None:
    options = SoakOptions(
        minutes=0.5,
        concurrency=4,
        update_every_s=1,  # back to back: a loaded machine still fits two updates in the half minute
        warmup_s=4,
        sample_every_s=1,
        corpus_paths=(CORPUS_DIR,),
        work_dir=tmp_path / "soak",
        out_dir=tmp_path / "out",
    )
    report, table = run_soak(options, say=lambda _m: None)

    assert report["load"]["errors"] == 0 and report["load"]["requests"] > 50, report["load"]["error_examples"]
    assert report["updates"] >= 2 and report["updates_not_served"] == 0 and not report["problems"], report["swaps"]
    assert report["swap_seconds_max"] < 10
    # Before the swap released the old generation's pages, each swap added about 35 MiB here.
    assert report["rss_after_warmup_max_mib"] - report["rss_after_warmup_first_mib"] < 30
    assert "failed requests" in table


def test_a_scale_run_ingests_serves_and_scores_exact_and_hnsw(tmp_path: Path) -> None:
    corpus, questions = write_tiny_benchmark(tmp_path / "bench")
    options = ScaleOptions(
        corpus_path=corpus,
        questions_path=questions,
        sizes=(3,),
        questions=5,
        throughput_requests=20,
        work_dir=tmp_path / "work",
        out_dir=tmp_path / "out",
    )
    report, table = run_scale(options, say=lambda _m: None)

    (entry,) = report["sizes"]
    assert entry["ingest"]["exact"]["dense_kind"] == "flat" and entry["ingest"]["hnsw"]["dense_kind"] == "hnsw"
    assert entry["ingest"]["exact"]["chunks"] == entry["ingest"]["hnsw"]["chunks"] > 0
    for kind in ("exact", "hnsw"):
        served = entry["serve"][kind]
        assert served["c1"]["errors"] == served["c32"]["errors"] == 0
        assert served["doc_mrr@10"] == 1.0  # one question, its document is among three
        assert served["cold_start_s"] > 0 and served["peak_rss_mib"] > 50
    assert "[3 documents]" in table
