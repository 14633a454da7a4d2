"""Request and response models of the HTTP API (and of the in-process pipeline)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DISCLAIMER = (
    "guideline-qa answers from summaries of clinical practice guidelines for decision support. "
    "It is not a substitute for the full guidelines or for clinical judgement."
)


class Filters(BaseModel):
    """Metadata filters, applied in every retrieval path before ranking."""

    model_config = ConfigDict(extra="forbid")

    issuing_body: list[str] | None = Field(None, description="Keep passages from these bodies (e.g. ESMO, ASTRO).")
    year_min: int | None = Field(None, ge=1900, le=2100, description="Earliest guideline year.")
    year_max: int | None = Field(None, ge=1900, le=2100, description="Latest guideline year.")
    topic: list[str] | None = Field(None, description="Topic prefixes (e.g. bone-metastasis/spine).")
    doc_id: list[str] | None = Field(None, description="Only these documents.")

    @field_validator("issuing_body", "topic", "doc_id", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("issuing_body", "topic", "doc_id")
    @classmethod
    def _no_blank_values(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not v.strip() for v in value):
            raise ValueError("values must not be empty")  # "" would silently match nothing
        return value

    @model_validator(mode="after")
    def _years_in_order(self) -> Filters:
        if self.year_min is not None and self.year_max is not None and self.year_min > self.year_max:
            raise ValueError(f"year_min {self.year_min} is after year_max {self.year_max}")
        return self

    def is_empty(self) -> bool:
        """True when no filter is set."""
        return not any(v for v in self.model_dump().values())


class PageRef(BaseModel):
    """A page of a source file."""

    page: int = Field(description="The page in the source file (1-based).")
    page_label: str | None = Field(None, description="The page number printed on that page.")


class SourceRecord(BaseModel):
    """Where a passage comes from: the guideline record that a passage and a citation both carry."""

    chunk_id: str
    doc_id: str
    rec_id: str | None = Field(None, description="The recommendation id, when the passage is one.")
    title: str
    section: str = Field(description="The heading path above the passage.")
    guideline: str | None = Field(None, description='The guideline it states, e.g. "ESMO 2020".')
    issuing_body: str | None = None
    year: int | None = None
    topic: str | None = None
    url: str | None = None
    page: int | None = Field(None, description="First page of the passage in the source file (1-based; PDF only).")
    page_end: int | None = Field(None, description="Last page of the passage in the source file.")
    page_label: str | None = Field(None, description='The page number printed on the page ("13", "13-14").')
    strength: str | None = Field(None, description="The recommendation's strength as the guideline states it.")
    also_on: list[PageRef] = Field(
        default_factory=list,
        description="Other pages of the same document that hold this passage again, nearly word for word (a "
        "recommendation repeated in an executive summary): the clinician may check it on either.",
    )


class Passage(SourceRecord):
    """A retrieved chunk with its provenance and fused score."""

    text: str
    score: float
    dense_rank: int | None = None
    keyword_rank: int | None = None
    rerank_score: float | None = Field(None, description="The reranker's probability that this passage answers.")


class Citation(SourceRecord):
    """What a `[n]` marker in an answer points to."""

    id: int = Field(description="The n of the [n] marker.")
    quote: str = Field(description="The passage text the answer's sentences come from.")
    note: str | None = Field(
        None,
        description="What to know before reading this citation as the answer: its sentences give doses of "
        'another drug than the one asked ("gives doses of dexamethasone, not of methadone"), or doses for another '
        'use ("gives doses for another use than AI induced bone loss"), or its passage speaks of another '
        'population than the question\'s patient ("speaks of adults only; the question is about a child").',
    )


def _pages(label: str) -> str:
    return f"pp. {label}" if "-" in label else f"p. {label}"


def page_text(item: Citation | Passage) -> str | None:
    """ "p. 13" or "pp. 13-14" (printed page numbers), with the pages holding the passage again ("p. x (also
    p. 18)"), or None for a source without pages."""
    if item.page_label is None:
        return None
    also = [_pages(ref.page_label or str(ref.page)) for ref in item.also_on]
    return _pages(item.page_label) + (f" (also {', '.join(also)})" if also else "")


