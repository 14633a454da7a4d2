"""What the composer reads: the retrieved passages as `Candidate`s, and the passages read beside them.

A retrieved passage may need a neighbour to be read right: the recommendation it explains (one heading up), the
rest of its table (rows in another passage under the same heading), or the passage before it when it opens by
pointing back ("In contrast, ..."). `CandidateReader` adds those, never in place of a retrieved passage, and never
one hidden for evaluation (`QAPipeline.hiding`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from itertools import pairwise

from ingest.index import SearchIndex
from qa_service.compose import names_a_row, question_keywords
from qa_service.composed import Candidate
from qa_service.passage_text import opens_its_passage_in_a_list
from qa_service.retrieval import Hit
from qa_service.sentence_context import governing_recommendations, points_back

_TABLE_ROW = re.compile(r"^[ \t]*\|", re.MULTILINE)
MAX_TABLE_PARTS = 4
"""Passages holding one table's rows that may be read together (`CandidateReader.with_rest_of_tables`): a longer
table is not read whole."""
TABLE_PARTS_RANK = 3
"""Only a passage ranked among the first this many brings the rest of its table."""


class CandidateReader:
    """The candidates of one index, with the tables of neighbours it reads them with (built at first use)."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index

    def candidates(self, hits: Sequence[Hit]) -> list[Candidate]:
        """The retrieved passages as the composer reads them, in rank order."""
        return [Candidate(chunk=self.index.chunks[h.row], row=h.row, rank=i) for i, h in enumerate(hits)]

    def with_recommendations(
        self, candidates: list[Candidate], hidden: frozenset[int] = frozenset()
    ) -> list[Candidate]:
        """The candidates, each followed by the recommendation it sits under when that is not among them.

        A guideline's rationale, remarks and implementation notes answer many questions in the words of the
        question, while the recommendation they explain (with its strength) sits one heading up: "how often
        do I see him during the taper?" finds "Recommendation 5 > Implementation Considerations". The
        recommendation is read beside its passage (`Candidate.attached`), never in place of another.
        """
        governing = self._governing
        return self._followed_by(
            candidates, lambda c: [governing[c.row]] if c.row in governing else [], hidden, attached=True
        )

    def with_rest_of_tables(
        self, question: str, candidates: list[Candidate], hidden: frozenset[int] = frozenset()
    ) -> list[Candidate]:
        """The candidates, each passage under a table's heading followed by the passages holding that table's rows.

        A table's rows, its notes and its continuation can be separate passages under one heading, and the rows a
        question names may sit in one that retrieval ranks low: "pt on methadone ... what conversion factor?" finds
        the table's notes, not the rows with "| Methadone | 4.7 |". The rows are read beside it
        (`Candidate.attached`) where the question names one of them by its first cell, for a passage among the
        first `TABLE_PARTS_RANK`: rows nobody asked for are noise in an answer.
        """
        parts = self._table_parts
        q_tokens = question_keywords(question)

        def named_parts(candidate: Candidate) -> list[int]:
            if candidate.rank >= TABLE_PARTS_RANK:
                return []
            return [row for row in parts.get(candidate.row, ()) if names_a_row(q_tokens, self.index.chunks[row])]

        return self._followed_by(candidates, named_parts, hidden, attached=True)

    def with_passages_pointed_back_to(
        self, candidates: list[Candidate], hidden: frozenset[int] = frozenset()
    ) -> list[Candidate]:
        """The candidates, each passage that opens by pointing back followed by the passage before it in its document.

        A passage can open on "In contrast, enzyme inhibitors may increase methadone's activity" or "This
        recommendation was reached by consensus": the passage before it in the document ends on the sentence
        pointed to. Or it can open inside a list whose opening sentence ends the passage before. Brought in for
        that sentence only (`Candidate.only_before`), it lets the composer quote the
        pair (`ExtractiveComposer.compose`) without competing with the others.
        """
        preceding = self._preceding

        def pointed_back_to(candidate: Candidate) -> list[int]:
            before = preceding.get(candidate.row)
            if before is None or not candidate.chunk.sentences:
                return []
            start, end = candidate.chunk.sentences[0]
            chunk = candidate.chunk
            # "In contrast, ..." points back; "- management of cancer-related pain" goes on with a list the passage
            # before opens ("This clinical practice guideline is not ... applicable to").
            return [before] if points_back(chunk.text[start:end]) or opens_its_passage_in_a_list(chunk, 0) else []

        return self._followed_by(candidates, pointed_back_to, hidden, only_before=True)

    def _followed_by(
        self,
        candidates: list[Candidate],
        companions: Callable[[Candidate], Iterable[int]],
        hidden: frozenset[int],
        *,
        attached: bool = False,
        only_before: bool = False,
    ) -> list[Candidate]:
        """The candidates, each followed by the passages `companions` names for it (rows) that are neither among
        them nor `hidden` (`QAPipeline.hiding`), read beside it as `attached` or `only_before` says."""
        present = {c.row for c in candidates} | hidden
        out: list[Candidate] = []
        for candidate in candidates:
            out.append(candidate)
            for row in companions(candidate):
                if row in present:
                    continue
                present.add(row)
                out.append(
                    Candidate(
                        chunk=self.index.chunks[row],
                        row=row,
                        rank=candidate.rank,
                        attached=attached,
                        only_before=only_before,
                    )
                )
        return out

    @cached_property
    def _preceding(self) -> dict[int, int]:
        """Each passage's row -> the row of the passage before it in its document."""
        by_doc: dict[str, list[tuple[int, int]]] = {}
        for row, chunk in enumerate(self.index.chunks):
            by_doc.setdefault(chunk.doc_id, []).append((chunk.position, row))
        out: dict[int, int] = {}
        for rows in by_doc.values():
            rows.sort()
            out.update((later, earlier) for (_, earlier), (_, later) in pairwise(rows))
        return out

    @cached_property
    def _table_parts(self) -> dict[int, tuple[int, ...]]:
        """Each row of a passage under a heading that holds a table -> the other passages under that heading holding
        its rows, in document order (none where they are more than `MAX_TABLE_PARTS`: a long table is not read
        whole)."""
        sections: dict[tuple[str, tuple[str, ...]], list[tuple[int, int, bool]]] = {}
        for row, chunk in enumerate(self.index.chunks):
            sections.setdefault((chunk.doc_id, chunk.section), []).append(
                (chunk.position, row, bool(_TABLE_ROW.search(chunk.text)))
            )
        out: dict[int, tuple[int, ...]] = {}
        for members in sections.values():
            tables = [row for _, row, holds_rows in sorted(members) if holds_rows]
            if tables and len(tables) <= MAX_TABLE_PARTS and len(members) > 1:
                out.update((row, tuple(r for r in tables if r != row)) for _, row, _ in members)
        return out

    @cached_property
    def _governing(self) -> dict[int, int]:
        return governing_recommendations(self.index.chunks)
