"""The context an answer sentence needs from outside its own passage: the sentence a passage's opening one points
back to (`antecedent`), the recommendation a rationale or note sits under (`governing_recommendations`), and the
list openers left with no item after them (`without_dangling_introductions`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ingest import Chunk
from qa_service.composed import AnswerSentence, Candidate
from qa_service.passage_text import (
    answer_worthy,
    lead_in,
    opener_at_end,
    opens_its_passage_in_a_list,
    opens_list,
)

# A sentence that starts by pointing back at the one before it: without that one, "this" names nothing, and
# "In contrast, enzyme inhibitors may increase methadone's activity" contrasts with nothing. A connective counts
# only with its comma: "In addition to breast cancer risk reduction, ..." and "However severe ..." do not point back.
_ANAPHORIC_START = re.compile(
    r"^(?:(?:This|These|That|Those|Such|Both|It|They|Its|Their|The latter|The former)\b"
    r"(?!\s+(?:guideline|document|review|section|chapter)s?\b)"  # "This guideline ..." names its subject
    r"|In (?:this|these|that|those|such|both)\b"  # "In these patients, ..."
    r"|(?:However|In contrast|By contrast|Conversely|On the other hand|Similarly|Likewise|Therefore|Thus|Hence"
    r"|Consequently|Accordingly|As a result|Nevertheless|Nonetheless|Moreover|Furthermore|Additionally"
    r"|In addition|Also|Instead|Otherwise|Again),)"
)


def points_back(text: str) -> bool:
    """Whether a sentence starts by pointing back at the one before it (`_ANAPHORIC_START`)."""
    return _ANAPHORIC_START.match(text) is not None


def _just_before(earlier: Chunk, chunk: Chunk) -> bool:
    """Whether `earlier` is the passage right before `chunk` in their document."""
    return earlier.doc_id == chunk.doc_id and earlier.position == chunk.position - 1


def _passage_before(chunk: Chunk, candidates: Sequence[Candidate]) -> int | None:
    """The candidate index of the passage right before `chunk` in its document, when it is a candidate (the pipeline
    attaches it: `CandidateReader.with_passages_pointed_back_to`)."""
    return next((i for i, c in enumerate(candidates) if _just_before(c.chunk, chunk)), None)


def antecedent(
    sentence: AnswerSentence,
    candidates: Sequence[Candidate],
    by_place: dict[tuple[int, int], AnswerSentence],
    quoted: Callable[[Chunk, str], str],
) -> AnswerSentence | None:
    """The sentence a passage's opening sentence points back to: the last sentence of the passage before it in the
    document that ends before it starts, when that passage is a candidate (the pipeline attaches it)."""
    chunk = candidates[sentence.source].chunk
    source = _passage_before(chunk, candidates)
    if source is None:
        return None
    earlier = candidates[source].chunk
    begins = chunk.start + chunk.sentences[sentence.position][0]
    ends = [p for p, (_, end) in enumerate(earlier.sentences) if earlier.start + end <= begins]
    if not ends:
        return None
    position = ends[-1]
    text = earlier.sentence_texts()[position]
    if (source, position) not in by_place and not answer_worthy(
        text, after=earlier.text[: earlier.sentences[position][0]]
    ):
        return None
    return _answer_sentence_at(source, position, candidates, by_place, quoted)


def governing_recommendations(chunks: Sequence[Chunk]) -> dict[int, int]:
    """Each passage under a recommendation's heading that is not the recommendation itself -> the row of that
    recommendation's first passage (which states its strength).

    A guideline follows a recommendation with its rationale, remarks and implementation notes, each under
    the recommendation's heading ("Recommendation 5 > Implementation Considerations", "Recommendation 4b >
    6.4.3 CONSIDERATIONS"). Where a document repeats a recommendation (an executive summary and the body),
    the one sharing more of the passage's headings governs it.
    """
    recommendations: dict[tuple[str, str], list[int]] = {}
    for row, chunk in enumerate(chunks):
        if chunk.rec_id and chunk.section:
            recommendations.setdefault((chunk.doc_id, chunk.section[-1]), []).append(row)
    governed: dict[int, int] = {}
    if not recommendations:
        return governed
    for row, chunk in enumerate(chunks):
        if chunk.rec_id:
            continue
        for heading in chunk.section:
            rows = recommendations.get((chunk.doc_id, heading))
            if rows:
                headings = set(chunk.section)
                governed[row] = max(rows, key=lambda r: (len(headings & set(chunks[r].section)), -r))
                break
    return governed


def without_dangling_introductions(
    sentences: list[AnswerSentence], candidates: list[Candidate]
) -> list[AnswerSentence]:
    """Drop a sentence ending in ":" ("The options are:") unless the next sentence kept is an item it introduces.

    Read from the end, so an opener whose only item is itself a dropped opener ("The criteria are:" before
    "Absence of myeloma-defining events as follows:", whose items were not chosen) goes too.
    """
    kept: list[AnswerSentence] = []
    for sentence in reversed(sentences):
        following = kept[-1] if kept else None
        introduces = following is not None and (
            (following.source, following.position) == (sentence.source, sentence.position + 1)
            or (
                following.source == sentence.source
                and lead_in(candidates[following.source].chunk, following.position) == sentence.position
            )
            or opens_the_list_going_on(sentence, following, candidates)
        )
        opener = sentence.text.rstrip().endswith(":") or (
            sentence.source < len(candidates) and opens_list(candidates[sentence.source].chunk, sentence.position)
        )
        if not opener or introduces:
            kept.append(sentence)
    return kept[::-1]


def opens_the_list_going_on(opener: AnswerSentence, item: AnswerSentence, candidates: Sequence[Candidate]) -> bool:
    """Whether `opener` ends the passage before `item`'s and opens the list `item`'s passage opens inside."""
    if opener.source >= len(candidates) or item.source >= len(candidates):
        return False
    earlier, chunk = candidates[opener.source].chunk, candidates[item.source].chunk
    return (
        _just_before(earlier, chunk)
        and opens_its_passage_in_a_list(chunk, item.position)
        and opener_at_end(earlier) == opener.position
    )


def list_opener_before(
    sentence: AnswerSentence,
    candidates: Sequence[Candidate],
    by_place: dict[tuple[int, int], AnswerSentence],
    quoted: Callable[[Chunk, str], str],
) -> AnswerSentence | None:
    """For a list item of a passage that opens inside its list: the sentence opening that list at the end of the
    passage before it in the document, when that passage is a candidate (the pipeline attaches it). Without it,
    "management of cancer-related pain" stands for what "This clinical practice guideline is not ... applicable to"
    says of it."""
    chunk = candidates[sentence.source].chunk
    if not opens_its_passage_in_a_list(chunk, sentence.position):
        return None
    source = _passage_before(chunk, candidates)
    if source is None:
        return None
    earlier = candidates[source].chunk
    position = opener_at_end(earlier)
    if position is None:
        return None
    return _answer_sentence_at(source, position, candidates, by_place, quoted)


def _answer_sentence_at(
    source: int,
    position: int,
    candidates: Sequence[Candidate],
    by_place: dict[tuple[int, int], AnswerSentence],
    quoted: Callable[[Chunk, str], str],
) -> AnswerSentence:
    """The scored sentence at that place of a candidate when there is one, else the candidate's sentence there,
    quoted as the composer quotes it."""
    found = by_place.get((source, position))
    if found is not None:
        return found
    chunk = candidates[source].chunk
    return AnswerSentence(text=quoted(chunk, chunk.sentence_texts()[position]), source=source, position=position)
