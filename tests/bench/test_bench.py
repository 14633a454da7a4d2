"""The benchmark's machinery on tiny inputs: statistics, ratios, the table, the bounded load
generator against a tiny FastAPI app, the naive pipeline on a fake embedder. Nothing is timed."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from bench import (
    LatencySummary,
    Row,
    advantage,
    median,
    median_of_runs,
    percentile,
    render_table,
    run_load,
    write_report,
)
from bench.http_bench import summarise_runs
from bench.ingest_bench import limited_jsonl
from bench.runner import check_targets, load_questions
from bench.server import free_port, peak_rss_mib

needs_langchain_community = pytest.mark.skipif(
    importlib.util.find_spec("langchain_community") is None, reason="the bench extra is not installed"
)


# -- statistics ---------------------------------------------------------------------------------


@pytest.mark.parametrize("q", [0, 25, 50, 90, 95, 99, 100])
def test_percentile_matches_numpy_linear_interpolation(q):
    values = [12.0, 3.0, 7.5, 1.0, 30.0, 4.0, 4.0, 9.0]
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_median_of_an_even_count_is_the_mean_of_the_middle_two():
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5


def test_percentile_rejects_no_values_and_out_of_range_q():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_latency_summary_reports_median_tail_and_count():
    summary = LatencySummary.of([float(v) for v in range(1, 101)])
    assert summary.n == 100
    assert summary.median_ms == pytest.approx(50.5)
    assert summary.p99_ms == pytest.approx(99.01)
    assert summary.to_json()["n"] == 100


def test_median_of_runs_takes_each_key_separately_and_skips_missing_values():
    runs = [{"a": 1.0, "b": 10.0}, {"a": 3.0, "b": None}, {"a": 2.0}]
    assert median_of_runs(runs) == {"a": 2.0, "b": 10.0}


def test_advantage_is_above_one_when_ours_is_better_either_way():
    assert advantage(10.0, 20.0, higher_is_better=False) == 2.0  # half the latency
    assert advantage(300.0, 100.0, higher_is_better=True) == 3.0  # three times the throughput
    assert advantage(None, 1.0, higher_is_better=True) is None
    assert advantage(1.0, 0.0, higher_is_better=True) is None


# -- the table and the report -------------------------------------------------------------------


def test_table_shows_sections_figures_and_ratios_but_no_ratio_for_counts():
    rows = [
        Row("ingest: corpus/", "documents/s", "docs/s", 30.0, 10.0, higher_is_better=True),
        Row("ingest: corpus/", "chunks", "count", 120, 80, compared=False),
        Row("HTTP: process", "cold start to /readyz", "s", 4.0, 8.0, note="median of 3"),
    ]
    table = render_table(rows)
    assert "[ingest: corpus/]" in table and "[HTTP: process]" in table
    assert "3.00x" in table and "2.00x" in table
    chunks_line = next(line for line in table.splitlines() if line.startswith("chunks"))
    assert "x" not in chunks_line.split("count", 1)[1]
    assert "median of 3" in table
    assert rows[1].to_json()["ratio"] is None


def test_write_report_writes_json_and_the_table(tmp_path):
    json_path, text_path = write_report(tmp_path / "out", {"rows": [], "seconds": 1.0}, "the table")
    assert json.loads(json_path.read_text())["seconds"] == 1.0
    assert text_path.read_text().strip() == "the table"


def test_summarise_runs_takes_medians_and_sums_errors():
    def run(rps: float, errors: int, cold: float) -> dict:
        level = {"requests_per_second": rps, "latency_median_ms": rps / 10, "errors": errors, "error_examples": []}
        return {"cold_start_s": cold, "peak_rss_mib": 500.0, "levels": {"1": level}}

    summary = summarise_runs([run(100, 0, 3.0), run(300, 1, 5.0), run(200, 2, 4.0)])
    assert summary["levels"]["1"]["requests_per_second"] == 200
    assert summary["levels"]["1"]["errors"] == 3
    assert summary["cold_start_s"] == 4.0


def test_targets_pass_fail_or_say_not_measured():
    report = {
        "http": {
            "ours": {
                "cold_start_s": 6.0,
                "levels": {
                    "1": {"latency_median_ms": 8.0, "latency_p99_ms": 30.0, "errors": 0},
                    "32": {"requests_per_second": 200.0, "errors": 0},
                },
            }
        }
    }
    verdicts = {t["target"]: t["passed"] for t in check_targets(report)}
    assert verdicts["HTTP c=1 median <= 12 ms"] is True
    assert verdicts["cold start <= 5 s"] is False
    assert verdicts["MedQuAD ingest >= 1.5x naive docs/s"] is None


# -- inputs -------------------------------------------------------------------------------------


def test_limited_jsonl_keeps_the_first_records(tmp_path):
    source = tmp_path / "corpus.jsonl"
    source.write_text("".join(json.dumps({"doc_id": str(i), "text": "t"}) + "\n" for i in range(10)))
    subset = limited_jsonl(source, 3, tmp_path / "subset")
    assert [json.loads(line)["doc_id"] for line in subset.read_text().splitlines()] == ["0", "1", "2"]


def test_load_questions_reads_the_question_field_and_limits(tmp_path):
    gold = tmp_path / "gold.jsonl"
    gold.write_text('{"question": "a?"}\n\n{"question": "b?"}\n{"question": "c?"}\n')
    assert load_questions(gold, 2) == ["a?", "b?"]


# -- the bounded load generator -----------------------------------------------------------------


def _counting_app(fail_every: int = 0) -> tuple[FastAPI, dict[str, int]]:
    state = {"received": 0, "in_flight": 0, "max_in_flight": 0}
    app = FastAPI()

    @app.post("/v1/ask")
    async def ask(body: dict) -> JSONResponse:
        state["received"] += 1
        state["in_flight"] += 1
        state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])
        await asyncio.sleep(0.001)  # let other requests in, so concurrency is real
        state["in_flight"] -= 1
        if fail_every and state["received"] % fail_every == 0:
            return JSONResponse({"error": "boom"}, status_code=500)
        return JSONResponse({"answer": body["question"]})

    return app, state


def test_load_generator_sends_exactly_the_requested_number_and_stops():
    app, state = _counting_app()
    bodies = [{"question": "one"}, {"question": "two"}, {"question": "three"}]
    result = run_load("http://bench", bodies, requests=25, concurrency=4, transport=httpx.ASGITransport(app=app))
    assert state["received"] == 25
    assert result.requests == 25 and result.errors == 0
    assert len(result.latencies_ms) == 25
    assert 1 < state["max_in_flight"] <= 4


def test_load_generator_warmup_is_not_counted():
    app, state = _counting_app()
    result = run_load(
        "http://bench", [{"question": "q"}], requests=5, concurrency=2, warmup=3, transport=httpx.ASGITransport(app=app)
    )
    assert state["received"] == 8
    assert result.requests == 5 and len(result.latencies_ms) == 5


def test_load_generator_counts_errors_and_keeps_a_few_examples():
    app, _ = _counting_app(fail_every=2)
    result = run_load(
        "http://bench", [{"question": "q"}], requests=10, concurrency=1, transport=httpx.ASGITransport(app=app)
    )
    assert result.errors == 5
    assert result.error_examples[0] == "HTTP 500"
    summary = result.summary()
    assert summary["errors"] == 5 and summary["requests"] == 10
    assert "latency_p99_ms" in summary


def test_load_generator_counts_refused_connections_as_errors():
    result = run_load(f"http://127.0.0.1:{free_port()}", [{"question": "q"}], requests=3, concurrency=2, timeout_s=2)
    assert result.errors == 3 and not result.latencies_ms


# -- processes ----------------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_peak_rss_of_this_process_is_positive():
    assert peak_rss_mib(os.getpid()) > 1


# -- the naive pipeline -------------------------------------------------------------------------


@needs_langchain_community
def test_naive_pipeline_splits_embeds_answers_and_round_trips(tmp_path, tiny_corpus, hash_embedder):
    from bench.naive import NaivePipeline, naive_documents
    from ingest import as_langchain_embeddings

    documents = naive_documents([tiny_corpus])
    pipeline, chunks = NaivePipeline.build(documents, as_langchain_embeddings(hash_embedder))
    assert chunks >= len(documents) > 0
    answer = pipeline.ask("radiotherapy", k=2)
    assert len(answer["sources"]) == 2
    assert answer["answer"]
    pipeline.save(tmp_path / "store")
    loaded = NaivePipeline.load(tmp_path / "store", as_langchain_embeddings(hash_embedder))
    assert loaded.ask("radiotherapy", k=2) == answer


@needs_langchain_community
def test_naive_app_is_ready_after_start_up_and_answers(tmp_path, tiny_corpus, hash_embedder):
    from bench.naive import NaivePipeline, create_naive_app, naive_documents
    from ingest import as_langchain_embeddings

    embeddings = as_langchain_embeddings(hash_embedder)
    NaivePipeline.build(naive_documents([tiny_corpus]), embeddings)[0].save(tmp_path / "store")
    with TestClient(create_naive_app(tmp_path / "store", embeddings=lambda: embeddings)) as client:
        assert client.get("/readyz").status_code == 200
        response = client.post("/v1/ask", json={"question": "radiotherapy"})
    assert response.status_code == 200
    assert response.json()["answer"]
    assert 1 <= len(response.json()["sources"]) <= 5


# -- the command --------------------------------------------------------------------------------


def test_bench_subcommand_parses_its_options():
    from bench.cli import cmd_bench, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "--quick", "--skip-http", "--repeat", "2", "--out", "x"])
    assert args.handler is cmd_bench
    assert args.quick and args.skip_http and args.repeat == 2 and args.out == "x"
    assert args.index == ".index" and not args.skip_ingest


def test_the_threads_lever_asks_a_one_thread_encoder_and_the_default_in_turn(mini_pipeline, monkeypatch):
    import bench.levers
    from bench.levers import inprocess_threads

    try:
        from tests.qa_service.mini_corpus import make_embedder
    except ModuleNotFoundError:
        from mini_corpus import make_embedder  # type: ignore[no-redef]

    asked_threads: list[int | None] = []

    def one_thread_encoder(settings, **_kwargs):
        asked_threads.append(settings.torch_threads)
        return make_embedder()

    monkeypatch.setattr(bench.levers, "load_embedder", one_thread_encoder)
    said: list[str] = []

    out = inprocess_threads(mini_pipeline, ["zoledronic acid dose", "MSCC next step"], 2, said.append)

    assert asked_threads == [1]
    assert set(out) == {"threads_1", "threads_default"}
    assert all(out[k]["median_ms"] > 0 and out[k]["n"] == 2 for k in out)
    assert sum("encoder threads 1" in line for line in said) == 2


def test_worker_processes_share_a_socket_with_nagle_off(monkeypatch):
    import socket

    import uvicorn.supervisors

    from bench.serving import _serve_workers

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # protocol 0, as uvicorn binds it
    listener.bind(("127.0.0.1", 0))
    served: list[socket.socket] = []

    class Supervisor:
        def __init__(self, config, sockets):
            served.extend(sockets)

        def run(self):
            pass

    class Config:
        def bind_socket(self):
            return listener

    monkeypatch.setattr(uvicorn.supervisors, "Multiprocess", Supervisor)
    try:
        _serve_workers(Config())

        assert served == [listener]
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        listener.close()


READYZ_AFTER_FIVE = """
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

