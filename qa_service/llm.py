"""The LLM composer: a chat model writes the answer from the numbered passages; only grounded sentences stay.

Every generated sentence must cite passages (`[n]`) and pass the grounding check against them
(`qa_service.grounding.check_sentence`: numbers with their units, doses with their intervals, drug
names, routes). When the model fails or nothing survives, the extractive answer is returned instead.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from qa_service.compose import AnswerSentence, Candidate, Composed, ExtractiveComposer
from qa_service.grounding import check_sentence, citations_in, strip_citations
from qa_service.schemas import DroppedSentence

LLM_SYSTEM_PROMPT = """You answer clinicians' questions using ONLY the numbered guideline passages given.
Rules:
- Every sentence must end with the citation of the passage it comes from, like [1] or [2].
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


_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])(?:\s*\[\d{1,3}\])*\s+(?=[A-Z(])")


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


class LLMComposer:
    """Asks a chat model for a cited answer, then keeps only the sentences the grounding check passes.

    Falls back to the extractive composer when the model fails or nothing survives.
    """

    name = "llm"

    def __init__(self, chat_model: Any, fallback: ExtractiveComposer) -> None:
        self.chat_model = chat_model
        self.fallback = fallback

    def compose(
        self, question: str, query_vector: np.ndarray, candidates: list[Candidate], *, max_words: int
    ) -> Composed:
        from langchain_core.messages import HumanMessage, SystemMessage

        messages = [
            SystemMessage(content=LLM_SYSTEM_PROMPT.format(max_words=max_words)),
            HumanMessage(content=f"Passages:\n{format_passages(candidates)}\n\nQuestion: {question}"),
        ]
        try:
            reply = self.chat_model.invoke(messages)
            text = reply.content if isinstance(reply.content, str) else str(reply.content)
        except Exception as exc:  # any model failure falls back to the extractive answer
            composed = self.fallback.compose(question, query_vector, candidates, max_words=max_words)
            composed.note = f"LLM composer failed ({type(exc).__name__}); extractive answer returned"
            return composed
        kept: list[AnswerSentence] = []
        dropped: list[DroppedSentence] = []
        quotes = [c.chunk.prefix + c.chunk.text for c in candidates]
        for position, sentence in enumerate(split_generated(text)):
            if "do not cover this" in sentence.lower():
                continue
            cited = citations_in(sentence)
            result = check_sentence(sentence, [quotes[n - 1] for n in cited if 1 <= n <= len(quotes)], len(quotes))
            if not result.ok:
                dropped.append(DroppedSentence(sentence=sentence, reason=result.reason or "unsupported"))
                continue
            kept.append(AnswerSentence(text=strip_citations(sentence), source=cited[0] - 1, position=position))
        if not kept:
            composed = self.fallback.compose(question, query_vector, candidates, max_words=max_words)
            composed.dropped = dropped
            composed.note = "no generated sentence passed the grounding check; extractive answer returned"
            return composed
        return Composed(sentences=kept, composer=self.name, dropped=dropped)
