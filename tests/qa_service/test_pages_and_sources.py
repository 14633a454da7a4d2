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


NALOXONE = (
    "Offer naloxone to every patient whose opioid dose reaches 50 MME per day or more. Teach the family how to give "
    "naloxone and when to call for help. Prescribe it with the first opioid prescription and renew it with each refill."
)


def test_a_citation_names_the_other_pages_that_hold_its_passage_again(tmp_path: Path) -> None:
    """A guideline repeats a recommendation in its executive summary: the citation of one copy names the other's
    page, in the response, the footnote and the page hit the evaluation counts; a passage held once names none."""
    from dataclasses import replace

    from qa_service.schemas import AskRequest, page_text
    from tests.qa_service.mini_corpus import pipeline_over

    document = (
        f"# Naloxone\n\n## Naloxone\n\n{NALOXONE}\n\n## Tapering\n\n"
        "Reduce the dose by 10% per month when tapering long-term opioid therapy.\n\n"
        f"## Naloxone\n\n{NALOXONE}\n"
    )
    pipeline = pipeline_over(tmp_path, {"cdc/naloxone.md": document})
    chunks = pipeline.index.chunks
    rows = [i for i, c in enumerate(chunks) if "Offer naloxone" in c.text]
    taper = next(i for i, c in enumerate(chunks) if "Reduce the dose" in c.text)
    assert len(rows) == 2
    # As a PDF's passages: the summary's copy on p. x (PDF page 3), the chapter's on p. 18 (PDF page 24).
    for row, page, label in ((rows[0], 3, "x"), (rows[1], 24, "18"), (taper, 20, "14")):
        chunks[row] = replace(
            chunks[row], page_start=page, page_end=page, page_label=label, page_marks=((0, page, label),)
        )

    assert [ref.page_label for ref in pipeline.copies_elsewhere(rows[0])] == ["18"]
    assert [ref.page for ref in pipeline.copies_elsewhere(rows[1])] == [3]
    assert pipeline.copies_elsewhere(taper) == []

    response = pipeline.ask(AskRequest(question="naloxone for a patient at 50 MME per day?"))
    cited = next(c for c in response.citations if "Offer naloxone" in c.quote)
    other = {3: "18", 24: "x"}[cited.page]
    assert not response.abstained and [ref.page_label for ref in cited.also_on] == [other]
    assert page_text(cited) == f"p. {cited.page_label} (also p. {other})"


def test_the_page_hit_counts_a_page_the_citation_names_as_holding_its_passage_again(tmp_path: Path) -> None:
    from eval.gold import load_gold
    from eval.runner import score_run
    from qa_service.schemas import AskResponse, PageRef, SearchResponse

    path = tmp_path / "realdocs_x.jsonl"
    path.write_text(
        '{"qid": "r1", "question": "naloxone at 50 MME?", "answerable": true, "doc_ids": ["pdf/cdc"], '
        '"pages": ["18"], "pdf_pages": [24], "key_facts": [["naloxone"]], "topic": "opioids"}\n'
    )
    dataset = load_gold(path)
    cited = Citation(
        id=1, chunk_id="c1", doc_id="pdf/cdc", title="CDC", section="Summary", quote=NALOXONE, page=3, page_end=3,
        page_label="x",
    )  # fmt: skip

    def page_hit_of(citation: Citation) -> float | None:
        reply = AskResponse(
            answer="Offer naloxone. [1]",
            citations=[citation],
            passages=[],
            abstained=False,
            evidence_score=0.9,
            composer="x",
        )
        metrics, _, _ = score_run(dataset, {"r1": SearchResponse(passages=[])}, {"r1": reply})
        return metrics["page_hit"]

    assert page_hit_of(cited) == 0.0
    assert page_hit_of(cited.model_copy(update={"also_on": [PageRef(page=24, page_label="18")]})) == 1.0