seen = 0
workers = int(sys.argv[2])  # the process ids it answers with, in turn, as that many workers behind one port would

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        global seen
        seen += 1
        body = json.dumps({"seen": seen, "pid": 1000 + seen % workers}).encode()
        self.send_response(200 if seen > 5 else 503)  # a worker still loading answers 503 at first
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


@pytest.mark.parametrize(("workers", "checks"), [(1, 6), (2, 25)])
def test_a_server_with_workers_is_ready_only_after_many_fresh_checks_in_a_row(workers, checks):
    import sys

    from bench.server import ServerProcess

    port = free_port()
    command = [sys.executable, "-c", READYZ_AFTER_FIVE, str(port), str(workers)]

    with ServerProcess("stub", command, port, workers=workers, ready_timeout_s=30) as server:  # waits for ready
        seen = httpx.get(server.base_url + "/readyz").json()["seen"]

    assert seen == checks + 1  # the checks that made it ready, then ours


def test_a_server_with_two_workers_is_not_ready_while_only_one_of_them_answers():
    import sys

    from bench.server import ServerProcess, ServerStartError

    port = free_port()
    command = [sys.executable, "-c", READYZ_AFTER_FIVE, str(port), "1"]  # one process id: the other still loads

    with (
        pytest.raises(ServerStartError, match="not ready"),
        ServerProcess("stub", command, port, workers=2, ready_timeout_s=3),
    ):
        pass


def test_pdf_parse_speed_counts_every_page_both_ways(tmp_path):
    from bench.ingest_bench import pdf_parse_speed
    from tests.conftest import write_text_pdf

    pdfs = [write_text_pdf(tmp_path / f"{i}.pdf", [["Page one text here."], ["Page two text here."]]) for i in range(2)]
    ours, pypdf = pdf_parse_speed(pdfs)
    assert ours["pages"] == pypdf["pages"] == 4
    assert ours["pages_per_second"] > 0 and pypdf["pages_per_second"] > 0


def test_reingesting_an_unchanged_folder_is_up_to_date(tmp_path):
    from bench.ingest_bench import reingest_unchanged
    from ingest import EmbeddingSettings, HashEmbedder

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("Offer naloxone at 50 MME per day or more.\n")
    figures = reingest_unchanged([tmp_path / "docs"], HashEmbedder(), EmbeddingSettings())
    assert figures["up_to_date"] and figures["documents"] == 1
    assert figures["reingest_unchanged_seconds"] < figures["build_seconds"] + 1
