"""The answer's text: its sentences with attributions ("Per ESMO 2020 (strong recommendation), ...") and `[n]`
markers (`render`), and an answer sentence as the cross-encoders read it (`sentence_passage`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ingest import Chunk
from qa_service.passage_text import normalised, opens_list, row_as_sentence
from qa_service.rerank import format_passage
from qa_service.retrieval import body_initials
from qa_service.sentence_context import opens_the_list_going_on

if TYPE_CHECKING:
    from qa_service.composed import Candidate, Composed


def sentence_passage(chunk: Chunk, text: str, table_header: str | None = None) -> str:
    """An answer sentence as the reranker reads it: its passage's title and headings, a table row's header, the
    sentence."""
    return format_passage(chunk.title, chunk.local_headings(), f"{table_header}\n{text}" if table_header else text)


def attribution(chunk: Chunk) -> str | None:
    """'ESMO 2020' for a recommendation, else the issuing body and year when known: a body named in full by its
    initials ("CDC 2022" for a PDF whose cover names the Centers for Disease Control and Prevention)."""
    if chunk.guideline:
        return chunk.guideline
    if chunk.issuing_body and chunk.year:
        return f"{body_initials(chunk.issuing_body)} {chunk.year}"
    return None


def strength_text(chunk: Chunk) -> str | None:
    """A recommendation's strength and evidence as the answer shows them: "strong recommendation, high-quality
    evidence", "evidence I, A" (ESMO's level of evidence and grade of recommendation), or the guideline's words."""
    if not chunk.rec_id:
        return None
    strength = str(chunk.metadata.get("strength") or "").strip().rstrip(".")
    evidence = str(chunk.metadata.get("evidence") or "").strip().rstrip(".")
    parts = []
    if strength:
        parts.append(strength if "recommend" in strength.lower() else f"{strength} recommendation")
    if evidence:
        graded = re.fullmatch(r"(?:very )?(?:high|moderate|low)(?:[- ]quality)?", evidence, re.IGNORECASE)
        quality = re.sub(r"[- ]quality$", "", evidence, flags=re.IGNORECASE)
        parts.append(
            evidence
            if "evidence" in evidence.lower()
            else f"{quality}-quality evidence"
            if graded
            else f"evidence {evidence}"
        )
    return ", ".join(parts) or None


_AUTHORS = re.compile(r"^[A-Z][\w'-]*(?:\s+(?:and|&)\s+[A-Z][\w'-]*)?\s+et\s+al\b")


def _lower_first(text: str, context: str = "") -> str:
    """The sentence with its first word lower-cased, to follow "Per ESMO 2020, ": only an ordinary capitalised
    word, never an acronym, a number, an author ("Lalouni et al. compared ...") or a name the passage (`context`)
    also capitalises inside a sentence ("... in Canada")."""
    first = text.split(" ", 1)[0].rstrip(",;")  # "Specifically, the guideline ..." opens with an ordinary word
    if first == "A" and re.match(r"A [a-z0-9]", text):  # the article: "A clinical practice guideline ..."
        return "a" + text[1:]
    if not (len(first) > 1 and first[0].isupper() and first[1:].islower() and first.replace("-", "").isalpha()):
        return text
    if _AUTHORS.match(text) or re.search(rf"[a-z,;] +{re.escape(first)}\b", context) or _LABEL.match(text):
        return text
    return text[0].lower() + text[1:]


# A label and its value, as a table row is said ("Adverse Effect: Sedation; ...", "Drug: Methadone"), or a label
# introducing the next sentence ("Evidence (cilta-cel):"): the label keeps its capital after "Per NCI 2025, ".
_LABEL = re.compile(r"[A-Z][\w()/-]*(?: [\w()/-]+){0,3}: \S|[A-Z][\w-]*(?: \([^)]*\))?:$")


_TRAILING_CONJUNCTION = re.compile(r"\s*[;,]?\s+(?:and|or)$|\s*[;,]$")
"""How a list item taken alone may end: "...; and", "..., or", "...;". The answer ends it with a full stop."""


_LEADING_BULLET = re.compile(r"^(?:[-*+•▪●]\s+)")


def render(composed: Composed, candidates: list[Candidate], *, attribute: bool = True) -> tuple[str, list[int]]:
    """Answer text with `[n]` markers, and the candidate index behind each n (1-based order of first citation)."""
    order: list[int] = []
    parts: list[str] = []
    previous_source: int | None = None
    said: str | None = None  # the last "Per ..." label: a next passage of the same guideline is not attributed again
    for index, sentence in enumerate(composed.sentences):
        following = composed.sentences[index + 1] if index + 1 < len(composed.sentences) else None
        sources = [sentence.source, *(s for s in sentence.also if s != sentence.source)]
        for source in sources:
            if source not in order:
                order.append(source)
        markers = "".join(f"[{order.index(source) + 1}]" for source in sources)
        text = sentence.text.strip()
        if text.startswith("|"):
            text = row_as_sentence(text, sentence.table_header, carried=sentence.carried)
        text = _LEADING_BULLET.sub("", " ".join(text.split()))  # line breaks of the source, a list's bullet
        body = text.rstrip()
        if not body.endswith((".", "!", "?", ":")):  # "The options are:" introduces the items after it
            body = _TRAILING_CONJUNCTION.sub("", body)  # a list item's "...; and" ends where the answer takes it
            # An opener ending its passage ("- applicable to") when the answer goes on with the list from the next.
            opener = composed.composer == "extractive" and (
                opens_list(candidates[sentence.source].chunk, sentence.position)
                or (following is not None and opens_the_list_going_on(sentence, following, candidates))
            )
            body += ":" if opener else "."  # "... before initiating changes when:" and its items, never "when."
        if attribute and composed.composer == "extractive" and sentence.source != previous_source:
            chunk = candidates[sentence.source].chunk
            label = attribution(chunk)
            strength = strength_text(chunk)
            # said once, where the guideline says it
            if label and strength and normalised(strength) not in normalised(body):
                label = f"{label} ({strength})"
            # Said once for consecutive passages of one guideline. A table row's first cell is a name, not the start
            # of a sentence: it keeps its capital.
            if label and label != said:
                body = f"Per {label}, {body if sentence.table_header else _lower_first(body, chunk.text)}"
                said = label
        parts.append(f"{body} {markers}")
        previous_source = sentence.source
    return " ".join(parts), order
