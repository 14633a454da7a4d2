"""Evaluation metrics. Every metric is a pure function returning a `Score`: the mean and the per-question values.

Per-question helpers (`reciprocal_rank`, `token_f1`, ...) score one question; the aggregate
functions take mappings keyed by qid and skip questions the metric does not apply to (no gold, no
key facts, no citations), so `Score.value` is None when nothing could be scored.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

_MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
# A sentence ends after . ! ? or after its trailing [n] markers, before a capital, digit or bracket.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=\]))\s+(?=[A-Z0-9(\"'])")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)
_WORD = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having he
    her here hers herself him himself his how i if in into is it its itself just may me might more most must my
    myself no nor not now of off on once only or other our ours ourselves out over own per same she should so
    some such than that the their theirs them themselves then there these they this those through to too under
    until up upon very via was we were what when where which while who whom why will with within without would you
    your yours yourself yourselves""".split()
)


@dataclass(frozen=True)
class Score:
    """A metric's mean over the questions it applies to, and each of those questions' value."""

    value: float | None
    per_question: dict[str, float]


def mean_score(per_question: Mapping[str, float | None]) -> Score:
    """Mean of the values that are not None (None when there are none); the Nones are dropped."""
    kept = {qid: float(v) for qid, v in per_question.items() if v is not None}
    return Score(sum(kept.values()) / len(kept) if kept else None, kept)


# -- retrieval ---------------------------------------------------------------------------------


def dedupe(ids: Iterable[str | None]) -> list[str]:
    """Ids in order of first occurrence, without repeats or Nones (documents ranked by their best passage)."""
    return list(dict.fromkeys(i for i in ids if i is not None))


def first_relevant_rank(ranked: Sequence[str], relevant: Collection[str], k: int | None = None) -> int | None:
    """1-based rank of the first relevant id within the top k, or None."""
    for rank, item in enumerate(ranked[:k] if k else ranked, start=1):
        if item in relevant:
            return rank
    return None


def hit_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1.0 if any relevant id is in the top k, else 0.0."""
    return 1.0 if first_relevant_rank(ranked, relevant, k) is not None else 0.0


def coverage_at_k(ranked: Sequence[str], relevant: Collection[str], k: int, needed: int | None = None) -> float:
    """Share of the relevant ids found in the top k (BEIR recall); `needed` caps the hits and is the divisor."""
    needed = len(relevant) if needed is None else needed
    if needed <= 0:
        return 0.0
    hits = sum(1 for item in ranked[:k] if item in relevant)
    return min(hits, needed) / needed


def reciprocal_rank(ranked: Sequence[str], relevant: Collection[str], k: int = 10) -> float:
    """1 / rank of the first relevant id within the top k, else 0.0."""
    rank = first_relevant_rank(ranked, relevant, k)
    return 1.0 / rank if rank else 0.0


def ndcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int = 10, needed: int | None = None) -> float:
    """Binary-gain nDCG@k.

    With `needed` (lenient judging) only the first `needed` relevant hits gain and the ideal ranking
    has `needed` relevant items, so near-duplicates can neither lower nor inflate the score.
    """
    needed = len(relevant) if needed is None else needed
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(needed, k) + 1))
    if ideal == 0:
        return 0.0
    dcg, gained = 0.0, 0
    for rank, item in enumerate(ranked[:k], start=1):
        if item in relevant and gained < needed:
            dcg += 1.0 / math.log2(rank + 1)
            gained += 1
    return dcg / ideal


def _retrieval(
    runs: Mapping[str, Sequence[str]],
    qrels: Mapping[str, Collection[str]],
    one: Callable[[Sequence[str], Collection[str], int | None], float],
    needed: Mapping[str, int] | None = None,
) -> Score:
    """Apply a per-question retrieval metric to every question that has gold (a missing run scores as empty)."""
    return mean_score(
        {
            qid: one(runs.get(qid, ()), relevant, needed.get(qid) if needed else None)
            for qid, relevant in qrels.items()
            if relevant
        }
    )


def recall_at_k(runs: Mapping[str, Sequence[str]], qrels: Mapping[str, Collection[str]], k: int) -> Score:
    """Share of questions with a relevant id in the top k (success@k). Questions without gold are skipped."""
    return _retrieval(runs, qrels, lambda ranked, relevant, _n: hit_at_k(ranked, relevant, k))


def coverage(
    runs: Mapping[str, Sequence[str]],
    qrels: Mapping[str, Collection[str]],
    k: int,
    needed: Mapping[str, int] | None = None,
) -> Score:
    """Mean share of each question's relevant ids found in the top k (BEIR-style recall)."""
    return _retrieval(runs, qrels, lambda ranked, relevant, n: coverage_at_k(ranked, relevant, k, n), needed)


