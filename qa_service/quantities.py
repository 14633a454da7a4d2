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
The vocabulary is in the tables below.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources

from qa_service.term_tables import GENERAL_TERMS, term_table

# ---------------------------------------------------------------------------------------------------------------
# Vocabulary

# alias (lower case, written as in the text without spaces inside) -> (canonical unit, factor to it, kind)
UNITS: dict[str, tuple[str, float, str]] = {
    **dict.fromkeys(("gy", "gray"), ("Gy", 1.0, "dose")), "cgy": ("Gy", 0.01, "dose"),
    **dict.fromkeys(("mg", "milligram", "milligrams"), ("mg", 1.0, "dose")),
    **dict.fromkeys(("g", "gram", "grams"), ("mg", 1000.0, "dose")),
    **dict.fromkeys(("mcg", "µg", "ug", "microgram", "micrograms"), ("mg", 0.001, "dose")),
    **dict.fromkeys(("mg/kg", "mg per kg"), ("mg/kg", 1.0, "dose")),
    **dict.fromkeys(("mcg/kg", "µg/kg", "ug/kg", "mcg per kg", "µg per kg"), ("mg/kg", 0.001, "dose")),
    **dict.fromkeys(("mg/m²", "mg per m²"), ("mg/m²", 1.0, "dose")), "g/m²": ("mg/m²", 1000.0, "dose"),
    **dict.fromkeys(("mme", "mmes"), ("MME", 1.0, "dose")),
    **dict.fromkeys(("iu", "international units"), ("IU", 1.0, "dose")),
    "ml": ("mL", 1.0, "volume"),
    "ml/min": ("mL/min", 1.0, "level"), "ml/min/1.73m²": ("mL/min/1.73m²", 1.0, "level"),
    "mg/dl": ("mg/dL", 1.0, "level"), "g/dl": ("g/dL", 1.0, "level"), "mg/l": ("mg/L", 1.0, "level"),
    "g/l": ("g/L", 1.0, "level"), "mg/ml": ("mg/mL", 1.0, "level"), "ng/ml": ("ng/mL", 1.0, "level"),
    "mmol/l": ("mmol/L", 1.0, "level"), **dict.fromkeys(("µmol/l", "umol/l"), ("µmol/L", 1.0, "level")),
    **dict.fromkeys(("%", "percent", "per cent"), ("%", 1.0, "percentage")),
    "kg": ("kg", 1.0, "measure"), "cm": ("mm", 10.0, "measure"), "mm": ("mm", 1.0, "measure"),
    **dict.fromkeys(("fraction", "fractions", "fx", "#"), ("fractions", 1.0, "fractions")),
}  # fmt: skip

# Time units are kept as stated: 3 months is never 12 weeks unless the text says both.
TIME_UNITS: dict[str, str] = {
    **dict.fromkeys(("minute", "minutes", "min", "mins"), "minutes"),
    **dict.fromkeys(("hour", "hours", "hr", "hrs", "h"), "hours"),
    **dict.fromkeys(("day", "days", "d"), "days"),
    **dict.fromkeys(("week", "weeks", "wk", "wks", "w"), "weeks"),
    **dict.fromkeys(("month", "months", "mo", "mos"), "months"),
    **dict.fromkeys(("year", "years", "yr", "yrs", "y"), "years"),
}  # fmt: skip

# Words that state a frequency on their own: word -> (times, every, period).
FREQUENCY_WORDS: dict[str, tuple[float, float, str]] = {
    **dict.fromkeys(("daily", "qd", "od", "nightly"), (1.0, 1.0, "days")),
    **dict.fromkeys(("bid", "bd"), (2.0, 1.0, "days")), **dict.fromkeys(("tid", "tds"), (3.0, 1.0, "days")),
    **dict.fromkeys(("qid", "qds"), (4.0, 1.0, "days")), "qod": (1.0, 2.0, "days"), "hourly": (1.0, 1.0, "hours"),
    "weekly": (1.0, 1.0, "weeks"), "fortnightly": (1.0, 2.0, "weeks"), "monthly": (1.0, 1.0, "months"),
    "quarterly": (1.0, 3.0, "months"), **dict.fromkeys(("yearly", "annually"), (1.0, 1.0, "years")),
}  # fmt: skip
# "4-weekly", "6-monthly": every 4 weeks, every 6 months.
PERIODIC_SUFFIX = {"hourly": "hours", "daily": "days", "weekly": "weeks", "monthly": "months", "yearly": "years"}
TIMES_WORDS = {"once": 1.0, "twice": 2.0, "thrice": 3.0}
# Nouns that make "a 4-week ..." an interval rather than a duration.
SCHEDULE_NOUNS = frozenset({"interval", "intervals", "schedule", "regimen", "regimens", "dosing", "cycle", "cycles"})

NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
SCALE_WORDS = {"hundred": 100, "thousand": 1000}
# "one" and "single" are numbers only before a unit or one of these: "one of the options" states no quantity.
COUNTED_NOUNS = frozenset(
    {"fraction", "fractions", "dose", "doses", "injection", "injections", "infusion", "infusions"}
)

# Routes, normalised. Abbreviations count only in capitals ("IV", not "iv"), and "IV" after "evidence" or "stage"
# is a roman numeral.
ROUTES: dict[str, str] = {
    **dict.fromkeys(("intravenous", "intravenously"), "IV"),
    **dict.fromkeys(("subcutaneous", "subcutaneously", "subcut"), "SC"),
    **dict.fromkeys(("oral", "orally", "by mouth"), "oral"),
    **dict.fromkeys(("intramuscular", "intramuscularly"), "IM"),
    **{word: base for base in ("intrathecal", "transdermal", "sublingual", "rectal", "topical")
       for word in (base, f"{base}ly")},
    "intranasal": "intranasal", "transmucosal": "transmucosal",
}  # fmt: skip
ROUTE_ABBREVIATIONS = {"IV": "IV", "SC": "SC", "SQ": "SC", "PO": "oral", "IM": "IM", "SL": "sublingual"}
DOTTED_ABBREVIATIONS = {
    "i.v.": "IV", "s.c.": "SC", "p.o.": "PO", "i.m.": "IM", "b.i.d.": "bid", "t.i.d.": "tid", "q.i.d.": "qid",
    "q.d.": "qd", "o.d.": "od",
}  # fmt: skip
ROMAN_CONTEXT = frozenset({"evidence", "level", "grade", "stage", "phase", "type", "class", "category", "section", ":"})

