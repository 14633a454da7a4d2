"""Grounding checks: every quantity, dose, drug name and citation in a sentence must be stated by its cited passages.

A sentence passes when, against the passages it cites taken together:

1. every number it writes (digits or words) occurs in them;
2. every drug it names occurs in them;
3. every quantity matches one they state with the same value, unit, kind and comparison (`quantities.read`);
   a dose matches only with the drug, interval and route the passage binds to it in the same clause, so
   "4 mg every 12 months" is not supported by "4 mg every 3 months (12 weeks)";
4. every identifier ("5-HT3") and citation ("ESMO 2020") occurs in them.

The first failure is the reason. Checks 1 and 2 keep the reasons this module always gave
("number 240 not in the cited passage"); check 3 names the quantity ("dose 4 mg every 12 months not in the cited
passages").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from ingest import keyword_tokens
from qa_service.quantities import (
    Quantity,
    Reading,
    Regimen,
    dose_per_fraction,
    drug_lexicon,
    drugs_in,
    read,
    same,
    total_dose,
    values_of,
)

__all__ = [
    "GroundingResult",
    "Unsupported",
    "check_sentence",
    "citations_in",
    "drug_lexicon",
    "drugs_in",
    "numbers_in",
    "quantities_supported",
    "strip_citations",
    "wording_unsupported",
]

_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:\s*%)?")
_CITATION = re.compile(r"\[(\d{1,3})\]")

# How a quantity is named in a reason, by kind; any kind stated with a comparison is a "threshold".
_LABELS = {
    "time": "duration",
    "fractions": "fraction count",
    "index": "day",
    "repeat": "repeat count",
}
# A sentence quantity of the first kind may be supported by a passage quantity of these kinds.
_COMPATIBLE_KINDS = {
    "time": {"time", "age"},
    "age": {"age", "time"},
    "count": {"count", "number"},
    "index": {"index", "number"},
    "repeat": {"repeat", "number", "count"},
}


def numbers_in(text: str) -> list[str]:
    """Numbers as written (8, 0.5, 120, 30%), normalised for comparison (spaces and commas dropped)."""
    return [re.sub(r"[\s,]", "", m.group(0)) for m in _NUMBER.finditer(text)]


def citations_in(text: str) -> list[int]:
    """The n of every `[n]` marker, in order."""
    return [int(n) for n in _CITATION.findall(text)]


def strip_citations(text: str) -> str:
    """The text without `[n]` markers."""
    return re.sub(r"\s*\[\d{1,3}\]", "", text).strip()


@dataclass(frozen=True)
class GroundingResult:
    """Whether a sentence is supported, and if not, why."""

    ok: bool
    reason: str | None = None


@dataclass(frozen=True)
class Unsupported:
    """A quantity, dose, name or citation of a sentence that its cited passages do not state, and why."""

    text: str
    reason: str
    start: int = 0


@dataclass
class _Support:
    """What the cited passages state, taken together."""

    quantities: list[Quantity] = field(default_factory=list)
    regimens: list[Regimen] = field(default_factory=list)
    identifiers: set[str] = field(default_factory=set)
    citations: set[tuple[str, int]] = field(default_factory=set)
    values: set[float] = field(default_factory=set)
    # per passage sentence: drugs named, routes stated, values stated
    sentences: list[tuple[frozenset[str], frozenset[str], set[float]]] = field(default_factory=list)


@lru_cache(maxsize=256)
def _read_passage(text: str) -> Reading:
    return read(text)


def _support(passages: Sequence[str]) -> _Support:
    support = _Support()
    for passage in passages:
        reading = _read_passage(passage)
        support.quantities += reading.quantities
        support.regimens += reading.regimens
        support.identifiers |= set(reading.identifiers)
        support.citations |= set(reading.citations)
        support.values |= values_of(reading.quantities) | {round(float(year), 6) for _, year in reading.citations}
        support.sentences += [(drugs, routes, values_of(qs)) for drugs, routes, qs in reading.sentences]
    return support


def check_sentence(sentence: str, cited_passages: list[str], n_passages: int) -> GroundingResult:
    """A sentence passes if it cites valid passages and they state its numbers, drugs, doses and quantities."""
    cited = citations_in(sentence)
    if not cited:
        return GroundingResult(False, "no citation")
    bad = [n for n in cited if n < 1 or n > n_passages]
    if bad:
        return GroundingResult(False, f"cites unknown passage [{bad[0]}]")
    body = strip_citations(sentence)
    said = read(body)
    support = _support(cited_passages)
    missing_number = _first_missing_number(said, support)
    if missing_number is not None:
        return GroundingResult(False, f"number {missing_number} not in the cited passage")
    support_lower = " ".join(cited_passages).lower()
    missing_drugs = sorted(d for d in drugs_in(body) if d not in support_lower)
    if missing_drugs:
        return GroundingResult(False, f"drug {missing_drugs[0]} not in the cited passage")
    problems = _unsupported(said, support)
    if problems:
        return GroundingResult(False, problems[0].reason)
    return GroundingResult(True)


MIN_STATED_WORDS = 3
"""Keywords a generated sentence needs to state something its passage can be checked for: "No. [1]" states nothing."""
MIN_WORDING_SUPPORT = 0.5
"""Share of a generated sentence's keywords its cited passages must hold: a sentence mostly in words the passages
never use does not rest on them, whatever its numbers."""


def wording_unsupported(sentence: str, cited_passages: Sequence[str]) -> str | None:
    """Why a generated sentence does not rest on its cited passages' words, or None when it does.

    The checks of `check_sentence` read numbers, drugs, doses and citations. A sentence with none of them passes
    them all: a small model answered "should patients on denosumab take calcium and vitamin D?" with "No. [1]",
    against a passage recommending both, and that was served with an evidence score of 0.77. A sentence must name
    at least `MIN_STATED_WORDS` keywords and share `MIN_WORDING_SUPPORT` of them with the passages it cites (keywords
    are stemmed, so "recommends" rests on "recommended"; a faithful paraphrase keeps the guideline's terms)."""
    words = set(keyword_tokens(strip_citations(sentence)))
    if len(words) < MIN_STATED_WORDS:
        return "states too little to check against the cited passage (a bare yes or no)"
    held = words & set(keyword_tokens(" ".join(cited_passages)))
    share = len(held) / len(words)
    if share < MIN_WORDING_SUPPORT:
        return f"only {len(held)} of its {len(words)} keywords are in the cited passages"
    return None


def quantities_supported(sentence: str, passages: Sequence[str]) -> list[Unsupported]:
    """What the passages, taken together, do not support in the sentence: quantities, doses bound to their drug,
    interval and route, identifiers and citations, in the order they are written. Empty when all is supported."""
    return _unsupported(read(strip_citations(sentence)), _support(passages))


def _first_missing_number(said: Reading, support: _Support) -> str | None:
    """The first number the sentence writes (in digits or words) that the passages state nowhere."""
    for q in said.quantities:
        for text, value, factor in q.numbers:
            if round(value, 6) not in support.values and round(value * factor, 6) not in support.values:
                return f"{text}%" if q.unit == "%" else text
    for (_, year), _start in said.citations.items():
        if round(float(year), 6) not in support.values:
            return str(year)
    return None


def _unsupported(said: Reading, support: _Support) -> list[Unsupported]:
    problems: list[Unsupported] = []
    checked_values: set[int] = set()
    for regimen in said.regimens:
        problem = _regimen_problem(regimen, support)
        if problem is not None:
            problems.append(problem)
        checked_values |= {id(v) for v in regimen.values}
    for q in said.free:
        if id(q) not in checked_values and not any(_quantity_matches(q, p, support) for p in support.quantities):
            problems.append(Unsupported(q.text, f"{_label(q)} {q.text} not in the cited passages", q.start))
    for name, start in said.identifiers.items():
        if name not in support.identifiers:
            problems.append(Unsupported(name, f"name {name} not in the cited passages", start))
    for (body, year), start in said.citations.items():
        if (body, year) not in support.citations:
            shown = body.upper() if body != "endocrine society" else "Endocrine Society"
            problems.append(Unsupported(f"{shown} {year}", f"citation {shown} {year} not in the cited passages", start))
    return sorted(problems, key=lambda p: p.start)


def _label(q: Quantity) -> str:
    if q.op != "=" and q.kind != "interval":
        return "threshold"
    return _LABELS.get(q.kind, q.kind)


# ---------------------------------------------------------------------------------------------------------------
# Regimens: a dose with its drug, route and interval


def _regimen_problem(said: Regimen, support: _Support) -> Unsupported | None:
    """Why no passage regimen supports this one: the dose with its drug and interval, then its timing, its route
    and the bare numbers said of the drug. None when one does."""
    if said.dose is None and not said.intervals and not said.routes and not said.values:
        return None
    whose = f" for {said.drug}" if said.drug else ""
    matches = [p for p in support.regimens if _regimen_matches(said, p)]
    if not matches:
        start = said.dose.start if said.dose is not None else said.start
        return Unsupported(_describe(said), f"{_describe(said)} not in the cited passages", start)
    for q in said.timing:
        matches = [p for p in matches if _timing_stated(q, p, support)]
        if not matches:
            label = "day" if q.kind == "index" else "duration"
            return Unsupported(q.text, f"{label} {q.text} with {_describe(said)} not in the cited passages", q.start)
    if said.routes and not any(_routes_stated(said, p, support) for p in matches):
        routes = ", ".join(sorted(said.routes))
        return Unsupported(routes, f"route {routes}{whose} not in the cited passages", said.start)
    for value in said.values:
        if not any(said.drug in drugs and _value_in(value, values) for drugs, _, values in support.sentences):
            return Unsupported(value.text, f"number {value.text}{whose} not in the cited passages", value.start)
    return None


def _describe(regimen: Regimen) -> str:
    """ "dose 4 mg every 12 months for zoledronic acid", "interval every 12 weeks for pamidronate"."""
    if regimen.dose is not None:
        parts = [regimen.dose.text, *(q.text for q in regimen.intervals)]
        head = "dose"
    elif regimen.intervals:
        parts, head = [q.text for q in regimen.intervals], "interval"
    else:
        parts, head = sorted(regimen.routes), "route"
    whose = f" for {regimen.drug}" if regimen.drug else ""
    return f"{head} {' '.join(parts)}{whose}"


def _regimen_matches(said: Regimen, stated: Regimen) -> bool:
    """Same drug (when the sentence names one), same dose, and every interval of the sentence bound to it."""
    if said.drug is not None and stated.drug != said.drug:
        return False
    if said.dose is not None and (stated.dose is None or not _dose_matches(said.dose, stated.dose)):
        return False
    return all(any(_interval_matches(i, j) for j in stated.intervals) for i in said.intervals)


def _timing_stated(q: Quantity, stated: Regimen, support: _Support) -> bool:
    """A duration or day the sentence binds to a dose is one the passage binds to it; when the passage binds none to
    that dose, it must at least be stated somewhere in the passages."""
    return any(_quantity_matches(q, p, support) for p in stated.timing or support.quantities)


def _routes_stated(said: Regimen, stated: Regimen, support: _Support) -> bool:
    """The sentence's routes are the ones bound to the matching dose, or, when the passage binds none there, are
    stated in a passage sentence that names the drug."""
    if stated.routes:
        return said.routes <= stated.routes
    drug = said.drug or stated.drug
    if drug is None:
        return False
    return any(drug in drugs and said.routes <= routes for drugs, routes, _ in support.sentences)


def _value_in(q: Quantity, values: set[float]) -> bool:
    return round(q.low, 6) in values and round(q.high, 6) in values


# ---------------------------------------------------------------------------------------------------------------
# Single quantities


def _dose_matches(said: Quantity, stated: Quantity) -> bool:
    if said.unit == "Gy":
        return _radiotherapy_matches(said, stated)
    return _amount_matches(said, stated)


def _amount_matches(said: Quantity, stated: Quantity) -> bool:
    return (
        said.unit == stated.unit
        and said.op == stated.op
        and same(said.low, stated.low)
        and same(said.high, stated.high)
    )


def _radiotherapy_matches(said: Quantity, stated: Quantity) -> bool:
    """Doses in Gy agree on the whole course and the number of fractions, as far as the sentence states them."""
    if stated.unit != "Gy" or said.op != stated.op:
        return False
    if said.fractions is not None:
        if stated.fractions is None or not same(said.fractions, stated.fractions):
            return False
        said_total, stated_total = total_dose(said), total_dose(stated)
        return said_total is not None and stated_total is not None and same(said_total, stated_total)
    unspecified = stated.low if stated.role == "" and stated.fractions is None else None
    if said.role == "per fraction":
        candidates = [dose_per_fraction(stated), unspecified]
    elif said.role == "total":
        candidates = [total_dose(stated), unspecified]
    else:
        candidates = [stated.low, total_dose(stated), dose_per_fraction(stated)]
    return any(c is not None and same(said.low, c) for c in candidates)


def _interval_matches(said: Quantity, stated: Quantity) -> bool:
    return (
        stated.kind == "interval"
        and _amount_matches(said, stated)
        and same(said.times[0], stated.times[0])
        and same(said.times[1], stated.times[1])
    )


def _quantity_matches(said: Quantity, stated: Quantity, support: _Support) -> bool:
    """A quantity that belongs to no regimen: same value, unit, kind and comparison somewhere in the passages."""
    if said.kind == "number" and said.op == "=":
        return _value_in(said, support.values)
    if said.kind == "number":  # a bare threshold ("below -2.0") keeps its direction
        return said.op == stated.op and same(said.low, stated.low) and same(said.high, stated.high)
    if said.kind == "interval":
        return _interval_matches(said, stated)
    if said.kind == "fractions" and stated.unit == "Gy" and stated.fractions is not None:
        return said.op == "=" and same(said.low, stated.fractions) and same(said.high, stated.fractions)
    if said.kind == "dose" and said.unit == "Gy":
        return _radiotherapy_matches(said, stated)
    kinds = _COMPATIBLE_KINDS.get(said.kind, {said.kind})
    if stated.kind not in kinds:
        return False
    if stated.kind in ("number", "count") or said.kind in ("count", "repeat", "index"):
        return said.op == stated.op and same(said.low, stated.low) and same(said.high, stated.high)
    return _amount_matches(said, stated)
