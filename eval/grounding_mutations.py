"""How often the LLM composer's grounding check lets a wrong sentence through, measured without a model.

The service's own extractive answers are sentences their passages state, so each must pass the check
(`qa_service.grounding.generated_unsupported`, what a generated sentence must pass before it is served). Each is
then changed in one way a model could get it wrong, and the changed sentence must fail:

- `negation`: its polarity flipped ("should not be used" -> "should be used"; "Give ..." -> "Do not give ...");
- `number`: its first number changed to one its passages never state (a dose of 4 mg read as 8 mg);
- `unit`: its first unit after a number changed (mg -> g, weeks -> months);
- `drug`: a drug it names swapped for another drug its passages name (the dose of one given to the other).

A sentence is mutated only when the original passes, so a miss is the check's and not an artefact of reading the
answer. The answer's "Per ESMO 2020 (evidence I, A)," lead is the service's label, not the passage's words, and is
set aside. A real model makes other mistakes too (a whole paraphrase, a merged sentence); this measures the
check's floor on the mistakes that matter most, a wrong dose or the opposite advice served with a citation.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

KINDS = ("negation", "number", "unit", "drug")

_LEAD = re.compile(r"^Per [^,\[]{2,80}?(?: \([^)]*\))?, ")
_AUX_NOT = re.compile(r"\b(is|are|was|were|should|must|can|may|will|could|might|does|do|did|need)\s+not\b", re.I)
_CANNOT = re.compile(r"\bcannot\b", re.I)
_AUX = re.compile(r"\b(is|are|was|were|should|must|can|may|will|could|might)\b", re.I)
_IMPERATIVE = re.compile(
    r"^(Give|Offer|Use|Start|Consider|Stop|Continue|Add|Treat|Prescribe|Refer|Assess|Check|Repeat|Avoid|Obtain|Perform)\b"
)
_NUMBER = re.compile(r"(?<![\w.,\[])(\d+(?:\.\d+)?)(?![\w.,]?\d)")
_UNITS = {
    "mg": "g",
    "g": "mg",
    "mcg": "mg",
    "µg": "mg",
    "weeks": "months",
    "week": "month",
    "months": "weeks",
    "month": "week",
    "days": "weeks",
    "day": "week",
    "hours": "days",
    "hour": "day",
    "minutes": "hours",
    "mL": "L",
}
_UNIT_AFTER_NUMBER = re.compile(
    r"(?<=\d)(\s*)(" + "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True)) + r")\b"
)


def without_lead(sentence: str) -> str:
    """The sentence without the service's "Per ESMO 2020 (evidence I, A)," label, its first letter raised."""
    rest = _LEAD.sub("", sentence, count=1)
    return rest[:1].upper() + rest[1:] if rest != sentence else sentence


def flip_polarity(sentence: str) -> str | None:
    """The sentence saying the opposite: a negation removed, or one added after its first auxiliary verb (or
    before an imperative); None when neither applies."""
    if _AUX_NOT.search(sentence):
        return _AUX_NOT.sub(lambda m: m.group(1), sentence, count=1)
    if _CANNOT.search(sentence):
        return _CANNOT.sub("can", sentence, count=1)
    if re.search(r"\bnever\b", sentence):
        return re.sub(r"\bnever\b", "always", sentence, count=1)
    if sentence.startswith("Avoid "):
        return "Use " + sentence[len("Avoid ") :]
    if re.search(r"\bagainst\b", sentence) or re.search(r"\bnot\b|\bno\b", sentence, re.I):
        return None  # a negation a single edit does not undo cleanly ("recommends against", "no evidence")
    aux = _AUX.search(sentence)
    if aux and not re.match(r"\s+only\b", sentence[aux.end() :]):  # "must not only" is no opposite
        return sentence[: aux.end()] + " not" + sentence[aux.end() :]
    if _IMPERATIVE.match(sentence):
        return "Do not " + sentence[0].lower() + sentence[1:]
    return None


def change_number(sentence: str, stated: set[float]) -> str | None:
    """The sentence with its first number changed to one the passages never state (double, plus one, or ten
    times); None when it writes no number."""
    match = _NUMBER.search(sentence)
    if match is None:
        return None
    value = float(match.group(1))
    for new in (value * 2, value + 1, value * 10, value + 7):
        if round(new, 6) not in stated:
            text = f"{new:g}"
            return sentence[: match.start()] + text + sentence[match.end() :]
    return None


def change_unit(sentence: str) -> str | None:
    """The sentence with the first unit written after a number changed (mg -> g, weeks -> months)."""
    match = _UNIT_AFTER_NUMBER.search(sentence)
    if match is None:
        return None
    return sentence[: match.start(2)] + _UNITS[match.group(2)] + sentence[match.end(2) :]


