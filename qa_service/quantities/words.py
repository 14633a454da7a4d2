"""The quantity reader's vocabulary: units, frequency and number words, comparison phrases, routes, clause breaks
and the words around a number that change what it states."""

from __future__ import annotations

import re

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
