"""The HTTP API over a real QAPipeline (hash-embedded mini index), driven by FastAPI's TestClient."""

from __future__ import annotations

import json
import logging
import os
import threading
import time

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from ingest import IndexNotFoundError
from qa_service.app import create_app
from qa_service.schemas import DISCLAIMER
from qa_service.settings import RetrievalSettings, ServerSettings, Settings

try:  # tests/qa_service as a package, or as a plain folder that pytest puts on sys.path
    from tests.qa_service.mini_corpus import build_mini_index, make_embedder
except ModuleNotFoundError:
    from mini_corpus import build_mini_index, make_embedder  # type: ignore[no-redef]

RT_QUESTION = "single fraction dose for painful bone metastases"


def settings_for(index_dir, **server) -> Settings:
    return Settings(index_dir=index_dir, server=ServerSettings(**server))


@pytest.fixture
def client(mini_pipeline, mini_index_dir) -> TestClient:
    return TestClient(create_app(settings_for(mini_index_dir), pipeline=mini_pipeline))


def assert_error(response, status: int, *fragments: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"type", "message"} and error["message"]
    for fragment in fragments:
        assert fragment in error["message"], error["message"]
    return error


def wait_for(predicate, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


# -- answers and search -------------------------------------------------------------------------------


def test_ask_answers_with_citations(client):
    response = client.post("/v1/ask", json={"question": RT_QUESTION})

    assert response.status_code == 200
    body = response.json()
    assert not body["abstained"] and "8 Gy" in body["answer"] and "[1]" in body["answer"]
    assert body["citations"][0]["id"] == 1 and body["citations"][0]["guideline"] == "ESMO 2020"
    assert "8 Gy" in body["citations"][0]["quote"]
    assert {"id", "chunk_id", "doc_id", "title", "issuing_body", "year", "section", "url", "quote"} <= set(
        body["citations"][0]
    )
    assert body["passages"] and body["disclaimer"] == DISCLAIMER and body["timings_ms"]["total"] > 0
    assert response.headers["x-request-id"]


def test_ask_abstains_on_an_out_of_scope_question(client):
    body = client.post("/v1/ask", json={"question": "chemo regimen for paediatric leukaemia"}).json()

    assert body["abstained"] and body["reason"] and body["citations"] == [] and body["passages"]


def test_ask_with_filters_and_top_k(client):
    body = client.post(
        "/v1/ask", json={"question": "bone metastases", "top_k": 2, "filters": {"issuing_body": "ASCO"}}
    ).json()

    assert len(body["passages"]) == 2
    assert {p["issuing_body"] for p in body["passages"]} == {"CCO/ASCO"}


def test_ask_streams_server_sent_events(client):
    with client.stream("POST", "/v1/ask", json={"question": RT_QUESTION, "stream": True}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]

    assert lines[-1] == "data: [DONE]"
    events = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert {e["type"] for e in events[:-1]} == {"sentence"}
    assert events[-1]["type"] == "done" and not events[-1]["response"]["abstained"]


def test_a_streamed_ask_that_cannot_be_answered_is_refused_before_any_event(client):
    # No LLM is configured here: the request is refused with its reason, not a 200 stream cut short.
    body = {"question": RT_QUESTION, "stream": True, "composer": "llm"}
    with client.stream("POST", "/v1/ask", json=body) as response:
        response.read()
    plain = client.post("/v1/ask", json={**body, "stream": False})
    assert response.status_code == plain.status_code == 422
    assert "LLM composer is not configured" in response.json()["error"]["message"]


def test_search_returns_passages(client):
    response = client.post("/v1/search", json={"query": "EBRT", "top_k": 3, "filters": {"year_min": 2020}})

    assert response.status_code == 200
    passages = response.json()["passages"]
    assert len(passages) == 3 and passages[0]["rec_id"] == "BM-RT-01"
    assert all(p["year"] >= 2020 for p in passages)
    assert {"chunk_id", "doc_id", "title", "section", "text", "score"} <= set(passages[0])


def test_llm_composer_not_configured_is_a_4xx(client):
    assert_error(client.post("/v1/ask", json={"question": RT_QUESTION, "composer": "llm"}), 422, "not configured")


# -- documents, health, version -----------------------------------------------------------------------


def test_documents_lists_the_indexed_documents(client):
    response = client.get("/v1/documents")

    assert response.status_code == 200
    docs = response.json()["documents"]
    assert {d["doc_id"] for d in docs} == {
        "bone-metastasis/radiotherapy",
        "bone-metastasis/diagnosis",
        "bone-metastasis/medical-management",
        "related-topics/hypercalcaemia",
    }
    assert all({"title", "issuing_body", "year", "topic", "url", "chunks"} <= set(d) for d in docs)


def test_one_document_by_id_and_404_for_an_unknown_one(client):
    response = client.get("/v1/documents/bone-metastasis/radiotherapy")

    assert response.status_code == 200
    assert response.json()["title"] == "Bone metastasis: radiotherapy"
    assert_error(client.get("/v1/documents/bone-metastasis/nope"), 404, "bone-metastasis/nope")


def test_health_ready_and_version(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "chunks": 8, "pid": os.getpid()}
    version = client.get("/v1/version").json()
    assert version["version"]
    assert version["manifest"]["model_name"] == "hash-embedder" and "documents" not in version["manifest"]


def test_unknown_path_is_a_json_404(client):
    assert_error(client.get("/v1/nothing-here"), 404)


# -- readiness ----------------------------------------------------------------------------------------


def test_readyz_is_503_while_the_pipeline_loads_then_200(mini_pipeline, mini_index_dir):
    release = threading.Event()

    def slow_factory(_settings):
        release.wait(10)
        return mini_pipeline

    app = create_app(settings_for(mini_index_dir), pipeline_factory=slow_factory)
    try:
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            assert_error(client.get("/readyz"), 503, "still loading")
            assert_error(client.post("/v1/ask", json={"question": RT_QUESTION}), 503, "still loading")
            release.set()
            wait_for(lambda: client.get("/readyz").status_code == 200)
            assert client.post("/v1/ask", json={"question": RT_QUESTION}).status_code == 200
    finally:
        release.set()


def test_the_ready_log_line_says_where_the_service_answers(mini_pipeline, mini_index_dir, caplog):
    settings = settings_for(mini_index_dir)
    app = create_app(settings, pipeline_factory=lambda _settings: mini_pipeline)
    with caplog.at_level(logging.INFO, logger="guideline_qa.http"), TestClient(app) as client:
        wait_for(lambda: client.get("/readyz").status_code == 200)
        wait_for(lambda: any('"event":"ready"' in r.getMessage() for r in caplog.records))

    (ready,) = [json.loads(r.getMessage()) for r in caplog.records if '"event":"ready"' in r.getMessage()]
    assert ready["url"] == f"http://{settings.server.host}:{settings.server.port}/" and ready["seconds"] >= 0


def test_readyz_is_503_with_the_reason_when_loading_fails(mini_index_dir):
    def failing_factory(_settings):
        raise IndexNotFoundError(f"no index at {mini_index_dir}/missing")

    app = create_app(settings_for(mini_index_dir), pipeline_factory=failing_factory)
    with TestClient(app) as client:
        wait_for(lambda: app.state.load_error is not None)

        error = assert_error(client.get("/readyz"), 503, "index could not be loaded", "no index at")
        assert error["type"] == "NotReadyError"
        assert_error(client.post("/v1/search", json={"query": "x"}), 503, "no index at")
        assert client.get("/healthz").status_code == 200


# -- bad input: always a 4xx with a message, never a 500 ----------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "fragment"),
    [
        ("/v1/ask", {"question": ""}, "question"),
        ("/v1/ask", {"question": "   \n\t "}, "question is empty"),
        ("/v1/ask", {}, "question"),
        ("/v1/ask", {"question": 42}, "question"),
        ("/v1/ask", {"question": "x" * 2001}, "the limit is 2000"),
        ("/v1/ask", {"question": RT_QUESTION, "top_k": 0}, "top_k"),
        ("/v1/ask", {"question": RT_QUESTION, "top_k": -3}, "top_k"),
        ("/v1/ask", {"question": RT_QUESTION, "top_k": 51}, "top_k must be between 1 and 50"),
        ("/v1/ask", {"question": RT_QUESTION, "top_k": "many"}, "top_k"),
        ("/v1/ask", {"question": RT_QUESTION, "filters": {"colour": "red"}}, "filters.colour: unknown field"),
        ("/v1/ask", {"question": RT_QUESTION, "filters": {"year_min": 1066}}, "year_min"),
        ("/v1/ask", {"question": RT_QUESTION, "filters": {"year_min": 2023, "year_max": 2017}}, "after year_max"),
        ("/v1/ask", {"question": RT_QUESTION, "filters": {"issuing_body": ""}}, "must not be empty"),
        ("/v1/search", {"query": "bone", "filters": {"doc_id": ["a", " "]}}, "must not be empty"),
        ("/v1/ask", {"question": RT_QUESTION, "filters": "ESMO"}, "filters"),
        ("/v1/ask", {"question": RT_QUESTION, "temperature": 0.2}, "temperature: unknown field"),
        ("/v1/ask", {"question": RT_QUESTION, "composer": "gpt"}, "composer"),
        ("/v1/ask", [RT_QUESTION], "body"),
        ("/v1/search", {"query": " "}, "query is empty"),
        ("/v1/search", {"query": "x" * 2001}, "the limit is 2000"),
        ("/v1/search", {"query": "bone", "top_k": 0}, "top_k"),
        ("/v1/search", {"query": "bone", "top_k": 51}, "top_k must be between 1 and 50"),
        ("/v1/search", {"query": "bone", "filters": {"body": "ESMO"}}, "unknown field"),
        ("/v1/search", {"query": "bone", "question": "bone"}, "question: unknown field"),
    ],
)
def test_bad_input_gets_a_4xx_with_a_message(client, path, body, fragment):
    assert_error(client.post(path, json=body), 422, fragment)


