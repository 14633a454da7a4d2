"""Grounding checks: every quantity, dose, drug name and citation in a sentence must be stated by its cited passages.

A sentence passes when, against the passages it cites taken together:

1. every number it writes (digits or words) occurs in them;
2. every drug it names occurs in them;
3. every quantity matches one they state with the same value, unit, kind and comparison (`quantities.read`);
   a dose matches only with the drug, interval and route the passage binds to it in the same clause, so
   "4 mg every 12 months" is not supported by "4 mg every 3 months (12 weeks)";
4. every identifier ("5-HT3") and citation ("ESMO 2020") occurs in them.

A generated sentence must also (`generated_unsupported`, what the LLM composer serves by):

5. rest on their words (`wording_unsupported`: "No. [1]" states nothing);
6. negate as the passage statement it restates does (`polarity_unsupported`: "Do not give calcium" against "Give
   calcium");
7. name only drugs that statement names, when it names any (`drug_unbound`: calcitonin's "rapid effect" given to
   denosumab, which the passage names elsewhere).

The first failure is the reason. Checks 1 and 2 keep the reasons this module always gave
("number 240 not in the cited passage"); check 3 names the quantity ("dose 4 mg every 12 months not in the cited
passages").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from ingest import keyword_tokens, split_sentences
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
    "drug_unbound",
    "drugs_in",
    "generated_unsupported",
    "numbers_in",
    "polarity_unsupported",
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
    if missing_drugs:  # a drug the passages name another way ("LHRH" reads as gonadotropin-releasing hormone)
        named = drugs_in(" ".join(cited_passages))
        missing_drugs = [d for d in missing_drugs if d not in named]
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


# What turns a statement into its opposite: "not", "no", "never", "neither" (its "nor" is the same negation),
# "avoid", "unlike", "seldom", "contraindicated", "cannot", "n't", "without", and "against" after advice ("recommends
# against"; "35% against 10%" compares).
_NEGATION = re.compile(
    r"\b(?:not|no|never|neither|none|cannot|avoid(?:s|ed|ing)?|unlike|seldom|rarely|contraindicat(?:ed|ions?)|without"
    r"|against)\b|n't\b",
    re.IGNORECASE,
)
_ADVICE_BEFORE = re.compile(r"(?:recommend|suggest|advis|caution|warn|decid|argu)\w*\s+(?:\w+\s+)?$", re.IGNORECASE)
_NOT_NEGATING = re.compile(
    r"\bwith\s+or\s+without\b|\bfor\s+or\s+against\b|\bnot\s+only\b|\bwhether\s+or\s+not\b"
    r"|\bno\s+(?:more|less|later|earlier|sooner|better|worse|different)\s+than\b",
    re.IGNORECASE,
)
MIN_RESTATED_SHARE = 0.5
"""Share of a generated sentence's keywords the passage statements it restates must hold together."""
RESTATING_MARGIN = 0.15
"""How far (a share of the sentence's keywords) below the best a statement may start a reading of the sentence."""


NEGATION_REACH = 3
"""Keywords after a negating word, within its clause, that it is taken to negate (before it, for a word that
negates what precedes it: "X is contraindicated", "X should be avoided")."""
_CLAUSE_END = re.compile(r"[,.;:()\[\]\n]|\s[-\u2013\u2014]\s")
_NEGATES_BEFORE = re.compile(r"contraindicated|avoided", re.IGNORECASE)
_NEGATED_PREFIX = re.compile(r"^(?:un|non|in|dis)(?=[a-z]{4})")