def source_label(item: Citation | Passage) -> str:
    """`ESMO 2020, p. 13 — Title > Section` for a footnote (the title once, if the section path starts with it)."""
    guideline = item.guideline or " ".join(str(x) for x in (item.issuing_body, item.year) if x)
    if not item.section:
        where = item.title
    else:
        where = item.section if item.section.startswith(item.title) else f"{item.title} > {item.section}"
    page = page_text(item)
    if page:
        guideline = f"{guideline}, {page}" if guideline else page
    return f"{guideline} — {where}" if guideline else where


class AskRequest(BaseModel):
    """A question for `/v1/ask`."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="Free-text clinical question.", min_length=1)
    top_k: int | None = Field(None, ge=1, description="Passages to retrieve (default from settings).")
    filters: Filters | None = None
    composer: Literal["extractive", "llm"] | None = Field(None, description="Answer composer (default from settings).")
    long: bool = Field(False, description="Allow a longer answer (about 300 words).")
    stream: bool = Field(False, description="Stream the answer sentence by sentence as server-sent events.")

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question is empty")
        return value.strip()


FallbackReason = Literal["declined", "ungrounded", "timeout", "server_error", "busy", "cancelled"]
"""Why an LLM answer was replaced by the extractive one (docs/llm.md):

- `declined`: the model said the passages do not answer the question, and wrote nothing that passed the check;
- `ungrounded`: no generated sentence passed the grounding check (each one is in `dropped`);
- `timeout`: the model did not finish within `llm.timeout_s` (the generation was cancelled);
- `server_error`: the LLM server refused, failed or could not be reached;
- `busy`: every LLM slot (`llm.max_concurrency`) stayed taken for `llm.queue_wait_s`;
- `cancelled`: the client went away first (no one reads that reply).
"""


class DroppedSentence(BaseModel):
    """A generated sentence that is not in the answer, and why."""

    sentence: str
    reason: str = Field(description="Why, in words: the grounding check's reason, or what the model did.")
    kind: Literal["ungrounded", "declined", "truncated"] = Field(
        "ungrounded",
        description="'ungrounded': failed the grounding check; 'declined': the model said the passages do not "
        "answer; 'truncated': cut off at max_tokens.",
    )


class AskResponse(BaseModel):
    """A cited answer, or an abstention with the closest passages."""

    answer: str
    citations: list[Citation]
    passages: list[Passage] = Field(
        description="The passages retrieved, best first, then any cited passage the composer brought beside them "
        "(score 0, no ranks): every citation's passage is listed."
    )
    abstained: bool
    reason: str | None = Field(
        None,
        description="Why the service abstained, fell back, or answered with caution (the question names a guideline "
        "body, such as NCCN, that no document of the index comes from).",
    )
    evidence_score: float = Field(description="Evidence sufficiency in [0, 1]; below the threshold it abstains.")
    caution: bool = Field(
        False,
        description="Answered, but on partial evidence (a score just above the threshold), or from other guidelines "
        "than the one the question names (see reason): the cited passages may answer only part of the question; "
        "check them before acting.",
    )
    composer: str
    fallback: FallbackReason | None = Field(
        None,
        description="Set when an LLM answer was asked for and the extractive one is served instead: declined, "
        "ungrounded, timeout, server_error, busy or cancelled (docs/llm.md).",
    )
    dropped: list[DroppedSentence] = Field(
        default_factory=list, description="Every generated sentence left out of the answer, with its reason."
    )
    disclaimer: str = DISCLAIMER
    timings_ms: dict[str, float] = Field(default_factory=dict)


class SearchRequest(BaseModel):
    """A query for `/v1/search`."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1)
    top_k: int | None = Field(None, ge=1)
    filters: Filters | None = None

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("query is empty")
        return value.strip()


class SearchResponse(BaseModel):
    """Ranked passages."""

    passages: list[Passage]
    timings_ms: dict[str, float] = Field(default_factory=dict)
