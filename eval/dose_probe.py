"""Whether a terse dose question is answered first with the asked drug's dose, on any index, without a gold set.

For every drug the index's passages state a dose of, the service is asked "<drug> dose?", as a clinician types it,
and the answer's first sentence stating a drug's dose is read (`qa_service.quantities.read`, the dose checks' own
reader). Outcomes:

- `asked first`: that sentence doses the drug asked (or a dose bound to no drug, as "the recommended dose is 4 mg",
  unless the answer's other sentences from its passage name only other drugs: then the dose is theirs);
- `another first`: it doses only other drugs (the worst case: a wrong dose read first, with a citation), split by
  whether its citation says so (`Citation.note`: "gives doses of dexamethasone, not of methadone");
- `no dose`: the answer states no drug's dose (the question is answered with something else);
- `refused`: the service abstained.

It finds what a gold set never asks: session 37 found with it a class cell naming a drug ("Dopamine antagonists:
butyrophenones | Haloperidol | 0.5-5 mg" read as dopamine's row). A refusal is not an error here: the index may
give the drug's dose nowhere a terse question reaches. It says nothing of whether the dose is the right one for a
patient or a use; the gold sets and the answer-removed near misses measure that.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from eval.errors import EvalError

if TYPE_CHECKING:
    from qa_service.pipeline import QAPipeline
    from qa_service.schemas import AskResponse

TEMPLATE = "{drug} dose?"
"""The question asked of each drug, as a clinician types it; `--question` asks another ("{drug} dose in renal
impairment?")."""

Outcome = Literal["asked first", "another first, noted", "another first", "no dose", "refused"]
OUTCOMES: tuple[Outcome, ...] = ("asked first", "another first, noted", "another first", "no dose", "refused")

MIN_NAME_LENGTH = 4
"""Letters a drug's name needs to be asked about: shorter names the reader binds are mostly abbreviations."""

_ANSWER_SENTENCE = re.compile(r"(?<=\])\s+(?=[A-Z])")
_MARKER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class ProbeResult:
    """One drug asked about."""

    drug: str
    question: str
    outcome: Outcome
    evidence: float
    caution: bool
    first_dose: str = ""
    """The answer's first sentence stating a drug's dose."""
    dosed: tuple[str, ...] = ()
    """The drugs that sentence doses."""


@dataclass
class DoseProbe:
    """Every drug asked about, over one index."""

    index: str
    template: str = TEMPLATE
    results: list[ProbeResult] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter(r.outcome for r in self.results)


def dosed_drugs(texts: Iterable[str]) -> list[str]:
    """The drugs the texts state a dose of (a radiotherapy dose in Gy is no drug's; a drug class is no drug), most
    often dosed first, each once."""
    from qa_service.dose_checks import with_units_from_headers
    from qa_service.quantities import drugs_in, read

    counts: Counter[str] = Counter()
    for text in texts:
        for regimen in read(with_units_from_headers(text)).regimens:
            drug = regimen.drug
            if drug and regimen.dose is not None and regimen.dose.unit != "Gy" and len(drug) >= MIN_NAME_LENGTH:
                counts[drug] += 1
    return [drug for drug, _ in counts.most_common() if drugs_in(drug)]


def first_dose(answer: str) -> tuple[str, tuple[str | None, ...]]:
    """The answer's first sentence stating a drug's dose, and the drugs (None: bound to none) it doses; for a table
    row as the answer says it, the drug its label cells name (`qa_service.dose_checks.label_drugs`)."""
    from eval.grounding_mutations import without_lead
    from qa_service.dose_checks import label_drugs, with_units_from_headers
    from qa_service.quantities import read

    for sentence in _ANSWER_SENTENCE.split(answer):
        drugs = tuple(
            r.drug
            for r in read(with_units_from_headers(sentence)).regimens
            if r.dose is not None and r.dose.unit != "Gy"
        )
        if drugs:
            return sentence, label_drugs(without_lead(sentence)) or drugs
    return "", ()


def passage_drugs(answer: str, sentence: str, drug: str) -> tuple[str, ...]:
    """For a dose sentence naming no drug ("current drug labeling calls for a maximum single 16-mg IV dose"), the
    drugs the answer's other sentences from the same passage (the same citation markers) name, when none is the
    drug asked: the dose is theirs. Empty when they name the drug asked, or none."""
    from qa_service.dose_checks import any_same_drug
    from qa_service.quantities import drugs_in

    cited = set(_MARKER.findall(sentence))
    if not cited:
        return ()
    named = {
        d for other in _ANSWER_SENTENCE.split(answer) if cited & set(_MARKER.findall(other)) for d in drugs_in(other)
    }
    return () if not named or any_same_drug(named, [drug]) else tuple(sorted(named))


def asked(template: str, drug: str) -> str:
    """The question a template asks of one drug; a template without "{drug}" is refused with its reason."""
    if "{drug}" not in template:
        raise EvalError(f'the question template {template!r} has no "{{drug}}" for the drug\'s name')
    return template.replace("{drug}", drug)


def outcome_of(drug: str, reply: AskResponse, template: str = TEMPLATE) -> ProbeResult:
    """What the reply to the template's question ("<drug> dose?") gave first."""
    from qa_service.dose_checks import any_same_drug

    question = asked(template, drug)
    if reply.abstained:
        return ProbeResult(drug, question, "refused", reply.evidence_score, False)
    sentence, drugs = first_dose(reply.answer)
    named = tuple(sorted({d for d in drugs if d})) or passage_drugs(reply.answer, sentence, drug)
    if not sentence:
        outcome: Outcome = "no dose"
    elif not named or any_same_drug(named, [drug]):
        outcome = "asked first"
    else:
        cited = {int(n) for n in _MARKER.findall(sentence)}
        noted = any(c.note for c in reply.citations if c.id in cited)
        outcome = "another first, noted" if noted else "another first"
    return ProbeResult(drug, question, outcome, reply.evidence_score, reply.caution, sentence, named)


def probe_doses(
    pipeline: QAPipeline, *, template: str = TEMPLATE, on_progress: Callable[[int, int], None] | None = None
) -> DoseProbe:
    """Ask "<drug> dose?" (or the template's question) for every drug the pipeline's index doses."""
    from qa_service.schemas import AskRequest

    asked(template, "x")  # a template without "{drug}" fails before any question is asked
    probe = DoseProbe(str(pipeline.settings.index_dir), template)
    drugs = dosed_drugs(chunk.text for chunk in pipeline.index.chunks)
    for done, drug in enumerate(drugs, 1):
        reply = pipeline.ask(AskRequest(question=asked(template, drug)))
        probe.results.append(outcome_of(drug, reply, template))
        if on_progress is not None:
            on_progress(done, len(drugs))
    return probe


def to_markdown(probes: Sequence[DoseProbe]) -> str:
    """The outcome counts per index, then every drug whose answer reads another drug's dose first."""
    lines = [
        "| index | drugs asked | " + " | ".join(OUTCOMES) + " |",
        "|---|---:|" + "---:|" * len(OUTCOMES),
    ]
    worst: list[ProbeResult] = []
    for probe in probes:
        counts = probe.counts()
        cells = " | ".join(str(counts[o]) for o in OUTCOMES)
        lines.append(f"| {probe.index} | {len(probe.results)} | {cells} |")
        worst += [r for r in probe.results if r.outcome.startswith("another first")]
    lines += [
        "",
        f'Each drug the index states a dose of is asked "{probes[0].template if probes else TEMPLATE}"; the answer\'s '
        "first sentence stating a drug's "
        "dose is read. another first: that sentence doses only other drugs (noted: its citation says so).",
    ]
    if worst:
        lines += ["", "| drug | outcome | evidence | first dose read |", "|---|---|---:|---|"]
        for r in worst:
            shown = r.first_dose.replace("|", "/")[:160]
            lines.append(f"| {r.drug} | {r.outcome} | {r.evidence:.2f} | {shown} |")
    return "\n".join(lines)
