"""What a clinician should know about a citation before reading it as the answer: it doses another drug than
the one asked, it never names the drug asked, or it speaks of another patient.

An answer to "methadone 40 mg a day: what is that in MME?" may quote, beside methadone's conversion factor, a
myeloma regimen's "dexamethasone 40 mg": a true sentence with a correct citation, and a wrong dose if read as
the answer. The evidence gate refuses an answer whose doses *all* belong to other drugs, or whose passages *all*
speak of another population (`qa_service.abstention`); an answer that mixes them stands. Its citations then say
which passages are not about the drug, use or patient asked (`Citation.note`): "gives doses of dexamethasone, not
of methadone", "gives doses for another use than AI induced bone loss", "speaks of adults only; the question is
about a child", "does not name rolapitant" (CDC's "if opioids are continued for >=1 month" quoted for "how long
should rolapitant be continued?"). Nothing is left out or refused here: the notes decide nothing (leaving such
sentences out lost key facts of combined regimens; `docs/results/`, session 31).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from qa_service.composed import Candidate, Composed
from qa_service.dose_checks import (
    any_same_drug,
    drugs_asked,
    drugs_dosed_in_question,
    drugs_unnamed,
    sentence_dosed_drugs,
)
from qa_service.dose_uses import dose_uses
from qa_service.population import population_conflict, question_population

_PATIENT = {"adults": "a child", "children": "an adult", "women": "a male patient", "men": "a female patient"}
"""The question's patient, by the population a passage speaks of instead (`population_conflict`)."""


def citation_notes(
    question: str, composed: Composed, candidates: Sequence[Candidate], other_uses: Collection[int] = ()
) -> dict[int, str]:
    """A note for each candidate (by position) whose quoted sentences are about another drug's dose, another use's
    dose (`other_uses`: `DoseUses.for_other_uses`, which the answer already reads after the asked use's) or
    another population than the question's; candidates needing none are left out."""
    population = question_population(question, adults=True)
    asked = drugs_dosed_in_question(question)
    about = drugs_asked(question)  # the drugs the question is about, asking their dose or not
    if not population and not asked and not other_uses and not about:
        return {}
    uses = " or ".join(dose_uses(question))
    notes: dict[int, str] = {}
    for source in dict.fromkeys(s.source for s in composed.sentences):
        parts = []
        if source in other_uses and uses:
            parts.append(f"gives doses for another use than {uses}")
        if population and (other := population_conflict(population, candidates[source].chunk.embedding_text())):
            parts.append(f"speaks of {other} only; the question is about {_PATIENT[other]}")
        other_doses = False
        if asked:
            dosed = {drug for s in composed.sentences if s.source == source for drug in sentence_dosed_drugs(s)}
            if dosed and not any_same_drug(dosed, asked):
                parts.append(f"gives doses of {_listed(dosed, 'and')}, not of {_listed(asked, 'or')}")
                other_doses = True
        if about and not other_doses and drugs_unnamed(question, candidates[source].chunk.embedding_text()):
            parts.append(f"does not name {_listed(about, 'or')}")  # the passage, headings and all, never does
        if parts:
            notes[source] = "; ".join(parts)
    return notes


def _listed(names: set[str] | frozenset[str], conjunction: str) -> str:
    """ "a", "a and b", "a, b and c"."""
    ordered = sorted(names)
    return ordered[0] if len(ordered) == 1 else f"{', '.join(ordered[:-1])} {conjunction} {ordered[-1]}"