def mrr_at_k(runs: Mapping[str, Sequence[str]], qrels: Mapping[str, Collection[str]], k: int = 10) -> Score:
    """Mean reciprocal rank of the first relevant id within the top k."""
    return _retrieval(runs, qrels, lambda ranked, relevant, _n: reciprocal_rank(ranked, relevant, k))


def ndcg(
    runs: Mapping[str, Sequence[str]],
    qrels: Mapping[str, Collection[str]],
    k: int = 10,
    needed: Mapping[str, int] | None = None,
) -> Score:
    """Mean binary nDCG@k; `needed` caps the gain per question (lenient judging, see `ndcg_at_k`)."""
    return _retrieval(runs, qrels, lambda ranked, relevant, n: ndcg_at_k(ranked, relevant, k, n), needed)


# -- answer text -------------------------------------------------------------------------------


def strip_markers(text: str) -> str:
    """The text without `[n]` citation markers."""
    return re.sub(r"\s+([.,;:!?])", r"\1", " ".join(_MARKER.sub(" ", text).split()))


def markers(text: str) -> list[int]:
    """Every n of `[n]` (and `[n, m]`) markers, in order."""
    return [int(n) for group in _MARKER.findall(text) for n in re.split(r"\s*[,;]\s*", group)]


def answer_sentences(text: str) -> list[str]:
    """Sentences of an answer, each keeping the `[n]` markers that follow it."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lowercase, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 of two texts after normalisation (1.0 when both are empty)."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, reference: str) -> float:
    """1.0 if the normalised texts are equal."""
    return float(normalize_answer(prediction) == normalize_answer(reference))


def best_span(answer: str, references: Sequence[str]) -> tuple[float, float]:
    """(F1, EM) of the best-matching span of the answer: max over its sentences and the whole answer, and references."""
    clean = strip_markers(answer)
    spans = [strip_markers(s) for s in answer_sentences(answer)] + [clean]
    f1 = max((token_f1(s, r) for s in spans for r in references), default=0.0)
    em = max((exact_match(s, r) for s in spans for r in references), default=0.0)
    return f1, em


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1: longest common subsequence of lowercase word tokens, harmonic mean of its precision and recall."""
    pred = _WORD.findall(strip_markers(prediction).lower())
    ref = _WORD.findall(reference.lower())
    lcs = _lcs(pred, ref) if pred and ref else 0
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def fact_stated(answer: str, alternatives: Sequence[str]) -> bool:
    """True if any alternative phrasing occurs in the answer (case-insensitive, markers ignored)."""
    text = " ".join(strip_markers(answer).lower().split())
    return any(" ".join(alt.lower().split()) in text for alt in alternatives if alt.strip())


def key_fact_share(answer: str, key_facts: Sequence[Sequence[str]]) -> float | None:
    """Share of the key facts the answer states; None when there are none."""
    if not key_facts:
        return None
    return sum(fact_stated(answer, alts) for alts in key_facts) / len(key_facts)


def key_fact_recall(answers: Mapping[str, str], key_facts: Mapping[str, Sequence[Sequence[str]]]) -> Score:
    """Mean share of key facts stated, over questions with key facts (a missing answer states none)."""
    return mean_score({qid: key_fact_share(answers.get(qid, ""), facts) for qid, facts in key_facts.items()})


@dataclass(frozen=True)
class FactLosses:
    """Where each answerable question's unstated key facts were lost, as shares of its key facts.

    With `key_fact_recall` they add up to 1 for every question: a fact is stated, or lost to a refusal
    (`refused`), or it sat in a passage the service retrieved and the answer did not quote it (`unquoted`),
    or no retrieved passage holds it (`unretrieved`). It says which stage to work on, from totals only.
    """

    refused: Score
    unquoted: Score
    unretrieved: Score


def key_fact_losses(
    replies: Mapping[str, tuple[str, bool, Sequence[str]]], key_facts: Mapping[str, Sequence[Sequence[str]]]
) -> FactLosses:
    """`replies`: per question, (answer text, abstained, texts of the retrieved passages)."""
    refused: dict[str, float | None] = {}
    unquoted: dict[str, float | None] = {}
    unretrieved: dict[str, float | None] = {}
    for qid, facts in key_facts.items():
        if not facts or qid not in replies:
            continue
        answer, abstained, passages = replies[qid]
        lost = {"refused": 0, "unquoted": 0, "unretrieved": 0}
        for alternatives in facts:
            if abstained:
                lost["refused"] += 1
            elif fact_stated(answer, alternatives):
                continue
            elif any(fact_stated(text, alternatives) for text in passages):
                lost["unquoted"] += 1
            else:
                lost["unretrieved"] += 1
        refused[qid] = lost["refused"] / len(facts)
        unquoted[qid] = lost["unquoted"] / len(facts)
        unretrieved[qid] = lost["unretrieved"] / len(facts)
    return FactLosses(mean_score(refused), mean_score(unquoted), mean_score(unretrieved))