def swap_drug(sentence: str, passages_text: str) -> str | None:
    """The sentence with a drug it names replaced by another drug its passages name; None when they name no
    other."""
    from qa_service.grounding import drugs_in

    said = drugs_in(sentence)
    others = sorted(set(drugs_in(passages_text)) - set(said))
    if not said or not others:
        return None
    drug = sorted(said)[0]
    found = re.search(re.escape(drug), sentence, re.IGNORECASE)
    if found is None:
        return None
    return sentence[: found.start()] + others[0] + sentence[found.end() :]


@dataclass
class MutationSummary:
    """What the check did with the originals and each kind of change."""

    originals: int = 0
    originals_rejected: int = 0
    mutants: Counter[str] = field(default_factory=Counter)
    caught: Counter[str] = field(default_factory=Counter)
    missed: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    rejected_originals: list[dict[str, str]] = field(default_factory=list)

    def add_original(self, sentence: str, reason: str | None) -> None:
        self.originals += 1
        if reason is not None:
            self.originals_rejected += 1
            self.rejected_originals.append({"sentence": sentence, "reason": reason})

    def add_mutant(self, kind: str, original: str, mutant: str, reason: str | None) -> None:
        self.mutants[kind] += 1
        if reason is not None:
            self.caught[kind] += 1
        else:
            self.missed.setdefault(kind, []).append({"original": original, "mutant": mutant})


def _plain_numbers(texts: Iterable[str]) -> set[float]:
    """The values of numbers as written ("1,600", "30%"); a section number ("3.1.3") is not one."""
    values: set[float] = set()
    for text in texts:
        try:
            values.add(round(float(text.replace(",", "").rstrip("%").strip()), 6))
        except ValueError:
            continue
    return values


def mutate_answer(
    summary: MutationSummary, answer: str, quotes: dict[int, str], check: Callable[[str, list[str], int], str | None]
) -> None:
    """Check every cited sentence of one extractive answer, then each of its changes (`KINDS`)."""
    from qa_service.grounding import citations_in, numbers_in, strip_citations
    from qa_service.llm import split_generated
    from qa_service.quantities import read, values_of

    n = max(quotes, default=0)
    # The answer marks a list's lead-in too ("The options are: [6] Denosumab ..."): each marked piece is one.
    pieces = [p for part in re.split(r"(?<=\])\s+(?=[A-Z])", answer) for p in split_generated(part)]
    for sentence in pieces:
        cited = [c for c in dict.fromkeys(citations_in(sentence)) if c in quotes]
        if not cited or strip_citations(sentence).rstrip().endswith(":"):
            continue  # uncited, or a list's lead-in, which states nothing on its own
        sentence = without_lead(sentence)
        known = [quotes[c] for c in cited]
        reason = check(sentence, known, n)
        summary.add_original(sentence, reason)
        if reason is not None:
            continue
        joined = " ".join(known)
        stated = values_of(read(joined).quantities) | _plain_numbers(numbers_in(joined))
        changes = {
            "negation": flip_polarity(sentence),
            "number": change_number(sentence, stated),
            "unit": change_unit(sentence),
            "drug": swap_drug(sentence, joined),
        }
        for kind, mutant in changes.items():
            if mutant is not None and mutant != sentence:
                summary.add_mutant(kind, sentence, mutant, check(mutant, known, n))


def mutate_answers(
    answers: Iterable[tuple[str, dict[int, str]]], check: Callable[[str, list[str], int], str | None] | None = None
) -> MutationSummary:
    """Run `mutate_answer` over (answer text, {citation id: passage text}) pairs with the served check."""
    from qa_service.grounding import generated_unsupported

    summary = MutationSummary()
    for answer, quotes in answers:
        mutate_answer(summary, answer, quotes, check or generated_unsupported)
    return summary


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.3f}" if whole else "-"


def to_markdown(summaries: Sequence[tuple[str, MutationSummary]]) -> str:
    """One row per index: originals wrongly rejected, then the share of each kind of change caught."""
    head = "| index | sentences | originals rejected | " + " | ".join(f"{k} caught" for k in KINDS) + " |"
    lines = [head, "|---|---:|---:|" + "---:|" * len(KINDS)]
    for name, s in summaries:
        cells = [f"{_share(s.caught[k], s.mutants[k])} ({s.caught[k]} of {s.mutants[k]})" for k in KINDS]
        lines.append(
            f"| {name} | {s.originals} | {_share(s.originals_rejected, s.originals)} | " + " | ".join(cells) + " |"
        )
    lines += [
        "",
        "sentences: cited sentences of the service's extractive answers, each checked as if a model had written it;",
        "originals rejected: those the check wrongly refuses (they are the passages' own words); caught: the share of",
        "changed sentences the check refuses (negation: polarity flipped; number: a number the passages never state;",
        "unit: mg -> g, weeks -> months; drug: swapped for another drug the passages name).",
    ]
    return "\n".join(lines)
