"""What a composer works on and returns: the candidate passages, the answer sentences tied to them, and the
composed answer (`Composed`), beside the composer protocol. `qa_service.compose` holds the composers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ingest import Chunk
from qa_service.schemas import DroppedSentence, FallbackReason


@dataclass
class Candidate:
    """A passage given to a composer: its chunk, its row in the index and its rank."""

    chunk: Chunk
    row: int
    rank: int
    attached: bool = False
    """A recommendation brought in by a passage under it (`governing_recommendations`): read beside the top
    passages, not in place of one."""
    only_before: bool = False
    """The passage before one that opens by pointing back ("In contrast, ..."): brought in only for the sentence
    pointed to (`antecedent`), its own sentences are not scored."""


@dataclass
class AnswerSentence:
    """One sentence of an answer and the candidate (by list position) it comes from."""

    text: str
    source: int
    score: float = 0.0
    position: int = 0
    table_header: str | None = None
    """For a table row: its table's header row, so the answer can say what each cell is."""
    carried: bool = False
    """For a table row continuing the row above it: its first cell is carried down from that row, so its cells
    are said without column names (which column each holds is unknown)."""
    also: tuple[int, ...] = ()
    """Further candidates the sentence cites (a generated sentence may rest on [1][2]); rendered as markers too."""
    class_share: float = 0.0
    """The part of `score` owed to naming the class of a drug the question names (`class_credit`)."""
    unweighed: bool = False
    """Shown in the answer but not weighed by the evidence gate: a sentence for a part of the question that fits
    only past the answer's usual length (`ExtractiveComposer.compose`)."""


@dataclass
class Composed:
    """What a composer produced."""

    sentences: list[AnswerSentence]
    composer: str
    dropped: list[DroppedSentence] = field(default_factory=list)
    note: str | None = None
    best_sentence_score: float = 0.0
    fallback: FallbackReason | None = None
    """Why the LLM composer served the extractive answer instead (None when it did not fall back)."""
    weighed: list[AnswerSentence] | None = None
    """The sentences the evidence gate weighs when they are not those shown (less the `unweighed` ones): the answer
    chosen at the length the gate weighs (`AnswerSettings.weighed_words`), where the one shown was given more words
    (a longer target, a question in several parts: `words_for`)."""

    def usual_sentences(self) -> list[AnswerSentence]:
        """The answer chosen at the length the gate weighs (`AnswerSettings.weighed_words`): `weighed` where the one
        shown was given more words, else the one shown. The answer judge reads it."""
        return self.sentences if self.weighed is None else self.weighed

    def gate_sentences(self) -> list[AnswerSentence]:
        """The sentences the evidence gate weighs: `usual_sentences` less those shown only past its length."""
        return [s for s in self.usual_sentences() if not s.unweighed]


class AnswerComposer(Protocol):
    """Builds answer sentences from ranked passages."""

    name: str

    def compose(
        self, question: str, query_vector: np.ndarray, candidates: list[Candidate], *, max_words: int
    ) -> Composed:
        """Sentences answering the question, each tied to one candidate."""
        ...
