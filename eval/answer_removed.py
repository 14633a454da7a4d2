"""Answer-removed near misses: every answerable gold question asked again with its answer hidden.

A near miss is a question the guidelines almost answer: the index holds passages on the same drug,
disease or procedure, but not the one that answers it. Question sets have few of them (fifteen a
set), written by hand. Here they are made from any gold set, on any index, without reading a
question: the passages the gold names as the answer (its `rec_ids`, or its documents' `pdf_pages`,
or whole documents when it gives no page) are hidden, and the question is asked again
(`QAPipeline.hiding`). The service should now abstain: what it answers comes from a neighbouring
passage, and for a dose question that is the brief's worst failure, another use's dose with a
confident citation.

Each question ends as one of:

- `abstained`: the wanted outcome;
- `restated`: the answer still states every key fact (another passage says it too; not a near miss,
  left out of the shares);
- `answered`: a near miss answered; `numbers` counts those whose question asks for a number (a dose, an
  interval, a count) and whose answer states one.

Each question is also asked with nothing hidden, for the other side of the trade: how many of these
answerable questions are refused, and how well the evidence score tells the question with its answer
from the near miss made of it (AUROC).

The index's statistics (IDF, vocabulary) stay the whole index's, so a hidden passage's words still
count as known; an index built without them would differ slightly.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from eval.metrics import fact_stated, on_a_page

if TYPE_CHECKING:
    from eval.gold import EvalQuestion, EvalSet
    from ingest import Chunk
    from qa_service.pipeline import QAPipeline
    from qa_service.schemas import AskResponse

Outcome = Literal["abstained", "restated", "answered"]


@dataclass(frozen=True)
class RemovedAnswer:
    """One question asked with its answering passages hidden."""

    qid: str
    question: str
    hidden: int  # passages hidden
    outcome: Outcome
    asks_number: bool
    states_number: bool
    score: float
    present_abstained: bool
    """Whether the service abstained on the same question with nothing hidden (wrongly: it is answerable)."""
    present_score: float
    caution: bool = False
    """Answered, flagged as resting on partial evidence (`caution`)."""
    present_caution: bool = False
    """Answered with nothing hidden, flagged with caution."""


@dataclass
class RemovedSummary:
    """One gold set's figures."""

    name: str
    answerable: int  # answerable questions in the set
    results: list[RemovedAnswer] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(r.outcome == outcome for r in self.results)

    @property
    def near_misses(self) -> int:
        return len(self.results) - self.count("restated")

    @property
    def abstained_share(self) -> float | None:
        return self.count("abstained") / self.near_misses if self.near_misses else None

    @property
    def confident_share(self) -> float | None:
        """Share of the near misses answered without a caution flag: a neighbour's answer given as the answer."""
        confident = sum(r.outcome == "answered" and not r.caution for r in self.results)
        return confident / self.near_misses if self.near_misses else None

    @property
    def present_cautioned(self) -> float | None:
        """Share of the located questions answered with their answer present but flagged with caution."""
        return sum(r.present_caution for r in self.results) / len(self.results) if self.results else None

    @property
    def numbers_answered(self) -> tuple[int, int]:
        """(near misses asking for a number that were answered with one, near misses asking for a number)."""
        asking = [r for r in self.results if r.asks_number and r.outcome != "restated"]
        return sum(r.outcome == "answered" and r.states_number for r in asking), len(asking)

    @property
    def wrongly_abstained(self) -> float | None:
        """Share of the located questions refused with their answer present."""
        return sum(r.present_abstained for r in self.results) / len(self.results) if self.results else None

    @property
    def auroc(self) -> float | None:
        """How well the evidence score tells each question with its answer from the near misses made of it."""
        from eval.answerability import auroc

        misses = [r for r in self.results if r.outcome != "restated"]
        values = np.array([r.present_score for r in self.results] + [r.score for r in misses])
        positive = np.array([True] * len(self.results) + [False] * len(misses))
        return auroc(values, positive)

    def row(self) -> list[str]:
        answered, asking = self.numbers_answered
        return [
            self.name,
            f"{len(self.results)} of {self.answerable}",
            str(self.count("restated")),
            str(self.near_misses),
            _share(self.abstained_share),
            _share(self.confident_share),
            f"{answered} of {asking}",
            _share(self.wrongly_abstained),
            _share(self.present_cautioned),
            _share(self.auroc),
        ]


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def answer_rows(question: EvalQuestion, chunks: Sequence[Chunk]) -> list[int]:
    """The index rows holding the question's gold answer: its recommendations, else its documents' pages.

    A document question without pages (a web page, a summary) hides the whole document.
    """
    if question.rec_ids:
        wanted = set(question.rec_ids)
        return [i for i, c in enumerate(chunks) if c.rec_id in wanted]
    if question.doc_ids:
        docs = set(question.doc_ids)
        pages = set(question.pdf_pages)

        def on_page(chunk: Chunk) -> bool:
            return not pages or chunk.page_start is None or on_a_page(chunk.page_start, chunk.page_end, pages)

        return [i for i, c in enumerate(chunks) if c.doc_id in docs and on_page(c)]
    return []


