"""Who a question is about, and whom a passage speaks of: children against adults, men against women,
pregnancy or breastfeeding, and the patient's renal function against the bands an answer states.

The evidence gate (`qa_service.abstention`) refuses an answer whose passages all speak of another population
than the question's patient, or a child's dose taken from passages that never speak of children.
"""

from __future__ import annotations

import re

from qa_service.gate_features import THRESHOLD, meets

# A patient's age and sex in a vignette ("7yo", "16 y/o", "58M") count, and so do the pronouns of a question about a
# patient.
CHILD_WORDS = re.compile(
    r"\b(?:child|children|childhood|paediatric|pediatric|adolescents?|infants?|kids?|neonat\w*|teen\w*|toddlers?"
    r"|boys?|girls?)\b",
    re.IGNORECASE,
)
_ADULT_WORDS = re.compile(r"\b(?:adults?|men|women|man|woman|elderly)\b", re.IGNORECASE)
_FEMALE_WORDS = re.compile(
    r"\b(?:women|woman|females?|postmenopausal|premenopausal|pregnan\w*|mothers?)\b", re.IGNORECASE
)
_MALE_WORDS = re.compile(r"\b(?:men|man|males?)\b", re.IGNORECASE)
_QUESTION_MALE = re.compile(r"\b(?:men|man|males?|boys?|he|his|him)\b", re.IGNORECASE)
_QUESTION_FEMALE = re.compile(
    r"\b(?:women|woman|females?|girls?|she|her|pregnan\w*|postmenopausal|premenopausal)\b", re.IGNORECASE
)
# "7yo", "16 y/o", "12-year-old": an age. "58M", "72F": an adult's age and sex. A number and a bare "m", "f" or "y"
# under 18 is read as nothing: "every 6m" and "for 5y" are durations, not a child.
_PATIENT_AGE = re.compile(
    r"\b(\d{1,3})(?:\s*-?\s*(?:yo|y/o|y\.o\.?|yrs?[- ]old|years?[- ]old)\b|(m|f|y)\b)", re.IGNORECASE
)
ADULT_AGE = 18


def question_population(question: str, *, adults: bool = False) -> frozenset[str]:
    """Who the question is about: "child" (an age under 18, or a word such as "kids"), "male", "female"; with
    `adults`, "adult" too (an age of 18 or more, or a word such as "adults", "woman").

    The gate's refusal reads no adults: a question about an adult answered from a children's passage is noted
    (`qa_service.citation_notes`), not refused (refusing it was not measured on its own; session 31)."""
    found: set[str] = set()
    for match in _PATIENT_AGE.finditer(question):
        age, suffix = int(match.group(1)), (match.group(2) or "").lower()
        if not suffix:
            found |= {"child"} if age < ADULT_AGE else {"adult"}
        elif age >= ADULT_AGE:  # "58M", "72F"; a bare "65y" may be a duration
            found |= {"male", "adult"} if suffix == "m" else {"female", "adult"} if suffix == "f" else set()
    if CHILD_WORDS.search(question):
        found.add("child")
    if _ADULT_WORDS.search(question):
        found.add("adult")
    if not adults:
        found.discard("adult")
    elif {"child", "adult"} <= found:  # "12yo boy and his 40yo father": no one age group
        found -= {"child", "adult"}
    if _QUESTION_MALE.search(question):
        found.add("male")
    if _QUESTION_FEMALE.search(question):
        found.add("female")
    if {"male", "female"} <= found:  # "58M, his mother had breast ca": no one sex
        found -= {"male", "female"}
    return frozenset(found)


_OTHERS = {"child": "adults", "adult": "children", "male": "women", "female": "men"}