def span_scores(answers: Mapping[str, str], references: Mapping[str, Sequence[str]]) -> tuple[Score, Score]:
    """(token F1, exact match) of the best span, max over references, over questions with references."""
    f1: dict[str, float | None] = {}
    em: dict[str, float | None] = {}
    for qid, refs in references.items():
        if refs:
            f1[qid], em[qid] = best_span(answers.get(qid, ""), refs)
    return mean_score(f1), mean_score(em)


def rouge_l_score(answers: Mapping[str, str], references: Mapping[str, Sequence[str]]) -> Score:
    """ROUGE-L F of the whole answer, max over references, over questions with references."""
    return mean_score(
        {qid: max(rouge_l(answers.get(qid, ""), r) for r in refs) for qid, refs in references.items() if refs}
    )


# -- citations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CitedAnswer:
    """What citation metrics need from one reply."""

    answer: str
    citations: Mapping[int, tuple[str, str]]
    """citation id -> (doc_id, quote)."""
    passage_chunks: Collection[str] = ()
    cited_chunks: Mapping[int, str] | None = None
    """citation id -> chunk_id, checked against `passage_chunks` when both are given."""


def citation_valid(reply: CitedAnswer) -> float:
    """1.0 if every `[n]` in the answer is a citation id (and, when known, its chunk is among the returned passages)."""
    for n in markers(reply.answer):
        if n not in reply.citations:
            return 0.0
        check_chunk = reply.cited_chunks is not None and bool(reply.passage_chunks)
        if check_chunk and (reply.cited_chunks or {}).get(n) not in reply.passage_chunks:
            return 0.0
    return 1.0


def citation_precision_one(
    reply: CitedAnswer, gold_docs: Collection[str], key_facts: Sequence[Sequence[str]]
) -> float | None:
    """Share of citations whose document is gold or whose quote states a key fact; None without citations."""
    if not reply.citations:
        return None
    good = sum(
        1
        for doc_id, quote in reply.citations.values()
        if doc_id in gold_docs or any(fact_stated(quote, alts) for alts in key_facts)
    )
    return good / len(reply.citations)


def numbers(text: str) -> set[str]:
    """Numbers in the text, thousands separators dropped (`1,000` -> `1000`)."""
    return {re.sub(r",(?=\d{3}\b)", "", m) for m in _NUMBER.findall(text)}


def content_words(text: str) -> set[str]:
    """Lowercase words that are not stopwords, numbers or single letters."""
    return {w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1 and not w[0].isdigit()}


_ATTRIBUTION = re.compile(r"^Per [^,]{1,120}?(?:\([^)]*\))?, ")


def sentence_grounded(sentence: str, quotes: Sequence[str]) -> bool:
    """True if every number of the sentence, and at least half its content words, occur in the cited quotes."""
    if not quotes:
        return False
    # The service's own attribution ("Per CDC 2022 (strong recommendation), ...") names the source, not a fact.
    body = _ATTRIBUTION.sub("", strip_markers(sentence), count=1)
    support = " ".join(quotes)
    if not numbers(body) <= numbers(support):
        return False
    words = content_words(body)
    return not words or len(words & content_words(support)) / len(words) >= 0.5


def grounding_one(reply: CitedAnswer) -> float | None:
    """Share of the answer's sentences grounded in the quotes they cite (uncited sentences are not); None if empty."""
    scored = []
    for sentence in answer_sentences(reply.answer):
        body = strip_markers(sentence)
        if not content_words(body) and not numbers(body):
            continue
        quotes = [reply.citations[n][1] for n in markers(sentence) if n in reply.citations]
        scored.append(sentence_grounded(sentence, quotes))
    return sum(scored) / len(scored) if scored else None


def citation_validity(replies: Mapping[str, CitedAnswer]) -> Score:
    """Share of answers whose every `[n]` resolves."""
    return mean_score({qid: citation_valid(r) for qid, r in replies.items()})


def citation_precision(
    replies: Mapping[str, CitedAnswer],
    gold_docs: Mapping[str, Collection[str]],
    key_facts: Mapping[str, Sequence[Sequence[str]]],
) -> Score:
    """Mean citation precision over answers with citations and some gold to judge them by."""
    per: dict[str, float | None] = {}
    for qid, reply in replies.items():
        docs, facts = gold_docs.get(qid, ()), key_facts.get(qid, ())
        if docs or facts:
            per[qid] = citation_precision_one(reply, docs, facts)
    return mean_score(per)


