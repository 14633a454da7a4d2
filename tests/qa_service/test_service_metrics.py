"""GET /metrics: Prometheus text with requests by route template, stage latency, outcomes and the index served."""

from __future__ import annotations

from fastapi.testclient import TestClient

from qa_service.app import create_app
from qa_service.settings import Settings

QUESTION = "single fraction radiotherapy dose for painful bone metastases"
SECRET_QUESTION = "Mrs Jane Example 1954-03-02 teriparatide dose"


def test_metrics_count_requests_by_route_template_and_answers_by_outcome(mini_pipeline) -> None:
    client = TestClient(create_app(Settings(), pipeline=mini_pipeline))
    assert client.post("/v1/ask", json={"question": QUESTION}).status_code == 200
    assert client.post("/v1/ask", json={"question": SECRET_QUESTION}).json()["abstained"]
    assert client.get("/v1/documents/bone-metastasis/radiotherapy").status_code == 200

    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'gqa_requests_total{route="/v1/ask",status="200"} 2.0' in text
    assert 'gqa_requests_total{route="/v1/documents/{doc_id:path}",status="200"} 1.0' in text
    assert 'gqa_answers_total{outcome="abstained"} 1.0' in text
    assert 'gqa_stage_seconds_count{stage="embed"} 2.0' in text
    assert 'gqa_request_seconds_bucket{le="0.002",route="/v1/ask"}' in text
    generation = mini_pipeline.manifest()["generation"]
    assert f'gqa_index_generation_info{{generation="{generation}"}} 1.0' in text
    assert f"gqa_index_chunks {float(len(mini_pipeline.index.chunks))}" in text


def test_no_question_text_or_document_path_becomes_a_label(mini_pipeline) -> None:
    client = TestClient(create_app(Settings(), pipeline=mini_pipeline))
    client.post("/v1/ask", json={"question": SECRET_QUESTION})
    client.get("/v1/documents/bone-metastasis/radiotherapy")
    client.get("/nothing/here")
    text = client.get("/metrics").text
    assert "Jane" not in text and "teriparatide" not in text and "radiotherapy" not in text
    assert 'route="unmatched"' in text
