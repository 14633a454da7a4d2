"""Grounding checks: every number, dose and drug name in a sentence must occur in its cited passage."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:\s*%)?")
_CITATION = re.compile(r"\[(\d{1,3})\]")
# Suffixes that mark drug names the lexicon may not list.
_DRUG_SUFFIX = re.compile(
    r"\b[a-z]{3,}(?:mab|nib|ronate|ronic acid|asone|olone|taxel|platin|rubicin|lutamide|relin|parin|profen)\b"
)


@lru_cache(maxsize=1)
def drug_lexicon() -> tuple[str, ...]:
    """Known drug names, longest first, from the packaged list."""
    text = resources.files("qa_service").joinpath("data/drugs.txt").read_text(encoding="utf-8")
    names = {line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")}
    return tuple(sorted(names, key=len, reverse=True))


def numbers_in(text: str) -> list[str]:
    """Numbers as written (8, 0.5, 120, 30%), normalised for comparison (spaces and commas dropped)."""
    return [re.sub(r"[\s,]", "", m.group(0)) for m in _NUMBER.finditer(text)]


def drugs_in(text: str) -> set[str]:
    """Drug names mentioned in the text (lexicon plus suffix heuristics)."""
    lower = text.lower()
    found = {name for name in drug_lexicon() if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", lower)}
    found |= {m.group(0) for m in _DRUG_SUFFIX.finditer(lower)}
    return found


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


def check_sentence(sentence: str, cited_passages: list[str], n_passages: int) -> GroundingResult:
    """A sentence passes if it cites valid passages and each of its numbers and drug names occurs in one of them."""
    cited = citations_in(sentence)
    if not cited:
        return GroundingResult(False, "no citation")
    bad = [n for n in cited if n < 1 or n > n_passages]
    if bad:
        return GroundingResult(False, f"cites unknown passage [{bad[0]}]")
    body = strip_citations(sentence)
    support = " ".join(cited_passages)
    support_numbers = set(numbers_in(support))
    missing_numbers = [n for n in numbers_in(body) if n not in support_numbers]
    if missing_numbers:
        return GroundingResult(False, f"number {missing_numbers[0]} not in the cited passage")
    support_lower = support.lower()
    missing_drugs = sorted(d for d in drugs_in(body) if d not in support_lower)
    if missing_drugs:
        return GroundingResult(False, f"drug {missing_drugs[0]} not in the cited passage")
    return GroundingResult(True)
