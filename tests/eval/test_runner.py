"""The runner end to end with the fake pipeline, in-process and over HTTP (httpx MockTransport)."""

from __future__ import annotations

import json

import httpx
import pytest

from eval.errors import TargetError
from eval.gold import load_benchmark, load_gold
from eval.runner import evaluate, evaluate_all
from eval.targets import HttpTarget, PipelineTarget
from qa_service.schemas import AskRequest, SearchRequest
from tests.fakes.evaluation import OverlapPipeline as FakePipeline


@pytest.fixture
def gold(gold_file, corpus_dir):
    return load_gold(gold_file, corpus_paths=[corpus_dir])


def test_gold_run_scores_retrieval_answers_citations_and_abstention(gold):
    run = evaluate(PipelineTarget(FakePipeline(), "hybrid"), gold)
    m = run.metrics
    # g1 -> c1 (BM-RT-02) first; g2 -> c3 first; g3 -> c4 first ("bone scan positive x rays normal")
    assert m["passage_recall@1"] == 1.0 and m["recall@1"] == 1.0 and m["mrr@10"] == 1.0
    assert m["doc_recall@1"] == 1.0
    assert m["key_fact_recall"] == 1.0
    assert m["key_facts_refused"] == m["key_facts_unquoted"] == m["key_facts_unretrieved"] == 0.0
    assert m["citation_validity"] == 1.0
    assert m["citation_grounding"] == 1.0
    # g4 (dexamethasone) abstains; g5 shares "urgent MRI spine compression" with c5 and answers
    assert m["abstention_recall"] == 0.5
    assert m["false_abstention_rate"] == 0.0
    assert m["abstained_or_cautioned"] == 0.5 and m["cautioned_rate"] == 0.0  # g5 is answered without caution
    assert "span_f1" not in m  # the gold set has key facts, not reference answers
    assert run.latency["ask.total"] == {"p50_ms": 10.0, "p95_ms": 10.0, "n": 5.0}
    g4 = next(q for q in run.per_question if q["qid"] == "g4")
    assert g4["answer"]["abstained"] and g4["scores"] == {"abstention_recall": 1.0, "abstained_or_cautioned": 1.0}
    g1 = run.per_question[0]
    assert g1["first_hit"] == {"passage": 1, "doc": 1}
    assert g1["retrieved"][0] == {"doc_id": "bm/rt", "rec_id": "BM-RT-02", "chunk_id": "c1", "score": 3.0}
    assert run.config["dataset"]["questions"] == 5 and run.config["index"] == {
        "model_name": "fake",
        "counts": {"chunks": 5},
    }


def test_key_facts_not_stated_are_counted_where_they_were_lost(tmp_path, corpus_dir):
    records = [
        # The fake quotes the two best of the four passages it retrieves: "8 Gy" is stated, "CT or MRI" sits in a
        # retrieved passage it left out, and "urgent MRI" only in the passage it did not retrieve.
        {"question": "single fraction dose painful bone mets", "key_facts": [["8 Gy"], ["CT or MRI"], ["urgent MRI"]]},
        # Fewer than two words match any passage: refused, so its fact is lost to the refusal.
        {"question": "dexamethasone dose mg", "key_facts": [["8 Gy"]]},
    ]
    path = tmp_path / "losses.jsonl"
    path.write_text(
        "".join(
            json.dumps({"qid": f"k{i}", "answerable": True, "rec_ids": ["BM-RT-02"], "topic": "t", **r}) + "\n"
            for i, r in enumerate(records, start=1)
        )
    )
    run = evaluate(PipelineTarget(FakePipeline(), "hybrid"), load_gold(path, corpus_paths=[corpus_dir]))
    scores = {q["qid"]: q["scores"] for q in run.per_question}
    assert scores["k1"]["key_fact_recall"] == pytest.approx(1 / 3)
    assert scores["k1"]["key_facts_unquoted"] == pytest.approx(1 / 3)
    assert scores["k1"]["key_facts_unretrieved"] == pytest.approx(1 / 3)
    assert scores["k2"]["key_facts_refused"] == 1.0 and scores["k2"]["key_fact_recall"] == 0.0
    m = run.metrics
    total = m["key_fact_recall"] + m["key_facts_refused"] + m["key_facts_unquoted"] + m["key_facts_unretrieved"]
    assert total == pytest.approx(1.0, abs=1e-5)


def test_retrieval_only_run_has_no_answer_metrics(gold):
    run = evaluate(PipelineTarget(FakePipeline(), "hybrid"), gold, answers=False)
    assert "key_fact_recall" not in run.metrics and "abstention_recall" not in run.metrics
    assert "answer" not in run.per_question[0] and list(run.latency) == ["search.retrieve", "search.total"]


def test_several_configurations_side_by_side(gold):
    calls = []
    runs = evaluate_all(
        [PipelineTarget(FakePipeline(m), m) for m in ("hybrid", "dense")],
        gold,
        progress=lambda name, done, total: calls.append((name, done, total)),
    )
    assert [r.name for r in runs] == ["hybrid", "dense"]
    assert calls[-1] == ("dense", 5, 5)


def test_benchmark_run_scores_lenient_documents_and_spans(benchmark_files):
    corpus, questions = benchmark_files
    data = load_benchmark(questions, corpus)
    run = evaluate(PipelineTarget(FakePipeline(), "keyword"), data)
    m = run.metrics
    assert run.config["primary_level"] == "doc" and m["recall@1"] == m["doc_recall@1"]
    assert "passage_recall@1" not in m and "doc_lenient_ndcg@10" in m
    assert m["doc_lenient_recall@10"] >= m["doc_recall@10"]
    assert m["span_f1"] is not None and "rouge_l" in m and m["abstention_recall"] is None


def _mock_service(pipeline: FakePipeline, status: int = 200) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if status != 200:
            return httpx.Response(
                status, json={"error": {"type": "not_ready", "message": "the index is still loading"}}
            )
        body = json.loads(request.content) if request.content else {}
        if request.url.path == "/v1/ask":
            return httpx.Response(200, json=pipeline.ask(AskRequest(**body)).model_dump(mode="json"))
        if request.url.path == "/v1/search":
            return httpx.Response(200, json=pipeline.search(SearchRequest(**body)).model_dump(mode="json"))
        if request.url.path == "/v1/version":
            return httpx.Response(200, json={"version": "0.1.0", "manifest": pipeline.manifest()})
        return httpx.Response(404, json={"error": {"message": "no route"}})

    return httpx.MockTransport(handle)


def test_http_target_gives_the_same_figures_as_in_process(gold):
    target = HttpTarget("http://svc:8000/", transport=_mock_service(FakePipeline()), api_key="k")
    over_http = evaluate(target, gold)
    in_process = evaluate(PipelineTarget(FakePipeline(), "service"), gold)
    assert over_http.metrics == in_process.metrics
    assert over_http.per_question == in_process.per_question
    assert over_http.config["target"] == "http" and over_http.config["url"] == "http://svc:8000"
    assert target.client.headers["Authorization"] == "Bearer k"
    target.close()


def test_http_errors_become_target_errors_with_the_service_message():
    target = HttpTarget("http://svc", transport=_mock_service(FakePipeline(), status=503))
    with pytest.raises(TargetError, match="HTTP 503: the index is still loading"):
        target.search(SearchRequest(query="x"))


def test_a_reply_that_does_not_fit_the_schema_is_a_target_error():
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"passages": "none"}))
    with pytest.raises(TargetError, match="unexpected reply"):
        HttpTarget("http://svc", transport=transport).search(SearchRequest(query="x"))
