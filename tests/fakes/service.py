"""A small deterministic `AnswerPipeline` for the web, chat and LangChain tests.

Five passages from the default corpus, ranked by word overlap with the question. A question that
mentions "paediatric" (or shares no content word with any passage) gets an abstention with the
closest passages, as the real pipeline does when the evidence is too weak. `serve` runs an app
under uvicorn on a free loopback port, for tests that need real HTTP (raw SSE, the browser).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from qa_service.errors import NotFoundError
from qa_service.schemas import (
    AskRequest,
    AskResponse,
    Citation,
    Filters,
    Passage,
    SearchRequest,
    SearchResponse,
    SourceRecord,
)

_STOP = {
    "a", "an", "and", "are", "be", "by", "do", "does", "for", "how", "i", "in", "is", "it", "of", "on", "or",
    "should", "the", "to", "what", "when", "which", "who", "with", "about",
}  # fmt: skip

OUT_OF_SCOPE_WORD = "paediatric"

DOCUMENTS: list[dict[str, Any]] = [
    {
        "doc_id": "bone-metastasis/04-therapeutic-procedures",
        "title": "Bone metastasis: radiotherapy and other therapeutic procedures",
        "issuing_body": "ESMO; ASTRO",
        "year": 2020,
        "topic": "bone-metastasis/therapeutic-procedures",
        "url": "https://doi.org/10.1016/j.annonc.2020.07.019",
        "chunks": 2,
    },
    {
        "doc_id": "bone-metastasis/03-medical-management",
        "title": "Bone metastasis: medical management",
        "issuing_body": "ESMO; CCO/ASCO",
        "year": 2020,
        "topic": "bone-metastasis/medical-management",
        "url": "https://doi.org/10.1016/j.annonc.2020.07.019",
        "chunks": 2,
    },
    {
        "doc_id": "related-topics/hypercalcaemia",
        "title": "Hypercalcaemia of malignancy",
        "issuing_body": "Endocrine Society",
        "year": 2023,
        "topic": "related/hypercalcaemia",
        "url": "https://example.org/hypercalcaemia?a=1&b=<2>",
        "chunks": 1,
    },
]

_CHUNKS: list[tuple[str, str, str, str, str]] = [
    # (chunk_id, doc_id, rec_id, section, text); the document fields are joined in by FakePipeline.
    (
        "c-rt-single",
        "bone-metastasis/04-therapeutic-procedures",
        "BM-TP-01",
        "External beam radiotherapy > Single fraction for painful bone metastases",
        "A single 8 Gy fraction relieves pain from uncomplicated bone metastases as well as multiple fractions. "
        "Retreatment is more frequent after a single fraction.",
    ),
    (
        "c-rt-sbrt",
        "bone-metastasis/04-therapeutic-procedures",
        "BM-TP-02",
        "External beam radiotherapy > Stereotactic body radiotherapy",
        "Stereotactic body radiotherapy may be considered for oligometastatic disease or radioresistant tumours.",
    ),
    (
        "c-bma-denosumab",
        "bone-metastasis/03-medical-management",
        "BM-MM-01",
        "Bone-modifying agents > Breast cancer",
        "In breast cancer with bone metastases, denosumab or zoledronic acid reduces skeletal-related events.",
    ),
    (
        "c-bma-prostate",
        "bone-metastasis/03-medical-management",
        "BM-MM-02",
        "Bone-modifying agents > Prostate cancer",
        "In castration-resistant prostate cancer with bone metastases, denosumab or zoledronic acid is recommended.",
    ),
    (
        "c-hcm-fluids",
        "related-topics/hypercalcaemia",
        "HCM-01",
        "Treatment > Initial management",
        "Treat hypercalcaemia of malignancy with intravenous fluids <and> a bisphosphonate or denosumab.",
    ),
]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP}


def _bodies(issuing_body: str | None) -> set[str]:
    return {p.strip().lower() for p in (issuing_body or "").replace(";", "/").split("/") if p.strip()}


ABSENT_BODY_REASON = (
    "the question names NCCN; no document in this index comes from it: the answer is from other guidelines"
)


class FakePipeline:
    """Answers from five fixed passages; records every request it was given."""

    def __init__(self) -> None:
        docs = {d["doc_id"]: d for d in DOCUMENTS}
        self.passages: list[Passage] = []
        self.notes: dict[str, str] = {}
        """A citation's note by its passage's chunk id (the service's `citation_notes`)."""
        for chunk_id, doc_id, rec_id, section, text in _CHUNKS:
            doc = docs[doc_id]
            self.passages.append(
                Passage(
                    chunk_id=chunk_id,
                    doc_id=doc_id,
                    rec_id=rec_id,
                    title=doc["title"],
                    section=f"{doc['title']} > {section}",  # the real pipeline's section path starts with the title
                    text=text,
                    score=0.0,
                    guideline=f"{doc['issuing_body']} {doc['year']}",
                    issuing_body=doc["issuing_body"],
                    year=doc["year"],
                    topic=doc["topic"],
                    url=doc["url"],
                )
            )
        self.asked: list[AskRequest] = []
        self.searched: list[SearchRequest] = []

    def _rank(self, query: str, filters: Filters | None, top_k: int | None) -> list[Passage]:
        wanted = _words(query)
        ranked = []
        for passage in self.passages:
            wanted_bodies = {b.lower() for b in (filters.issuing_body or [])} if filters else set()
            if wanted_bodies and not _bodies(passage.issuing_body) & wanted_bodies:
                continue
            if filters and filters.topic and not (passage.topic or "").startswith(tuple(filters.topic)):
                continue
            overlap = len(wanted & _words(passage.text + " " + passage.section))
            score = round(overlap / max(len(wanted), 1), 4)
            ranked.append(passage.model_copy(update={"score": score}))
        ranked.sort(key=lambda p: (-p.score, p.chunk_id))
        return ranked[: top_k or 5]

    def ask(self, request: AskRequest) -> AskResponse:
        """Cite the best passage (and the second if it also matches), or abstain."""
        self.asked.append(request)
        passages = self._rank(request.question, request.filters, request.top_k)
        usable = [p for p in passages if p.score > 0]
        if OUT_OF_SCOPE_WORD in request.question.lower() or not usable:
            return AskResponse(
                answer="The guidelines in the index do not answer this question with enough evidence.",
                citations=[],
                passages=passages[:3],
                abstained=True,
                reason="no passage clears the evidence threshold",
                evidence_score=0.1,
                composer="fake",
            )
        cited = usable[:2]
        sentences = [f"{p.text.split('. ')[0].rstrip('.')} [{n}]." for n, p in enumerate(cited, start=1)]
        citations = [
            Citation(
                id=n,
                quote=p.text,
                note=self.notes.get(p.chunk_id),
                **p.model_dump(include=set(SourceRecord.model_fields)),
            )
            for n, p in enumerate(cited, start=1)
        ]
        absent = "NCCN" in request.question  # as the service does for a body no ingested guideline comes from
        return AskResponse(
            answer=" ".join(sentences),
            citations=citations,
            passages=passages,
            abstained=False,
            reason=ABSENT_BODY_REASON if absent else None,
            caution=absent,
            evidence_score=0.9,
            composer="fake",
            timings_ms={"total": 1.0},
        )

    def ask_stream(self, request: AskRequest) -> Iterator[dict[str, Any]]:
        """The answer of `ask`, one sentence event at a time, then `done`."""
        response = self.ask(request)
        if not response.abstained:
            for sentence in re.split(r"(?<=\.) ", response.answer):
                ids = [int(n) for n in re.findall(r"\[(\d+)\]", sentence)]
                cites = [c.model_dump() for c in response.citations if c.id in ids]
                yield {"type": "sentence", "text": sentence, "citations": cites}
        yield {"type": "done", "response": response.model_dump()}

    def search(self, request: SearchRequest) -> SearchResponse:
        """Passages ranked by word overlap."""
        self.searched.append(request)
        return SearchResponse(passages=self._rank(request.query, request.filters, request.top_k))

    def documents(self) -> list[dict[str, Any]]:
        """The three fake documents."""
        return [dict(d) for d in DOCUMENTS]

    def recommendation(self, rec_id: str) -> list[Passage]:
        """The one fake passage with this recommendation id."""
        found = [p for p in self.passages if (p.rec_id or "").casefold() == rec_id.strip().casefold()]
        if not found:
            raise NotFoundError(f"no recommendation {rec_id!r} in this index")
        return [p.model_copy(update={"score": 1.0}) for p in found]

    def manifest(self) -> dict[str, Any]:
        """A minimal manifest."""
        return {"model_name": "fake", "counts": {"documents": len(DOCUMENTS), "chunks": len(self.passages)}}

    def source_file(self, doc_id: str) -> tuple[Path, str]:
        """No fake document has a file behind it."""
        raise NotFoundError(f"no document {doc_id!r}")


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run `app` under uvicorn on a free loopback port in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
