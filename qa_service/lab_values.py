"""Laboratory values a question states, read as the condition they name: "calcium came back at 3.0" is hypercalcaemia.

A clinician or a relative states the value ("corrected Ca 3.1 mmol/L", "her calcium is 15", "Ca 1.85") and leaves
the condition unsaid; the guideline names the condition ("hypercalcaemia of malignancy") and never that value. So
a value outside its adult reference range adds the condition's words to the analyte's word (`query_words`), for
retrieval's keywords and the gate's terms alike. The ranges are general clinical knowledge, written once for any
corpus (`qa_service/data/lab_ranges.tsv`), not from a question set. The unit is the question's when it gives one,
else the one whose plausible values hold the number (calcium 3.0 is mmol/L, 15 is mg/dL); a number no unit makes
plausible reads as nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

LOOKAHEAD = 5
"""Words after the analyte's within which its value is read ("calcium came back at 3.0")."""

_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)([a-z]*)$")
# A unit as `query_words` splits it ("mmol/L" -> "mmol", "l"), or written on the number ("3.1mmol").
_UNITS = {
    ("mmol", ""): "mmol/l",
    ("mmol", "l"): "mmol/l",
    ("mg", "dl"): "mg/dl",
    ("g", "dl"): "g/dl",
    ("g", "l"): "g/l",
}
_LINKING = frozenset(
    "of is was at came back up down to now today level levels serum corrected adjusted ionised ionized result "
    "measured went has had gone been around about only still".split()
)
"""Words that may stand between an analyte's word and its value ("calcium came back at 3.0", "Ca is now 3.2")."""
_OTHER_MEASURES = frozenset(
    "cm mm m kg mg mcg ml gy y yr yrs year years mo month months "
    "wk wks week weeks d day days h hr hrs hour hours".split()
)
"""Words after a number that make it another measure ("lung ca 3.5 cm", "ca 3 yrs ago"): no analyte's value."""
_CANCER_TOO = frozenset({"ca"})
"""Names that are shorthand for another word too ("breast ca 3 yrs ago"): their value must follow at once, written
with a decimal point or a unit ("Ca 3.1", "Ca 15 mg/dL")."""


@dataclass(frozen=True)
class LabRange:
    """One analyte in one unit: its reference range, the values plausible in that unit, and the conditions."""

    names: tuple[str, ...]  # the first is the analyte's own name ("calcium" for "ca")
    unit: str
    low: float | None
    high: float | None
    plausible: tuple[float, float]
    below: tuple[str, ...]
    above: tuple[str, ...]


def _bound(text: str) -> float | None:
    return None if text == "-" else float(text)


def _words(cell: str) -> tuple[str, ...]:
    """A cell's comma-separated words ("-" for none)."""
    return tuple(w.strip() for w in cell.split(",") if w.strip() not in ("", "-"))


@lru_cache(maxsize=1)
def lab_ranges() -> tuple[LabRange, ...]:
    """The packaged table (`data/lab_ranges.tsv`): names, unit, low, high, plausible values, below, above."""
    rows = []
    text = resources.files("qa_service").joinpath("data/lab_ranges.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        names, unit, low, high, plausible, below, above = line.split("\t")
        lo, hi = plausible.split("-")
        rows.append(
            LabRange(
                tuple(n.strip() for n in names.split(",")),
                unit,
                _bound(low),
                _bound(high),
                (float(lo), float(hi)),
                _words(below),
                _words(above),
            )
        )
    return tuple(rows)


@lru_cache(maxsize=1)
def _analyte_names() -> frozenset[str]:
    return frozenset(n for r in lab_ranges() for n in r.names)


def condition_of(name: str, value: float, unit: str | None) -> tuple[str, ...]:
    """The analyte's own name and the condition's words for this value ("ca", 3.1 -> calcium, hypercalcaemia,
    hypercalcemia); empty within the range, or when no unit makes the number plausible."""
    for r in lab_ranges():
        if name not in r.names or (unit is not None and unit != r.unit):
            continue
        if not r.plausible[0] <= value <= r.plausible[1]:
            continue  # another unit's value, or an error: calcium 12 mmol/L is no level anyone lives with
        own = r.names[:1]
        if r.high is not None and value > r.high:
            return (*own, *r.above)
        if r.low is not None and value < r.low:
            return (*own, *r.below)
        return ()
    return ()


def lab_conditions(words: list[str]) -> dict[int, tuple[str, ...]]:
    """For the question's words (lower case, as `query_words` splits them), the position of each analyte word whose
    value lies outside its range, with the analyte's name and the condition's words: ["calcium", "came", "back",
    "at", "3.0"] -> {0: ("calcium", "hypercalcaemia", "hypercalcemia")}. Only linking words may stand between the
    word and its value (`_LINKING`), at most `LOOKAHEAD` words on."""
    names = _analyte_names()
    found: dict[int, tuple[str, ...]] = {}
    for i, word in enumerate(words):
        if word not in names:
            continue
        for j in range(i + 1, min(i + 1 + LOOKAHEAD, len(words))):
            number = _NUMBER.match(words[j])
            if number is None:
                if words[j] in _LINKING:
                    continue
                break  # another word: the number further on is not this analyte's ("calcium and vitamin D 3 times")
            unit = _unit(number.group(2), words[j + 1 : j + 3])
            if unit is None and (number.group(2) or (j + 1 < len(words) and words[j + 1] in _OTHER_MEASURES)):
                break
            if word in _CANCER_TOO and (j > i + 1 or ("." not in number.group(1) and unit is None)):
                break
            condition = condition_of(word, float(number.group(1)), unit)
            if condition:
                found[i] = condition
            break
    return found


def _unit(suffix: str, after: list[str]) -> str | None:
    """The unit written on the number ("3.1mmol") or in the words after it ("mg", "dl"), when it is one we read."""
    words = [suffix, *after] if suffix else after
    if not words:
        return None
    return _UNITS.get((words[0], words[1] if len(words) > 1 else "")) or _UNITS.get((words[0], ""))
