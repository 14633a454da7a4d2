"""Quantities in guideline text: numbers with their units, what they measure, and which drug and dose they belong to.

`read(text)` turns a sentence or a passage into a `Reading`:

- every `Quantity`: a value or range in a normalised unit ("8Gy", "8 Gy" and "eight Gy" read alike; cGy, g and mcg
  are converted to Gy and mg), its kind (dose, interval, time, age, level, percentage, fractions, count, ...) and
  its comparison ("at least 60 mL/min" is `>=`, "3 months or more" is `>=`);
- the `Regimen`s: a dose bound to its drug (named before it in the sentence, or right after it: "4 mg of
  zoledronic acid") and to the routes and frequencies that follow it in the same clause, so "Denosumab 120 mg
  subcutaneously every 4 weeks" is one regimen. Radiotherapy doses keep their fractionation: "1 x 8 Gy", "8 Gy in
  a single fraction" and "a single fraction of 8 Gy" are all 8 Gy in 1 fraction; "20 Gy/5#" and "5x4 Gy" are
  20 Gy in 5;
- the drugs named, identifiers such as "5-HT3" or "NK-1", and citations such as "ESMO 2020".

Nothing is converted between time units: "every 3 months (12 weeks)" states both intervals, so both are read; a
text saying only "every 3 months" does not state "every 12 weeks".

Reading works in three passes over the text: a scanner turns tokens into atoms (numbers with units, frequencies,
drugs, routes, words, clause and sentence breaks), small passes combine atoms (fractionation, lists such as "4, 8
and 12 weeks", a quantity restated in brackets), and `_bind` groups doses, drugs, routes and intervals.
The vocabulary is in `words.py`; the three passes are in `scanner.py`, `combine.py` and `binding.py`; what a reading
holds is in `model.py`.
"""

from __future__ import annotations

from qa_service.quantities.binding import _bind
from qa_service.quantities.combine import (
    _citations,
    _counts,
    _equivalents,
    _lists,
    _part_of_period,
    _radiotherapy,
    _repeats,
)
from qa_service.quantities.drugs import dictionary_drug_names, drug_lexicon, drug_mentions, drugs_in, shorthand_drugs
from qa_service.quantities.model import Quantity, Reading, Regimen, dose_per_fraction, same, total_dose, values_of
from qa_service.quantities.scanner import _Scanner
from qa_service.quantities.tokens import _normalise
from qa_service.quantities.words import NUMBER_WORDS

__all__ = [
    "NUMBER_WORDS",
    "Quantity",
    "Reading",
    "Regimen",
    "dictionary_drug_names",
    "dose_per_fraction",
    "drug_lexicon",
    "drug_mentions",
    "drugs_in",
    "parse_quantities",
    "read",
    "same",
    "shorthand_drugs",
    "total_dose",
    "values_of",
]


def read(text: str) -> Reading:
    """Read the quantities, regimens, drugs, identifiers and citations of a text (a sentence or a passage)."""
    normalised = _normalise(text)
    atoms = _Scanner(normalised).scan()
    for combine in (_radiotherapy, _repeats, _citations, _lists, _part_of_period, _equivalents, _counts):
        combine(atoms, normalised)
    return _bind(atoms, normalised)


def parse_quantities(text: str) -> list[Quantity]:
    """Every quantity stated in the text, in order."""
    return read(text).quantities