def _negations(text: str, other: set[str]) -> int:
    """How many negations of `text` bear on what it shares with another statement (`other`, its keywords).

    A negating word counts when the keywords it negates in its clause (the `NEGATION_REACH` after it; before it for
    "contraindicated" and "avoided", or when nothing follows it) include the one nearest it or two of those the
    other holds, or when it negates the next negating word and that one counts ("not contraindicated", "may not be
    avoided"). The same word counts once in a clause ("no fracture and no cord compression"). A word negated by its
    prefix counts when the other uses its rest ("unirradiated" against
    "irradiated"), and its rest is what a negating word of the other negates ("does not affect" against
    "unaffected"). A negation in a part the other leaves out ("(no pathological fracture ...)", "without delay",
    "and is not recommended for use in women with a history of ...") is not one it restates, so a faithful
    paraphrase may leave it out.
    """
    other = other | {_NEGATED_PREFIX.sub("", w) for w in other}
    count = 0
    for clause in _CLAUSE_END.split(_NOT_NEGATING.sub(" ", text)):
        matches = [
            m
            for m in _NEGATION.finditer(clause)
            if m.group(0).lower() != "against" or _ADVICE_BEFORE.search(clause[: m.start()])
        ]
        counted = False  # whether the negating word after the current one counts
        seen: set[str] = set()
        for i in range(len(matches) - 1, -1, -1):
            match = matches[i]
            before = keyword_tokens(_NEGATION.sub(" ", clause[: match.start()]))[-NEGATION_REACH:]
            after = keyword_tokens(_NEGATION.sub(" ", clause[match.end() :]))[:NEGATION_REACH]
            # what it negates: what follows, or what precedes for a word negating its subject ("X is
            # contraindicated") or one ending its clause ("pain improvement did not")
            scope = before if _NEGATES_BEFORE.fullmatch(match.group(0)) or not after else after
            between = clause[match.end() : matches[i + 1].start()] if i + 1 < len(matches) else "x"
            next_is_negation = not keyword_tokens(between)  # "not contraindicated", "may not be avoided"
            shared = len(other.intersection(scope))
            nearest = "" if not scope else scope[-1] if scope is before else scope[0]
            counted = nearest in other or shared >= 2 or (next_is_negation and counted)
            word = match.group(0).lower()
            count += counted and word not in seen
            if counted:
                seen.add(word)
        for word in keyword_tokens(_NEGATION.sub(" ", clause)):
            rest = _NEGATED_PREFIX.sub("", word)
            count += rest != word and rest in other and word not in other
    return count


def _polar_words(text: str) -> set[str]:
    """A sentence's keywords without the words that negate it ("avoid", "never", "without")."""
    return set(keyword_tokens(_NOT_NEGATING.sub(" ", _NEGATION.sub(" ", text))))


# Where a passage's text breaks into separate statements whatever its punctuation: a blank line or a list item
# ("- ", "* ", "1. "); a single line break is only the page's wrapping.
_BLOCK_BREAK = re.compile(r"\n\s*\n|\n\s*(?:[-*\u2022]|\d+[.)])\s+")
# Where a sentence turns to another statement: a semicolon, a colon, an opening bracket, "however".
_CLAUSE_BREAK = re.compile(r"[;:]\s|\s\(|,?\s+however,?\s", re.IGNORECASE)


def _table_rows(passage: str) -> tuple[str, list[str]]:
    """The passage without its Markdown tables, and each table row read with its header ("Opioid Conversion
    factor Oxycodone 1.5"): a row states its cells of what its header names, not the table's other rows."""
    rest: list[str] = []
    rows: list[str] = []
    header: list[str] | None = None
    for line in passage.splitlines():
        if not line.lstrip().startswith("|"):
            header = None
            rest.append(line)
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
            continue  # the rule under the header
        if header is None:
            header = cells
            continue
        rows.append(" ".join([*header, *cells]))
    return "\n".join(rest), rows


@lru_cache(maxsize=256)
def _statements(passage: str) -> tuple[str, ...]:
    """A passage's sentences (within its paragraphs and list items, lines unwrapped), its table rows (each with
    its header) and their clauses: "Diagnose MRONJ only when all three criteria are met: ... No history of
    radiotherapy to the jaws" holds statements that negate and others that do not."""
    text, rows = _table_rows(passage)
    sentences = list(rows)
    for block in _BLOCK_BREAK.split(text):
        block = " ".join(block.split())
        sentences += [block[start:end] for start, end in split_sentences(block)]
    return (*sentences, *(c for s in sentences for c in _CLAUSE_BREAK.split(s) if c.strip() and c != s))


MIN_COVER_GAIN = 2
"""Keywords of the sentence a further statement must add to be read as restated too (a sentence merging two)."""