def test_question_limit_comes_from_settings(mini_pipeline, mini_index_dir):
    client = TestClient(create_app(settings_for(mini_index_dir, max_question_chars=40), pipeline=mini_pipeline))

    assert client.post("/v1/ask", json={"question": "x" * 40}).status_code == 200
    assert_error(client.post("/v1/ask", json={"question": "x" * 41}), 422, "41 characters; the limit is 40")


def test_top_k_limit_comes_from_settings(mini_pipeline, mini_index_dir):
    settings = settings_for(mini_index_dir)
    settings.retrieval = RetrievalSettings(max_top_k=4)
    client = TestClient(create_app(settings, pipeline=mini_pipeline.with_settings(retrieval=settings.retrieval)))

    assert client.post("/v1/search", json={"query": "bone", "top_k": 4}).status_code == 200
    assert_error(client.post("/v1/search", json={"query": "bone", "top_k": 5}), 422, "between 1 and 4")


@pytest.mark.parametrize("raw", [b'{"question": "bone', b"not json at all", b'{"question": "a",}', b"\xff\xfe"])
def test_malformed_json_is_a_4xx(client, raw):
    response = client.post("/v1/ask", content=raw, headers={"content-type": "application/json"})

    assert_error(response, 422, "not valid JSON")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_wrong_content_type_is_a_4xx(client, content_type):
    response = client.post(
        "/v1/ask", content=json.dumps({"question": RT_QUESTION}), headers={"content-type": content_type}
    )

    assert 400 <= response.status_code < 500
    assert response.json()["error"]["message"]