def ask_hiding(pipeline: QAPipeline, question: EvalQuestion, rows: Collection[int]) -> AskResponse:
    """The service's reply to `question` with the index rows `rows` (its gold answer) hidden."""
    from qa_service.schemas import AskRequest

    with pipeline.hiding(rows):
        return pipeline.ask(AskRequest(question=question.question))


def removed_outcome(question: EvalQuestion, reply: AskResponse) -> Outcome:
    """What the reply did with the answer hidden: abstained, restated every key fact from elsewhere (the answer
    stands in another passage: not a near miss), or answered without it."""
    if reply.abstained:
        return "abstained"
    if question.key_facts and all(fact_stated(reply.answer, alternatives) for alternatives in question.key_facts):
        return "restated"
    return "answered"


def ask_with_answer_removed(
    pipeline: QAPipeline, dataset: EvalSet, *, on_progress: Callable[[int, int], None] | None = None
) -> RemovedSummary:
    """Ask every answerable question of `dataset` with its gold answer hidden; questions not located are skipped."""
    from qa_service.dose_checks import asks_a_quantity, states_number
    from qa_service.schemas import AskRequest

    answerable = [q for q in dataset.questions if q.answerable]
    summary = RemovedSummary(dataset.name, len(answerable))
    for done, question in enumerate(answerable, 1):
        rows = answer_rows(question, pipeline.index.chunks)
        if rows:
            present = pipeline.ask(AskRequest(question=question.question))
            reply = ask_hiding(pipeline, question, rows)
            summary.results.append(
                RemovedAnswer(
                    qid=question.qid,
                    question=question.question,
                    hidden=len(rows),
                    outcome=removed_outcome(question, reply),
                    asks_number=asks_a_quantity(question.question),
                    states_number=not reply.abstained and states_number(reply.answer),
                    score=reply.evidence_score,
                    present_abstained=present.abstained,
                    present_score=present.evidence_score,
                    caution=not reply.abstained and reply.caution,
                    present_caution=not present.abstained and present.caution,
                )
            )
        if on_progress is not None:
            on_progress(done, len(answerable))
    return summary


def to_markdown(summaries: Sequence[RemovedSummary]) -> str:
    """The report: one row a set, then the pooled figures."""
    lines = [
        "| set | located | restated | near misses | abstained | answered without caution | answered with a number "
        "| answer present: wrongly abstained | answer present: cautioned | AUROC |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join(s.row()) + " |" for s in summaries]
    if len(summaries) > 1:
        pooled = RemovedSummary("pooled", sum(s.answerable for s in summaries))
        pooled.results = [r for s in summaries for r in s.results]
        lines.append("| " + " | ".join(f"**{cell}**" for cell in pooled.row()) + " |")
    lines += [
        "",
        "located: answerable questions whose gold answer the index holds (those hidden); restated: the answer",
        "still states every key fact; abstained: share of the near misses; answered without caution: share of",
        "the near misses answered with no caution flag, as if the neighbour's answer were the answer; answered",
        "with a number: near misses asking for a dose, an amount or a time that were answered with a number.",
        "Answer present: the same questions with nothing hidden, refused (they are answerable) or answered",
        "with a caution flag; AUROC: the evidence score of each",
        "question with its answer against its near miss (1.0: the score always tells them apart).",
    ]
    return "\n".join(lines)