# Comparison words before a number -> (op, states an age). The longest phrase wins.
OPERATORS_BEFORE: dict[tuple[str, ...], tuple[str, bool]] = {
    **dict.fromkeys(
        [(">=",), ("at", "least"), ("no", "less", "than"), ("not", "less", "than"), ("a", "minimum", "of"),
         ("minimum", "of"), ("minimum",), ("no", "sooner", "than"), ("no", "earlier", "than")],
        (">=", False),
    ),
    **dict.fromkeys(
        [("<=",), ("at", "most"), ("no", "more", "than"), ("not", "more", "than"), ("up", "to"),
         ("a", "maximum", "of"), ("maximum", "of"), ("maximum",), ("max",), ("not", "exceeding"),
         ("not", "to", "exceed"), ("within",), ("no", "later", "than")],
        ("<=", False),
    ),
    **dict.fromkeys(
        [(">",), ("more", "than"), ("greater", "than"), ("higher", "than"), ("longer", "than"), ("larger", "than"),
         ("bigger", "than"), ("above",), ("over",), ("exceeding",), ("exceeds",), ("exceed",), ("beyond",),
         ("in", "excess", "of")],
        (">", False),
    ),
    **dict.fromkeys(
        [("<",), ("less", "than"), ("fewer", "than"), ("lower", "than"), ("shorter", "than"), ("smaller", "than"),
         ("below",), ("under",)],
        ("<", False),
    ),
    ("older", "than"): (">", True),
    ("younger", "than"): ("<", True),
}  # fmt: skip
OPERATORS_AFTER: dict[tuple[str, ...], tuple[str, bool]] = {
    **{("or", w): (">=", False) for w in ("more", "longer", "greater", "higher", "above", "over")},
    ("and", "above"): (">=", False), ("and", "over"): (">=", False), ("+",): (">=", False),
    ("or", "older"): (">=", True), ("and", "older"): (">=", True),
    **{("or", w): ("<=", False) for w in ("less", "fewer", "lower", "below", "under", "shorter")},
    ("and", "below"): ("<=", False), ("and", "under"): ("<=", False),
    ("or", "more", "often"): (">=", False), ("or", "less", "often"): ("<=", False),
    ("or", "younger"): ("<=", True), ("and", "younger"): ("<=", True),
}  # fmt: skip
OPERATOR_WORDS = frozenset(w for phrase in OPERATORS_BEFORE for w in phrase)
_BEFORE_NEGATIVE = OPERATOR_WORDS | {"(", "<", ">", "=", "<=", ">="}  # "below -2.0", not the "-" of "10-20"
HEDGES = frozenset({"about", "approximately", "around", "roughly", "nearly", "approx", "~", "≈"})
# Words that may stand between a comparison and its number: "a maximum dose of 50 mg".
OPERATOR_GAP = frozenset({"of", ":", "a", "the", "dose", "total"})
# "over 2 hours" after one of these is an infusion time, not a threshold.
INFUSION_WORDS = frozenset({"infused", "infusion", "given", "administered", "injected", "delivered"})
AGE_WORDS = frozenset({"aged", "age", "ages"})
INDEX_WORDS = frozenset({"day", "days", "cycle", "cycles", "fractions"})  # "days 0 to 4" numbers days

# Phrases that end a clause: a dose does not bind a frequency or a route across them. "than" counts only when no
# number follows it ("more convenient than zoledronic acid", not "more than 3 months").
CLAUSE_BREAKS: tuple[tuple[str, ...], ...] = (
    ("whereas",), ("while",), ("but",), ("however",), ("although",), ("compared", "with"), ("compared", "to"),
    ("versus",), ("vs",), ("rather", "than"), ("instead", "of"), ("unlike",), ("preferred", "to"),
    ("preferred", "over"), ("in", "preference", "to"), ("noninferior", "to"), ("non", "-", "inferior", "to"),
    ("inferior", "to"), ("superior", "to"), ("similar", "to"), ("equivalent", "to"), ("as", "well", "as"),
    ("as", "effective", "as"), ("than",),
)  # fmt: skip
_CLAUSE_BREAKS_BY_FIRST_WORD: dict[str, list[tuple[str, ...]]] = {}
for _phrase in sorted(CLAUSE_BREAKS, key=len, reverse=True):
    _CLAUSE_BREAKS_BY_FIRST_WORD.setdefault(_phrase[0], []).append(_phrase)
CLAUSE_BREAK_SYMBOLS = frozenset({";", ":", "|"})
ABBREVIATIONS_WITH_STOP = frozenset({"e.g", "i.e", "eg", "ie", "vs", "al", "approx", "fig", "no", "ref"})

# Issuing bodies whose name before a year makes the year a citation ("ESMO 2020", "CCO/ASCO 2017").
GUIDELINE_BODIES = frozenset({
    "esmo", "asco", "cco", "astro", "estro", "nice", "aaos", "msts", "mascc", "isoo", "cdc", "who", "nccn", "nci",
    "pdq", "eau", "aua", "ahrq", "uspstf", "acs", "accp", "sign", "ecog", "ebmt", "imwg", "endocrine society",
})  # fmt: skip

# A combination named by its drugs' initials: "Pd", "Rd", "VRd", "KRd", "DRd", "CyBorD", "R-CHOP", "FOLFOX".
_REGIMEN_INITIALS = re.compile(r"^(?:[A-Z][a-z]?d|(?=[A-Za-z-]*[A-Z][A-Za-z-]*[A-Z])[A-Za-z][A-Za-z-]{1,7})$")

# Drug-name endings, for drugs the packaged lexicon does not list (antiemetics, opioids, myeloma agents, ...).
DRUG_SUFFIXES: tuple[str, ...] = (
    "mab", "nib", "ronate", "ronic acid", "asone", "olone", "taxel", "platin", "rubicin", "lutamide", "relin",
    "parin", "profen", "setron", "pitant", "azepam", "azolam", "peridol", "clopramide", "perazine", "promazine",
    "methazine", "zapine", "codone", "morphone", "entadol", "coxib", "fenac", "zomib", "lidomide", "phalan",
    "phosphamide", "grastim",
    # further endings of international nonproprietary names (the WHO's INN stems)
    "ciclib", "parib", "oxetine", "traline", "triptyline", "alopram", "idone", "orphanol", "caine", "tecan",
    "rabine", "trexed", "limus", "statin", "sartan", "pril", "olol", "dipine", "xaban", "gatran", "cillin",
    "mycin", "floxacin", "cycline", "conazole", "prazole", "tidine", "glutide", "paratide", "gliflozin",
    "gliptin", "lukast", "clovir", "semide", "thiazide",
)  # fmt: skip
# Words after a bare number that do not make it a count ("4 or 12 weeks", "3 of every 4 weeks").
FUNCTION_WORDS = frozenset({
    "of", "and", "or", "to", "in", "at", "on", "the", "a", "an", "for", "with", "by", "from", "vs", "versus",
    "than", "per", "x", "is", "are", "was", "were", "be", "as", "after", "before", "then", "if", "when", "that",
    "this", "these", "each", "every", "until", "during", "over", "under", "within", "into", "nor", "but",
})  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# What a reading holds


