"""The LLM composer: a chat model writes the answer from the numbered passages; only grounded sentences stay.

Every generated sentence must cite passages (`[n]`, several allowed) and pass the grounding check against all of
them (`qa_service.grounding.check_sentence`: numbers with their units, doses with their intervals, drug names,
routes), rest on their words (`wording_unsupported`: a bare "No. [1]" states nothing to check), negate as the
statement they restate does and name its drugs (`generated_unsupported`). The call is
bounded (`qa_service.llm_client`): at most `llm.max_tokens` tokens, `llm.timeout_s` seconds and
`llm.max_concurrency` calls at once. When the model declines, fails, times out, is busy or nothing it wrote
survives, the extractive answer is served and `Composed.fallback` says which (docs/llm.md).

A kept sentence is scored like the passage sentence it rests on: the extractive composer's score of the sentence
of its cited passages that shares the most of its words. That keeps the evidence gate's `sentence` feature on the
scale it was fitted on (extractive scores), and it measures the evidence rather than the model's wording.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import numpy as np

from ingest import keyword_tokens
from qa_service.compose import ExtractiveComposer
from qa_service.composed import AnswerSentence, Candidate, Composed
from qa_service.grounding import citations_in, generated_unsupported, strip_citations
from qa_service.llm_client import GenerationError, Message, as_chat_model, current_cancel
from qa_service.schemas import DroppedSentence, FallbackReason
from qa_service.settings import LLMSettings

__all__ = [
    "LLM_SYSTEM_PROMPT",
    "LLMComposer",
    "build_messages",
    "format_passages",
    "is_decline",
    "split_generated",
]

LLM_SYSTEM_PROMPT = """You answer clinicians' questions using ONLY the numbered guideline passages given.
Rules:
- Every sentence must end with the citation of the passage(s) it comes from, like [1] or [1][2].
- Copy numbers, doses, units, intervals and drug names exactly as the passage writes them.
- Name the guideline a statement comes from (e.g. "Per ESMO 2020, ...").
- If the passages do not answer the question, reply exactly: The guidelines provided do not cover this.
- At most {max_words} words. No preamble."""


def format_passages(candidates: list[Candidate]) -> str:
    """The numbered passages as the LLM sees them."""
    blocks = []
    for n, candidate in enumerate(candidates, start=1):
        chunk = candidate.chunk
        label = chunk.guideline or chunk.issuing_body or chunk.title
        blocks.append(f"[{n}] ({label}) {chunk.header()}\n{chunk.prefix}{chunk.text}")
    return "\n\n".join(blocks)


def build_messages(question: str, candidates: list[Candidate], max_words: int) -> list[Message]:
    """The system prompt and the user turn (passages, then the question)."""
    return [
        {"role": "system", "content": LLM_SYSTEM_PROMPT.format(max_words=max_words)},
        {"role": "user", "content": f"Passages:\n{format_passages(candidates)}\n\nQuestion: {question}"},
    ]


def split_generated(text: str) -> list[str]:
    """Split LLM output into sentences, keeping each sentence's trailing `[n]` markers with it."""
    pieces: list[str] = []
    for paragraph in re.split(r"\n+", text.strip()):
        paragraph = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", paragraph).strip()
        if not paragraph:
            continue
        start = 0
        for match in re.finditer(r"[.!?](?:\s*\[\d{1,3}\])+(?=\s|$)|[.!?](?=\s+[A-Z(])", paragraph):
            pieces.append(paragraph[start : match.end()].strip())
            start = match.end()
        tail = paragraph[start:].strip()
        if tail:
            pieces.append(tail)
    return [p for p in pieces if p]


# "The guidelines provided do not cover this", "the passages don't mention ...", "I cannot answer ...",
# "This is not addressed in the provided passages", "No information is provided on ...", "The guidelines provided
# are not available for the question ...".
_DECLINE = re.compile(
    r"\b(?:guidelines?|passages?|context|sources?|documents?|information|texts?)\b[^.]{0,40}?"
    r"\b(?:do|does|did)(?:\s+not|n't)\s+(?:cover|address|answer|mention|provide|contain|include|discuss|say|"
    r"state|specify|give|tell)"
    r"|\b(?:guidelines?|passages?|context|sources?|documents?)\b[^.]{0,20}?\b(?:is|are)\s+not\s+(?:available|provided)\s+for"
    r"|\bnot\s+(?:covered|addressed|mentioned|stated|specified|discussed)\s+(?:in|by)\b"
    r"|\b(?:i|we)\s+(?:cannot|can't|can\s+not|am\s+unable\s+to|are\s+unable\s+to|do\s+not|don't)\s+"
    r"(?:answer|find|provide|know|determine|say)"
    r"|\bno\s+(?:relevant\s+|specific\s+)?(?:information|recommendation|guidance)\s+(?:is\s+|was\s+)?"
    r"(?:provided|available|given|found)",
    re.IGNORECASE,
)


def is_decline(sentence: str) -> bool:
    """Whether a generated sentence says the passages do not answer (rather than stating something)."""
    return bool(_DECLINE.search(strip_citations(sentence)))


_FALLBACK_NOTES: dict[FallbackReason, str] = {
    "declined": "the model declined to answer from these passages",
    "ungrounded": "no generated sentence passed the grounding check",
    "timeout": "the model did not finish in time",
    "server_error": "the LLM server failed",
    "busy": "the LLM is busy",
    "cancelled": "the request was cancelled",
}


