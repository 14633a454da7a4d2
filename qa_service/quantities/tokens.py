"""Tokens: one spelling for dashes, comparison signs and dotted abbreviations, then numbers, words and symbols."""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa_service.quantities.words import DOTTED_ABBREVIATIONS

_TOKEN = re.compile(
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)|(?P<word>[A-Za-zµ²]+)|(?P<sym>>=|<=|\S)"
)
_NORMALISE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\[([^\]\[]*)\]\([^)]*\)"), r"\1"),  # a markdown link keeps its text
    (re.compile(r"[\u2010-\u2015\u2212]"), "-"),
    (re.compile(r"[≥⩾]"), ">="),
    (re.compile(r"[≤⩽]"), "<="),
    (re.compile(r"×"), "x"),
    (re.compile(r"μ"), "µ"),
    (re.compile(r"\u00a0"), " "),
    (re.compile(r"(?i)(?<=/)\s*m(?:2|²)(?!\w)"), "m²"),  # mg/m2
    (re.compile(r"(?i)(?<=\bper )m(?:2|²)(?!\w)"), "m²"),  # mg per m2
    (re.compile(r"(?i)(?<=1\.73)\s*m(?:2|²)(?!\w)"), "m²"),  # mL/min/1.73 m2
)
_DOTTED = re.compile(r"(?i)(?<![\w.])(" + "|".join(map(re.escape, DOTTED_ABBREVIATIONS)) + r")(?!\w)")


def _normalise(text: str) -> str:
    """One spelling for dashes, comparison signs, µ, m² and dotted abbreviations ("i.v." -> "IV")."""
    for pattern, replacement in _NORMALISE:
        text = pattern.sub(replacement, text)
    return _DOTTED.sub(lambda m: DOTTED_ABBREVIATIONS[m.group(1).lower()], text)


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "word" or "sym"
    text: str
    low: str
    start: int
    end: int
    spaced: bool  # whitespace before it


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    previous_end = 0
    for m in _TOKEN.finditer(text):
        out.append(
            _Token(m.lastgroup or "sym", m.group(0), m.group(0).lower(), m.start(), m.end(), m.start() > previous_end)
        )
        previous_end = m.end()
    return out


def _value(text: str) -> float:
    return float(text.replace(",", ""))