@dataclass(frozen=True)
class Quantity:
    """One stated quantity: a value or range in a normalised unit, what it measures and how it is compared.

    `kind` is dose, level, volume, measure, percentage, interval, cycle ("of every 4 weeks"), time, age, fractions,
    count, index (day 3), repeat (x5) or number (a bare number). `op` is "=", ">", ">=", "<" or "<=". An interval
    is `times` administrations every `low`..`high` `unit`. A dose in Gy keeps its `role` ("total", "per fraction",
    or "" when the text does not say) and `fractions`. `numbers` are the numbers as written, each with its value
    and the factor that converts it to `unit`; `text` is the quantity as written, comparison included.
    """

    kind: str
    low: float
    high: float
    unit: str = ""
    op: str = "="
    text: str = ""
    times: tuple[float, float] = (1.0, 1.0)
    role: str = ""
    fractions: float | None = None
    numbers: tuple[tuple[str, float, float], ...] = ()
    start: int = 0


@dataclass
class Regimen:
    """A dose and what its clause binds to it: the drug, the routes, the intervals, the timing (durations such as
    "over 15 minutes" or "for 2 days" and days such as "on day 3" after the dose) and bare numbers."""

    drug: str | None = None
    dose: Quantity | None = None
    intervals: list[Quantity] = field(default_factory=list)
    timing: list[Quantity] = field(default_factory=list)
    routes: set[str] = field(default_factory=set)
    values: list[Quantity] = field(default_factory=list)
    start: int = 0
    drug_routes: set[str] = field(default_factory=set)  # stated before the dose: "subcutaneous granisetron, 5 mg"


