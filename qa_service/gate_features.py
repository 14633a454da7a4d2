"""The evidence gate's lexical features: how much of the question the passages and the answer hold.

Every question word is weighed by its IDF in the index (`idf_table`), so a feature means the same on any
corpus: `coverage` (the IDF-weighted share of the question's keywords a text holds, alternatives and
thresholds read as the question states them), `clause_coverage` over the question's clauses naming two
things (`naming_clauses`), `unknown_terms` (words the corpus never uses, less everyday English and shorthand
for a corpus word: `silent_terms`, `starts_a_word`), `uncovered_negation` ("no cancer hx" to a corpus that
never says so), and `neighbour_similarity`, the index's own yardstick for the dense cosine.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from ingest import keyword_tokens
from ingest.index import SearchIndex
from ingest.keywords import normalise
from qa_service.asked import QUESTION_BREAK
from qa_service.quantities import drug_mentions
from qa_service.retrieval import guideline_bodies
from qa_service.vocabulary import query_words, question_words, words_starting_with

# "no cancer", "without bone mets", "non-cancer", "no hx of malignancy": the negated word is the group after.
# A question's "not" negates a verb ("ok to not give zol?"), not a population, so questions use _EXCLUDED.
_NEGATED_AFTER = (
    r"[- ]+(?:(?:known|prior|previous|hx|history|evidence|sign|signs)\s+(?:of\s+)?)?"
    r"([a-z][a-z0-9]*)(?:[ -]([a-z][a-z0-9]*))?"
)


_NEGATED = re.compile(r"\b(?:no|without|non|not|never)" + _NEGATED_AFTER, re.IGNORECASE)


_EXCLUDED = re.compile(r"\b(?:no|without|non)" + _NEGATED_AFTER, re.IGNORECASE)


def negated_vocabulary(index: SearchIndex) -> frozenset[str]:
    """Keywords the corpus itself speaks of as absent ("no pathological fracture", "without bone involvement")."""
    found: set[str] = set()
    for chunk in index.chunks:
        for first, second in _NEGATED.findall(normalise(chunk.text)):
            found |= set(keyword_tokens(f"{first} {second}"))
    return frozenset(found)


def uncovered_negation(question: str, idf: dict[str, float], negated: frozenset[str]) -> bool:
    """Whether the question excludes something the corpus talks about but never as absent ("no cancer hx").

    The guidelines then speak of the very population the question rules out.
    """
    for first, _second in _EXCLUDED.findall(normalise(question)):
        tokens = set(keyword_tokens(first))
        for _, expansions in query_words(first):  # the same abbreviation lookup the question's terms get
            for expansion in expansions:
                tokens |= set(keyword_tokens(expansion))
        if tokens and any(t in idf for t in tokens) and not any(_same_word(t, n) for t in tokens for n in negated):
            return True
    return False


def _same_word(a: str, b: str) -> bool:
    """Equal stems, or noun and adjective of one word (metastas-es, metastat-ic: 7 letters in common)."""
    return a == b or (len(a) >= 7 and len(b) >= 7 and a[:7] == b[:7])


def idf_table(index: SearchIndex) -> tuple[dict[str, float], float]:
    """Token -> IDF over chunks, and the highest IDF (used for words the corpus never uses)."""
    counts: dict[str, int] = {}
    for chunk in index.chunks:
        for token in set(keyword_tokens(chunk.embedding_text())):
            counts[token] = counts.get(token, 0) + 1
    n = max(len(index.chunks), 1)
    table = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in counts.items()}
    return table, math.log(1 + (n + 0.5) / 0.5)


NEIGHBOUR_SAMPLE = 400
"""Passages whose nearest neighbour in another document `neighbour_similarity` averages over (a seeded sample)."""


def neighbour_similarity(index: SearchIndex, sample: int = NEIGHBOUR_SAMPLE, seed: int = 0) -> float | None:
    """How close the index's passages sit to their nearest passage in another document: the mean, over a seeded
    sample of passages, of the best cosine to a passage of another document; None with fewer than two documents.

    In a corpus of pages written to one template (MedQuAD's "What are the symptoms of ...") every page has a near
    twin, and a question finds a close passage whether or not its own page is there; guideline chapters sit further
    apart. The gate reads the question's best cosine relative to this (`GateModel.dense_reference`).
    """
    vectors = np.asarray(index.vectors, dtype=np.float32)
    documents = np.array([c.doc_id for c in index.chunks])
    if len(vectors) < 2 or len(set(documents.tolist())) < 2:
        return None
    rows = np.sort(np.random.default_rng(seed).choice(len(vectors), size=min(sample, len(vectors)), replace=False))
    best = np.full(len(rows), -1.0, dtype=np.float32)
    for start in range(0, len(vectors), 8192):  # in blocks: a large index's full similarity matrix is not needed
        block = vectors[rows] @ vectors[start : start + 8192].T
        block[documents[rows][:, None] == documents[None, start : start + 8192]] = -1.0
        best = np.maximum(best, block.max(axis=1))
    return float(best.mean())


QUANTITY_WORDS = frozenset(
    keyword_tokens(
        "dose doses dosing dosage much many mg gy long often interval duration frequency schedule fractionation "
        "threshold cutoff cut off percent percentage rate survival mcg iu units daily weekly monthly"
    )
)


_AGE_SEX = re.compile(r"^\d{1,3}(?:m|f|yo|y|yrs?|yr)$")  # "65M", "58F", "85yo": the patient, not the topic
_ADULT = frozenset({"adult", "adults"})
"""The default patient, which guidelines rarely name: "dose for adults?" asks the dose (`population` notes a children's
passage answering an adult's question)."""


_EVALUATIVE = r"(normal|right|correct|proper|appropriate|standard|ideal|regular)"
_DOSE = r"(?:dose|doses|dosing|dosage|dosages)"
_DOSE_EVALUATIVE = re.compile(
    rf"\b{_EVALUATIVE}\s+(?:[a-z0-9-]+\s+)?{_DOSE}\b|\b{_DOSE}\s+(?:(?:is|are|be|would be)\s+)?{_EVALUATIVE}\b"
)
"""A word that, beside "dose" in one clause, asks for the dose itself: "normal dose of ondansetron?", "standard
ondansetron dosing?", "what dose is right?". A guideline never calls its dose "normal" or "right", and the word read
as a rare one the dosing sentence lacks (session 39's probe: "normal dose of {drug}?" refused or cautioned for all 66
drugs). Elsewhere they are content ("X-ray normal, next step?", "standard-risk myeloma")."""


def _dose_evaluatives(question: str) -> frozenset[str]:
    """The words of `question` that qualify a dose it asks (`_DOSE_EVALUATIVE`)."""
    return frozenset(w for m in _DOSE_EVALUATIVE.finditer(normalise(question)) for w in m.groups() if w)


@lru_cache(maxsize=4096)
def _term_groups(question: str, ignore: frozenset[str]) -> tuple[tuple[str, frozenset[str]], ...]:
    """Each keyword of the question with its alternatives, beside the word as written."""
    phrasing = question_words()
    groups: list[tuple[str, frozenset[str]]] = []
    previous = ""
    evaluative = _dose_evaluatives(question)
    for word, expansions in query_words(question):
        after_how, previous = previous == "how", word
        # "how often", "how soon", "how much", "how strong": the word after "how" names the kind of answer
        # asked for (a time, an amount, a grade), not the subject the passages must cover.
        if (
            word in phrasing
            or _AGE_SEX.match(word)
            or word in _ADULT
            or word in evaluative
            or (after_how and word.isalpha())
        ):
            continue
        # Single letters say nothing ("f/u", the "m" of "I'm"); numbers ("8 Gy") do.
        tokens = {t for t in keyword_tokens(word) if len(t) > 1 or t.isdigit()}
        for expansion in expansions:
            tokens |= set(keyword_tokens(expansion))
        tokens -= ignore
        if tokens and all(tokens != g for _, g in groups):
            groups.append((word, frozenset(tokens)))
    return tuple(groups)


def question_terms(question: str, *, ignore: frozenset[str] = frozenset()) -> tuple[frozenset[str], ...]:
    """The question's keywords, each with its alternatives: "zol" stands for itself or zoledronic acid.

    Question phrasing ("next step", "vs", "ok?"), patient age and sex ("65M") and single letters
    are left out: they say nothing about whether the guidelines cover the subject. Cached: one
    answer asks for them several times (coverage, quantity coverage, unknown words).
    """
    return tuple(group for _, group in _term_groups(question, ignore))


def term_weight(group: frozenset[str], idf: dict[str, float], max_idf: float) -> float:
    known = [idf[t] for t in group if t in idf]
    return max(known) if known else max_idf


# A threshold the guidelines state ("above 60 mL/min", "less than 2 hours", "< 30"): a patient's value
# in the question ("CrCl 75") is covered by a threshold it falls on the stated side of.
THRESHOLD = re.compile(
    r"(above|over|more than|greater than|exceeding|at least|>=|≥|>"
    r"|below|under|less than|fewer than|up to|at most|<=|≤|<)\s*(\d+(?:\.\d+)?)"
)


_ABOVE = frozenset({"above", "over", "more than", "greater than", "exceeding", ">"})


_AT_LEAST = frozenset({"at least", ">=", "≥"})


_AT_MOST = frozenset({"up to", "at most", "<=", "≤"})


_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


@lru_cache(maxsize=4096)
def _thresholds(text: str) -> tuple[tuple[frozenset[str], tuple[tuple[str, float], ...]], ...]:
    """Each sentence of `text` that states a threshold: its keywords and its thresholds."""
    found = []
    for sentence in _SENTENCE_END.split(text.lower()):
        limits = tuple((word, float(value)) for word, value in THRESHOLD.findall(sentence))
        if limits:
            found.append((frozenset(keyword_tokens(sentence)), limits))
    return tuple(found)


def meets(value: float, word: str, limit: float) -> bool:
    """Whether `value` lies on the side of `limit` the threshold word states ("above 60": 75 does)."""
    if word in _ABOVE:
        return value > limit
    if word in _AT_LEAST:
        return value >= limit
    if word in _AT_MOST:
        return value <= limit
    return value < limit


def _meets_threshold(value: float, about: frozenset[str], text: str) -> bool:
    """Whether `text` has a sentence on `about` whose threshold `value` meets (CrCl 75: "clearance above 60")."""
    return any(
        sentence_tokens & about and any(meets(value, word, limit) for word, limit in limits)
        for sentence_tokens, limits in _thresholds(text)
    )


def _number(group: frozenset[str]) -> float | None:
    if len(group) == 1:
        (token,) = group
        if token.replace(".", "", 1).isdigit():
            return float(token)
    return None


def coverage(
    question: str, passages_text: str, idf: dict[str, float], max_idf: float, *, ignore: frozenset[str] = frozenset()
) -> float:
    """IDF-weighted share of the question's keywords (any of their alternatives) present in the passages.

    A number the passages do not state is covered by a threshold it meets, in a sentence about a word
    next to it in the question ("CrCl 75" by "creatinine clearance above 60").
    """
    groups = question_terms(question, ignore=ignore)
    if not groups:
        return 0.0
    present = set(keyword_tokens(passages_text))

    def covered(i: int) -> bool:
        if groups[i] & present:
            return True
        value = _number(groups[i])
        if value is None:
            return False
        # The threshold must be about what the number measures: a word next to it in the question.
        about = frozenset().union(*(g for g in groups[max(i - 1, 0) : i + 2] if _number(g) is None))
        return _meets_threshold(value, about, passages_text)

    total = sum(term_weight(g, idf, max_idf) for g in groups)
    hit = sum(term_weight(g, idf, max_idf) for i, g in enumerate(groups) if covered(i))
    return hit / total if total else 0.0


# Where a clinician's question turns from one thing to the next: sentence ends, question marks,
# semicolons, colons, commas and spaced dashes ("58M, on oxycodone - how to taper?").
MIN_CLAUSE_TERMS = 2


_NEGATED_CLAUSE = re.compile(r"(?:no|not|without|never|non)\b", re.IGNORECASE)
"""A clause saying what the patient lacks ("no bone disease", "never had a BMA"): the story, not what is asked."""


_YEAR = re.compile(r"^(?:19[5-9]\d|20[0-3]\d)$")


@lru_cache(maxsize=1)
def source_terms() -> frozenset[str]:
    """Keywords that name a guideline's source rather than a subject: the initials of the bodies that issue
    guidelines (`guideline_bodies`)."""
    return frozenset(keyword_tokens(" ".join(guideline_bodies()[0])))


def names_a_subject(group: frozenset[str]) -> bool:
    """Whether a keyword (with its alternatives) names a subject, not a guideline's source: a body's initials or
    a year ("ASCO/USPSTF 2019 rec?") say whose guidance is asked, not about what."""
    return not (group & source_terms()) and not any(_YEAR.match(t) for t in group)


def naming_clauses(question: str, *, ignore: frozenset[str] = frozenset()) -> list[str]:
    """The question's clauses that name at least two things (keywords other than `ignore`, bodies' initials and
    years: `names_a_subject`), but for those saying what the patient lacks (`_NEGATED_CLAUSE`): "RCC w 3 lung
    oligomets, no bone disease - SBRT to the lung lesions?" is no question about bone disease, which a
    bone-metastasis corpus covers whole. "Metformin for breast ca prevention - ASCO/USPSTF rec?" names its
    subject in the first clause only: the second names whose guidance is asked."""
    clauses = (c.strip() for c in QUESTION_BREAK.split(question))
    return [
        c
        for c in clauses
        if sum(names_a_subject(g) for g in question_terms(c, ignore=ignore)) >= MIN_CLAUSE_TERMS
        and not _NEGATED_CLAUSE.match(c)
    ]


def covered_clauses(
    question: str, passages_text: str, idf: dict[str, float], max_idf: float, *, ignore: frozenset[str] = frozenset()
) -> list[tuple[str, float]]:
    """Each clause of the question naming at least two things, with its `coverage` by the passages."""
    return [
        (c, coverage(c, passages_text, idf, max_idf, ignore=ignore)) for c in naming_clauses(question, ignore=ignore)
    ]


def clause_coverage(
    question: str, passages_text: str, idf: dict[str, float], max_idf: float, *, ignore: frozenset[str] = frozenset()
) -> float:
    """The best `coverage` of any clause of the question naming at least two things (the whole question's
    coverage when no clause does)."""
    clauses = covered_clauses(question, passages_text, idf, max_idf, ignore=ignore)
    return max((score for _, score in clauses), default=coverage(question, passages_text, idf, max_idf, ignore=ignore))


def names_a_drug(word: str) -> bool:
    """Whether a word names a drug: one of the drug list, or it ends as drug names do (`drug_mentions`)."""
    return any(name == word for _, _, name in drug_mentions(word))


def _known(group: frozenset[str], idf: dict[str, float]) -> bool:
    """Whether the corpus uses the word under one of its alternatives; a code's number says nothing on its own
    ("ICD-10" is not known because the corpus writes "10")."""
    words = [t for t in group if not t.isdigit()]
    return any(t in idf for t in (words or group))


def unknown_terms(
    question: str,
    idf: dict[str, float],
    is_common: Callable[[str], bool] | None = None,
    is_shorthand: Callable[[str], bool] | None = None,
) -> int:
    """Question keywords the corpus never uses, under any of their alternatives.

    With `is_common` (a word of everyday English: one whole word piece of the encoder's
    vocabulary), everyday words are not counted: a small corpus never says "came", "stop" or
    "worry", and their absence says nothing about whether it covers the question; "teriparatide"
    or "romosozumab" does. With `is_shorthand` (`starts_a_word` over the index's keywords), a word
    standing for one of them is not counted either: "physio", "bup" and "tox" are a clinician's
    shorthand for the corpus's "physiotherapy", "buprenorphine" and "toxicology", not a subject it lacks.
    """
    return sum(
        2 if names_a_drug(word) else 1
        for word, group in _term_groups(question, frozenset())
        if not _known(group, idf)
        and not (is_common is not None and is_common(word))
        and not (is_shorthand is not None and is_shorthand(word))
    )


_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)")


def silent_terms(question: str, idf: dict[str, float], is_shorthand: Callable[[str], bool]) -> frozenset[str]:
    """Keywords of the question that the coverage features skip: words the corpus never uses that stand
    for one it does ("physio", "bup", "max": the start of a corpus word) or only count ("1st", "2nd").

    Counted, such a word is a rare word the passages lack, and it weighs as much as the corpus's
    rarest: "naltrexone for OUD: how many opioid-free days before 1st dose" read as half covered by
    the passage saying "7-10 days free of opioids ... before the first naltrexone dose".
    """
    silent: set[str] = set()
    for word, group in _term_groups(question, frozenset()):
        if not any(t in idf for t in group) and (_ORDINAL.fullmatch(word) or is_shorthand(word)):
            silent |= group
    return frozenset(silent)


MIN_CLIPPED_LENGTH = 3
"""Letters a clipped word needs before it counts as the start of a longer word ("ox" starts too much)."""


MIN_CONTRACTED_LENGTH = 5
"""Letters a contraction needs: "psma" has its letters in order in "plasma", "outpt" in "outpatient" only."""


def starts_a_word(word: str, vocabulary: Sequence[str]) -> bool:
    """Whether `word` stands for a longer word (by two letters or more) of the sorted `vocabulary`: it starts it
    ("physio"), or, five letters or more, it has its first letter and the rest in order ("outpt")."""
    word = word.lower()
    if len(word) < MIN_CLIPPED_LENGTH or not word.isalpha():
        return False
    if any(len(longer) >= len(word) + 2 for longer in words_starting_with(vocabulary, word)):
        return True
    return len(word) >= MIN_CONTRACTED_LENGTH and any(  # a contraction: "outpt" for "outpatient"
        len(word) + 2 <= len(longer) <= 3 * len(word) and _letters_in_order(word, longer)
        for longer in words_starting_with(vocabulary, word[0])
    )


def _letters_in_order(short: str, long: str) -> bool:
    rest = iter(long)
    return all(ch in rest for ch in short)
