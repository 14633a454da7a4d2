"""The checks on an answer's numbers: does it state the quantity, dose or time the question asks, for the drug,
use and patient asked?

The evidence gate (`abstention.py`) penalises an answer these checks fail, whatever its other features say: a
question asking for a quantity (a dose, an interval, a percentage, a limit) answered with no number; a dose
question answered with no dose (`states_dose`), with doses that all belong to other drugs
(`doses_only_for_other_drugs`) or to table rows naming other drugs (`table_rows_for_other_drugs`), with no dose
per kilogram or square metre where one is asked (`states_dose_per_body_size`); a question asking how long or how
often answered with no time (`time_unanswered`; a caution, not a refusal, where another part of the question is
answered: `untimed_part`). The composer reads the asked drug's doses first (`asked_doses_first`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING

from rapidfuzz.distance import OSA

from ingest import keyword_tokens
from ingest.chunking import cells
from qa_service.asked import QUESTION_BREAK, TIME_UNITS, asked_kinds, asks_a_dose, standalone, stated_kinds
from qa_service.grounding import numbers_in
from qa_service.passage_text import is_list_item, row_as_sentence
from qa_service.population import CHILD_WORDS, question_population
from qa_service.quantities import Regimen, drugs_in, parse_quantities, read, shorthand_drugs
from qa_service.sentence_context import points_back
from qa_service.vocabulary import SPELLED_NUMBERS, drug_classes, expand_query, query_words

if TYPE_CHECKING:
    from ingest import Chunk
    from qa_service.composed import AnswerSentence, Candidate, Composed


# A question asking for a number: a word of its own (`standalone`: "dose-dense AC", "second-rate" ask none) or "%".
ASKS_QUANTITY = re.compile(
    r"(?<!\w)%|"
    + standalone(
        r"dose|doses|dosing|dosage|how much|how many|mg|gy|how long|how often|interval|duration|"
        r"frequency|schedule|fractionation|threshold|cut-?off|percent|percentage|%|rate|survival|mcg|iu|"
        r"conversion (?:factors?|ratios?)|"
        r"limit|max|maximum|dmax|(?:above|below|over|under) what|what level"
    ),
    re.IGNORECASE,
)
# A number spelled out states a quantity too ("every six months"); "one" is left out ("one of them").
_SPELLED_NUMBER = re.compile(r"\b(" + "|".join(SPELLED_NUMBERS) + r")\b", re.IGNORECASE)


# A table cell read under its header, the header naming the unit: "Starting Dose (µg): 100, 200, or 400".
_UNIT_IN_HEADER = re.compile(
    r"\s*\(([^()]{1,12})\)\s*:\s*(\d+(?:[.,]\d+)*(?:(?:\s*,\s*(?:or\s+|and\s+)?|\s*[–-]\s*|\s+(?:or|and|to)\s+)\d+(?:[.,]\d+)*)*)"
)


def with_units_from_headers(text: str) -> str:
    """The text with a table cell's unit, named in its header, written after the cell's numbers: "Starting Dose (µg):
    100, 200, or 400" reads "Starting Dose: 100, 200, or 400 µg", so the dose checks see the dose the row states.
    A bracket that is no unit of dose ("Tmax (median, minutes): 35–45") is left as it is."""

    def unit_after(match: re.Match[str]) -> str:
        unit, numbers = match.group(1).strip(), match.group(2).rstrip()
        if not any(q.kind == "dose" for q in parse_quantities(f"1 {unit}")):
            return match.group(0)
        return f": {numbers} {unit}"

    return _UNIT_IN_HEADER.sub(unit_after, text) if "(" in text else text


# Where one answer sentence ends: after its citation markers ("... 4 mg. [1] Give ..."), or a full stop.
_ANSWER_SENTENCE = re.compile(r"(?<=\])\s+(?=[A-Z])|(?<=[.!?])\s+(?=[A-Z])")


def states_dose(text: str) -> bool:
    """Whether the text states a dose (8 Gy, 120 mg, 50 MME/day, 0.1 mg/kg), as the grounding check's quantity
    reader sees it: a concentration (14 mg/dL) or a duration is not a dose. Read sentence by sentence, each
    remembered: answers quote the same corpus sentences again and again."""
    return any(_sentence_states_dose(sentence) for sentence in _ANSWER_SENTENCE.split(text))


@lru_cache(maxsize=20_000)
def _sentence_states_dose(sentence: str) -> bool:
    return any(q.kind == "dose" for q in parse_quantities(sentence))


def _drug_dose(regimen: Regimen) -> bool:
    """Whether a regimen states a drug's dose: a radiotherapy dose (Gy) is no drug's."""
    return regimen.dose is not None and regimen.dose.unit != "Gy"


def any_same_drug(found: Iterable[str | None], asked: Iterable[str]) -> bool:
    """Whether a drug found is one asked: the same name, or one name holding the other's words ("oral morphine" is
    morphine)."""
    wanted = [frozenset(a.split()) for a in asked]
    return any(f is not None and any(w <= set(f.split()) or set(f.split()) <= w for w in wanted) for f in found)


def question_drugs(text: str) -> set[str]:
    """The drugs a question names: by name or brand, through the abbreviation table (`expand_query`), and through
    clinicians' shorthand for a drug ("THC dose for cancer pain?" names dronabinol; `shorthand_drugs`), which the
    retriever reads only where the index lacks the word."""
    words = [w for w, _ in query_words(text)]
    table = shorthand_drugs()
    found = drugs_in(expand_query(text))
    for key in (*words, *(" ".join(pair) for pair in pairwise(words))):
        found |= table.get(key, frozenset())
    return found


_DOSE_WORD = re.compile(r"^(?:dose|doses|dosing|dosage|mg|mcg|iu|regimen|regimens|titration|titrate|titrating)$")
"""Words asking a drug's dose: its amount, or the schedule or titration that gives it ("palonosetron regimen?" led,
uncautioned, with a trial's dexamethasone dose before palonosetron's)."""
_DOSE_REACH = 3
"""Words between a dose word and the drug whose dose it asks ("aprepitant suspension dose", "dose of IV dex")."""


def drugs_dosed_in_question(question: str) -> frozenset[str]:
    """The drugs whose dose the question asks: those named within a few words of "dose", a unit of dose or "how much",
    or just after "how often" (`_asks_how_often`: a drug's schedule is part of its dose).

    "methylphenidate dose for opioid-induced sedation in a cancer pt on stable morphine?" asks methylphenidate's
    dose; morphine is the patient's story. Empty when no drug sits next to a dose word.
    """
    words = query_words(question)
    found: set[str] = set()
    for i, (word, _) in enumerate(words):
        if _asks_how_often(words, i):
            # The drug given comes right after: "methadone ... how often should I see him?" asks no methadone
            # schedule, nor does "how often dental review on zol?".
            j = i + 1
            while j < len(words) and words[j][0] in _SCHEDULE_ASKING:
                j += 1
            near = words[j : j + 2]
        elif _DOSE_WORD.match(word) or _asks_how_much(words, i):
            near = words[max(i - _DOSE_REACH, 0) : i + _DOSE_REACH + 1]
        else:
            continue
        written = " ".join(w for w, _ in near)  # "oral morphine", "zoledronic acid": names of two words
        found |= question_drugs(written)
    return frozenset(found)


_SCHEDULE_ASKING = frozenset(
    "is are was should shall do does can could must would will i we you he she they be it the a an "
    "give given take taken dose dosed administer administered repeat repeated redose redosed".split()
)
"""Words between "how often" and the drug whose schedule it asks: "how often should I give zometa?"."""


def _asks_how_often(words: Sequence[tuple[str, Sequence[str]]], i: int) -> bool:
    """Whether the question's `i`-th word is the "often" of a "how often" (or "how frequently") asking how often a
    drug is given: its schedule is part of its dose ("how often is diazepam given?" read alprazolam's "0.25 mg ...
    twice daily" first, from the same passage as diazepam's "5 mg twice daily")."""
    return words[i][0] in ("often", "frequently") and i > 0 and words[i - 1][0] == "how"


def _asks_how_much(words: Sequence[tuple[str, Sequence[str]]], i: int) -> bool:
    """Whether the question's `i`-th word is the "much" of a "how much" asking an amount (`_HOW_MUCH`): "how much
    diazepam?" asks a dose, "how much does it raise the risk?" does not."""
    if words[i][0] != "much" or i == 0 or words[i - 1][0] != "how":
        return False
    after = words[i + 1][0] if i + 1 < len(words) else ""
    return bool(_HOW_MUCH.match(f"how much {after}"))


# A drug the patient is on ("pt on FOLFOX wants ginger caps for nausea - what dose?", "already receiving
# denosumab") is the question's story, not the drug whose dose it asks.
_TAKEN = re.compile(r"\b(?:on|taking|receiving)\s+((?:[\w-]+\s+){0,2}[\w-]+)", re.IGNORECASE)


def drugs_taken(question: str) -> frozenset[str]:
    """The drugs the question says the patient is on, taking or receiving."""
    return frozenset().union(*(question_drugs(m.group(1)) for m in _TAKEN.finditer(question)))


# A dose the question writes after a drug it names: "low-dose tamoxifen 5 mg/d", "aspirin 81 mg daily"; not a
# laboratory value ("Ca 12 mg/dL").
_STATED_UNITS = r"mg|mcg|µg|g"
_STATED_DOSE = re.compile(rf"(?<![\w.,])(\d+(?:[.,]\d+)?)\s*({_STATED_UNITS})\b(?!\s*/\s*(?:dl|l|ml)\b)", re.IGNORECASE)
STATED_DOSE_REACH = 40
"""Characters before a dose the question states where the drug it belongs to is looked for."""
# The drug written right after a dose: "8 mg of zoledronic acid", "5 mg tamoxifen" (three words at most).
_DRUG_AFTER = re.compile(r"\s+(?:of\s+)?((?:[\w-]+\s*){1,3})")


def stated_dose_unquoted(question: str, answer: str) -> str:
    """A dose the question states of a drug it names ("tamoxifen 5 mg", "8 mg of zoledronic acid"), not one the
    patient is on (`drugs_taken`), when no sentence of the answer states that number with a unit of dose; empty
    otherwise, and empty when the answer states any of the question's doses.

    "low-dose tamoxifen 5 mg/d for 3 yrs - do ASCO or USPSTF recommend that regimen?" was answered at 0.81 with
    the guidelines' 20 mg regimens: the passages quoted never speak of the regimen asked about. The answer stands
    with caution, the dose named."""
    taken = drugs_taken(question)
    missing: list[str] = []
    for match in _STATED_DOSE.finditer(question):
        before = question[max(match.start() - STATED_DOSE_REACH, 0) : match.start()]
        after = _DRUG_AFTER.match(question, match.end())  # "8 mg of zoledronic acid"
        drugs = question_drugs(before + " " + (after.group(1) if after else "")) - taken
        if not drugs:
            continue
        number, unit = match.group(1), match.group(2)
        if re.search(rf"(?<![\d.,]){re.escape(number)}\s*(?:{_STATED_UNITS})\b", answer, re.IGNORECASE):
            return ""
        missing.append(f"{min(drugs)} {number} {unit}")
    return missing[0] if missing else ""


def maximum_unstated(question: str, sentences: Iterable[str]) -> bool:
    """Whether the question asks a maximum or limit ("max daily dose of metoclopramide?", `asked_kinds`) and no
    sentence of the answer states one (`stated_kinds`) of the drug asked where it asks about one: another drug's
    maximum ("granisetron ... to a maximum of 1 mg a dose") is none."""
    return "maximum" in asked_kinds(NOT_ASKED.sub(" ", question)) and not any(
        "maximum" in stated_kinds(text) and not drugs_unnamed(question, text) for text in sentences
    )


def drugs_unnamed(question: str, answer: str) -> frozenset[str]:
    """The drugs a question asks about (`drugs_asked`) when the text (an answer, a passage) names none of them, nor a
    class of one (`drug_classes`); empty otherwise. A drug is named by its name's main word (its longest: "zoledronic
    acid" by "zoledronic", "samarium-153" by "samarium Sm 153"), a misspelling of it within one edit ("zolendronic"),
    or the question's own word for it ("LHRH").

    The evidence gate reads a question about a drug in pregnancy as answered only by a passage naming the drug and
    pregnancy both (`population.pregnancy_unspoken`): "docetaxel in pregnancy?" was answered at 0.89 with CDC's text
    on opioids in pregnancy, which never names docetaxel. (Cautioning every answer that never names the drug asked
    was measured and not kept: session 38.)"""
    asked = drugs_asked(question)
    if not asked:
        return frozenset()
    expanded = expand_query(answer)
    said = set(keyword_tokens(expanded))
    classes = drug_classes()
    for drug in asked:
        if _main_word_said(drug, said) or any(_class_keywords()[c] <= said for c in classes.get(drug, ())):
            return frozenset()
    # A class asked ("bisphosphonate") is named by any of its drugs ("zoledronic acid").
    members = frozenset().union(*(_class_members().get(name, frozenset()) for name in asked))
    if members and any_same_drug(drugs_in(expanded), members):
        return frozenset()
    # The question's own word for the drug, said by the answer: "LHRH" names what the question's expansion calls
    # gonadotropin-releasing hormone.
    for word, _ in query_words(question):
        if any_same_drug(question_drugs(word), asked) and set(keyword_tokens(word)) & said:
            return frozenset()
    return asked


@lru_cache(maxsize=1)
def _class_members() -> dict[str, frozenset[str]]:
    """Each drug class of the packaged table (`drug_classes`) -> the drugs in it: "bisphosphonate" -> zoledronic
    acid, pamidronate, ..."""
    members: dict[str, set[str]] = {}
    for drug, classes in drug_classes().items():
        for name in classes:
            members.setdefault(name, set()).add(drug)
    return {name: frozenset(drugs) for name, drugs in members.items()}


@lru_cache(maxsize=1)
def _class_keywords() -> dict[str, frozenset[str]]:
    """Each drug class of the packaged table -> its keywords: a text names the class when it holds them all."""
    return {name: frozenset(keyword_tokens(name)) for name in _class_members()}


MAIN_WORD_EDITS = 1
"""Edits between a drug name's main word and a word of the answer that still name it ("zolendronic")."""


def _main_word_said(drug: str, said: set[str]) -> bool:
    words = [w for w in keyword_tokens(drug) if not w.isdigit()]
    if not words:
        return False
    main = max(words, key=len)
    if main in said:
        return True
    return len(main) >= MIN_FUZZY_DRUG_WORD and any(
        abs(len(w) - len(main)) <= MAIN_WORD_EDITS and OSA.distance(w, main) <= MAIN_WORD_EDITS for w in said
    )


MIN_FUZZY_DRUG_WORD = 6
"""Letters a drug name's main word needs before a misspelling of it counts as naming it."""


def drugs_asked(question: str) -> frozenset[str]:
    """The drugs a dose question is about: those named next to a dose word (`drugs_dosed_in_question`), else every
    drug it names but those the patient is on (`drugs_taken`)."""
    return drugs_dosed_in_question(question) or frozenset(question_drugs(question)) - drugs_taken(question)


def doses_only_for_other_drugs(question: str, answer: str) -> bool:
    """Whether every dose the answer states belongs to a drug the question does not name.

    "zoledronic acid dose for myeloma?" answered with "... compared 30 mg of pamidronate to 90 mg of
    pamidronate" states a dose, but not the one asked for. A dose bound to no drug ("the
    recommended dose is 4 mg", the drug named in the sentence before) may be the one asked for, and
    a question naming no drug asks about whatever the passages dose; a radiotherapy dose (Gy) is no
    drug's ("dex dose for cord compression?" answered with "give 8 Gy in a single fraction").
    """
    asked = drugs_asked(question)
    if not asked:
        return False
    regimens = [r for r in read(answer).regimens if r.dose is not None]
    if not any(_may_be_opioid(drug) for drug in asked):  # a dose in MME is an opioid's, never this drug's
        regimens = [
            replace(r, drug="opioid") if r.drug is None and r.dose is not None and r.dose.unit == "MME" else r
            for r in regimens
        ]
    # A radiotherapy dose (Gy) is no drug's: "dex dose for cord compression?" answered with "give 8 Gy".
    dosed = {r.drug for r in regimens if _drug_dose(r)}
    if regimens and not dosed:
        return True
    if any_same_drug(dosed, asked) or dosed == {None}:
        return False  # the asked drug's dose; or doses bound to none, the drug perhaps named before them
    if None not in dosed:
        return bool(dosed)
    # Beside doses of other drugs, a dose bound to none is the asked drug's only where its sentence or the one
    # before names that drug: "dexamethasone 8 mg ... (52 versus 40 mg MMD/day)" is no answer to "amitriptyline
    # dose?" because a later sentence of the answer mentions amitriptyline.
    sentences = _ANSWER_SENTENCE.split(answer)
    for i, sentence in enumerate(sentences):
        unbound = any(r.drug is None and _drug_dose(r) for r in read(sentence).regimens)
        if unbound and any_same_drug(drugs_in(expand_query(" ".join(sentences[max(i - 1, 0) : i + 1]))), asked):
            return False
    return True


@lru_cache(maxsize=4096)
def _may_be_opioid(drug: str) -> bool:
    """Whether a drug may be an opioid: its classes (`drug_classes`) name "opioid", or it has none listed. "How much
    tylenol a day?" answered with "a single dose of approximately 5-10 MME" gives an opioid's dose: morphine
    milligram equivalents measure opioids only."""
    classes = drug_classes().get(drug)
    return classes is None or "opioid" in classes


@lru_cache(maxsize=20_000)
def _dosed_drugs(text: str) -> tuple[str, ...]:
    """The drugs a sentence states a dose of (cached: the same passages answer many questions)."""
    return tuple(r.drug for r in read(text).regimens if _drug_dose(r) and r.drug is not None)


def sentence_dosed_drugs(sentence: AnswerSentence) -> tuple[str, ...]:
    """The drugs an answer sentence states a dose of, a table row read as a sentence under its header: the drug its
    label cells name, when they name one (`row_drugs`)."""
    text = sentence.text
    if sentence.table_header:  # its unit may stand in its column's header: "Starting Dose (µg): 100"
        text = with_units_from_headers(row_as_sentence(text, sentence.table_header, carried=sentence.carried))
    return row_drugs(sentence, _dosed_drugs(text))


def row_drugs(sentence: AnswerSentence, dosed: tuple[str, ...]) -> tuple[str, ...]:
    """The drugs a sentence doses (`dosed`, as read from its words), or, for a table row whose label cells name a
    drug, that drug alone: a row's doses are its own drug's. The label cells are those before the first stating a
    number; the last naming a drug, nearest the numbers, names the row's ("| Dopamine antagonists: butyrophenones |
    Haloperidol | 0.5-5 mg |": a class may hold a drug's name). NCI's equianalgesic row "| Tapentadol | 100 mg |
    Similar to morphine, 30-40 mg |" gives tapentadol's dose, not morphine's, though morphine sits beside a number."""
    if not dosed or not sentence.table_header or not sentence.text.lstrip().startswith("|"):
        return dosed
    return label_drugs(sentence.text) or dosed


def label_drugs(row: str) -> tuple[str, ...]:
    """The drugs a table row's label cells name (`label_cells`): the last cell naming any, nearest the numbers;
    empty when none does. The row may be Markdown ("| Haloperidol | 0.5-5 mg |") or as the answer says it
    ("Medication: Haloperidol; Dose: 0.5-5 mg")."""
    named: set[str] = set()
    for cell in label_cells(row):
        named = drugs_in(expand_query(cell)) or named
    return tuple(sorted(named))


def asked_doses_first(question: str, sentences: Sequence[AnswerSentence]) -> list[AnswerSentence]:
    """The answer's sentences with the dose of the drug asked about before any other drug's dose.

    "10yo retching before chemo: lorazepam dose?" answered from NCI's paediatric dosing table led with
    methylprednisolone's row, and a clinician reads the first dose first. For a question asking a drug's dose
    (`drugs_dosed_in_question`), a passage whose quoted sentences dose only other drugs, or name neither a drug
    asked nor its class ("higher-dose SBRT ... the standard of care" for "standard dose of haloperidol?"), moves
    behind the first passage dosing a drug asked about, and within a table that drug's rows come first. Nothing
    else moves: the passage holding the best sentence still leads unless it doses only other drugs or names
    neither the drug nor its class, so another use's dose of the same drug is not pulled ahead of it (the
    composer's reading order, `ExtractiveComposer.compose`).
    """
    asked = drugs_dosed_in_question(question)
    if not asked:
        return list(sentences)
    dosed = [sentence_dosed_drugs(s) for s in sentences]
    doses_asked = [any_same_drug(drugs, asked) for drugs in dosed]
    asked_sources = {s.source for s, yes in zip(sentences, doses_asked, strict=True) if yes}
    other_sources = {s.source for s, drugs in zip(sentences, dosed, strict=True) if drugs} - asked_sources
    asked_sources |= _dosing_named_drug(asked, sentences, dosed) - other_sources
    # A passage naming neither the drug asked nor its class (`drugs_unnamed`; a radiotherapy dose: "higher-dose
    # SBRT ... the standard of care") does not lead one that doses it either.
    naming = {s.source for s in sentences if not drugs_unnamed(question, s.text)}
    other_sources |= {s.source for s in sentences} - naming - asked_sources
    sources = list(dict.fromkeys(s.source for s in sentences))
    first = next((n for n, source in enumerate(sources) if source in asked_sources), None)
    if first is None:
        return list(sentences)
    ahead = sources[:first]
    order = [s for s in ahead if s not in other_sources] + [sources[first]]
    order += [s for s in ahead if s in other_sources] + sources[first + 1 :]
    rank = {source: n for n, source in enumerate(order)}
    # Within a passage, other table rows after the asked drug's rows and the passage's own sentences.
    placed = sorted(
        range(len(sentences)),
        key=lambda i: (rank[sentences[i].source], bool(sentences[i].table_header) and not doses_asked[i], i),
    )
    return _asked_product_first(question, asked, [sentences[i] for i in placed], [doses_asked[i] for i in placed])


def _dosing_named_drug(
    asked: Iterable[str], sentences: Sequence[AnswerSentence], dosed: Sequence[tuple[str, ...]]
) -> set[int]:
    """The passages whose quoted sentences name a drug asked and state a dose in a sentence naming no drug: the
    dose is the named drug's, said a sentence later ("Thalidomide is a first-generation immunomodulatory agent ...
    By using a low dose (50 mg by mouth every day), ..."). A passage dosing another drug by name is not one. The drug
    itself must be named, not only its class (`drugs_unnamed` accepts a class): a dose after a class's name may be
    the class's."""
    naming = {s.source for s in sentences if any_same_drug(drugs_in(expand_query(s.text)), asked)}
    return {
        s.source
        for s, drugs in zip(sentences, dosed, strict=True)
        if s.source in naming and not drugs and not s.table_header and states_dose(s.text) and not drugs_in(s.text)
    }


def asked_items_first(
    question: str, sentences: Sequence[AnswerSentence], candidates: Sequence[Candidate]
) -> list[AnswerSentence]:
    """Within each passage, its list items dosing a drug reordered in their own places, the asked drug's first, as a
    table's rows are (`asked_doses_first`): CCO/ASCO's "The options are: - Denosumab 120 mg ... - Pamidronate 90 mg
    ... - Zoledronic acid 4 mg ..." asked "zoledronic acid dose?" reads zoledronic acid's item first. The words
    opening the list and every other sentence stay where they are. The pipeline reorders the answer shown only: the
    evidence gate and the judge read the answer as composed (reordering what they read moved a caution)."""
    asked = drugs_dosed_in_question(question)
    out = list(sentences)
    if not asked:
        return out
    places: dict[int, list[int]] = {}
    for n, sentence in enumerate(sentences):
        chunk = _own_chunk(sentence, candidates)
        if chunk is not None and sentence_dosed_drugs(sentence) and is_list_item(chunk, sentence.position):
            places.setdefault(sentence.source, []).append(n)
    return _reordered_in_place(
        sentences, places, lambda n: not any_same_drug(sentence_dosed_drugs(sentences[n]), asked)
    )


def asked_sentences_first(
    question: str, sentences: Sequence[AnswerSentence], candidates: Sequence[Candidate]
) -> list[AnswerSentence]:
    """Within each passage, its running sentences dosing the asked drug moved just before the passage's first
    sentence dosing only other drugs, in their own order; every other sentence keeps its order after them. NCI's
    "As a result of predominant renal clearance, lenalidomide doses need to be reduced ... Uncontrolled trials have
    added clarithromycin (500 mg twice a day) to lenalidomide" asked "clarithromycin dosing?" reads clarithromycin's
    dose first; "how much diazepam?" reads "Diazepam 5 mg twice daily was given ..." before the trial's alprazolam.
    Table rows (`asked_doses_first`) and list items (`asked_items_first`) are placed by their own rules, and a
    sentence pointing back ("It was given at ...") stays after what it points to. Like `asked_items_first`, for the
    answer shown only."""
    asked = drugs_dosed_in_question(question)
    out = list(sentences)
    if not asked:
        return out
    by_source: dict[int, list[int]] = {}
    for n, sentence in enumerate(sentences):
        by_source.setdefault(sentence.source, []).append(n)
    for slots in by_source.values():
        block = [sentences[n] for n in slots]
        dosed = [sentence_dosed_drugs(s) for s in block]
        first_other = next((i for i, d in enumerate(dosed) if d and not any_same_drug(d, asked)), None)
        if first_other is None:
            continue
        moved = [
            i
            for i in range(first_other + 1, len(block))
            if any_same_drug(dosed[i], asked) and _running_sentence(block[i], candidates)
        ]
        if not moved:
            continue
        rest = [i for i in range(first_other, len(block)) if i not in moved]
        order = list(range(first_other)) + moved + rest
        for n, i in zip(slots, order, strict=True):
            out[n] = block[i]
    return out


def _running_sentence(sentence: AnswerSentence, candidates: Sequence[Candidate]) -> bool:
    """Whether an answer sentence is running text that stands alone: not a table row, not a list item, and not one
    pointing back to the sentence before it."""
    chunk = _own_chunk(sentence, candidates)
    return chunk is not None and not is_list_item(chunk, sentence.position) and not points_back(sentence.text)


def _own_chunk(sentence: AnswerSentence, candidates: Sequence[Candidate]) -> Chunk | None:
    """The passage an answer sentence is one of the own sentences of (not a table row read under its header, nor a
    sentence brought from elsewhere), or None."""
    chunk = candidates[sentence.source].chunk
    return None if sentence.table_header or not 0 <= sentence.position < len(chunk.sentences) else chunk


def _reordered_in_place(
    sentences: Sequence[AnswerSentence], places: dict[int, list[int]], key: Callable[[int], int]
) -> list[AnswerSentence]:
    """The sentences with those at each group of positions (`places`, by passage) sorted among those positions by
    `key` (stable), every other sentence where it was."""
    out = list(sentences)
    for slots in places.values():
        for n, m in zip(slots, sorted(slots, key=key), strict=True):
            out[n] = sentences[m]
    return out


def label_cells(row: str) -> list[str]:
    """A table row's label cells: those before its first cell stating a number (a row as the answer says it, "Drug:
    Tapentadol; Dose: 100 mg", is read by its cells' values)."""
    labels = []
    for cell in cells(row) if row.lstrip().startswith("|") else _SAID_CELL.findall(row):
        if states_number(cell):
            break
        labels.append(cell)
    return labels


# A table row as the answer says it: "Opioid Drug: Hydrocodone; Equianalgesic Dosing: ... 20 mg; Comments: ...".
_SAID_CELL = re.compile(r"(?:^|;\s+)[^:;]{1,60}:\s+([^;]*)")


def _asked_product_first(
    question: str, asked: frozenset[str], sentences: list[AnswerSentence], doses_asked: list[bool]
) -> list[AnswerSentence]:
    """Within each passage, the asked drug's table rows reordered in their own places: first the rows whose label
    cells name more of the question's words and of the asked drug's name ("Fentanyl nasal spray (Lazanda)" for
    "lazanda starting dose" or "fentanyl nasal spray starting dose"; "Subsys" reads as fentanyl sublingual spray),
    so a dose asked for one product of a drug is not answered first with another's (NCI's transmucosal fentanyl
    table led with the buccal film's 200 µg). Rows naming none of them more than the others keep their order."""
    wanted = set(keyword_tokens(" ".join([question, *asked])))
    places: dict[int, list[int]] = {}
    for n, (sentence, yes) in enumerate(zip(sentences, doses_asked, strict=True)):
        if yes and sentence.table_header and sentence.text.lstrip().startswith("|"):
            places.setdefault(sentence.source, []).append(n)
    return _reordered_in_place(
        sentences, places, lambda n: -len(wanted & set(keyword_tokens(" ".join(label_cells(sentences[n].text)))))
    )


def doses_not_for_children(question: str, composed: Composed, candidates: Sequence[Candidate]) -> frozenset[int]:
    """For a child's dose question ("7yo", "in kids"), the candidates dosing the asked drug whose passage never speaks
    of children, when another candidate dosing it does: the answer reads the children's dose first. "ondansetron dose
    for a 6 year old?" led with a radiotherapy table's adult 8 mg, the infants' and children's dose cited after it.
    Empty otherwise (the evidence gate refuses a child's dose no passage dosing the drug speaks of children for)."""
    if "child" not in question_population(question) or not question_asks_a_dose(question):
        return frozenset()
    dosing = sources_dosing_asked_drugs(question, composed, dosing_sources(composed))
    adult = {i for i in dosing if not CHILD_WORDS.search(candidates[i].chunk.embedding_text())}
    return frozenset(adult) if adult and adult != dosing else frozenset()


def dosing_sources(composed: Composed) -> set[int]:
    """The candidates whose quoted sentences state a dose (a table cell under a header naming its unit counts)."""
    return {s.source for s in composed.sentences if states_dose(with_units_from_headers(s.text))}


def sources_dosing_asked_drugs(question: str, composed: Composed, dosing: set[int]) -> set[int]:
    """Of the candidates whose quoted sentences state a dose (`dosing`, from `dosing_sources`), those dosing a drug
    the question asks about; all of them when the question names no drug or no quoted dose is bound to one it
    names ("8 Gy" is no drug's dose)."""
    return sources_dosing_named_drugs(question, composed, dosing) or dosing


def sources_dosing_named_drugs(question: str, composed: Composed, dosing: set[int]) -> set[int]:
    """Of the candidates whose quoted sentences state a dose, those dosing a drug the question names (empty when it
    names none, or no quoted dose is one of theirs)."""
    asked = drugs_asked(question)
    if not asked:
        return set()
    return {
        s.source
        for s in composed.sentences
        if s.source in dosing and any_same_drug(row_drugs(s, _dosed_drugs(with_units_from_headers(s.text))), asked)
    }


# A passage saying that its doses are not a use's: "These schedules are much less intensive than those used for
# bone metastases", "not indicated for extraskeletal metastases", "not for breast cancer risk reduction".
_EXCLUDED_USE = re.compile(
    r"\b(?:than\s+(?:those|that|the\s+\w+)\s+(?:used|given|recommended|needed|required)"
    r"|not\s+(?:(?:be\s+)?(?:indicated|recommended|intended|approved)\s+)?)\s*(?:for|in)\s+(?:use\s+in\s+)?"
    r"([^.;:()]{1,80})",
    re.IGNORECASE,
)


def excluded_uses(text: str) -> list[str]:
    """What a passage says its doses or its drug are not for: the words after "than those used for", "not
    indicated for", "not for" (to the clause's end)."""
    return [m.group(1) for m in _EXCLUDED_USE.finditer(text)]


def table_rows_for_other_drugs(question: str, composed: Composed) -> frozenset[str]:
    """The drugs the question names, when every answer sentence stating a number is a table row and each row
    names a drug, none of them one asked; else empty.

    A table row's numbers are its row's: "MME conversion factor for butorphanol?" answered with "| Fentanyl
    nasal spray (Lazanda) | 100 | ..." quotes another drug's value, as a dose question answered with another
    drug's dose does (`doses_only_for_other_drugs`).
    """
    asked = question_drugs(question)
    numbered = [s for s in composed.sentences if states_number(s.text)]
    if not asked or not numbered or not all(s.table_header for s in numbered):
        return frozenset()
    for sentence in numbered:
        named = drugs_in(expand_query(sentence.text))
        if not named or any_same_drug(named, asked):
            return frozenset()
    return frozenset(asked)


def states_dose_per_body_size(text: str, drugs: set[str] | frozenset[str] = frozenset()) -> bool:
    """Whether the text states a dose per kilogram or per square metre ("0.15 mg/kg", "5 mg/m²"), and, where
    `drugs` are given (those the question names), one bound to one of them or to no drug."""
    if not drugs:
        return any(q.unit in ("mg/kg", "mg/m²") for q in parse_quantities(text))
    return any(
        r.dose is not None and r.dose.unit in ("mg/kg", "mg/m²") and (r.drug is None or any_same_drug({r.drug}, drugs))
        for r in read(text).regimens
    )


USE_UNMATCHED_SHARE = 0.75
"""Share of a use's IDF weight the dose passages must miss for the dose to be another use's ("prolia dose for AI
induced bone loss", answered from a passage on treatment-induced bone loss that never says "AI", misses 0.58)."""
# The use a dose is asked for: "dose for hypercalcaemia", "dosing in renal impairment" (to the clause's end).
USE_AFTER = re.compile(r"\b(?:for|in)\s+(\S.*)", re.IGNORECASE)


def states_number(text: str) -> bool:
    """Whether the text states a number, in digits (8 Gy, 30%) or spelled out ("every six months")."""
    return bool(numbers_in(text)) or bool(_SPELLED_NUMBER.search(text))


_HOW_MUCH = re.compile(
    r"\bhow much\b(?!\s+(?:does|do|did|is|are|was|were|will|would|can|could|has|have|had|better|more|less|lower|higher"
    r"|greater|worse|further)\b)",
    re.IGNORECASE,
)

# A question about changing a dose ("how fast should I taper?", "reduce the dose by how much?") is answered by the
# change, often a share of the dose ("by 10% of the original dosage per week"), which is no dose of its own.
_CHANGES_A_DOSE = re.compile(
    r"\b(?:taper\w*|wean\w*|reduc(?:e|es|ed|ing|tion)|decreas\w*|lower(?:s|ed|ing)?|cut(?:s|ting)? (?:back|down)"
    r"|titrat\w*|escalat\w*|increas\w*)\b",
    re.IGNORECASE,
)
_SHARE = re.compile(
    r"\d(?:[.,]\d+)?\s*%|\b\d+\s*percent\b|\b(?:half|a third|a quarter|one[- ]third|one[- ]quarter)\b", re.IGNORECASE
)


def states_dose_change(asked: str, answer: str) -> bool:
    """Whether the question asks to change a dose and the answer states the change as a share of it."""
    return bool(_CHANGES_A_DOSE.search(asked) and _SHARE.search(answer))


# A dose asked per kilogram or per square metre (a child's dose, a chemotherapy dose): an adult's fixed
# dose ("morphine 30 mg orally") is not its answer.
PER_BODY_SIZE = re.compile(
    r"(?:mg|mcg|µg|ug|g|units?|iu)\s*/\s*(?:kg|m2|m²)\b|\bper (?:kg|kilogram|m2|m²|square met(?:re|er))\b",
    re.IGNORECASE,
)


# A question asking how long or how often: it wants a time or an interval, whatever else it names.
_ASKS_TIME = re.compile(rf"\bhow (?:long|often|soon|frequently)\b|\bhow many {TIME_UNITS}\b", re.IGNORECASE)


# Words that look like a request for a quantity but are not: "higher dose per fraction", "low-dose"
# name a kind of treatment, "Ca 15 mg/dL" is the patient's laboratory value, and a dose the question states
# ("got 8 Gy x1 six months ago", "on methadone 20 mg/day") is its story, unless it offers a choice between
# doses ("8 Gy x1 or 20 Gy/5?", "4 mg or 8 mg?"), which asks for one. "With the first IV dose", "before each zometa
# dose" name a time a dose is given, not its amount ("buprenorphine first dose?" still asks one).
NOT_ASKED = re.compile(
    r"\b(?:higher|lower|high|hi|low|escalated)[- ]dos(?:e|es|ing)\b"
    r"|\b(?:with|w|after|before|at|during|from|since)\s+(?:(?:the|each|every|his|her|their|a)\s+)?"
    r"(?:first|last|next|missed|previous|prior|each|every)\s+(?:[\w-]+\s+)?dos(?:e|es|ing)\b"
    r"|\d+(?:[.,]\d+)?\s*(?:mg|g|mmol|umol|µmol|mcg|ng|pg|iu|u)\s*/\s*(?:dl|l|ml)\b"
    r"|(?<![\w.,])(?<!or )(?<!vs )(?<!vs\. )(?<!versus )\d+(?:[.,]\d+)?\s*(?:mg|mcg|µg|gy|iu)\b"
    r"(?![^?;,]{0,15}?\b(?:or|vs\.?|versus|and)\s+\d)",
    re.IGNORECASE,
)


_TIME_KINDS = frozenset({"time", "interval", "cycle"})


def asks_a_quantity(question: str) -> bool:
    """Whether the question asks for a number (a dose, an amount, a time), a dose it states aside (`NOT_ASKED`)."""
    return bool(ASKS_QUANTITY.search(NOT_ASKED.sub(" ", question)))


def asks_for_a_dose(asked: str) -> bool:
    """Whether the question (without its `NOT_ASKED` phrases) asks for a dose: one of its parts (`QUESTION_BREAK`)
    names a dose or its unit, or asks "how much" of a drug the question names, and does not ask for a time ("how
    long after the last dose ...?" asks for a time, counted from the dose). "What lofexidine dose? And for how many
    days?" asks for a dose and a time; so does "what clonidine dose (mg and how often)?", whose part asking a time
    holds a clause of its own asking the dose (`_CLAUSE_BREAK`)."""
    for part in QUESTION_BREAK.split(asked):
        # A part asking a time may also ask a dose in a clause of its own: "what dose and how often?".
        for clause in _CLAUSE_BREAK.split(part) if _ASKS_TIME.search(part) else (part,):
            if _ASKS_TIME.search(clause):
                continue
            if asks_a_dose(clause) or (_HOW_MUCH.search(clause) and question_drugs(asked)):
                return True
    return False


def question_asks_a_dose(question: str) -> bool:
    """Whether the question, read without its `NOT_ASKED` phrases, asks for a dose (`asks_for_a_dose`)."""
    return asks_for_a_dose(NOT_ASKED.sub(" ", question))


_CLAUSE_BREAK = re.compile(r"\s+and\s+|\s*&\s*|\s*[()]\s*", re.IGNORECASE)
"""Where a part of a question asking a time may hold a clause asking a dose."""


# A clause that asks something: "any IV warning", "will an immunoassay pick up fentanyl", "how fast should it go".
_ASKING_CLAUSE = re.compile(
    r"^(?:what|which|how|when|who|whom|why|where|does|do|did|is|are|was|were|can|could|should|would|will|may|must"
    r"|any|anything|ok|okay|safe|need)\b",
    re.IGNORECASE,
)
_AND = re.compile(r"\s+and\s+|\s*&\s*", re.IGNORECASE)


def untimed_part(question: str, answer: str) -> str:
    """The clause asking how long or how often, when the answer states no time or interval but the question asks
    something else too ("rolapitant - how soon can it be redosed and any IV warning?"); else empty.

    Such an answer may answer the other part: it stands, flagged as partial, rather than being refused as a
    question asking only a time is (`time_unanswered`).
    """
    if not time_unanswered(question, answer):
        return ""
    clauses = [c.strip() for part in QUESTION_BREAK.split(question) for c in _AND.split(part) if c.strip()]
    timed = [c for c in clauses if asked_kinds(c) & _TIME_KINDS]
    others = [c for c in clauses if c not in timed and _ASKING_CLAUSE.match(c)]
    return timed[0] if timed and others else ""


# A time said without a number: "(muscle soreness) generally resolved within several days", "for a few weeks".
_VAGUE_TIME = re.compile(rf"\b(?:several|a few|a couple of)\s+{TIME_UNITS}\b", re.IGNORECASE)


def says_a_time_in_words(text: str) -> bool:
    """Whether the text says a time without a number ("within several days")."""
    return bool(_VAGUE_TIME.search(text))


def states_time_in_words(question: str, answer: str) -> bool:
    """Whether a question asking how long (a time) is answered with a time in words ("within several days")."""
    return "time" in asked_kinds(question) and says_a_time_in_words(answer)


def times_only_for_other_drugs(question: str, answer: str) -> bool:
    """Whether the question asks how long or how often about a drug (`drugs_asked`) and every answer sentence
    stating such a time is about other drugs: neither it nor the sentence before names the drug asked (its name, a
    misspelling, its class or the question's own word for it: `drugs_unnamed`). "how long should rolapitant be
    continued?" answered with CDC's "if opioids are continued for >=1 month" states a time, not rolapitant's. A time
    whose sentence names no drug at all may be the asked drug's, named before it in its passage."""
    kinds = asked_kinds(question) & _TIME_KINDS
    if not kinds or not drugs_asked(question):
        return False
    sentences = _ANSWER_SENTENCE.split(answer)
    timed = [" ".join(sentences[max(i - 1, 0) : i + 1]) for i, s in enumerate(sentences) if stated_kinds(s) & kinds]
    # A time whose sentence names no drug ("Wait at least 24 hours.") may be the asked drug's, named before it.
    return bool(timed) and all(drugs_unnamed(question, text) and _names_drugs(text) for text in timed)


def _names_drugs(text: str) -> bool:
    """Whether a text names a drug or a class of drugs ("opioids", "bisphosphonates")."""
    if drugs_in(expand_query(text)):
        return True
    said = set(keyword_tokens(text))
    return any(keywords <= said for keywords in _class_keywords().values())


def time_unanswered(question: str, answer: str) -> bool:
    """Whether the question asks how long or how often and the answer states no time or interval.

    "Lung-RADS 3 nodule - f/u interval?" answered with "the risk of death ... is 4.1 and 4.5 per 10,000"
    states a number, but not the interval asked for. Kinds as the composer reads them (`asked_kinds`,
    `stated_kinds`): "every 3 months", "annually", "within 1-4 weeks", "for 5 years", "twice a day"; and a
    time in words for how long ("within several days").
    """
    kinds = asked_kinds(question) & _TIME_KINDS
    return bool(kinds) and not (stated_kinds(answer) & kinds) and not states_time_in_words(question, answer)