def test_body_over_max_body_bytes_is_413(mini_pipeline, mini_index_dir):
    client = TestClient(create_app(settings_for(mini_index_dir, max_body_bytes=1000), pipeline=mini_pipeline))
    padded = json.dumps({"question": RT_QUESTION}) + " " * 1000

    response = client.post("/v1/ask", content=padded, headers={"content-type": "application/json"})

    assert_error(response, 413, "over 1000 bytes")
    assert client.post("/v1/ask", json={"question": RT_QUESTION}).status_code == 200


def test_invalid_content_length_is_rejected(client):
    response = client.post(
        "/v1/ask", content=b'{"question": "bone"}', headers={"content-type": "application/json", "content-length": "-1"}
    )

    assert 400 <= response.status_code < 500


def test_chunked_body_over_max_body_bytes_is_413(mini_pipeline, mini_index_dir):
    client = TestClient(create_app(settings_for(mini_index_dir, max_body_bytes=1000), pipeline=mini_pipeline))

    def chunks():  # a generator body is sent with Transfer-Encoding: chunked and no Content-Length
        yield json.dumps({"question": RT_QUESTION}).encode()
        for _ in range(100):
            yield b" " * 1000

    response = client.post("/v1/ask", content=chunks(), headers={"content-type": "application/json"})

    assert response.status_code == 413