def grounding(replies: Mapping[str, CitedAnswer]) -> Score:
    """Mean share of grounded sentences per answer."""
    return mean_score({qid: grounding_one(r) for qid, r in replies.items()})


# -- abstention and latency --------------------------------------------------------------------


def doc_in_first_citations(
    cited_docs: Mapping[str, Sequence[str]], gold_docs: Mapping[str, Collection[str]], n: int = 3
) -> Score:
    """Share of answerable questions whose first `n` citations include a gold document (an abstention scores 0)."""
    return mean_score(
        {qid: float(bool(set(cited_docs.get(qid, ())[:n]) & set(gold))) for qid, gold in gold_docs.items() if gold}
    )


def on_a_page(first: int | None, last: int | None, pages: Collection[int]) -> bool:
    """Whether a page span (`last` None: one page) holds one of `pages`; a span without pages holds none."""
    return first is not None and any(first <= p <= (last or first) for p in pages)


def page_hit(
    cited_pages: Mapping[str, Sequence[tuple[str, int | None, int | None]]],
    gold: Mapping[str, tuple[Collection[str], Collection[int]]],
) -> Score:
    """Share of answerable questions with a gold page whose citations include that page of a gold document."""
    per_q: dict[str, float | None] = {}
    for qid, (docs, pages) in gold.items():
        if not pages:
            continue
        per_q[qid] = float(
            any(doc in docs and on_a_page(first, last, pages) for doc, first, last in cited_pages.get(qid, ()))
        )
    return mean_score(per_q)


def citations_with_page(
    cited_pages: Mapping[str, Sequence[tuple[str, int | None, int | None]]], paged: Collection[str]
) -> Score:
    """Share of citations of paginated documents that carry their page, per answer."""
    per_q: dict[str, float | None] = {}
    for qid, cited in cited_pages.items():
        of_paged = [first for doc, first, _ in cited if doc in paged]
        per_q[qid] = sum(first is not None for first in of_paged) / len(of_paged) if of_paged else None
    return mean_score(per_q)


# "pal- liative"; not a hyphen held for a word further on ("second- or third-line", "short- and long-acting").
_BROKEN_WORD = re.compile(r"\b[a-z]{2,}- (?!(?:or|and|nor|to|versus|vs)\b)[a-z]{2,}\b")


def broken_words(answers: Mapping[str, str]) -> Score:
    """Share of answers holding a word broken by a line-end hyphen ("pal- liative")."""
    return mean_score({qid: float(bool(_BROKEN_WORD.search(text))) for qid, text in answers.items() if text})


def abstention_recall(abstained: Mapping[str, bool], answerable: Mapping[str, bool]) -> Score:
    """Share of unanswerable questions on which the service abstained."""
    return mean_score({qid: float(abstained[qid]) for qid, ok in answerable.items() if not ok and qid in abstained})


def false_abstention_rate(abstained: Mapping[str, bool], answerable: Mapping[str, bool]) -> Score:
    """Share of answerable questions on which the service wrongly abstained."""
    return mean_score({qid: float(abstained[qid]) for qid, ok in answerable.items() if ok and qid in abstained})


def abstained_or_cautioned(
    abstained: Mapping[str, bool], caution: Mapping[str, bool], answerable: Mapping[str, bool]
) -> Score:
    """Share of unanswerable questions not answered with confidence: refused, or answered with `caution`."""
    return mean_score(
        {qid: float(abstained[qid] or caution[qid]) for qid, ok in answerable.items() if not ok and qid in abstained}
    )


def cautioned_rate(abstained: Mapping[str, bool], caution: Mapping[str, bool], answerable: Mapping[str, bool]) -> Score:
    """Share of answerable questions answered, but flagged with `caution` (partial evidence, or the judge's doubt)."""
    return mean_score(
        {qid: float(not abstained[qid] and caution[qid]) for qid, ok in answerable.items() if ok and qid in abstained}
    )


def latency_summary(timings: Iterable[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Per stage (sorted by name): median, 95th percentile and count of the milliseconds reported."""
    stages: dict[str, list[float]] = {}
    for timing in timings:
        for stage, ms in timing.items():
            stages.setdefault(stage, []).append(float(ms))
    return {
        stage: {"p50_ms": float(np.percentile(v, 50)), "p95_ms": float(np.percentile(v, 95)), "n": float(len(v))}
        for stage, v in sorted(stages.items())
    }
