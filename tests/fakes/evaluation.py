"""A deterministic fake pipeline and a tiny corpus and gold set for the evaluation harness tests."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qa_service.schemas import AskRequest, AskResponse, Citation, Passage, SearchRequest, SearchResponse

# (chunk_id, doc_id, rec_id, text)
PASSAGES = [
    ("c1", "bm/rt", "BM-RT-02", "A single fraction of 8 Gy relieves pain from bone metastases."),
    ("c2", "bm/rt", "BM-RT-03", "Re-irradiation is safe after a single fraction when pain recurs."),
    ("c3", "bm/dx", "BM-DX-01", "Start with a bone scan when bone metastases are suspected."),
    ("c4", "bm/dx", "BM-DX-03", "If the bone scan is positive and X-rays are normal, use CT or MRI."),
    ("c5", "mscc", None, "Spinal cord compression needs urgent MRI of the whole spine."),
]


def gold_args(gold_file: Path, corpus_dir: Path, out: Path, *extra: str) -> list[str]:
    """`guideline-qa eval gold` over the tiny gold set and corpus, quietly, into `out`."""
    return ["eval", "gold", "--gold", str(gold_file), "--corpus", str(corpus_dir), "--out", str(out), "--quiet", *extra]


CORPUS_FILES = {
    "bm/rt.md": "---\ntitle: Radiotherapy\n---\n\n# Radiotherapy\n\n### BM-RT-02 Dose\n\n{c1}\n\n"
    "### BM-RT-03 Re\n\n{c2}\n",
    "bm/dx.md": "---\ntitle: Diagnosis\n---\n\n# Diagnosis\n\n### BM-DX-01 First\n\n{c3}\n\n"
    "### BM-DX-03 Next\n\n{c4}\n",
    "mscc.md": "---\ntitle: MSCC\n---\n\n# MSCC\n\n{c5}\n",
}

GOLD = [
    {
        "qid": "g1",
        "question": "single fraction dose painful bone mets",
        "answerable": True,
        "rec_ids": ["BM-RT-02"],
        "key_facts": [["8 Gy"], ["single fraction", "one fraction"]],
        "topic": "radiotherapy",
    },
    {
        "qid": "g2",
        "question": "first imaging suspected bone metastases",
        "answerable": True,
        "rec_ids": ["BM-DX-01"],
        "key_facts": [["bone scan"]],
        "topic": "diagnosis",
    },
    {
        "qid": "g3",
        "question": "bone scan positive x-rays normal what next",
        "answerable": True,
        "rec_ids": ["BM-DX-03"],
        "key_facts": [["CT or MRI"]],
        "topic": "diagnosis",
    },
    {
        "qid": "g4",
        "question": "dexamethasone dose mg",
        "answerable": False,
        "rec_ids": [],
        "key_facts": [],
        "topic": "out-of-scope",
    },
    {
        "qid": "g5",
        "question": "whole spine MRI urgent for compression?",
        "answerable": False,
        "rec_ids": [],
        "key_facts": [],
        "topic": "out-of-scope",
    },
]

_STOP = {"a", "the", "of", "for", "is", "and", "are", "what", "when", "with", "from", "if", "to"}


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP}


class OverlapPipeline:
    """Ranks passages by word overlap with the question (ties: corpus order, or reversed for 'dense').

    Answers with the top passage's sentence and a [1] marker, plus the second passage's with [2];
    abstains when fewer than `min_overlap` words match. Timings are fixed, so runs are reproducible.
    """

    def __init__(self, mode: str = "hybrid", *, min_overlap: int = 2, passages: list[Any] | None = None) -> None:
        self.mode = mode
        self.min_overlap = min_overlap
        self.passages = passages or PASSAGES

    def _ranked(self, query: str, top_k: int) -> list[Passage]:
        query_words = _words(query)
        order = list(enumerate(self.passages))
        if self.mode == "dense":
            order.reverse()
        scored = [(len(query_words & _words(p[3])), -i if self.mode == "dense" else i, p) for i, p in order]
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [
            Passage(chunk_id=c, doc_id=d, rec_id=r, title=d, section="", text=t, score=float(n))
            for n, _, (c, d, r, t) in scored
            if n > 0
        ][:top_k]

    def search(self, request: SearchRequest) -> SearchResponse:
        passages = self._ranked(request.query, request.top_k or 5)
        return SearchResponse(passages=passages, timings_ms={"retrieve": 2.0, "total": 2.5})

    def ask(self, request: AskRequest) -> AskResponse:
        passages = self._ranked(request.question, request.top_k or 5)
        timings = {"retrieve": 2.0, "compose": float(len(request.question) % 7), "total": 10.0}
        best = passages[0].score if passages else 0.0
        evidence = min(1.0, best / 4)
        if best < self.min_overlap:
            return AskResponse(
                answer="The guidelines in this corpus do not cover this question.",
                citations=[],
                passages=passages,
                abstained=True,
                reason="no evidence",
                evidence_score=evidence,
                composer="fake",
                timings_ms=timings,
            )
        cited = passages[:2]
        answer = " ".join(f"{p.text} [{n}]" for n, p in enumerate(cited, start=1))
        citations = [
            Citation(
                id=n, chunk_id=p.chunk_id, doc_id=p.doc_id, rec_id=p.rec_id, title=p.title, section="", quote=p.text
            )
            for n, p in enumerate(cited, start=1)
        ]
        return AskResponse(
            answer=answer,
            citations=citations,
            passages=passages,
            abstained=False,
            evidence_score=evidence,
            composer="fake",
            timings_ms=timings,
        )

    def ask_stream(self, request: AskRequest) -> Iterator[dict[str, Any]]:
        yield {"type": "done", "response": self.ask(request).model_dump()}

    def documents(self) -> list[dict[str, Any]]:
        return [{"doc_id": d} for d in sorted({p[1] for p in self.passages})]

    def manifest(self) -> dict[str, Any]:
        return {"model_name": "fake", "counts": {"chunks": len(self.passages)}, "created_at": "2026-01-01T00:00:00"}


def write_tiny_benchmark(folder: Path) -> tuple[Path, Path]:
    """A tiny benchmark in the shared schema in `folder`: (corpus.jsonl, questions.jsonl)."""
    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / "corpus.jsonl"
    corpus.write_text(
        "".join(json.dumps({"doc_id": d, "title": d, "text": t, "source": "x"}) + "\n" for _, d, _, t in PASSAGES[::2]),
        encoding="utf-8",
    )
    questions = [
        {
            "qid": "b1",
            "question": "how much Gy for pain bone metastases",
            "gold_doc_ids": ["bm/rt"],
            "answers": ["8 Gy"],
            "answerable": True,
            "meta": {"lenient_gold_doc_ids": ["bm/rt", "bm/dx"], "qtype": "treatment"},
        },
        {
            "qid": "b2",
            "question": "urgent MRI spine compression",
            "gold_doc_ids": ["mscc"],
            "answers": ["urgent MRI of the whole spine"],
            "answerable": True,
            "meta": {"lenient_gold_doc_ids": ["mscc"], "qtype": "exams and tests"},
        },
    ]
    qpath = folder / "questions.jsonl"
    qpath.write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    return corpus, qpath