def test_wrong_method_is_a_4xx(client):
    assert_error(client.get("/v1/ask"), 405)


# -- API keys, CORS, logs -----------------------------------------------------------------------------


@pytest.fixture
def keyed_client(mini_pipeline, mini_index_dir) -> TestClient:
    settings = settings_for(mini_index_dir, api_keys=[SecretStr("s3cret"), SecretStr("other")])
    return TestClient(create_app(settings, pipeline=mini_pipeline))


def test_api_keys_are_required_on_v1_when_set(keyed_client):
    assert_error(keyed_client.post("/v1/ask", json={"question": RT_QUESTION}), 401, "API key")
    assert_error(keyed_client.get("/v1/documents"), 401)
    wrong = {"Authorization": "Bearer nope"}
    assert_error(keyed_client.post("/v1/ask", json={"question": RT_QUESTION}, headers=wrong), 401)


def test_a_valid_bearer_key_is_accepted(keyed_client):
    for key in ("s3cret", "other"):
        headers = {"Authorization": f"Bearer {key}"}
        assert keyed_client.post("/v1/ask", json={"question": RT_QUESTION}, headers=headers).status_code == 200
    assert keyed_client.get("/v1/documents", headers={"X-API-Key": "s3cret"}).status_code == 200


def test_health_endpoints_stay_open_with_api_keys(keyed_client):
    assert keyed_client.get("/healthz").status_code == 200
    assert keyed_client.get("/readyz").status_code == 200


def test_no_api_keys_means_open(client):
    assert client.get("/v1/documents").status_code == 200