def population_conflict(population: frozenset[str], text: str) -> str:
    """The population the text speaks of instead of the question's: "adults" for a question about a child when the
    text names adults and no child ("children" for an adult's), "women" for a man's question when it names women
    and no man; else empty.

    A passage silent about who it is for does not conflict: most recommendations never say "adults".
    """
    if "child" in population and _ADULT_WORDS.search(text) and not CHILD_WORDS.search(text):
        return _OTHERS["child"]
    if "adult" in population and CHILD_WORDS.search(text) and not _ADULT_WORDS.search(text):
        return _OTHERS["adult"]
    if "male" in population and _FEMALE_WORDS.search(text) and not _MALE_WORDS.search(text):
        return _OTHERS["male"]
    if "female" in population and _MALE_WORDS.search(text) and not _FEMALE_WORDS.search(text):
        return _OTHERS["female"]
    return ""


PREGNANCY_WORDS = re.compile(
    r"\b(?:pregnan\w*|breast-?fe(?:ed|d)\w*|lactat\w*|post-?partum|ante-?natal|pre-?natal|trimesters?|gestation\w*)\b",
    re.IGNORECASE,
)


def pregnancy_unspoken(question: str, texts: list[str]) -> bool:
    """Whether the question is about pregnancy or breastfeeding ("pamidronate in pregnancy?", "22 wks pregnant")
    and none of the texts (the passages an answer quotes) speaks of either: what a drug does in pregnancy is not
    what it does in general, and a passage silent on it does not answer."""
    return bool(PREGNANCY_WORDS.search(question)) and not any(PREGNANCY_WORDS.search(t) for t in texts)


# The patient's renal function as a number: "CrCl 40 mL/min", "eGFR 18", "creatinine clearance of 45".
_RENAL_MEASURE = r"(?:creatinine clearance|crcl|e?gfr|glomerular filtration rate)"
_RENAL_VALUE = re.compile(
    rf"\b{_RENAL_MEASURE}\s*(?:of|is|was|at|=|:|~|about|around|approx\.?|now)?\s*(\d+(?:\.\d+)?)", re.IGNORECASE
)
_RENAL_SENTENCE = re.compile(rf"\b{_RENAL_MEASURE}\b", re.IGNORECASE)
# A band written as a range ("creatinine clearance, 30–50: 10 mg every day"); not a range of doses or times.
_RENAL_RANGE = re.compile(
    r"(?<![\d.])(\d+(?:\.\d+)?)\s*(?:–|-|to)\s*(\d+(?:\.\d+)?)(?![\d.])"
    r"(?!\s*(?:mg|g|mcg|µg|units?|hours?|hrs?|h|minutes|mins?|days?|weeks?|months?|years?|%)\b)",
    re.IGNORECASE,
)
_ANSWER_SENTENCE = re.compile(r"(?<=[.!?])\s+|\s*\[\d+\]\s*")


def renal_value_outside(question: str, answer: str) -> str:
    """The patient's renal function as the question states it ("CrCl 40") when the answer states bands of renal
    function and the value falls in none of them; empty otherwise.

    "zoledronic acid dose, CrCl 40 mL/min?" was answered at 0.90 with "when creatinine clearance is above 60
    mL/min, the bisphosphonate dose ... need no change" and the standard 4 mg: the guideline gives no dose for
    that patient. The answer stands with caution, the bands named, so a clinician sees what it does not cover."""
    asked = _RENAL_VALUE.search(question)
    if asked is None:
        return ""
    value = float(asked.group(1))
    bands: list[str] = []
    for sentence in _ANSWER_SENTENCE.split(answer):
        if not _RENAL_SENTENCE.search(sentence):
            continue
        for match in THRESHOLD.finditer(sentence.lower()):  # "above 60", "< 30"
            if meets(value, match.group(1), float(match.group(2))):
                return ""
            bands.append(match.group(0))
        for match in _RENAL_RANGE.finditer(sentence):
            low, high = sorted((float(match.group(1)), float(match.group(2))))
            if low <= value <= high:
                return ""
            bands.append(match.group(0))
    return f"{asked.group(0).strip()} (the answer speaks of {', '.join(bands)})" if bands else ""
