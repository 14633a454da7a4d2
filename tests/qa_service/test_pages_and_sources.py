"""Answers from a paginated source cite their page, and the service serves the ingested file itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest import build_index, open_index
from qa_service.app import create_app
from qa_service.pipeline import QAPipeline
from qa_service.schemas import Citation, source_label
from qa_service.settings import Settings
from tests.conftest import PdfWriter

try:
    from tests.qa_service.mini_corpus import make_embedder
except ModuleNotFoundError:
    from mini_corpus import make_embedder  # type: ignore[no-redef]

PAGES = [
    ["Opioid prescribing for chronic pain.", "Clinicians should review the benefits and risks of opioids."],
    ["Naloxone", "Offer naloxone when opioid doses reach 50 MME per day or more."],
    ["Tapering", "Reduce the dose by 10% per month when tapering long-term opioid therapy."],
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, make_pdf: PdfWriter) -> tuple[TestClient, Path]:
    folder = tmp_path_factory.mktemp("guidelines")
    pdf = make_pdf(folder / "opioids.pdf", PAGES, title="Opioid prescribing")
    (folder / "records.jsonl").write_text(
        json.dumps({"doc_id": "rec-1", "title": "A record", "text": "Paracetamol 1 g every 6 hours for mild pain."})
        + "\n"
    )
    index_dir = tmp_path_factory.mktemp("index")
    build_index([folder], index_dir, embedder=make_embedder())
    settings = Settings(index_dir=index_dir)
    settings.retrieval.rerank = False
    pipeline = QAPipeline(open_index(index_dir), make_embedder(), settings)
    return TestClient(create_app(settings, pipeline=pipeline)), pdf


@pytest.fixture(scope="module")
def make_pdf() -> PdfWriter:
    from tests.conftest import write_text_pdf

    return write_text_pdf


def test_a_passage_from_a_pdf_carries_the_pages_it_spans(served: tuple[TestClient, Path]) -> None:
    client, _ = served
    found = client.post("/v1/search", json={"query": "taper dose 10% per month", "top_k": 1}).json()["passages"][0]
    assert (found["doc_id"], found["page"], found["page_end"], found["page_label"]) == ("opioids", 1, 3, "1-3")


def test_a_citation_names_its_page_in_the_footnote(served: tuple[TestClient, Path]) -> None:
    client, _ = served
    body = client.post("/v1/ask", json={"question": "naloxone at how many MME per day?"}).json()
    pdf_citations = [Citation.model_validate(c) for c in body["citations"] if c["doc_id"] == "opioids"]
    assert pdf_citations, body
    # The citation gives the page of the sentence quoted (page 2), not the passage's whole span.
    assert (pdf_citations[0].page, pdf_citations[0].page_label) == (2, "2")
    assert "p. 2 — Opioid prescribing" in source_label(pdf_citations[0])


def test_the_source_route_serves_the_ingested_pdf(served: tuple[TestClient, Path]) -> None:
    client, pdf = served
    response = client.get("/v1/documents/opioids/source")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content == pdf.read_bytes()
    listed = {d["doc_id"]: d for d in client.get("/v1/documents").json()["documents"]}
    assert listed["opioids"]["source_url"] == "/v1/documents/opioids/source"
    assert "file" not in listed["opioids"]  # where the server keeps its files stays private


@pytest.mark.parametrize("doc_id", ["../../etc/passwd", "opioids/../../x", "nope"])
def test_only_files_the_index_holds_are_served(served: tuple[TestClient, Path], doc_id: str) -> None:
    client, _ = served
    response = client.get(f"/v1/documents/{doc_id}/source")
    assert response.status_code == 404
    assert not response.content.startswith(b"%PDF")


def test_an_unknown_document_is_named_in_the_404(served: tuple[TestClient, Path]) -> None:
    client, _ = served
    assert "no document 'nope'" in client.get("/v1/documents/nope/source").json()["error"]["message"]


def test_a_record_from_a_jsonl_file_has_no_source_to_serve(served: tuple[TestClient, Path]) -> None:
    client, _ = served
    response = client.get("/v1/documents/rec-1/source")
    assert response.status_code == 404
    assert "no source file" in response.json()["error"]["message"]


def test_with_api_keys_a_document_link_works_with_the_pages_cookie_and_nothing_else_does(
    served: tuple[TestClient, Path],
) -> None:
    from pydantic import SecretStr

    client, pdf = served
    keyed_settings = Settings(index_dir=Path("unused"))
    keyed_settings.server.api_keys = [SecretStr("s3cret")]
    keyed = TestClient(create_app(keyed_settings, pipeline=client.app.state.pipeline))
    path = "/v1/documents/opioids/source"

    assert keyed.get(path).status_code == 401
    assert keyed.get(path, headers={"cookie": "gqa_key=wrong"}).status_code == 401
    opened = keyed.get(path, headers={"cookie": "other=1; gqa_key=s3cret"})
    assert opened.status_code == 200 and opened.content == pdf.read_bytes()
    # The cookie opens document files only: asking still needs the header.
    asked = keyed.post("/v1/ask", json={"question": "naloxone?"}, headers={"cookie": "gqa_key=s3cret"})
    assert asked.status_code == 401
    assert keyed.get("/v1/documents", headers={"cookie": "gqa_key=s3cret"}).status_code == 401