def _readings(
    words: set[str], cited_passages: Sequence[str], numbers: frozenset[str] = frozenset()
) -> list[tuple[str, ...]]:
    """The ways a generated sentence can be read as restating its passages' statements (`_statements`).

    Each reading starts from a statement sharing nearly the most of its keywords (within `RESTATING_MARGIN` of
    the best; with `numbers`, the sentence's, among those stating them all when there are some: "The conversion
    factor of codeine is 1.5" restates the table row giving 1.5, not the row giving codeine's 0.15), then adds the
    statement covering the most of its keywords still unread while that adds `MIN_COVER_GAIN` or more (a sentence
    merging two). A reading must cover `MIN_RESTATED_SHARE` of the keywords; none does for a sentence the
    passages do not restate.
    """
    statements = [(s, _polar_words(s)) for passage in cited_passages for s in _statements(passage)]
    if not statements:
        return []
    firsts = statements
    if numbers:
        firsts = [(s, w) for s, w in statements if numbers <= set(numbers_in(s))] or statements
    best = max(len(words & w) for _, w in firsts)
    readings: list[tuple[str, ...]] = []
    for first, first_words in firsts:
        if len(words & first_words) < best - RESTATING_MARGIN * len(words):
            continue
        reading, unread = [first], words - first_words
        while unread:
            gain, statement, statement_words = max(((len(unread & w), s, w) for s, w in statements), key=lambda x: x[0])
            if gain < MIN_COVER_GAIN:
                break
            reading.append(statement)
            unread -= statement_words
        if len(words) - len(unread) >= MIN_RESTATED_SHARE * len(words):
            readings.append(tuple(reading))
    return readings


def polarity_unsupported(sentence: str, cited_passages: Sequence[str]) -> str | None:
    """Why a generated sentence says the opposite of its cited passages, or None.

    The other checks read numbers, drugs, doses and words, not whether the sentence affirms or denies: "Do not
    give calcium and vitamin D supplements [1]" shares every keyword with "Give calcium and vitamin D
    supplements". The sentence is unsupported when, however it is read as restating the passages' statements
    (`_readings`), it negates what they share a different number of times than those statements do (`_negations`):
    "They are indicated for ... without bone involvement" against "They are not indicated for ... without bone
    involvement". A sentence the passages do not restate is left to `wording_unsupported`. Negations are counted,
    not read: "does not affect" matches "unaffected", "seldom" matches "not often", but "the work-up should
    continue" against "a normal scan does not close the work-up" is refused (the safe side: a faithful sentence lost).
    """
    body = strip_citations(sentence)
    words = _polar_words(body)
    if not words:
        return None
    readings = _readings(words, cited_passages)
    if not readings:
        return None
    for reading in readings:
        read_words = set().union(*(_polar_words(s) for s in reading))
        if _negations(body, read_words) == sum(_negations(s, words) for s in reading):
            return None
    return "negates differently from the cited passage (not, no, never, avoid, against, without)"


def drug_unbound(sentence: str, cited_passages: Sequence[str]) -> str | None:
    """Why a generated sentence names a drug the passage statements it restates do not, or None.

    `check_sentence` asks only that the cited passages name the drug somewhere: a long summary names dozens,
    so "Granisetron is given before chemotherapy" passed against a passage giving ondansetron before chemotherapy
    and granisetron elsewhere. However the sentence is read (`_readings`), the statements it restates must name each
    drug it names when they name drugs; statements naming none ("These agents reduce skeletal-related events")
    may be said of any.
    """
    body = strip_citations(sentence)
    said = drugs_in(body)
    words = _polar_words(body)
    if not said or not words:
        return None
    readings = _readings(words, cited_passages, frozenset(numbers_in(body)))
    if not readings:
        return None
    missing: list[str] = []
    for reading in readings:
        named = {d for s in reading for d in drugs_in(s)}
        named |= {d for d in said if any(d in s.lower() for s in reading)}
        if not named or set(said) <= named:
            return None
        missing = missing or sorted(set(said) - named)
    return f"drug {missing[0]} not in the cited passage's statement it restates"


def generated_unsupported(sentence: str, cited_passages: list[str], n_passages: int) -> str | None:
    """Why a generated sentence must not be served, or None: the checks of `check_sentence`, then its wording
    (`wording_unsupported`: "No. [1]" states nothing), its polarity (`polarity_unsupported`) and its drugs
    (`drug_unbound`)."""
    result = check_sentence(sentence, cited_passages, n_passages)
    if not result.ok:
        return result.reason or "unsupported"
    return (
        wording_unsupported(sentence, cited_passages)
        or polarity_unsupported(sentence, cited_passages)
        or drug_unbound(sentence, cited_passages)
    )


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