@dataclass
class Reading:
    """What `read` finds in a text. `free` are the quantities no regimen binds."""

    quantities: list[Quantity] = field(default_factory=list)
    regimens: list[Regimen] = field(default_factory=list)
    free: list[Quantity] = field(default_factory=list)
    drugs: set[str] = field(default_factory=set)
    identifiers: dict[str, int] = field(default_factory=dict)  # name -> where it starts
    citations: dict[tuple[str, int], int] = field(default_factory=dict)  # (body, year) -> where it starts
    # per sentence: the drugs it names, the routes it states, its quantities
    sentences: list[tuple[frozenset[str], frozenset[str], list[Quantity]]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------------
# Public functions


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


def total_dose(q: Quantity) -> float | None:
    """The whole course of a dose in Gy when the text gives it (8 Gy x 1 -> 8; 5 x 4 Gy -> 20), else None."""
    if q.role == "per fraction":
        return q.low * q.fractions if q.fractions is not None else None
    if q.role == "total" or q.fractions == 1:
        return q.low
    return None


def dose_per_fraction(q: Quantity) -> float | None:
    """The dose of each fraction in Gy when the text gives it (20 Gy in 5 fractions -> 4), else None."""
    if q.role == "per fraction":
        return q.low
    return q.low / q.fractions if q.fractions else None


def same(a: float, b: float) -> bool:
    """Two values agree, up to floating-point rounding."""
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def values_of(quantities: Iterable[Quantity]) -> set[float]:
    """Every value the quantities state or imply (bounds, counts, fractionation, numbers as written), rounded."""
    out: set[float] = set()
    for q in quantities:
        out.update((q.low, q.high, *q.times))
        if q.fractions is not None:
            out.add(q.fractions)
        if q.unit == "Gy":
            out.update(v for v in (total_dose(q), dose_per_fraction(q)) if v is not None)
        for _, value, factor in q.numbers:
            out.update((value, value * factor))
    return {round(v, 6) for v in out}


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


@lru_cache(maxsize=1)
def _drug_pattern() -> re.Pattern[str]:
    names = "|".join(re.escape(name) for name in drug_lexicon())
    suffixes = "|".join(re.escape(suffix) for suffix in DRUG_SUFFIXES)
    return re.compile(rf"(?<![\w-])(?:{names})(?![\w-])|\b[a-z]{{3,}}(?:{suffixes})\b")


def drug_mentions(text: str) -> list[tuple[int, int, str]]:
    """(start, end, name) of each drug the text names: the packaged lexicon plus common drug-name endings."""
    return [(m.start(), m.end(), m.group(0)) for m in _drug_pattern().finditer(text.lower())]


def drugs_in(text: str) -> set[str]:
    """Drug names mentioned in the text (lexicon plus suffix heuristics)."""
    return {name for _, _, name in drug_mentions(_normalise(text))}


# ---------------------------------------------------------------------------------------------------------------
# Tokens

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


# ---------------------------------------------------------------------------------------------------------------
# The scanner: tokens -> atoms


@dataclass
class _Atom:
    kind: str  # quantity, drug, route, ident, citation, clause (break), break (end of sentence), word, sym
    start: int
    end: int
    name: str = ""  # the word, drug, route or identifier; "hedged" on a quantity written after "about"
    quantity: Quantity | None = None
    single: bool = False  # the number is "single"


@dataclass(frozen=True)
class _Span:
    """A number or range read at some token: its bounds, the index after it and the numbers as written."""

    low: float
    high: float
    end: int
    written: tuple[tuple[str, float], ...]
    single: bool = False


_Frequency = tuple[tuple[float, float], _Span, str, int]  # (times, every, unit, index after it)


# A class of drugs a dose may belong to, read as a drug when doses are bound (never as a drug a question names):
# "patients taking higher dosages of opioids (>=50 MME/day)" doses opioids, not the naloxone named before them.
_DOSED_CLASS = re.compile(r"(?<![\w-])opioids?(?![\w-])", re.IGNORECASE)


class _Scanner:
    """Reads the tokens of one normalised text into atoms, left to right; each reader returns the next index."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        starts = [t.start for t in self.toks]
        self.drug_at: dict[int, tuple[int, str]] = {}  # first token -> (token after it, drug)
        classes = [(m.start(), m.end(), "opioid") for m in _DOSED_CLASS.finditer(text)]
        for start, end, name in sorted(drug_mentions(text) + classes):
            first, after = bisect.bisect_left(starts, start), bisect.bisect_left(starts, end)
            if first < after:
                self.drug_at[first] = (after, name)
        self.atoms: list[_Atom] = []

    def scan(self) -> list[_Atom]:
        i = 0
        while i < len(self.toks):
            if i and "\n" in self.text[self.toks[i - 1].end : self.toks[i].start] and self._line_ends_sentence(i):
                self.atoms.append(_Atom("break", self.toks[i].start, self.toks[i].start))
            if i in self.drug_at:
                after, name = self.drug_at[i]
                self._emit("drug", i, after, name=name)
                i = after
                continue
            i = self._identifier(i) or self._frequency(i) or self._quantity(i) or self._route(i) or self._other(i)
        return self.atoms

    # -- helpers ---------------------------------------------------------------------------------------------------
    def low(self, i: int) -> str:
        return self.toks[i].low if 0 <= i < len(self.toks) else ""

    def kind(self, i: int) -> str:
        return self.toks[i].kind if 0 <= i < len(self.toks) else ""

    def glued(self, i: int) -> bool:
        return 0 <= i < len(self.toks) and not self.toks[i].spaced

    def span(self, i: int, j: int) -> str:
        return self.text[self.toks[i].start : self.toks[j - 1].end]

    def _emit(self, kind: str, i: int, j: int, name: str = "") -> None:
        self.atoms.append(_Atom(kind, self.toks[i].start, self.toks[j - 1].end, name=name))

    # -- numbers and units -------------------------------------------------------------------------------------
    def number(self, i: int) -> _Span | None:
        """A number at token i: digits, a fraction ("1/2"), a negative number, number words, or "(a) single"."""
        t = self.toks[i] if 0 <= i < len(self.toks) else None
        if t is None:
            return None
        if t.kind == "num":
            fraction = self.low(i + 1) == "/" and self.kind(i + 2) == "num" and self.glued(i + 1) and self.glued(i + 2)
            if fraction and self.unit(i + 3) is None and self.low(i + 3) not in TIME_UNITS:  # "1/2", not "20 Gy/5"
                value = _value(t.text) / max(_value(self.toks[i + 2].text), 1e-9)
                return _Span(value, value, i + 3, ((self.span(i, i + 3), value),))
            value = _value(t.text)
            return _Span(value, value, i + 1, ((t.text.replace(",", ""), value),))
        if t.text == "-" and self.kind(i + 1) == "num" and self.glued(i + 1):  # "below -2.0", not the "-" of "10-20"
            if i == 0 or t.spaced or self.low(i - 1) in _BEFORE_NEGATIVE:
                value = -_value(self.toks[i + 1].text)
                return _Span(value, value, i + 2, ((f"-{self.toks[i + 1].text}", value),))
            return None
        if t.low == "single" or (t.low == "a" and self.low(i + 1) == "single"):
            j = i + 1 if t.low == "single" else i + 2
            k = j + 1 if self.low(j) == "-" else j
            if self.low(k) in COUNTED_NOUNS or self.kind(k) == "num":
                return _Span(1.0, 1.0, j, (), single=True)
            return None
        return self._number_words(i)

    def _number_words(self, i: int) -> _Span | None:
        """ "eight", "twenty-four", "one hundred and twenty"."""
        if self.low(i) not in NUMBER_WORDS:
            return None
        total, current, j = 0, 0, i
        while True:
            w = self.low(j)
            if w in NUMBER_WORDS:
                current += NUMBER_WORDS[w]
                j += 1
                if self.low(j) == "-" and self.low(j + 1) in NUMBER_WORDS and NUMBER_WORDS[w] >= 20:
                    j += 1
            elif w in SCALE_WORDS:
                current = max(current, 1) * SCALE_WORDS[w]
                total, current = (total + current, 0) if w == "thousand" else (total, current)
                j += 2 if self.low(j + 1) == "and" and self.low(j + 2) in NUMBER_WORDS else 1
            else:
                break
        value = float(total + current)
        if value == 1 and j == i + 1 and not self._counted(j) and self.low(j) not in ("to", "or"):
            return None  # "one of the options" states no quantity
        return _Span(value, value, j, ((self.span(i, j), value),))

    def _counted(self, j: int) -> bool:
        k = j + 1 if self.low(j) == "-" else j
        return self.low(k) in COUNTED_NOUNS or self.low(k) in TIME_UNITS or self.unit(k) is not None

    def unit(self, j: int) -> tuple[str, float, str, int] | None:
        """The unit starting at token j: (unit, factor, kind, index after it). The longest alias wins."""
        if j >= len(self.toks) or self.toks[j].kind == "num":
            return None
        best: tuple[str, float, str, int] | None = None
        built = ""
        for k in range(j, min(j + 7, len(self.toks))):
            tk = self.toks[k]
            if k > j and tk.spaced and not (tk.kind == "word" and self.toks[k - 1].kind == "word"):
                break
            built += (" " if k > j and tk.spaced else "") + tk.low
            if built in UNITS:
                best = (*UNITS[built], k + 1)
            elif k == j and built in TIME_UNITS:
                best = (TIME_UNITS[built], 1.0, "time", k + 1)
        return best

    def _range(self, i: int) -> _Span | None:
        """A number or a range at i: "10", "10-20", "3 to 4", "1 to <20", "between 3 and 6"."""
        if self.low(i) == "between":
            first = self.number(i + 1)
            if first and self.low(first.end) == "and" and (second := self.number(first.end + 1)):
                return _Span(first.low, second.high, second.end, first.written + second.written)
            return None
        first = self.number(i)
        if first is None or first.single:
            return first
        if self.low(first.end) == "and" and self._after_between() and (second := self.number(first.end + 1)):
            return _Span(first.low, second.high, second.end, first.written + second.written)
        sep = first.end
        if self.low(sep) == "to" or (self.low(sep) == "-" and self.kind(sep + 1) != "word"):
            k = sep + 2 if self.low(sep + 1) in ("<", ">", "<=", ">=") else sep + 1
            second = self.number(k)
            if second and not second.single and second.low >= first.low:
                return _Span(first.low, second.high, second.end, first.written + second.written)
        return first

    def _after_between(self) -> bool:
        """ "between" opened one of the last few words: "between the ages of 10 and 19 years"."""
        for atom in reversed(self.atoms[-4:]):
            if atom.kind != "word":
                return False
            if atom.name == "between":
                return True
        return False

    # -- identifiers -------------------------------------------------------------------------------------------
    def _identifier(self, i: int) -> int | None:
        """Letters and digits glued together that are not a quantity ("5-HT3", "NK-1", "CYP3A4") are names."""
        t = self.toks[i]
        if t.kind == "sym" or (not t.spaced and i and self.toks[i - 1].kind != "sym"):
            return None
        j = i + 1
        while self.glued(j) and (
            self.kind(j) != "sym" or (self.low(j) in "-/." and self.glued(j + 1) and self.kind(j + 1) != "sym")
        ):
            j += 1
        parts = self.toks[i:j]
        if not {"num", "word"} <= {p.kind for p in parts} or _glued_quantity(parts):
            return None
        self._emit("ident", i, j, name=re.sub(r"[-\s]", "", self.span(i, j).lower()))
        return j

    # -- comparisons -------------------------------------------------------------------------------------------
    def _absorb_comparison(self, start: int) -> tuple[str, bool, int]:
        """Pop a comparison phrase that ends the atoms read so far: (op, states an age, where the quantity starts)."""
        tail: list[_Atom] = []
        for atom in reversed(self.atoms[-6:]):
            if atom.kind not in ("word", "sym"):
                break
            tail.insert(0, atom)
        names = [a.name for a in tail]
        for gap in range(3):  # "a maximum dose of 50 mg": up to two words between the phrase and the number
            if gap and (len(names) < gap or names[-gap] not in OPERATOR_GAP):
                break
            head = names[: len(names) - gap]
            for size in (3, 2, 1):
                phrase = tuple(head[-size:])
                if len(head) < size or phrase not in OPERATORS_BEFORE:
                    continue
                if phrase == ("over",) and self._infusion_time(len(self.atoms) - gap - 2):
                    continue
                op, age = OPERATORS_BEFORE[phrase]
                first = self.atoms[-(size + gap)].start
                del self.atoms[-(size + gap) :]
                return op, age, first
        return "=", False, start

    def _infusion_time(self, index: int) -> bool:
        """ "over" after a route, a dose or "infused" is an infusion time ("4 mg IV over 15 minutes")."""
        if index < 0:
            return False
        before = self.atoms[index]
        return before.kind == "route" or _q(before, "dose") is not None or before.name in INFUSION_WORDS

    def _comparison_after(self, j: int) -> tuple[str, bool, int] | None:
        """ "3 months or more", "18 years or older": (op, states an age, index after it)."""
        for size in (3, 2, 1):
            phrase = tuple(self.low(j + k) for k in range(size))
            if phrase in OPERATORS_AFTER:
                return (*OPERATORS_AFTER[phrase], j + size)
        return None

    def _absorb_hedge(self) -> int | None:
        """Pop "about" or "~" before a number; returns where it started."""
        if self.atoms and self.atoms[-1].kind in ("word", "sym") and self.atoms[-1].name in HEDGES:
            return self.atoms.pop().start
        return None

    # -- frequencies -------------------------------------------------------------------------------------------
    def _frequency(self, i: int) -> int | None:
        """every 4 weeks, q4w, q3-4 weeks, 4-weekly, monthly, twice daily, bid, 3 times a day, 8 mg/d."""
        found = (
            self._every(i) or self._frequency_word(i) or self._times_per(i) or self._per_time(i) or self._periodic(i)
        )
        if found is None:
            return None
        times, every, unit, j = found
        after = j
        if self._after_dose() and (comparison := self._comparison_after(j)) is not None:  # "50 MME/day or more"
            dose = next(a for a in reversed(self.atoms) if a.kind != "route")
            if dose.quantity is not None and dose.quantity.op == "=":
                dose.quantity = replace(dose.quantity, op=comparison[0])
            after = comparison[2]
        op, _, start = self._absorb_comparison(self.toks[i].start)
        if op == "=" and after == j and (comparison := self._comparison_after(j)) is not None:  # "or more often"
            op, after = comparison[0], comparison[2]
        end = self.toks[j - 1].end
        written = tuple((text, value, 1.0) for text, value in every.written)
        q = Quantity(
            "interval", every.low, every.high, unit, op, self.text[start:end], times, numbers=written, start=start
        )
        self.atoms.append(_Atom("quantity", start, end, quantity=q))
        return after

    def _every(self, i: int) -> _Frequency | None:
        """every 4 weeks, every 3 to 4 weeks, every other day, every week, q4w, q 4 weeks, q4-6h."""
        w = self.low(i)
        if not (w == "every" or (w == "q" and self.kind(i + 1) == "num")):
            return None
        every = _Span(1.0, 1.0, i + 1, ())
        if w == "every" and self.low(i + 1) == "other":
            every = _Span(2.0, 2.0, i + 2, ())
        elif (found := self._range(i + 1)) is not None:
            every = found
        unit = TIME_UNITS.get(self.low(every.end))
        return ((1.0, 1.0), every, unit, every.end + 1) if unit else None

    def _frequency_word(self, i: int) -> _Frequency | None:
        """daily, weekly, monthly, bid, tds, qds, ..."""
        if (base := FREQUENCY_WORDS.get(self.low(i))) is None:
            return None
        times, every, unit = base
        return (times, times), _Span(every, every, i + 1, ()), unit, i + 1

    def _times_per(self, i: int) -> _Frequency | None:
        """once a week, twice daily, 3 times a day, 1-2 times/d."""
        written: tuple[tuple[str, float], ...] = ()
        if self.low(i) in TIMES_WORDS:
            times, j = (TIMES_WORDS[self.low(i)], TIMES_WORDS[self.low(i)]), i + 1
        else:
            found = self._range(i)
            if found is None or found.single or self.low(found.end) != "times":
                return None
            times, j, written = (found.low, found.high), found.end + 1, found.written
        j += 1 if self.low(j) in ("a", "per", "each", "/") else 0
        if (base := FREQUENCY_WORDS.get(self.low(j))) is not None:
            return times, _Span(base[1], base[1], j + 1, written), base[2], j + 1
        if (unit := TIME_UNITS.get(self.low(j))) is not None:
            return times, _Span(1.0, 1.0, j + 1, written), unit, j + 1
        return None

    def _per_time(self, i: int) -> _Frequency | None:
        """A rate right after a dose: 8 mg/d, 50 MME/day, 16 mg/24 h, 120 mg per day, 8 mg a day."""
        w = self.low(i)
        if w not in ("/", "per", "a", "each") or not self._after_dose():
            return None
        every = _Span(1.0, 1.0, i + 1, ())
        if w == "/" and (found := self._range(i + 1)) is not None:
            every = found
        unit = TIME_UNITS.get(self.low(every.end))
        return ((1.0, 1.0), every, unit, every.end + 1) if unit else None

    def _periodic(self, i: int) -> _Frequency | None:
        """4-weekly, 6-monthly, a 4-week interval, the 12-week regimen."""
        if self.kind(i) != "num" or (found := self._range(i)) is None or self.low(found.end) != "-":
            return None
        word = self.low(found.end + 1)
        if word in PERIODIC_SUFFIX:
            return (1.0, 1.0), found, PERIODIC_SUFFIX[word], found.end + 2
        if word in TIME_UNITS and self.low(found.end + 2) in SCHEDULE_NOUNS:
            return (1.0, 1.0), found, TIME_UNITS[word], found.end + 2
        return None

    def _after_dose(self) -> bool:
        """The last atom read is a dose, perhaps followed by its route ("2 mg orally per day")."""
        for atom in reversed(self.atoms):
            if atom.kind != "route":
                return _q(atom, "dose") is not None
        return False

    # -- quantities --------------------------------------------------------------------------------------------
    def _quantity(self, i: int) -> int | None:
        """A number or range with its unit and comparison: "8 Gy", ">= 60 mL/min", "3 months or more", "51%"."""
        found = self._range(i)
        if found is None:
            return None
        j = found.end
        unit = self.unit(j + 1 if self.low(j) == "-" and self.glued(j) and self.glued(j + 1) else j)
        if found.single:  # "a single fraction", or "single" before a number ("a single 8 Gy fraction")
            kind = "fractions" if unit and unit[2] == "fractions" else "number"
            j = unit[3] if unit and kind == "fractions" else j
            unit_name = "fractions" if kind == "fractions" else ""
            q = Quantity(kind, 1.0, 1.0, unit_name, text=self.span(i, j), start=self.toks[i].start)
            self.atoms.append(_Atom("quantity", self.toks[i].start, self.toks[j - 1].end, quantity=q, single=True))
            return j
        low, high, written = found.low, found.high, found.written
        if unit is not None:
            j = unit[3]
            second = self.number(j + 1) if low == high and self.low(j) in ("-", "to") else None
            if second is not None and second.low > low:  # "5 mg to 10 mg", "20% to 71%"
                unit2 = self.unit(second.end)
                if unit2 and unit2[0] == unit[0]:
                    high, j, written = second.high, unit2[3], written + second.written
        kind, name, factor = (unit[2], unit[0], unit[1]) if unit else ("number", "", 1.0)
        hedged = self._absorb_hedge()
        op, age, start = self._absorb_comparison(self.toks[i].start)
        start = min(start, hedged) if hedged is not None else start
        if op == "=" and (comparison := self._comparison_after(j)) is not None:
            op, age, j = comparison[0], age or comparison[1], comparison[2]
        if kind == "time":
            if (self.low(j), self.low(j + 1)) in (("of", "age"), ("-", "old")):
                age, j = True, j + 2
            elif self.low(j) == "old":
                age, j = True, j + 1
            kind = "age" if age or any(a.name in AGE_WORDS for a in self.atoms[-3:]) else kind
        if kind == "number" and op == "=" and self.atoms and _word(self.atoms[-1], *INDEX_WORDS):  # "day 3"
            kind, start = "index", self.atoms.pop().start
        end = self.toks[j - 1].end
        numbers = tuple((text, value, factor) for text, value in written)
        q = Quantity(kind, low * factor, high * factor, name, op, self.text[start:end], numbers=numbers, start=start)
        self.atoms.append(_Atom("quantity", start, end, name="hedged" if hedged is not None else "", quantity=q))
        return j

    # -- routes, words and breaks ------------------------------------------------------------------------------
    def _route(self, i: int) -> int | None:
        t = self.toks[i]
        for size in (2, 1):
            words = " ".join(self.low(i + k) for k in range(size))
            if words in ROUTES:
                self._emit("route", i, i + size, name=ROUTES[words])
                return i + size
        previous = self.atoms[-1].name if self.atoms else ""
        if t.text in ROUTE_ABBREVIATIONS and not (t.text == "IV" and previous in ROMAN_CONTEXT):
            self._emit("route", i, i + 1, name=ROUTE_ABBREVIATIONS[t.text])
            return i + 1
        return None

    def _other(self, i: int) -> int:
        for phrase in _CLAUSE_BREAKS_BY_FIRST_WORD.get(self.low(i), ()):
            if tuple(self.low(i + k) for k in range(len(phrase))) != phrase:
                continue
            if phrase == ("than",) and (self.number(i + 1) or self.low(i + 1) in OPERATOR_WORDS | HEDGES):
                continue
            self._emit("clause", i, i + len(phrase))
            return i + len(phrase)
        t = self.toks[i]
        if t.text in CLAUSE_BREAK_SYMBOLS:
            self._emit("clause", i, i + 1, name=t.text)
        elif t.text in ".!?" and self._ends_sentence(i):
            self._emit("break", i, i + 1)
        else:
            self._emit("word" if t.kind == "word" else "sym", i, i + 1, name=t.low)
        return i + 1

    def _ends_sentence(self, i: int) -> bool:
        if i + 1 >= len(self.toks) or "\n" in self.text[self.toks[i].end : self.toks[i + 1].start]:
            return True
        before, nxt = self.low(i - 1), self.toks[i + 1]
        if before in ABBREVIATIONS_WITH_STOP or (len(before) == 1 and self.low(i - 2) == "."):
            return False
        return nxt.spaced and (nxt.text[:1].isupper() or nxt.kind == "num" or nxt.text in "([")

    def _line_ends_sentence(self, i: int) -> bool:
        """A line break ends a sentence unless it wraps one (the next line goes on in lower case)."""
        return self.toks[i - 1].text in ".!?:;" or not self.toks[i].text[:1].islower()


def _glued_quantity(parts: list[_Token]) -> bool:
    """Glued forms that are quantities: 8Gy, 4mg, 1x10Gy, 5x4, 24h, 4-weekly, 12-week, 3-drug, q4w, q3-4, x5."""
    lows = [p.low for p in parts]
    if parts[0].kind != "num":
        return lows[0] in ("q", "x") and parts[1].kind == "num"
    k = 1
    while k < len(parts) and (parts[k].kind == "num" or lows[k] in ("-", "x", ".", "/")):
        k += 1
    if k == len(parts) or (lows[k - 1] == "-" and k == len(parts) - 1):
        return True
    rest = "".join(lows[k:])
    return lows[k] in TIME_UNITS or lows[k] in PERIODIC_SUFFIX or any(rest.startswith(alias) for alias in UNITS)


# ---------------------------------------------------------------------------------------------------------------
# Combining atoms


def _q(atom: _Atom | None, *kinds: str) -> Quantity | None:
    """The atom's quantity, if it is one (of one of `kinds`, when given)."""
    if atom is None or atom.kind != "quantity" or atom.quantity is None:
        return None
    return atom.quantity if not kinds or atom.quantity.kind in kinds else None


def _gy(atom: _Atom | None) -> Quantity | None:
    q = _q(atom, "dose")
    return q if q is not None and q.unit == "Gy" else None


def _word(atom: _Atom | None, *words: str) -> bool:
    return atom is not None and atom.kind in ("word", "sym") and atom.name in words


def _merge(atoms: list[_Atom], i: int, j: int, q: Quantity, text: str) -> None:
    """Replace atoms i..j-1 by one quantity atom."""
    start, end = atoms[i].start, atoms[j - 1].end
    numbers = tuple(n for a in atoms[i:j] if a.quantity for n in a.quantity.numbers)
    atoms[i:j] = [
        _Atom("quantity", start, end, quantity=replace(q, text=text[start:end], numbers=numbers, start=start))
    ]


def _radiotherapy(atoms: list[_Atom], text: str) -> None:
    """Fractionation: 1 x 8 Gy, 8 Gy in a single fraction, 20 Gy/5 fractions, a single fraction of 8 Gy, 8 Gy x 1."""
    for i in range(len(atoms)):
        if i >= len(atoms):
            break
        a, b, c = (atoms[k] if k < len(atoms) else None for k in range(i, i + 3))
        count, gy_a, gy_b, gy_c = _q(a, "fractions", "number"), _gy(a), _gy(b), _gy(c)
        of_or_x = (
            (count.kind == "fractions" and _word(b, "of")) or (count.kind == "number" and _word(b, "x"))
            if count
            else False
        )
        if count and gy_c and of_or_x:  # 10 fractions of 3 Gy, 5 x 4 Gy
            _merge(atoms, i, i + 3, replace(gy_c, role="per fraction", fractions=count.low), text)
        elif gy_a and _word(b, "in", "/") and (n := _q(c, "fractions", "number")):  # 20 Gy in 5 (fractions)
            _merge(atoms, i, i + 3, replace(gy_a, role="total", fractions=n.low), text)
        elif gy_a and _word(b, "x") and (n := _q(c, "number", "repeat", "fractions")):  # 8 Gy x 1
            _merge(atoms, i, i + 3, replace(gy_a, role="per fraction", fractions=n.low), text)
        elif a is not None and count and count.kind == "number" and gy_b:  # a single 8 Gy fraction, five 4 Gy fractions
            per = _word(c, "fraction", "fractions")
            if a.single or per:
                _merge(
                    atoms,
                    i,
                    i + (3 if per else 2),
                    replace(gy_b, role="per fraction" if per else "total", fractions=count.low),
                    text,
                )
        elif count and count.kind == "fractions" and gy_b:  # single-fraction 8 Gy
            _merge(atoms, i, i + 2, replace(gy_b, role="total", fractions=count.low), text)
        elif gy_a and gy_a.fractions is None and _word(b, "per", "each") and _word(c, "fraction"):  # 3 Gy per fraction
            _merge(atoms, i, i + 3, replace(gy_a, role="per fraction"), text)
        elif gy_a and gy_a.fractions is None and _word(b, "fraction", "fractions"):  # 3 Gy fractions
            _merge(atoms, i, i + 2, replace(gy_a, role="per fraction"), text)


def _repeats(atoms: list[_Atom], text: str) -> None:
    """ "x2 d" is 2 days; "x5" on its own is five repeats."""
    for i in range(len(atoms) - 1):
        if i + 1 < len(atoms) and _word(atoms[i], "x") and (q := _q(atoms[i + 1], "number", "time")):
            _merge(atoms, i, i + 2, replace(q, kind="repeat" if q.kind == "number" else q.kind), text)


def _citations(atoms: list[_Atom], text: str) -> None:
    """A year after an issuing body ("ESMO 2020", "CCO/ASCO 2017") is a citation, not a quantity."""
    for i, atom in enumerate(atoms):
        q = _q(atom, "number")
        if q is None or not (1990 <= q.low <= 2035 and q.low == q.high and q.low.is_integer() and q.op == "="):
            continue
        bodies: list[str] = []
        k = i - 1
        while k >= 0 and atoms[k].kind in ("word", "sym"):
            name = atoms[k].name
            if name == "society" and k >= 1 and atoms[k - 1].name == "endocrine":
                bodies.append("endocrine society")
                k -= 2
            elif name in GUIDELINE_BODIES:
                bodies.append(name)
                k -= 1
            elif name in ("/", "(", "-") and (bodies or (name == "(" and k == i - 1)):
                k -= 1
            else:
                break
        if bodies:
            atom.kind, atom.name = "citation", "|".join(bodies)


def _lists(atoms: list[_Atom], text: str) -> None:
    """ "at 4, 8 and 12 weeks": the bare numbers of a list take the unit of its last member."""
    for i, atom in enumerate(atoms):
        q = _q(atom)
        if q is None or not q.unit or q.kind == "interval" or q.fractions is not None or q.op != "=":
            continue
        factor = q.numbers[0][2] if q.numbers else 1.0
        k = i - 1
        while k >= 1 and _word(atoms[k], ",", "and", "or") and (bare := _q(atoms[k - 1], "number")) is not None:
            numbers = tuple((t, v, factor) for t, v, _ in bare.numbers)
            low, high = bare.low * factor, bare.high * factor
            atoms[k - 1].quantity = replace(q, low=low, high=high, text=bare.text, numbers=numbers, start=bare.start)
            k -= 2


def _part_of_period(atoms: list[_Atom], text: str) -> None:
    """ "3 of every 4 weeks": 3 weeks of a 4-week cycle, not a dose every 4 weeks."""
    for i in range(len(atoms) - 2):
        part = _q(atoms[i], "number")
        k = i + 2 if _word(atoms[i + 1], "of") else i + 3 if _word(atoms[i + 1], "out") else 0
        period = _q(atoms[k], "interval") if 0 < k < len(atoms) and _word(atoms[k - 1], "of") else None
        if part is not None and period is not None and period.text.lower().startswith("every"):
            atoms[i].quantity = replace(part, kind="time", unit=period.unit)
            atoms[k].quantity = replace(period, kind="cycle")


def _equivalents(atoms: list[_Atom], text: str) -> None:
    """ "every 3 months (12 weeks)", "above 14 mg/dL, about 3.5 mmol/L": the second restates the first."""
    for i in range(len(atoms) - 2):
        first, second = _q(atoms[i]), _q(atoms[i + 2])
        restated = _word(atoms[i + 1], "(") or (_word(atoms[i + 1], ",") and atoms[i + 2].name == "hedged")
        if first is None or second is None or not restated:
            continue
        if first.kind == "interval" and second.kind == "time":
            atoms[i + 2].quantity = replace(second, kind="interval", times=first.times, op=first.op)
        elif second.op == "=" and first.op != "=" and second.kind == first.kind:
            atoms[i + 2].quantity = replace(second, op=first.op)


def _counts(atoms: list[_Atom], text: str) -> None:
    """A bare number before a noun counts something: "three criteria", "two or more risk factors", "3-drug"."""
    for i, atom in enumerate(atoms[:-1]):
        q = _q(atom, "number")
        if q is None or atom.single:
            continue
        nxt = atoms[i + 1]
        noun = nxt.kind == "word" and nxt.name.isalpha() and nxt.name not in FUNCTION_WORDS
        if noun or (_word(nxt, "-") and i + 2 < len(atoms) and atoms[i + 2].kind == "word"):
            atom.quantity = replace(q, kind="count")


# ---------------------------------------------------------------------------------------------------------------
# Binding: which drug, dose, route and interval belong together


class _Binder:
    """Walks the atoms once. A regimen starts at each drug name and at each dose after a dose; the routes and
    frequencies that follow join the current regimen until the clause ends."""

    def __init__(self, atoms: list[_Atom], text: str = "") -> None:
        self.atoms = atoms
        self.text = text  # the text the atoms were read from: a regimen's initials keep their capitals there
        self.reading = Reading()
        self.current: Regimen | None = None
        self.sentence_drug: str | None = None  # the last drug named in the sentence: a later dose inherits it
        self.pending: list[_Atom] = []  # routes and frequencies written before their drug or dose ("oral aprepitant")
        self.linked: list[Regimen] = []  # "hydrocodone 5 mg and acetaminophen 325 mg taken four times a day"
        self.bound: set[int] = set()  # ids of quantities a regimen holds as its dose or interval
        self.drug_taken: set[int] = set()  # drug atoms a dose before them already used ("4 mg of zoledronic acid")
        self.sentence: tuple[set[str], set[str], list[Quantity]] = (set(), set(), [])

    def bind(self) -> Reading:
        for index, atom in enumerate(self.atoms):
            q = atom.quantity
            if atom.kind == "ident":
                self.reading.identifiers.setdefault(atom.name, atom.start)
            elif atom.kind == "citation" and q is not None:
                for body in atom.name.split("|"):
                    self.reading.citations.setdefault((body, int(q.low)), atom.start)
            elif atom.kind in ("break", "clause"):
                self.current, self.pending, self.linked = None, [], []
                if atom.kind == "break":
                    self._close_sentence()
            elif atom.kind == "drug":
                self._drug(index, atom)
            elif atom.kind == "route" or (q is not None and q.kind == "interval"):
                self._modifier(index, atom)
            elif q is not None and q.kind == "dose":
                self._dose(index, q)
            elif q is not None:
                self._other_quantity(q)
        self._close_sentence()
        for atom in self.atoms:
            if atom.kind == "quantity" and atom.quantity is not None:
                self.reading.quantities.append(atom.quantity)
                if id(atom.quantity) not in self.bound:
                    self.reading.free.append(atom.quantity)
        return self.reading

    def _close_sentence(self) -> None:
        drugs, routes, quantities = self.sentence
        self.reading.sentences.append((frozenset(drugs), frozenset(routes), quantities))
        self.sentence, self.sentence_drug = (set(), set(), []), None

    def _start(self, regimen: Regimen, index: int) -> Regimen:
        """Open a regimen; one right after "<dose> and" shares the frequency that follows with the one before."""
        previous = self.current
        joined = (
            index > 1 and _word(self.atoms[index - 1], "and") and self.atoms[index - 2].kind in ("quantity", "route")
        )
        if (
            joined
            and previous is not None
            and previous.dose is not None
            and previous.dose.unit != "Gy"
            and not previous.intervals
        ):
            self.linked = [*self.linked, previous] if previous not in self.linked else self.linked
        else:
            self.linked = []
        self.reading.regimens.append(regimen)
        self.current = regimen
        for modifier in self.pending:
            _attach(regimen, modifier, self.bound)
        self.pending = []
        return regimen

    def _drug(self, index: int, atom: _Atom) -> None:
        self.reading.drugs.add(atom.name)
        self.sentence[0].add(atom.name)
        self.sentence_drug = atom.name
        if index not in self.drug_taken:
            self._start(Regimen(drug=atom.name, start=atom.start), index)

    def _modifier(self, index: int, atom: _Atom) -> None:
        if atom.kind == "route":
            self.sentence[1].add(atom.name)
        elif atom.quantity is not None:
            self.sentence[2].append(atom.quantity)
        if _modifies_next(self.atoms, index):
            self.pending.append(atom)
        elif self.current is not None:
            for regimen in [*self.linked, self.current]:
                _attach(regimen, atom, self.bound)

    def _other_quantity(self, q: Quantity) -> None:
        self.sentence[2].append(q)
        current = self.current
        if current is None:
            return
        if q.kind == "number" and current.drug is not None:
            current.values.append(q)
        elif q.kind in ("time", "index") and current.dose is not None:  # "4 mg IV over 15 minutes", "on day 3"
            for regimen in [*self.linked, current]:
                regimen.timing.append(q)
            self.bound.add(id(q))

    def _dose(self, index: int, q: Quantity) -> None:
        self.sentence[2].append(q)
        self.bound.add(id(q))
        following = _drug_right_after(self.atoms, index)
        current = self.current
        if q.unit == "Gy":  # a radiation dose belongs to no drug
            self._start(Regimen(dose=q, start=q.start), index)
        elif following is not None:
            self.drug_taken.add(following)
            self._start(Regimen(drug=self.atoms[following].name, dose=q, start=q.start), index)
        elif current is not None and current.dose is None and current.drug is not None:
            current.dose = q
            for modifier in self.pending:
                _attach(current, modifier, self.bound)
            self.pending = []
        elif (regimen_name := self._regimen_named_before(index)) is not None:
            self._start(Regimen(drug=regimen_name, dose=q, start=q.start), index)
        else:
            drug = current.drug if current is not None else self.sentence_drug
            regimen = self._start(Regimen(drug=drug, dose=q, start=q.start), index)
            if current is not None and current.drug == drug:  # "subcutaneous granisetron, 5 mg or 10 mg"
                regimen.routes |= current.drug_routes
                regimen.drug_routes |= current.drug_routes

    def _regimen_named_before(self, index: int) -> str | None:
        """The regimen a bracketed dose belongs to when a combination's initials name it: "Pd (40 mg weekly)" is the
        dose of a regimen (here its dexamethasone's), not of the drug the sentence before named."""
        if index < 2 or not _word(self.atoms[index - 1], "("):
            return None
        before = self.atoms[index - 2]
        if before.kind != "word":
            return None
        written = self.text[before.start : before.end]
        return before.name if _REGIMEN_INITIALS.match(written) else None


def _bind(atoms: list[_Atom], text: str = "") -> Reading:
    return _Binder(atoms, text).bind()


def _attach(regimen: Regimen, atom: _Atom, bound: set[int]) -> None:
    if atom.kind == "route":
        regimen.routes.add(atom.name)
        if regimen.dose is None:
            regimen.drug_routes.add(atom.name)
    elif atom.quantity is not None:
        regimen.intervals.append(atom.quantity)
        bound.add(id(atom.quantity))


def _modifies_next(atoms: list[_Atom], index: int) -> bool:
    """A route or frequency written before its drug ("monthly IV pamidronate", "oral aprepitant") or before the
    word dose ("a daily dosage of 20-30 MME") belongs to what comes next."""
    if _q(atoms[index], "interval") and index + 1 < len(atoms) and _word(atoms[index + 1], "dose", "dosage", "doses"):
        return True
    for atom in atoms[index + 1 :]:
        if atom.kind == "drug":
            return True
        if not (atom.kind == "route" or _q(atom, "interval") or _word(atom, "a", "an", "the")):
            return False
    return False


def _drug_right_after(atoms: list[_Atom], index: int) -> int | None:
    """The drug named right after a dose ("1,000 IU vitamin D", "4 mg of zoledronic acid"), if any."""
    k = index + 2 if index + 1 < len(atoms) and _word(atoms[index + 1], "of") else index + 1
    return k if k < len(atoms) and atoms[k].kind == "drug" else None