class LLMComposer:
    """Asks a chat model for a cited answer, then keeps only the sentences the grounding check passes.

    Falls back to the extractive composer, saying why in `Composed.fallback` and `note`, when the model declines,
    fails, times out, has no free slot, or nothing it wrote survives. Every sentence left out is in `dropped`.
    """

    name = "llm"

    def __init__(self, chat_model: Any, fallback: ExtractiveComposer, settings: LLMSettings | None = None) -> None:
        self.chat_model = as_chat_model(chat_model)
        self.fallback = fallback
        self.settings = settings or LLMSettings()

    def compose(
        self, question: str, query_vector: np.ndarray, candidates: list[Candidate], *, max_words: int
    ) -> Composed:
        """A grounded LLM answer, or the extractive one with the reason it was served instead."""
        settings, model = self.settings, self.chat_model
        if not model.slots.acquire(timeout=settings.queue_wait_s):
            detail = f"all {model.max_concurrency} LLM slot(s) stayed taken for {settings.queue_wait_s:g} s"
            return self._fall_back("busy", detail, question, query_vector, candidates, max_words, [])
        try:
            generation = model.complete_chat(
                build_messages(question, candidates, max_words),
                max_tokens=settings.token_limit(max_words),
                timeout_s=settings.timeout_s,
                cancel=current_cancel(),
            )
        except GenerationError as exc:
            return self._fall_back(exc.reason, exc.detail, question, query_vector, candidates, max_words, [])
        finally:
            model.slots.release()
        kept, dropped = self._check(generation.text, candidates, truncated=generation.finish_reason == "length")
        if not kept:
            declined = any(d.kind == "declined" for d in dropped)
            reason: FallbackReason = "declined" if declined else "ungrounded"
            detail = _drop_summary(dropped) if dropped else "the model returned no text"
            return self._fall_back(reason, detail, question, query_vector, candidates, max_words, dropped)
        self._score(kept, question, query_vector, candidates)
        best = max(s.score for s in kept)
        return Composed(sentences=kept, composer=self.name, dropped=dropped, best_sentence_score=best)

    def _check(
        self, text: str, candidates: list[Candidate], *, truncated: bool
    ) -> tuple[list[AnswerSentence], list[DroppedSentence]]:
        """The generated sentences that pass the grounding check against every passage they cite, and the rest."""
        quotes = [c.chunk.prefix + c.chunk.text for c in candidates]
        kept: list[AnswerSentence] = []
        dropped: list[DroppedSentence] = []
        sentences = split_generated(text)
        for position, sentence in enumerate(sentences):
            if is_decline(sentence):
                dropped.append(DroppedSentence(sentence=sentence, reason="the model declined", kind="declined"))
                continue
            last = position == len(sentences) - 1
            if truncated and last and not re.search(r"(?:[.!?]|\[\d{1,3}\])\s*$", sentence):
                reason = "cut off at max_tokens"
                dropped.append(DroppedSentence(sentence=sentence, reason=reason, kind="truncated"))
                continue
            cited = list(dict.fromkeys(citations_in(sentence)))  # each passage once, in the order cited
            known = [quotes[n - 1] for n in cited if 1 <= n <= len(quotes)]
            unsupported = generated_unsupported(sentence, known, len(quotes))
            if unsupported is not None:
                dropped.append(DroppedSentence(sentence=sentence, reason=unsupported))
                continue
            sources = [n - 1 for n in cited]
            kept.append(
                AnswerSentence(
                    text=strip_citations(sentence), source=sources[0], also=tuple(sources[1:]), position=position
                )
            )
        return kept, dropped

    def _score(
        self, kept: list[AnswerSentence], question: str, query_vector: np.ndarray, candidates: list[Candidate]
    ) -> None:
        """Give each kept sentence the extractive score of the passage sentence it shares the most words with."""
        scorer = copy.copy(self.fallback)
        scorer.max_passages = max(scorer.max_passages, len(candidates))  # the model may cite any passage given
        scored = scorer.score_sentences(question, query_vector, candidates)
        words = [(s, set(keyword_tokens(s.text))) for s in scored]
        for sentence in kept:
            own = set(keyword_tokens(sentence.text))
            cited = {sentence.source, *sentence.also}
            best = (0.0, 0.0)  # (share of the sentence's words, score)
            for passage_sentence, theirs in words:
                if passage_sentence.source in cited and own:
                    best = max(best, (len(own & theirs) / len(own), passage_sentence.score))
            sentence.score = best[1] if best[0] > 0 else 0.0

    def _fall_back(
        self,
        reason: FallbackReason,
        detail: str,
        question: str,
        query_vector: np.ndarray,
        candidates: list[Candidate],
        max_words: int,
        dropped: list[DroppedSentence],
    ) -> Composed:
        composed = self.fallback.compose(question, query_vector, candidates, max_words=max_words)
        composed.fallback = reason
        composed.dropped = dropped
        composed.note = f"{_FALLBACK_NOTES[reason]} ({detail}); extractive answer returned"
        return composed


def _drop_summary(dropped: list[DroppedSentence]) -> str:
    counts: dict[str, int] = {}
    for d in dropped:
        counts[d.kind] = counts.get(d.kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in counts.items()) + " sentence(s) dropped"
