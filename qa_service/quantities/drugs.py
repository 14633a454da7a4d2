"""The drugs a text names: the packaged lexicon, the generic names of the general table's brands, and common
drug-name endings."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

from qa_service.quantities.tokens import _normalise
from qa_service.quantities.words import DRUG_SUFFIXES
from qa_service.term_tables import GENERAL_TERMS, term_table


@lru_cache(maxsize=1)
def drug_lexicon() -> tuple[str, ...]:
    """Known drug names, longest first: the packaged list, and the generic name each brand of the general
    table (`abbreviations_general.tsv`, its brand-name section) stands for."""
    text = resources.files("qa_service").joinpath("data/drugs.txt").read_text(encoding="utf-8")
    names = {line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")}
    return tuple(sorted(names | _generic_names(), key=len, reverse=True))


def _generic_names() -> set[str]:
    """The first expansion of every entry in the general table's brand-name section (the generic name)."""
    return {found[0].lower() for section, _, found in term_table(GENERAL_TERMS) if "brand names" in section and found}


# A hyphen before a number in a drug's name ("radium-223", "samarium-153") is often written as a space or not at all.
_HYPHEN_BEFORE_NUMBER = re.compile(r"\\-(?=\d)")


def _squashed(name: str) -> str:
    """A drug name without the hyphens and spaces before its numbers: "radium 223" -> "radium223"."""
    return re.sub(r"[-\s]+(?=\d)", "", name)


@lru_cache(maxsize=1)
def _lexicon_names() -> dict[str, str]:
    """Each lexicon name by its `_squashed` form, to name a drug found as "radium 223" as the lexicon does."""
    return {_squashed(name): name for name in drug_lexicon()}


@lru_cache(maxsize=1)
def _drug_pattern() -> re.Pattern[str]:
    names = "|".join(_HYPHEN_BEFORE_NUMBER.sub(r"[-\\s]?", re.escape(name)) for name in drug_lexicon())
    suffixes = "|".join(re.escape(suffix) for suffix in DRUG_SUFFIXES)
    return re.compile(rf"(?<![\w-])(?:{names})(?![\w-])|\b[a-z]{{3,}}(?:{suffixes})\b")


@lru_cache(maxsize=1)
def dictionary_drug_names() -> dict[str, str]:
    """One-word drug names of a maintained drug dictionary, each with the drug it names (`data/drug_names.tsv`, made
    by `train/drug_names.py`): "clonidine", "selinexor"; "xgeva" -> "denosumab", "delta-9-thc" -> "dronabinol"."""
    text = resources.files("qa_service").joinpath("data/drug_names.tsv").read_text(encoding="utf-8")
    rows = (line.split("\t", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {row[0]: row[1] for row in rows}


DICTIONARY_WORD = r"[a-z][a-z0-9-]{3,}"
"""A name the drug dictionary may hold (`train/drug_names.py` keeps no other): one lower-case word of four characters
or more, letters, digits and hyphens ("delta-9-thc")."""
_WORD = re.compile(rf"(?<![\w-]){DICTIONARY_WORD}(?![\w-])")


def drug_mentions(text: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of each drug the text names: the packaged lexicon and common drug-name endings, then any
    other word of the drug dictionary under the name of the drug it names (`dictionary_drug_names`)."""
    lowered = text.lower()
    lexicon = _lexicon_names()
    found = [
        (m.start(), m.end(), lexicon.get(_squashed(m.group(0)), m.group(0))) for m in _drug_pattern().finditer(lowered)
    ]
    names = dictionary_drug_names()
    more = [
        (m.start(), m.end(), names[m.group(0)])
        for m in _WORD.finditer(lowered)
        if m.group(0) in names and not any(a < m.end() and m.start() < b for a, b, _ in found)
    ]
    return sorted(found + more) if more else found


@lru_cache(maxsize=1)
def shorthand_drugs() -> dict[str, frozenset[str]]:
    """The general table's shorthand that stands for drugs (`abbreviations_general.tsv`, outside its brand-name
    section, which `drug_lexicon` reads): each key with the drugs its expansions name, where an expansion is wholly
    a drug's name. "apap" -> acetaminophen and paracetamol, "thc" -> tetrahydrocannabinol (dronabinol), "folfox"
    -> its three drugs; "mme" is no drug's shorthand, though its "morphine milligram equivalent" names morphine."""
    table: dict[str, frozenset[str]] = {}
    for section, key, expansions in term_table(GENERAL_TERMS):
        if "brand names" in section:
            continue
        names = set()
        for expansion in expansions:
            text = _normalise(expansion).lower()
            found = drug_mentions(text)
            if len(found) == 1 and found[0][0] == 0 and found[0][1] == len(text):
                names.add(found[0][2])
        if names:
            table[key] = frozenset(names)
    return table


def drugs_in(text: str) -> set[str]:
    """Drug names mentioned in the text (`drug_mentions`: lexicon, drug dictionary, suffix heuristics)."""
    return {name for _, _, name in drug_mentions(_normalise(text))}
