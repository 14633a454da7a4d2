"""A citation says when it doses another drug or speaks of another patient than the question's (`Citation.note`,
`qa_service/citation_notes.py`), in the API, the chat reply and the command line; the answer itself is unchanged."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from qa_service.citation_notes import citation_notes
from qa_service.composed import AnswerSentence, Candidate, Composed
from qa_service.schemas import AskRequest, AskResponse, Citation

DOSES = {
    "pain/methadone.md": "# Methadone for cancer pain\n\n"
    "Start methadone at 2.5 mg every 8 hours in opioid-naive patients with cancer pain.\n",
    "myeloma/regimens.md": "# Myeloma regimens\n\n"
    "Lenalidomide was given with dexamethasone 40 mg on days 1 to 4 every 28 days.\n",
}

POPULATIONS = {
    "pain/adults.md": "# Chronic pain in adults\n\n"
    "Adults with fibromyalgia may be offered amitriptyline at a low dose.\n",
    "pain/children.md": "# Chronic pain in children\n\n"
    "Children with chronic pain should be offered psychological therapy.\n",
}


@pytest.fixture()
def doses(tmp_path):
    from tests.qa_service.mini_corpus import pipeline_over

    return pipeline_over(tmp_path / "doses", DOSES)


def candidates_of(pipeline) -> list[Candidate]:
    return [Candidate(chunk=chunk, row=row, rank=row) for row, chunk in enumerate(pipeline.index.chunks)]


def composed_of(candidates: list[Candidate]) -> Composed:
    """Every first sentence of every candidate, as an answer."""
    sentences = [AnswerSentence(text=c.chunk.sentence_texts()[0], source=i) for i, c in enumerate(candidates)]
    return Composed(sentences=sentences, composer="extractive")


def test_a_passage_dosing_only_another_drug_is_noted(doses):
    candidates = candidates_of(doses)
    myeloma = next(i for i, c in enumerate(candidates) if "Lenalidomide" in c.chunk.text)

    notes = citation_notes("methadone dose for cancer pain?", composed_of(candidates), candidates)

    assert notes == {myeloma: "gives doses of dexamethasone, not of methadone"}


def test_a_drug_named_by_clinicians_shorthand_is_the_drug_asked(doses):
    # "bup" is the general table's shorthand for buprenorphine; the index lacks neither word's subject here, so only
    # the shorthand table tells the dose checks which drug the question asks about.
    candidates = candidates_of(doses)
    methadone = next(i for i, c in enumerate(candidates) if "methadone" in c.chunk.text)
    myeloma = next(i for i, c in enumerate(candidates) if "Lenalidomide" in c.chunk.text)

    notes = citation_notes("bup dose for cancer pain?", composed_of(candidates), candidates)

    assert notes == {
        methadone: "gives doses of methadone, not of buprenorphine",
        myeloma: "gives doses of dexamethasone, not of buprenorphine",
    }


def test_no_note_for_a_question_naming_no_drug_or_patient(doses):
    candidates = candidates_of(doses)

    assert citation_notes("what dose for cancer pain?", composed_of(candidates), candidates) == {}


@pytest.mark.parametrize(
    ("question", "other", "note"),
    [
        (
            "8yo with chronic pain: amitriptyline?",
            "Adults with",
            "speaks of adults only; the question is about a child",
        ),
        (
            "45 year old woman with chronic pain: amitriptyline?",
            "Children with",
            "speaks of children only; the question is about an adult",
        ),
    ],
)
def test_a_passage_about_another_population_is_noted(tmp_path, question, other, note):
    from tests.qa_service.mini_corpus import pipeline_over

    pipeline = pipeline_over(tmp_path, POPULATIONS)
    candidates = candidates_of(pipeline)
    noted = next(i for i, c in enumerate(candidates) if other in c.chunk.text)
    silent = next(i for i, c in enumerate(candidates) if "amitriptyline" not in c.chunk.text)

    notes = citation_notes(question, composed_of(candidates), candidates)
    assert note in notes[noted]
    # The children's passage never names the drug asked about: it says so too.
    assert notes[silent].endswith("does not name amitriptyline") and set(notes) == {noted, silent}


def test_the_service_notes_the_citation_and_keeps_the_answer(doses):
    reply = doses.ask(AskRequest(question="methadone 40 mg a day: what starting dose of methadone?"))

    notes = {c.quote.split()[0]: c.note for c in reply.citations}
    assert not reply.abstained and "2.5 mg" in reply.answer and "dexamethasone 40 mg" in reply.answer
    assert notes == {"Start": None, "Lenalidomide": "gives doses of dexamethasone, not of methadone"}


def test_the_api_returns_the_note(doses):
    from qa_service.app import create_app
    from qa_service.settings import Settings

    client = TestClient(create_app(Settings(), pipeline=doses))
    body = client.post("/v1/ask", json={"question": "methadone 40 mg a day: what starting dose of methadone?"}).json()

    notes = {c["quote"].split()[0]: c["note"] for c in body["citations"]}
    assert notes == {"Start": None, "Lenalidomide": "gives doses of dexamethasone, not of methadone"}


def noted_reply() -> AskResponse:
    citation = Citation(
        id=1,
        chunk_id="c",
        doc_id="myeloma/regimens.md",
        title="Myeloma regimens",
        section="Regimens",
        quote="Lenalidomide was given with dexamethasone 40 mg.",
        note="gives doses of dexamethasone, not of methadone",
    )
    return AskResponse(
        answer="Lenalidomide was given with dexamethasone 40 mg. [1]",
        citations=[citation],
        passages=[],
        abstained=False,
        evidence_score=0.9,
        composer="extractive",
    )


def test_the_chat_footnote_carries_the_note():
    from qa_service.routes.chat import render_tail

    tail = render_tail(noted_reply())

    assert "[1] Myeloma regimens" in tail and "_Note: gives doses of dexamethasone, not of methadone._" in tail


def test_the_command_line_prints_the_note(capsys):
    from qa_service.cli import _print_answer

    _print_answer(noted_reply().model_dump())

    assert "note: gives doses of dexamethasone, not of methadone" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("question", "population", "gate_population"),
    [
        ("antiemetic for moderately emetogenic chemo in adults?", {"adult"}, set()),
        ("58M, BRCA2 carrier: tamoxifen?", {"male", "adult"}, {"male"}),
        ("45 year old woman on tamoxifen", {"female", "adult"}, {"female"}),
        ("8 years old with chronic headaches", {"child"}, {"child"}),
        ("12yo boy and his 40yo father: CBT?", {"male"}, {"child", "male"}),  # a child and an adult: no age group
        ("zol 4 mg every 6m for 5y?", set(), set()),
    ],
)
def test_a_note_reads_an_adult_by_word_or_age(question, population, gate_population):
    from qa_service.population import question_population

    assert question_population(question, adults=True) == population
    # The gate's refusal reads no adults: its populations are unchanged.
    assert question_population(question) == gate_population


def test_a_passage_dosing_the_drug_for_another_use_is_noted(doses):
    candidates = candidates_of(doses)
    methadone = next(i for i, c in enumerate(candidates) if "Start methadone" in c.chunk.text)

    # `DoseUses.for_other_uses` names the passages dosing the asked drug for another use than the question's.
    notes = citation_notes("methadone dose for opioid use disorder?", composed_of(candidates), candidates, {methadone})

    assert notes[methadone] == "gives doses for another use than opioid use disorder"


def test_the_service_notes_another_uses_dose(tmp_path):
    from tests.qa_service.mini_corpus import pipeline_over
    from tests.qa_service.test_pipeline import TWO_BODIES  # ESMO's 60 mg for bone loss, ASCO's 120 mg for metastases

    question = "denosumab dose for treatment-induced bone loss?"
    reply = pipeline_over(tmp_path, TWO_BODIES).ask(AskRequest(question=question))

    notes = {("120 mg" if "120 mg" in c.quote else "60 mg"): c.note for c in reply.citations}
    assert not reply.abstained and "60 mg" in reply.answer and "120 mg" in reply.answer
    assert notes == {"60 mg": None, "120 mg": "gives doses for another use than treatment-induced bone loss"}


PAIN_SECTIONS = (
    ("Opioids", "For moderate to severe pain, start morphine 5 to 10 mg orally every 4 hours and titrate to effect."),
    ("Nonopioid pain treatment", "Nonopioid therapies are preferred for subacute and chronic pain."),
    ("Pain assessment", "Assess pain intensity and function at every visit."),
    ("Neuropathic pain", "Gabapentin or duloxetine can be considered for neuropathic pain."),
    ("Cannabinoids", "Cannabinoids have been studied for pain, with mixed results."),
)
NAUSEA_AND_PAIN = {
    "nci/nausea.md": '---\ntitle: "Nausea and vomiting related to cancer treatment"\nissuing_body: "NCI"\nyear: 2025\n'
    "---\n\n# Nausea and vomiting related to cancer treatment\n\n## Cannabinoids\n\n"
    "Dronabinol, as prophylaxis for chemotherapy-induced nausea in patients with cancer, 5 mg/m2 orally 1 to 3 "
    "hours before chemotherapy and every 2 to 4 hours after it.\n",
    "cdc/pain.md": '---\ntitle: "Prescribing for pain"\nissuing_body: "CDC"\nyear: 2022\n---\n\n'
    "# Prescribing for pain\n\n" + "".join(f"## {heading}\n\n{text}\n\n" for heading, text in PAIN_SECTIONS),
}


def test_a_drug_dosed_only_for_another_use_is_noted_though_the_uses_share_a_word(tmp_path):
    """ "dronabinol dose for cancer pain?": the only dronabinol dose is for nausea, in a passage that holds "cancer"
    (most of the use's weight: "pain" is in every other passage) but never "pain", the word the use names its
    condition by (`DoseUses.head`)."""
    from tests.qa_service.mini_corpus import pipeline_over

    pipeline = pipeline_over(tmp_path, NAUSEA_AND_PAIN)
    reply = pipeline.ask(AskRequest(question="dronabinol dose for cancer pain?"))

    noted = {c.note for c in reply.citations if "5 mg/m2" in c.quote}
    assert not reply.abstained and "5 mg/m2" in reply.answer, reply.answer
    assert noted == {"gives doses for another use than cancer pain"}, reply.citations


def test_an_answer_dosing_only_another_use_or_drug_is_cautioned(tmp_path):
    """Session 45's probes: "ondansetron dose for cancer pain?" was answered at 0.90 without caution with
    ondansetron's antiemetic doses, every citation noted. An answer whose every dose comes from a noted passage now
    stands cautioned, saying why; one quoting the asked use's own dose does not, nor a question asking a time."""
    from qa_service.pipeline import DOSES_ELSEWHERE
    from tests.qa_service.mini_corpus import pipeline_over

    pipeline = pipeline_over(tmp_path, NAUSEA_AND_PAIN)
    reply = pipeline.ask(AskRequest(question="dronabinol dose for cancer pain?"))
    assert not reply.abstained and reply.caution, reply
    assert DOSES_ELSEWHERE in (reply.reason or ""), reply.reason

    own = pipeline.ask(AskRequest(question="dronabinol dose for nausea from chemotherapy?"))
    assert not own.abstained and "5 mg/m2" in own.answer and DOSES_ELSEWHERE not in (own.reason or ""), own
    timed = pipeline.ask(AskRequest(question="how long after the last dronabinol dose for cancer pain can I drive?"))
    assert DOSES_ELSEWHERE not in (timed.reason or ""), timed.reason


def test_a_use_is_named_by_its_last_word_before_a_qualifier():
    from qa_service.dose_uses import DoseUses

    idf = dict.fromkeys(("cancer", "pain", "hypercalcaemia", "malignancy", "children", "kids", "bone", "loss"), 1.0)
    uses = DoseUses(idf, 2.0, lambda word: False)

    assert uses.head("cancer pain", frozenset()) == {"pain"}
    assert uses.head("hypercalcaemia of malignancy", frozenset()) == {"hypercalcaemia"}
    assert "loss" in uses.head("AI induced bone loss in a 60yo", frozenset())
    assert uses.head("kids", frozenset()) == frozenset()  # a patient, not a condition: the population checks' word
    assert uses.head("xyz", frozenset()) == frozenset()  # nothing the index knows


def test_a_use_s_head_word_is_found_in_its_other_number():
    """ "bone metastases" stems to "metastas", "bone metastasis" to "metastasi": the same condition."""
    from ingest.chunking import Chunk
    from qa_service.dose_uses import DoseUses

    idf = dict.fromkeys(("bone", "metastas", "metastasi", "pain"), 1.0)
    uses = DoseUses(idf, 2.0, lambda word: False)
    weighed = uses.weights("bone metastases", frozenset())
    head = uses.head("bone metastases", frozenset())

    def passage(text: str) -> Chunk:
        return Chunk("c", "d", 0, text, 0, len(text), "Guideline", ("Guideline",), ((0, len(text)),))

    assert not uses._about_another_use(passage("Zoledronic acid 4 mg for bone metastasis."), weighed, head)
    assert uses._about_another_use(passage("Zoledronic acid 4 mg for bone pain."), weighed, head)


def test_a_childs_dose_question_reads_the_passage_dosing_children_first(tmp_path):
    """ "ondansetron dose for a 6 year old?" over the real documents led with a radiotherapy table's adult 8 mg; the
    infants' and children's dose was cited after it (`dose_checks.doses_not_for_children`)."""
    from qa_service.dose_checks import doses_not_for_children
    from tests.qa_service.mini_corpus import pipeline_over

    files = {
        "nausea/radiotherapy.md": "# Nausea with radiotherapy\n\nGive ondansetron 8 mg orally twice daily.\n",
        "nausea/children.md": "# Antiemetics in children\n\nIn children, ondansetron 0.15 mg/kg IV.\n",
        "pain/methadone.md": DOSES["pain/methadone.md"],
    }
    candidates = candidates_of(pipeline_over(tmp_path, files))
    composed = composed_of(candidates)
    adult = next(i for i, c in enumerate(candidates) if "twice daily" in c.chunk.text)

    assert doses_not_for_children("ondansetron dose for a 6 year old?", composed, candidates) == {adult}
    assert doses_not_for_children("ondansetron dose?", composed, candidates) == frozenset()  # no child asked about
    # No passage dosing methadone speaks of children: nothing to read first (the evidence gate refuses it instead).
    assert doses_not_for_children("methadone dose in kids?", composed, candidates) == frozenset()
