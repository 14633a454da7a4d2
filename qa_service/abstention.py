"""The evidence-sufficiency gate: answer, or say the guidelines here do not cover the question.

Features (each in [0, 1]):
- `dense`: cosine of the question with the best passage (rescaled from [0.2, 0.8]);
- `coverage`: IDF-weighted share of the question's keywords found in the top passages; a word
  the corpus never uses weighs as much as its rarest word;
- `sentence`: score of the best answer sentence;
- `agreement`: 1 if the dense and keyword paths share a passage in their top 3.
A question asking for a quantity (a dose, an interval, a percentage) whose answer states no
number is penalised: "we have no dose" must not read as an answer.

The weights were fitted on the gold set (see README, "Abstention").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ingest import LoadedIndex, keyword_tokens
from qa_service.grounding import numbers_in, strip_citations

_QUANTITY = re.compile(
    r"\b(dose|doses|dosing|dosage|how much|how many|mg|gy|how long|how often|interval|duration|frequency|"
    r"schedule|fractionation|threshold|cut-?off|percent|percentage|%|rate|survival|mcg|iu)\b",
    re.IGNORECASE,
)

WEIGHTS = {"dense": 2.2, "coverage": 3.0, "sentence": 1.6, "agreement": 0.6}
BIAS = -3.4
QUANTITY_PENALTY = 0.35


@dataclass
class Evidence:
    """The gate's inputs and verdict."""

    features: dict[str, float]
    score: float
    asks_quantity: bool
    answer_has_number: bool


def idf_table(index: LoadedIndex) -> tuple[dict[str, float], float]:
    """Token -> IDF over chunks, and the highest IDF (used for words the corpus never uses)."""
    counts: dict[str, int] = {}
    for chunk in index.chunks:
        for token in set(keyword_tokens(chunk.embedding_text())):
            counts[token] = counts.get(token, 0) + 1
    n = max(len(index.chunks), 1)
    table = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in counts.items()}
    return table, math.log(1 + (n + 0.5) / 0.5)


def coverage(question: str, passages_text: str, idf: dict[str, float], max_idf: float) -> float:
    """IDF-weighted share of the question's keywords present in the passages."""
    tokens = set(keyword_tokens(question))
    if not tokens:
        return 0.0
    present = set(keyword_tokens(passages_text))
    total = sum(idf.get(t, max_idf) for t in tokens)
    hit = sum(idf.get(t, max_idf) for t in tokens if t in present)
    return hit / total if total else 0.0


def judge(
    *,
    question: str,
    dense_top: float,
    coverage_score: float,
    sentence_score: float,
    agreement: bool,
    answer_text: str,
) -> Evidence:
    """Combine the features into an evidence score in [0, 1]."""
    features = {
        "dense": float(np.clip((dense_top - 0.2) / 0.6, 0.0, 1.0)),
        "coverage": float(np.clip(coverage_score, 0.0, 1.0)),
        "sentence": float(np.clip(sentence_score, 0.0, 1.0)),
        "agreement": 1.0 if agreement else 0.0,
    }
    z = BIAS + sum(WEIGHTS[k] * v for k, v in features.items())
    score = 1.0 / (1.0 + math.exp(-z))
    asks_quantity = bool(_QUANTITY.search(question))
    has_number = bool(numbers_in(strip_citations(answer_text)))
    if asks_quantity and not has_number:
        score *= QUANTITY_PENALTY
    return Evidence(features=features, score=score, asks_quantity=asks_quantity, answer_has_number=has_number)
