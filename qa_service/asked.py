"""What a question asks for, and what an answer sentence states.

A question asks for kinds of thing by how it asks: "how often" an interval, "how long" a time, "which meds" a
drug, "which imaging" a test, "who should" a clinician, "side effects" a harm, "why" a reason, "how strong" a
recommendation's strength (`asked_kinds`). A sentence states kinds by the quantities it gives and what it names
(`stated_kinds`). The composer lifts sentences stating the kind asked; the evidence gate and the dose checks read
whether the answer states it. `question_parts` splits a question in several parts where its clauses meet.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from ingest import keyword_tokens
from qa_service.quantities import drug_mentions, parse_quantities
from qa_service.vocabulary import expand_query

TIME_UNITS = r"(?:minutes?|mins?|hours?|hrs?|days?|weeks?|wks?|months?|mos?|mths?|years?|yrs?)"
"""Units of time as clinicians write them ("how many wks", "how many yrs")."""


# What a question asks for, read from how it asks: "how often" wants an interval, "how long" a time, "which
# meds" a drug (a sentence naming one: "bupropion and varenicline" for "which FDA-approved cessation meds?"),
# "which imaging" a test, "who should" a clinician or service, "side effects" a harm, "why" a reason.
# Doses are left out on purpose: lifting any sentence that states a dose would let a dose for another
# drug or use answer a dose question the guidelines do not answer (the gate's dose check would pass); for the
# same reason a dose question asks no drug kind (`asked_kinds`).
ASKED_KINDS: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = (
    (
        re.compile(
            r"\bhow (?:often|frequently|regularly)\b|\bfrequency\b|(?<!confidence )(?<!credible )\binterval\b",
            re.IGNORECASE,
        ),
        frozenset({"interval", "cycle"}),
    ),
    (
        re.compile(rf"\bhow (?:long|soon)\b|\bduration\b|\bhow many {TIME_UNITS}\b", re.IGNORECASE),
        frozenset({"time", "interval"}),
    ),
    (re.compile(r"\bpercent(?:age)?\b|%|\bcut-?offs?\b|\bhow likely\b", re.IGNORECASE), frozenset({"percentage"})),
    (re.compile(r"\bwhat age\b|\bhow old\b|\bage (?:limit|range|cut)", re.IGNORECASE), frozenset({"age"})),
    (
        re.compile(
            r"\bstrength\b|\bhow strong\b|\bgrade[sd]?\b|\bcategory\b|\bevidence (?:type|level|quality|grade)\b"
            r"|\b(?:level|quality|certainty) of (?:the )?evidence\b|\bcertainty\b",
            re.IGNORECASE,
        ),
        frozenset({"strength"}),
    ),
    (
        re.compile(
            r"\b(?:which|what|any)\s+(?:[\w-]+\s+){0,3}?(?:drugs?|meds?|medications?|medicines?|agents?|antiemetics?"
            r"|analgesics?|adjuvants?|laxatives?|opioids?|antidepressants?|anticonvulsants?|antibiotics?|regimens?"
            r"|options?|alternatives?)\b",
            re.IGNORECASE,
        ),
        frozenset({"drug"}),
    ),
    (
        re.compile(
            r"\b(?:which|what|any)\s+(?:[\w-]+\s+){0,3}?(?:imaging|scans?|tests?|investigations?|modality|modalities"
            r"|work-?up)\b",
            re.IGNORECASE,
        ),
        frozenset({"test"}),
    ),
    (
        re.compile(
            r"\b(?:side[- ]?effects?|adverse (?:effects?|events?|reactions?)|toxicit(?:y|ies)|harms?|complications?"
            r"|downsides?)\b",
            re.IGNORECASE,
        ),
        frozenset({"harm"}),
    ),
    (
        re.compile(
            r"\b(?:max|maximum|maximal|ceiling|upper limit|highest (?:safe )?(?:dose|dosage|amount)"
            # not "time to max concentration", a pharmacokinetic time
            r"|how much is too much)\b(?!\s+(?:plasma\s+|serum\s+)?concentrations?\b)",
            re.IGNORECASE,
        ),
        frozenset({"maximum"}),
    ),
    (re.compile(r"\bwhy\b", re.IGNORECASE), frozenset({"reason"})),
    (
        # what a term means: "how does it define 'adolescents'?", "what counts as an SRE?", "meant by 'conditional'?"
        re.compile(
            r"\bdefin(?:e|es|ed|ing|ition|itions)\b|\bcounts? as\b|\bmeant by\b|\bwhat (?:does|do) .{1,60}? mean\b",
            re.IGNORECASE,
        ),
        frozenset({"definition"}),
    ),
    (
        # "who should assess ...?", not the WHO: the organisation is written in capitals.
        re.compile(r"\b[Ww]ho\s+(?:should|decides|assesses|needs to|must|is responsible|can|manages|leads)\b"),
        frozenset({"role"}),
    ),
)


# A sentence naming a test or an imaging modality, and one naming who takes care of the patient: what "which
# imaging first?" and "who should assess her?" ask for.
_NAMES_A_TEST = re.compile(
    r"\b(?:MRI|CT|PET(?:-CT)?|SPECT|bone scans?|scintigraphy|x-?rays?|radiographs?|radiography|ultrasound"
    r"|biops(?:y|ies)|DXA|DEXA|mammograph\w*|blood tests?|serum \w+|urine \w+ (?:tests?|testing|screens?)|ECG"
    r"|electrocardiogra\w+)\b",
    re.IGNORECASE,
)


_NAMES_A_HARM = re.compile(
    r"\b(?:side[- ]effects?|adverse|toxicit(?:y|ies)|harms?|complications?|risks? of|increased risk|associated with)\b",
    re.IGNORECASE,
)


_GIVES_A_REASON = re.compile(
    r"\b(?:because|due to|owing to|as a result|since|given that|in order to|so that|caused by|the reason)\b",
    re.IGNORECASE,
)


_NAMES_A_ROLE = re.compile(
    r"\b(?:\w*surgeons?|\w*oncologists?|physicians?|clinicians?|specialists?|multidisciplinary|team|teams"
    r"|nurses?|radiologists?|pharmacists?|physiotherapists?|psychologists?|GPs?|primary care|service|services|MDT"
    r"|tumou?r board)\b",
    re.IGNORECASE,
)


# A sentence grading a recommendation or its evidence: "(Weak recommendation, low-quality evidence)",
# "recommendation category: B; evidence type: 4", "Grade B", "very low certainty evidence".
_STATES_STRENGTH = re.compile(
    r"\b(?:strong|weak|conditional)\s+recommendation\b|\b(?:high|moderate|low|very low)[- ](?:quality|certainty)\b"
    r"|\bcertainty of (?:the )?evidence\b|\bevidence type:?\s*\d|\bcategory:?\s*[AB]\b|\bgrade [A-D]\b"
    r"|\b[A-D] recommendation\b|\blevel of evidence\b",
    re.IGNORECASE,
)


# A sentence stating a maximum or limit: "maximum dose: 10 mg/d", "up to 4-6 doses/d", "no more than 3 days".
_STATES_MAXIMUM = re.compile(
    r"\b(?:max|maximum|maximal|up to|no more than|not (?:to )?exceed\w*|ceiling|at most|no higher than|no longer than"
    r"|limit(?:ed)? to|limit of|dose limit|highest (?:dose|dosage))\b|≤|<=",
    re.IGNORECASE,
)


# A sentence defining a term: a glossary entry ("Adolescents: Young people between the ages of 10 and 19 years."; a
# term of at most five words before the colon, not a table row of "label: value" pairs) or a definition in words.
_GLOSSARY_TERM = r"([A-Z][\w'’()/-]*(?: [\w'’()/-]+){0,4}): [A-Z][^:;]*$"
_GLOSSARY_ENTRY = re.compile(_GLOSSARY_TERM)
# "refers to", not "refer to": "clinicians should refer to Recommendation 2" directs, it does not define.
_DEFINES = re.compile(rf"^{_GLOSSARY_TERM}|\b(?:defined as|refers to|is the term for)\b")


_NAMED_KINDS: tuple[tuple[str, Callable[[str], object]], ...] = (
    ("definition", _DEFINES.search),
    ("strength", _STATES_STRENGTH.search),
    ("maximum", _STATES_MAXIMUM.search),
    ("test", _NAMES_A_TEST.search),
    ("role", _NAMES_A_ROLE.search),
    ("harm", _NAMES_A_HARM.search),
    ("reason", _GIVES_A_REASON.search),
)
"""The kinds a sentence states by naming something, each with its test (a drug is read by `drug_mentions`)."""


_MAY_STATE_A_QUANTITY = re.compile(
    r"\d|\b(?:once|twice|hourly|daily|weekly|monthly|annually|yearly|two|three|four|five|six|seven|eight|nine|ten|twelve)\b",
    re.IGNORECASE,
)


def standalone(words: str) -> str:
    """A pattern for any of `words` (an alternation, one group) standing as a word of its own: not joined to another
    by a hyphen, which names something else ("dose-dense AC", "low-dose CT", "second-rate")."""
    return rf"(?<![\w]-)\b({words})\b(?!-\w)"


DOSE_QUESTION = re.compile(standalone(r"dose|doses|dosing|dosage|mg|gy|iu|mcg|units?/kg"), re.IGNORECASE)
"""A question naming a dose or its unit ("zol dose?", "how many mg?", "8 Gy or 20 Gy?"); not a word joined to another
by a hyphen, which names something else ("dose-dense AC", "low-dose CT")."""


def asks_a_dose(question: str) -> bool:
    """Whether the question names a dose or a unit of dose (`DOSE_QUESTION`)."""
    return bool(DOSE_QUESTION.search(question))


# How often an event happens is a rate, not an interval between visits: "how often does screening LDCT give a false
# positive?", "how often was grade 3+ CRS seen?", "how often do patients develop ONJ?"; but "how often do I check the
# PDMP?", "how often should I see him?", "how often do patients need a DXA?" ask for an interval, and so, read
# either way, does "how often is retreatment needed?".
_ASKS_A_RATE = re.compile(
    r"\bhow (?:often|frequently)\s+(?:(?:was|were|did|does|do|is|are|will)\s+(?!i\b|we\b|you\b)"
    r"|(?:[\w-]+\s+){0,3}?(?:gives|occurs|happens|develops|causes|leads|results|recurs|produces|occurred|happened"
    r"|developed|caused|led|resulted|recurred)\b)",
    re.IGNORECASE,
)


_ASKS_WHAT_IS_NEEDED = re.compile(
    r"\b(?:needs?|needed|should|must|ha(?:ve|s) to|requires?|recommended)\b", re.IGNORECASE
)


def asks_a_rate(question: str) -> bool:
    """Whether the question asks how often an event happens (`_ASKS_A_RATE`), not how often to do something."""
    return bool(_ASKS_A_RATE.search(question)) and not _ASKS_WHAT_IS_NEEDED.search(question)


def asked_kinds(question: str) -> frozenset[str]:
    """The kinds of quantity (`qa_service.quantities`) the question asks for: {"interval", "cycle"} for "how often",
    {"percentage"} for how often something happens (`asks_a_rate`); and "strength" for how strong a recommendation
    is, "drug" for which drug (not in a dose question), "test" for which test or imaging, "role" for who should,
    "harm" for side effects or harms, "reason" for why, "maximum" for a maximum or limit ("max daily dose?")."""
    kinds: frozenset[str] = frozenset()
    if asks_a_rate(question):
        kinds = frozenset({"percentage"})
        question = _ASKS_A_RATE.sub(" how common ", question)
    for pattern, found in ASKED_KINDS:
        if pattern.search(question):
            kinds |= found
    # A dose question's drugs are lifted by name only: a sentence naming any drug may dose another one.
    return kinds - {"drug"} if asks_a_dose(question) else kinds


@lru_cache(maxsize=20_000)
def stated_kinds(text: str) -> frozenset[str]:
    """The kinds of quantity a sentence states, "strength" where it grades a recommendation or its evidence,
    "drug", "test" and "role" where it names a drug, a test or imaging, a clinician or service, "harm" where it
    speaks of adverse effects or risks, "reason" where it gives one ("because", "due to"), "maximum" where it states
    a maximum or limit ("maximum dose: 10 mg/d", "no more than"), "definition" where it defines a term (a glossary
    entry, "defined as") (cached: the same passages answer many questions)."""
    named = {kind for kind, says in _NAMED_KINDS if says(text)}
    if drug_mentions(text):
        named.add("drug")
    if not _MAY_STATE_A_QUANTITY.search(text):
        return frozenset(named)
    return frozenset(named) | frozenset(q.kind for q in parse_quantities(text))


def kinds_stated_for(text: str, asked_words: frozenset[str]) -> frozenset[str]:
    """`stated_kinds`, less "definition" where the sentence is a glossary entry of a term the question does not name
    (a keyword of the term missing from `asked_words`): "Biopsychosocial model of pain: ..." does not define the
    "chronic pain" asked about."""
    kinds = stated_kinds(text)
    if "definition" in kinds:
        entry = _GLOSSARY_ENTRY.match(text)
        if entry and not set(keyword_tokens(entry.group(1))) <= asked_words:
            return kinds - {"definition"}
    return kinds


QUESTION_BREAK = re.compile(r"[?!;:,]+|\.(?=\s|$)|\s[-–—]+\s|\n")
"""Where a question's parts meet: "xr naltrexone: dose, dosing interval, and how many opioid-free days first?"."""


@dataclass(frozen=True)
class QuestionPart:
    """One part of a question: its keywords and the kinds of quantity it asks for ("how often" -> interval)."""

    keywords: frozenset[str]
    kinds: frozenset[str]


def question_parts(question: str) -> list[QuestionPart]:
    """The question's parts that name something, split where its clauses meet (`QUESTION_BREAK`)."""
    parts = []
    for piece in QUESTION_BREAK.split(question):
        keywords = frozenset(keyword_tokens(expand_query(piece)))
        if keywords:
            parts.append(QuestionPart(keywords, asked_kinds(piece)))
    return parts