def test_cors_header_present_when_origins_are_set(mini_pipeline, mini_index_dir):
    origin = "https://clinic.example.org"
    client = TestClient(create_app(settings_for(mini_index_dir, cors_origins=[origin]), pipeline=mini_pipeline))

    response = client.post("/v1/ask", json={"question": RT_QUESTION}, headers={"Origin": origin})
    preflight = client.options("/v1/ask", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    stranger = client.post("/v1/ask", json={"question": RT_QUESTION}, headers={"Origin": "https://evil.example"})

    assert response.headers["access-control-allow-origin"] == origin
    assert preflight.status_code == 200 and preflight.headers["access-control-allow-origin"] == origin
    assert "access-control-allow-origin" not in stranger.headers


def test_no_cors_header_without_origins(client):
    response = client.post("/v1/ask", json={"question": RT_QUESTION}, headers={"Origin": "https://clinic.example.org"})

    assert "access-control-allow-origin" not in response.headers


def test_logs_do_not_record_the_question(client, caplog):
    question = "Mrs Jane Roe, 72, hot spot on bone scan after breast cancer: next step?"
    caplog.set_level(logging.INFO, logger="guideline_qa.http")

    client.post("/v1/ask", json={"question": question})
    client.post("/v1/search", json={"query": question})
    client.post("/v1/ask", json={"question": question, "top_k": 0})  # a rejected request must not leak it either

    records = [json.loads(r.getMessage()) for r in caplog.records if r.name == "guideline_qa.http"]
    assert [(r["path"], r["status"]) for r in records] == [("/v1/ask", 200), ("/v1/search", 200), ("/v1/ask", 422)]
    assert all(set(r) == {"event", "id", "method", "path", "status", "ms"} for r in records)
    assert "Jane Roe" not in caplog.text and "hot spot" not in caplog.text


def test_logs_record_the_question_only_when_asked_to(mini_pipeline, mini_index_dir, caplog):
    client = TestClient(create_app(settings_for(mini_index_dir, log_questions=True), pipeline=mini_pipeline))
    caplog.set_level(logging.INFO, logger="guideline_qa.http")

    client.post("/v1/ask", json={"question": "hot spot on bone scan: next step?"})

    questions = [json.loads(r.getMessage()) for r in caplog.records if '"event":"question"' in r.getMessage()]
    assert questions == [{"event": "question", "text": "hot spot on bone scan: next step?"}]


# -- command line -------------------------------------------------------------------------------------


@pytest.fixture
def cli_index(tmp_path, monkeypatch):
    """An index the in-process `ask` opens with its default settings, the model swapped for a hash embedder."""
    import ingest.pipeline
    import qa_service.pipeline
    from ingest import EmbeddingSettings
    from ingest.pipeline import configured_model_name

    for name in [n for n in os.environ if n.startswith("GQA_")]:
        monkeypatch.delenv(name)

    name = configured_model_name(EmbeddingSettings())  # the default configuration's model

    def fake_loader(_settings, **_kwargs):
        return make_embedder(name)

    monkeypatch.setattr(ingest.pipeline, "load_embedder", fake_loader)
    monkeypatch.setattr(qa_service.pipeline, "load_embedder", fake_loader)
    return build_mini_index(tmp_path, name=name)


def test_cli_ask_in_process_prints_the_answer_and_its_sources(cli_index, capsys):
    from guideline_qa import cli

    code = cli.main(["ask", RT_QUESTION, "--index", str(cli_index)])

    out = capsys.readouterr().out
    assert code == 0
    answer, _, rest = out.partition("\nSources:\n")
    assert "8 Gy" in answer and "[1]" in answer
    assert "[1] ESMO 2020 — Bone metastasis: radiotherapy > " in rest
    assert "Bone metastasis: radiotherapy > Bone metastasis: radiotherapy" not in rest  # the title once
    assert "<https://example.org/esmo-radiotherapy>" in rest
    assert DISCLAIMER in rest


def test_cli_ask_prints_an_abstention_with_the_closest_passages(cli_index, capsys):
    from guideline_qa import cli

    code = cli.main(["ask", "chemo regimen for paediatric leukaemia", "--index", str(cli_index)])

    out = capsys.readouterr().out
    assert code == 0
    assert "(abstained: " in out and "Closest passages:" in out and "Sources:" not in out


def test_cli_ask_says_why_an_answer_comes_with_caution(cli_index, capsys):
    from guideline_qa import cli

    assert cli.main(["ask", f"per NCCN, {RT_QUESTION}", "--index", str(cli_index)]) == 0

    out = capsys.readouterr().out
    answer, _, _ = out.partition("\nSources:\n")
    assert "8 Gy" in answer
    assert "(caution: the question names NCCN; no document in this index comes from it" in answer


def test_cli_ask_json_prints_the_whole_response(cli_index, capsys):
    from guideline_qa import cli

    assert cli.main(["ask", RT_QUESTION, "--index", str(cli_index), "--top-k", "2", "--json"]) == 0

    payload = json.loads(capsys.readouterr().out)
    assert len(payload["passages"]) == 2 and payload["citations"]


def test_cli_ask_blank_question_exits_2_with_a_message(cli_index, capsys):
    from guideline_qa import cli

    assert cli.main(["ask", "   ", "--index", str(cli_index)]) == 2
    assert "question is empty" in capsys.readouterr().err


def test_cli_ask_without_an_index_exits_2_with_a_message(tmp_path, monkeypatch, capsys):
    import qa_service.pipeline
    from guideline_qa import cli

    monkeypatch.delenv("GQA_URL", raising=False)
    monkeypatch.setattr(qa_service.pipeline, "load_embedder", lambda _settings, **_kw: make_embedder())

    assert cli.main(["ask", RT_QUESTION, "--index", str(tmp_path / "none")]) == 2
    assert str(tmp_path / "none") in capsys.readouterr().err


def test_cli_ask_over_http_reports_the_service_error(mini_pipeline, mini_index_dir, monkeypatch, capsys):
    import qa_service.client
    from guideline_qa import cli

    settings = settings_for(mini_index_dir, api_keys=[SecretStr("s3cret")])
    app = create_app(settings, pipeline=mini_pipeline)
    monkeypatch.setattr(qa_service.client, "new_http_client", lambda *_args: TestClient(app, base_url="http://qa.test"))
    monkeypatch.delenv("GQA_API_KEY", raising=False)

    assert cli.main(["ask", RT_QUESTION, "--url", "http://qa.test/"]) == 1
    assert "401: missing or wrong API key" in capsys.readouterr().err

    assert cli.main(["ask", RT_QUESTION, "--url", "http://qa.test", "--api-key", "s3cret"]) == 0
    assert "Sources:" in capsys.readouterr().out


def test_cli_serve_without_an_index_exits_2_with_a_message(tmp_path, capsys):
    from guideline_qa import cli

    code = cli.main(["serve", "--index", str(tmp_path / "missing")])

    assert code == 2
    assert f"no index at {tmp_path / 'missing'}" in capsys.readouterr().err
