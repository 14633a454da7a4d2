"""The evidence gate: strong evidence answers, weak or off-topic evidence abstains and says why."""

from __future__ import annotations

import pytest

from ingest import keyword_tokens
from qa_service.abstention import judge
from qa_service.composed import AnswerSentence, Composed
from qa_service.dose_checks import doses_only_for_other_drugs, drugs_taken, table_rows_for_other_drugs
from qa_service.gate_model import packaged_gate
from qa_service.pipeline import ABSTAIN_TEXT, QAPipeline
from qa_service.population import population_conflict, question_population
from qa_service.schemas import AskRequest, Filters
from qa_service.settings import AnswerSettings, Settings

STRONG = {"dense_top": 0.8, "coverage_score": 1.0, "sentence_score": 0.8, "agreement": True}
WEAK = {"dense_top": 0.2, "coverage_score": 0.1, "sentence_score": 0.1, "agreement": False}


def test_strong_evidence_scores_above_weak_evidence():
    strong = judge(question="treatment of painful bone metastases", answer_text="Give radiotherapy [1].", **STRONG)
    weak = judge(question="treatment of painful bone metastases", answer_text="Give radiotherapy [1].", **WEAK)

    assert 0 <= weak.score < 0.5 < strong.score <= 1
    assert all(0 <= v <= 1 for v in strong.features.values())


def test_quantity_question_answered_without_a_number_is_penalised():
    with_number = judge(question="what dose of radiotherapy?", answer_text="Give 8 Gy [1].", **STRONG)
    without = judge(question="what dose of radiotherapy?", answer_text="Give radiotherapy [1].", **STRONG)

    assert with_number.asks_quantity and with_number.answer_has_number
    assert without.asks_quantity and not without.answer_has_number
    assert without.score < 0.5 * with_number.score


def test_citation_markers_do_not_count_as_numbers():
    evidence = judge(question="what dose of radiotherapy?", answer_text="Give radiotherapy [1].", **STRONG)

    assert not evidence.answer_has_number


def test_unknown_question_words_lower_the_score():
    known = judge(question="bone metastases", answer_text="x [1].", **STRONG)
    unknown = judge(question="bone metastases", answer_text="x [1].", unknown_terms=3, **STRONG)

    assert unknown.score < known.score and unknown.features["unknown"] == 1.0


def test_out_of_scope_question_abstains_with_a_reason_and_still_lists_passages(mini_pipeline):
    response = mini_pipeline.ask(
        AskRequest(question="chemotherapy regimen for paediatric acute lymphoblastic leukaemia", top_k=5)
    )

    assert response.abstained
    assert response.answer.startswith(ABSTAIN_TEXT)
    assert response.citations == []
    assert "below the threshold" in (response.reason or "")
    assert response.evidence_score < mini_pipeline.abstain_threshold
    assert len(response.passages) == 5


def test_in_scope_question_clears_the_gate(mini_pipeline):
    response = mini_pipeline.ask(AskRequest(question="how to treat hypercalcaemia of malignancy"))

    assert not response.abstained and response.reason is None
    assert response.evidence_score >= mini_pipeline.abstain_threshold


def test_a_question_naming_a_source_that_does_not_answer_it_is_answered_with_caution_naming_it(mini_pipeline):
    # Refused until session 25: on unseen questions the refusal cost seven answerable questions and no near miss.
    unnamed = mini_pipeline.ask(AskRequest(question="how to treat hypercalcaemia of malignancy"))
    other_source = mini_pipeline.ask(AskRequest(question="per ESMO, how to treat hypercalcaemia of malignancy"))
    its_source = mini_pipeline.ask(AskRequest(question="per ASCO, bone-modifying agents in breast cancer?"))

    assert not unnamed.abstained and not unnamed.caution  # the Endocrine Society passages answer it
    assert not other_source.abstained and other_source.caution
    # Not penalised: flagged for the source named, not for its score.
    assert other_source.evidence_score >= mini_pipeline.abstain_threshold + packaged_gate().caution_band
    assert "the question names ESMO; no passage quoted comes from it: the answer is from other guidelines" in (
        other_source.reason or ""
    )
    assert {c.issuing_body for c in other_source.citations} == {"Endocrine Society"}
    assert not its_source.abstained and not its_source.caution
    assert {c.doc_id for c in its_source.citations} == {"bone-metastasis/medical-management"}


def test_a_refusal_of_a_question_naming_a_source_it_does_not_quote_says_so_after_the_score(mini_index, mini_index_dir):
    from tests.qa_service.mini_corpus import make_embedder

    settings = Settings(index_dir=mini_index_dir)
    strict = settings.model_copy(update={"answer": settings.answer.model_copy(update={"abstain_threshold": 0.99})})
    pipeline = QAPipeline(mini_index, make_embedder(), strict)

    refused = pipeline.ask(AskRequest(question="per ESMO, how to treat hypercalcaemia of malignancy"))

    assert refused.abstained and refused.citations == []
    assert (refused.reason or "").startswith(f"evidence score {refused.evidence_score:.2f} is below the threshold 0.99")
    assert (refused.reason or "").endswith("; the question names ESMO, and no passage of it answers the question")


def test_a_question_naming_a_body_the_index_lacks_is_answered_with_caution_and_says_why(mini_pipeline):
    unnamed = mini_pipeline.ask(AskRequest(question="how to treat hypercalcaemia of malignancy"))
    absent = mini_pipeline.ask(AskRequest(question="per NCCN, how to treat hypercalcaemia of malignancy"))
    lower = mini_pipeline.ask(AskRequest(question="nccn guidance: how to treat hypercalcaemia of malignancy"))
    # initials with no word asking for the body's guidance may be something else ("ACR 300 mg/g" is a ratio)
    bare = mini_pipeline.ask(AskRequest(question="IDSA: how to treat hypercalcaemia of malignancy"))

    assert not unnamed.caution and unnamed.reason is None
    assert not absent.abstained and absent.answer == unnamed.answer  # the answer stands ...
    assert absent.caution  # ... flagged, with the reason
    assert absent.reason == (
        "the question names NCCN; no document in this index comes from it: the answer is from other guidelines"
    )
    assert lower.caution and "NCCN" in (lower.reason or "")
    assert not bare.caution and bare.reason is None


def test_an_answer_cautioned_for_its_score_alone_says_why(mini_pipeline):
    question = AskRequest(question="single fraction dose for painful bone metastases")
    score = mini_pipeline.ask(question).evidence_score
    band = mini_pipeline.gate.model.caution_band
    near = mini_pipeline.with_settings(answer=AnswerSettings(abstain_threshold=round(score - band / 2, 2)))
    clear = mini_pipeline.with_settings(answer=AnswerSettings(abstain_threshold=round(score - 2 * band, 2)))

    flagged, plain = near.ask(question), clear.ask(question)

    assert not flagged.abstained and flagged.caution
    assert flagged.reason == (
        f"evidence score {score:.2f} is less than {band:.2f} above the threshold {score - band / 2:.2f}: "
        "the cited passages may answer only part of the question"
    )
    assert not plain.abstained and not plain.caution and plain.reason is None


def test_a_body_named_in_the_quoted_passages_answers_in_its_name(tmp_path):
    from tests.qa_service.mini_corpus import MINI_CORPUS, pipeline_over

    files = dict(MINI_CORPUS)
    files["related-topics/hypercalcaemia.md"] = files["related-topics/hypercalcaemia.md"].replace(
        "Treat hypercalcaemia of malignancy with", "As NCCN advises, treat hypercalcaemia of malignancy with"
    )
    pipeline = pipeline_over(tmp_path, files)

    reported = pipeline.ask(AskRequest(question="per NCCN, how to treat hypercalcaemia of malignancy"))
    other = pipeline.ask(AskRequest(question="per IDSA, how to treat hypercalcaemia of malignancy"))
    in_full = pipeline.ask(
        AskRequest(question="does the national comprehensive cancer network treat hypercalcaemia of malignancy so?")
    )

    assert not reported.abstained and not reported.caution
    assert other.caution and "IDSA" in (other.reason or "")
    assert "NCCN" not in (in_full.reason or "")  # the passage's "NCCN" is the body the question names in full


def test_a_body_the_index_lacks_is_no_word_the_passages_must_cover(mini_pipeline):
    from qa_service.retrieval import abbreviate_bodies

    seen = []
    mini_pipeline.on_evidence = lambda _q, evidence, _composed: seen.append(evidence.features)
    try:
        for question in (
            "how to treat hypercalcaemia of malignancy",
            "per NCCN, how to treat hypercalcaemia of malignancy",
            "what does the National Comprehensive Cancer Network say about how to treat hypercalcaemia of malignancy",
        ):
            mini_pipeline.ask(AskRequest(question=question))
    finally:
        mini_pipeline.on_evidence = None

    # NCCN's name (initials or in full, read as initials) and "say" take no share of the question to cover:
    # the caution says whose guidance the answer is not, the score says only whether the topic is answered.
    assert seen[0]["coverage"] == seen[1]["coverage"] == seen[2]["coverage"] == 1.0
    assert seen[1]["unknown"] == seen[2]["unknown"] == 0.0
    assert abbreviate_bodies("what does the european society for  Medical Oncology say?") == "what does the ESMO say?"
    assert mini_pipeline.read_question("per the World Health Organization, ...") == "per the WHO, ..."


def test_a_body_named_in_full_is_asked_for_as_its_initials_are(mini_pipeline):
    from qa_service.retrieval import bodies_named_in_full

    assert bodies_named_in_full("does the American College of  Radiology agree with the U.S. Preventive Services") == {
        "acr"
    }
    assert bodies_named_in_full("per the U.S. Preventive Services Task Force and world health organization") == {
        "uspstf",
        "who",
    }
    assert bodies_named_in_full("the American College of Radiologyst") == set()  # whole words only
    absent = mini_pipeline.ask(
        AskRequest(question="does the Infectious Diseases Society of America treat hypercalcaemia of malignancy so?")
    )
    assert absent.caution and absent.reason == (
        "the question names IDSA; no document in this index comes from it: the answer is from other guidelines"
    )
    # A body the index holds, named in full, is no cause for caution (the mini corpus has ESMO's guidelines).
    held = mini_pipeline.ask(AskRequest(question="European Society for Medical Oncology: single fraction dose?"))
    assert not held.caution


def test_filters_that_match_nothing_abstain_and_say_so(mini_pipeline):
    request = AskRequest(question="single fraction for painful bone metastases", filters=Filters(doc_id=["nope"]))

    response = mini_pipeline.ask(request)

    assert response.abstained and response.passages == []
    assert response.reason == (
        "no passage matched the question and filters: doc_id 'nope' is not in this index "
        "(GET /v1/documents lists what it holds)"
    )
    assert response.answer == "The guidelines in this corpus do not cover this question."  # no passage to list
    # A body the index holds, with a year range none of its passages falls in: the reason gives the index's years.
    years = sorted(c.year for c in mini_pipeline.index.chunks if c.year is not None)
    body = next(c.issuing_body for c in mini_pipeline.index.chunks if c.issuing_body)
    together = mini_pipeline.ask(
        AskRequest(
            question="single fraction for painful bone metastases",
            filters=Filters(issuing_body=[body], year_min=years[-1] + 1),
        )
    )
    assert together.abstained and together.reason == (
        f"no passage matched the question and filters: together they match no passage "
        f"(guideline years here: {years[0]}-{years[-1]})"
    )


def test_a_dose_question_answered_with_a_concentration_is_penalised():
    common = {"dense_top": 0.8, "coverage_score": 0.9, "sentence_score": 0.8, "agreement": True}
    question = "denosumab dose for hypercalcaemia of malignancy"
    with_concentration = judge(question=question, answer_text="Treat when calcium is above 14 mg/dL. [1]", **common)
    with_dose = judge(question=question, answer_text="Give denosumab 120 mg every 4 weeks. [1]", **common)

    gate = packaged_gate()
    assert with_concentration.penalised and not with_dose.penalised
    assert with_concentration.score == pytest.approx(with_dose.score * gate.quantity_penalty)
    assert with_dose.score > 0.5 and with_concentration.score < gate.threshold


@pytest.mark.parametrize(
    ("not_asking", "asking", "answer"),
    [
        # "higher dose per fraction" names a kind of treatment
        (
            "spine SBRT higher dose per fraction - VCF risk?",
            "spine SBRT dose per fraction?",
            "Spine SBRT raises the risk of vertebral compression fracture. [1]",
        ),
        # "hi dose per fraction", as typed
        (
            "hi dose per fraction SBRT spine risk of collapse",
            "SBRT spine dose per fraction?",
            "Spine SBRT raises the risk of vertebral compression fracture. [1]",
        ),
        # "Ca 15 mg/dL" is the patient's laboratory value
        (
            "Ca 15 mg/dL in cancer pt, initial tx?",
            "zoledronic acid mg for hypercalcaemia?",
            "For severe hypercalcaemia (serum calcium above 14 mg/dL), give intravenous fluids. [1]",
        ),
    ],
)
def test_words_that_only_look_like_a_request_for_a_dose_are_not_penalised(not_asking, asking, answer):
    looks_like_it = judge(question=not_asking, answer_text=answer, **STRONG)
    asks = judge(question=asking, answer_text=answer, **STRONG)

    assert not looks_like_it.asks_quantity and not looks_like_it.penalised
    assert asks.asks_quantity and asks.penalised


def test_question_phrasing_age_and_sex_are_not_terms_the_corpus_must_know():
    from qa_service.gate_features import question_terms

    terms = question_terms("72F, breast ca, hot spot on bone scan, X-ray normal: next step? f/u pls")

    flat = set().union(*terms)
    assert {"breast", "cancer", "bone", "scan", "normal"} <= flat
    assert not flat & {"72f", "next", "step", "pls", "f", "u"}
    # "get" phrases who receives the subject: rare in guideline prose, it weighed more than "naloxone".
    assert set().union(*question_terms("naloxone - who should get it? got it last time")) == set(
        keyword_tokens("naloxone last time")
    )


def test_contractions_leave_no_single_letter_terms_but_numbers_stay():
    from qa_service.gate_features import question_terms

    flat = set().union(*question_terms("I'm suspicious of mets, pt's scan neg: 8 Gy?"))

    assert not flat & {"m", "s", "i"}
    assert {"8", "scan", *keyword_tokens("negative")} <= flat


def test_contractions_with_or_without_their_apostrophe_are_phrasing_not_subject():
    from qa_service.gate_features import question_terms, unknown_terms

    question = "whats the dose if she's still sore, PT hasnt helped and it isn't better - theres ill effects?"
    flat = set().union(*question_terms(question))
    assert not flat & {*keyword_tokens("whats hasnt theres"), "isn", "she"}
    assert {*keyword_tokens("dose sore ill effects")} <= flat  # "ill" is a word too: kept
    assert unknown_terms("whats the dose, hasnt helped", {"dose": 1.0, "help": 1.0}) == 0


def test_a_code_the_corpus_never_uses_is_unknown_though_the_corpus_writes_its_number():
    from qa_service.gate_features import unknown_terms

    idf = dict.fromkeys([*keyword_tokens("code for a fracture of the femur in weeks"), "10"], 1.0)

    assert unknown_terms("ICD-10 code for a femur fracture?", idf) == 1  # "icd" is not in the corpus; "10" is
    assert unknown_terms("femur fracture at 10 weeks?", idf) == 0  # a number on its own is known when written


def test_a_question_asking_what_percentage_asks_for_a_quantity():
    answer = "Lytic lesions are common in myeloma and are found on CT. [1]"

    assert judge(question="what % of myeloma pts have lytic lesions?", answer_text=answer, **STRONG).penalised
    assert not judge(question="myeloma pt with Ca 2.1% - lytic lesions?", answer_text=answer, **STRONG).penalised


def test_indefinite_pronouns_and_done_are_phrasing_not_subject():
    from qa_service.gate_features import coverage, question_terms

    question = "how often should I check the PDMP for someone on opioids - can it be done online?"
    flat = set().union(*question_terms(question))
    assert not flat & {*keyword_tokens("someone done")}
    assert {*keyword_tokens("check pdmp opioids online")} <= flat
    # A word the corpus never uses weighs as its rarest: "someone" used to cost the passage that answers.
    passage = "Check the PDMP often (every 3 months) for patients on opioids, online or in person."
    idf = dict.fromkeys(keyword_tokens(passage), 1.0)
    assert coverage(question, passage, idf, 8.0) == pytest.approx(1.0)


def test_the_word_after_how_names_the_kind_of_answer_not_the_subject():
    from qa_service.gate_features import question_terms

    flat = set().union(*question_terms("OUD by DSM-5: how many criteria make it severe, how soon to reassess?"))
    assert not flat & {*keyword_tokens("many soon")}
    assert {*keyword_tokens("criteria severe reassess dsm 5")} <= flat
    # Elsewhere the same words are the subject: "long-term opioids", "severe pain".
    assert {*keyword_tokens("long term")} <= set().union(*question_terms("how to taper long-term opioids?"))


def test_a_question_of_only_phrasing_words_has_no_terms():
    from qa_service.gate_features import question_terms

    assert question_terms("ok vs next step pls?") == ()


def test_a_patient_value_is_covered_by_a_threshold_it_meets_and_not_by_one_it_misses():
    from qa_service.gate_features import coverage

    passage = "When creatinine clearance is above 60 mL/min, the dose needs no change. Infuse over at least 15 minutes."
    idf = dict.fromkeys(keyword_tokens(passage + " 40 75"), 1.0)

    def score(question: str) -> float:
        return coverage(question, passage, idf, 1.0)

    assert score("creatinine clearance 75 dose") == pytest.approx(1.0)
    assert score("creatinine clearance 40 dose") == pytest.approx(3 / 4)  # 40 is not above 60: not covered
    assert score("infuse over 20 minutes") == pytest.approx(1.0)  # at least 15
    assert score("infuse over 10 minutes") < 1.0
    assert score("heart rate 75") == 0.0  # no threshold here is about a heart rate


def test_clause_coverage_is_the_best_covered_clause_of_a_story_like_question():
    from qa_service.gate_features import clause_coverage, coverage

    passage = "Methadone: see the patient at least every 2-3 days in the first week after starting it."
    idf = dict.fromkeys(keyword_tokens(passage + " grandson lumbar fusion surgeon"), 1.0)
    story = "grandson had lumbar fusion, surgeon stopped, methadone started: how often to see him in the first week?"

    whole = coverage(story, passage, idf, 1.0)
    assert whole < 0.7  # the patient's history is not in the guideline
    assert clause_coverage(story, passage, idf, 1.0) == pytest.approx(1.0)  # the question asked is
    # One clause, or clauses naming fewer than two things: the whole question's coverage.
    assert clause_coverage("methadone first week", passage, idf, 1.0) == coverage(
        "methadone first week", passage, idf, 1.0
    )
    assert clause_coverage("grandson, methadone", passage, idf, 1.0) == coverage(
        "grandson, methadone", passage, idf, 1.0
    )


def test_a_clause_saying_what_the_patient_lacks_is_not_the_clause_asked():
    from qa_service.gate_features import clause_coverage, naming_clauses

    passage = "Bone metastases: stereotactic body radiotherapy for painful spinal disease; bone disease needs imaging."
    idf = dict.fromkeys(keyword_tokens(passage + " renal lung oligometastases lesions"), 1.0)
    question = "renal ca w 3 lung oligometastases, no bone disease - stereotactic radiotherapy to the lung lesions?"

    asked = "stereotactic radiotherapy to the lung lesions"
    assert naming_clauses(question) == ["renal ca w 3 lung oligometastases", asked]
    assert naming_clauses("zol 4 mg, never had jaw radiotherapy - MRONJ yet?") == ["zol 4 mg"]
    # "no bone disease" is all in a bone-metastasis passage; the question asked is about the lung.
    assert clause_coverage(question, passage, idf, 1.0) < 0.6


def test_a_clause_naming_only_whose_guidance_is_asked_is_not_the_clause_asked():
    from qa_service.gate_features import clause_coverage, naming_clauses

    passage = (
        "ASCO and USPSTF recommend tamoxifen or raloxifene for breast cancer risk reduction in women at high risk."
    )
    idf = dict.fromkeys(keyword_tokens(passage + " obese postmenopausal"), 1.0)
    question = "metformin for breast ca prevention in obese women - ASCO/USPSTF 2019 rec?"

    assert naming_clauses(question) == ["metformin for breast ca prevention in obese women"]
    assert naming_clauses("tamoxifen - ASCO vs USPSTF 2019?") == []  # one subject: the whole question is read
    # The sources are in the passage; what the question asks about (metformin) is not.
    assert clause_coverage(question, passage, idf, 1.0) < 0.8


def test_everyday_words_the_corpus_never_uses_are_not_unknown_but_technical_ones_are():
    from qa_service.gate_features import unknown_terms

    idf = dict.fromkeys(keyword_tokens("spine radiotherapy single fraction"), 1.0)
    everyday = {"came", "back", "worry", "late"}

    def is_common(word: str) -> bool:
        return word in everyday

    question = "single fraction to spine came back, late worry, teriparatide?"

    # came, back ("back" reads as the spine only in "back pain"), late, worry, and teriparatide twice (a drug)
    assert unknown_terms(question, idf) == 6
    assert unknown_terms(question, idf, is_common) == 2  # teriparatide


def test_an_everyday_word_in_the_possessive_is_not_unknown():
    from qa_service.gate_features import unknown_terms

    idf = dict.fromkeys(keyword_tokens("bone scan hot spot pelvis x-ray normal test next"), 1.0)

    def is_common(word: str) -> bool:  # a whole word piece of the encoder: "mum", never "mum's"
        return word in {"mum", "dad", "showed", "came", "back"}

    question = "The bone scan showed a 'hot spot' in my mum's pelvis but the X-ray came back normal. What test next?"

    # session 39: "mum's" was counted as a word the corpus never uses, and the question was refused at 0.32
    assert unknown_terms(question, idf, is_common) == 0
    assert unknown_terms(question.replace("mum's", "Dad’s"), idf, is_common) == 0  # a typographic apostrophe too
    assert unknown_terms(question.replace("mum's", "goserelin's"), idf, is_common) == 2  # a drug still counts


@pytest.mark.parametrize(
    "word", ["paroxetine", "deruxtecan", "zanubrutinib", "tocilizumab", "apixaban", "pamidronate", "butorphanol"]
)
def test_drug_names_are_recognised_by_their_inn_ending_or_the_drug_list(word):
    from qa_service.gate_features import names_a_drug

    assert names_a_drug(word)


@pytest.mark.parametrize(
    "word", ["pacemaker", "medulloblastoma", "unremarkable", "pancreas", "tibia", "mab", "peptide", "saline", "april"]
)
def test_words_that_are_not_drug_names_are_not_read_as_one(word):
    from qa_service.gate_features import names_a_drug

    assert not names_a_drug(word)


def test_a_drug_the_corpus_never_names_counts_twice_among_unknown_words():
    from qa_service.gate_features import unknown_terms

    idf = dict.fromkeys(keyword_tokens("tamoxifen breast cancer prevention"), 1.0)

    # One unknown drug weighs as much as two unknown words of another kind: naming a drug the
    # guidelines never mention is the surest sign that they do not cover the question.
    assert unknown_terms("tamoxifen for prevention with paroxetine?", idf) == 2
    assert unknown_terms("tamoxifen for prevention with hot flushes?", idf) == 2  # hot, flushes


def test_shorthand_that_starts_a_corpus_word_is_not_unknown_but_a_drug_the_corpus_lacks_is():
    from qa_service.gate_features import starts_a_word, unknown_terms

    idf = dict.fromkeys(keyword_tokens("physiotherapy buprenorphine toxicology testing pain"), 1.0)
    vocabulary = sorted(idf)
    question = "physio or bup for pain, tox testing, levorphanol?"

    assert unknown_terms(question, idf) == 5  # physio, bup, tox, and levorphanol twice (a drug name)
    assert unknown_terms(question, idf, is_shorthand=lambda w: starts_a_word(w, vocabulary)) == 2  # levorphanol
    assert not starts_a_word("pa", vocabulary)  # too short to stand for anything
    assert not starts_a_word("pain", vocabulary)  # the word itself is not a clipping of it
    assert not starts_a_word("5ht3", vocabulary)
    contracted = sorted(keyword_tokens("outpatient plasma"))
    assert starts_a_word("outpt", contracted)  # its letters in order in "outpatient"
    assert not starts_a_word("psma", contracted)  # in order in "plasma" too, but four letters are too few


def test_a_dose_question_answered_only_with_another_drug_s_doses_is_penalised():
    question = "zoledronic acid dose in mg for myeloma bone disease?"
    other = "A trial in myeloma compared 30 mg of pamidronate to 90 mg of pamidronate. [1]"
    asked = "Zoledronic acid 4 mg every 3 to 4 weeks is recommended. [1]"
    unbound = "The recommended dose is 4 mg every 3 to 4 weeks. [1]"  # the drug named before it

    assert judge(question=question, answer_text=other, **STRONG).penalised
    assert not judge(question=question, answer_text=asked, **STRONG).penalised
    assert not judge(question=question, answer_text=other.replace("[1]", "") + asked, **STRONG).penalised
    assert not judge(question=question, answer_text=unbound, **STRONG).penalised
    # Beside another drug's doses, a dose bound to none counts only next to the asked drug's name.
    mixed = (
        "Give dexamethasone 8 mg on days 0 to 4. [1] Dosages were 52 versus 40 mg/day. [2] Zoledronic acid is used. [3]"
    )
    assert judge(question=question, answer_text=mixed, **STRONG).penalised
    near = "Give dexamethasone 8 mg on days 0 to 4. [1] Zoledronic acid is used. [2] The dose is 4 mg. [2]"
    assert not judge(question=question, answer_text=near, **STRONG).penalised
    assert not judge(question="dose for myeloma bone disease?", answer_text=other, **STRONG).penalised
    assert judge(question="zol dose for myeloma?", answer_text=other, **STRONG).penalised  # "zol": zoledronic acid
    radiation = "Give corticosteroids (dexamethasone) at once. [1] For painful metastases, give 8 Gy once. [2]"
    assert judge(question="dex dose for cord compression?", answer_text=radiation, **STRONG).penalised  # Gy: no drug's
    assert not judge(question="RT dose for painful bone mets?", answer_text=radiation, **STRONG).penalised


def test_a_conversion_factor_is_a_quantity_to_state_but_a_risk_factor_is_not():
    without_number = "Meperidine: decreased efficacy, potential neurotoxicity. [1]"

    assert judge(question="MME conversion factor for meperidine?", answer_text=without_number, **STRONG).penalised
    assert not judge(
        question="MME conversion factor for methadone?", answer_text="Methadone: 4.7. [1]", **STRONG
    ).penalised
    assert not judge(question="risk factors for progression?", answer_text="Age and FLC. [1]", **STRONG).penalised


def test_the_drug_whose_dose_is_asked_is_the_one_next_to_the_dose_word_not_the_patient_s_other_drugs():
    from qa_service.dose_checks import drugs_dosed_in_question

    question = "methylphenidate dose for opioid-induced sedation in a cancer pt on stable morphine?"
    answer = "Methylphenidate has been proposed for opioid-induced sedation. [1] Oral morphine 30 mg every 4 hours. [2]"

    assert drugs_dosed_in_question(question) == {"methylphenidate"}
    assert drugs_dosed_in_question("zol dose for myeloma?") == {"zoledronic acid"}  # read through its expansion
    assert drugs_dosed_in_question("what dose of IV dex for MSCC?") == {"dexamethasone"}
    assert drugs_dosed_in_question("on morphine, stopping - how to taper?") == frozenset()  # no dose word
    # "how much" asks an amount of the drug it names, not of one whose effect it asks about.
    assert drugs_dosed_in_question("how much diazepam?") == {"diazepam"}
    assert drugs_dosed_in_question("how much IV dex should I give?") == {"dexamethasone"}
    assert drugs_dosed_in_question("how much does morphine raise the risk?") == frozenset()
    assert drugs_dosed_in_question("how much better is zometa than pamidronate?") == frozenset()
    # A drug's regimen or titration asks its dose too (session 45's probes: "palonosetron regimen?" led with a
    # trial's dexamethasone dose); a regimen named by its drugs' initials names no drug.
    assert drugs_dosed_in_question("palonosetron regimen?") == {"palonosetron"}
    assert drugs_dosed_in_question("how to titrate methadone?") == {"methadone"}
    assert drugs_dosed_in_question("which antiemetic regimen for HEC with cisplatin?") == frozenset()
    assert judge(question=question, answer_text=answer, **STRONG).penalised  # morphine's dose is not the one asked
    assert not judge(question="morphine dose?", answer_text=answer, **STRONG).penalised


def test_how_often_a_drug_is_given_asks_its_dose_but_not_how_often_a_patient_on_it_is_seen():
    """Session 45's probes: "how often is diazepam given?" opened, without caution, with alprazolam's "0.25 mg ...
    twice daily" from the passage that gives diazepam's "5 mg twice daily" two sentences later."""
    from qa_service.composed import AnswerSentence
    from qa_service.dose_checks import asked_sentences_first, drugs_dosed_in_question

    assert drugs_dosed_in_question("how often is diazepam given?") == {"diazepam"}
    assert drugs_dosed_in_question("how often should I give zometa?") == {"zoledronic acid"}
    assert drugs_dosed_in_question("how frequently should denosumab be given?") == {"denosumab"}
    # A drug before "how often", or after the thing whose frequency is asked, is the patient's story.
    assert drugs_dosed_in_question("starting methadone. how often should I see him in week 1?") == frozenset()
    assert drugs_dosed_in_question("how often dental review on zol q4w") == frozenset()

    from qa_service.composed import Candidate

    chunk = _chunk(
        "Alprazolam 0.25 mg or placebo was given twice daily by mouth for 6 to 12 months.",
        "Diazepam 5 mg twice daily was given to 29 adult cancer patients for 3 days before each course.",
    )
    answer = [AnswerSentence(t, 0, position=n) for n, t in enumerate(chunk.sentence_texts())]
    ordered = asked_sentences_first("how often is diazepam given?", answer, [Candidate(chunk=chunk, row=0, rank=0)])
    assert [s.text for s in ordered] == [answer[1].text, answer[0].text]


def test_a_table_row_whose_header_names_the_unit_states_its_dose():
    from qa_service.dose_checks import with_units_from_headers

    question = "fentanyl nasal spray (Lazanda) starting dose in mcg?"
    row = "Drug: Fentanyl nasal spray (Lazanda); Starting Dose (µg): 100; Tmax (median, minutes): 15–21. [1]"
    other = "Drug: Fentanyl buccal tablet (Fentora); Starting Dose (µg): 100, 200, or 400. [1]"

    assert with_units_from_headers(row).startswith("Drug: Fentanyl nasal spray (Lazanda); Starting Dose: 100 µg;")
    assert "Tmax (median, minutes): 15–21" in with_units_from_headers(row)  # no unit of dose: left as it is
    assert with_units_from_headers("Starting Dose (µg): 100, 200, or 400") == "Starting Dose: 100, 200, or 400 µg"
    assert with_units_from_headers("Age (years): 12") == "Age (years): 12"
    assert not judge(question=question, answer_text=row, **STRONG).penalised
    # The dose is read as the row's drug's: a row of another drug is still no answer.
    assert judge(question="buprenorphine starting dose in mcg?", answer_text=other, **STRONG).penalised


def test_shorthand_and_ordinals_are_skipped_by_coverage_not_counted_as_missing_rare_words():
    from qa_service.gate_features import clause_coverage, coverage, silent_terms, starts_a_word

    passage = "A minimum of 7-10 days free of opioids is recommended before the first naltrexone dose."
    idf = dict.fromkeys(keyword_tokens(passage + " extended release injection teriparatide"), 1.0)
    vocabulary = sorted(idf)
    question = "naltrexone: how many opioid-free days before 1st dose, and is the inj weekly?"

    silent = silent_terms(question, idf, lambda w: starts_a_word(w, vocabulary))
    assert silent == {*keyword_tokens("1st"), *keyword_tokens("inj")}  # "inj" starts "injection"
    assert coverage(question, passage, idf, 1.0) < coverage(question, passage, idf, 1.0, ignore=silent)
    assert clause_coverage(question, passage, idf, 1.0, ignore=silent) > clause_coverage(question, passage, idf, 1.0)
    # A drug the corpus never names is not shorthand for anything: still a missing rare word.
    assert not silent_terms("teriparatide dose, 2nd course?", idf, lambda w: starts_a_word(w, vocabulary)) & set(
        keyword_tokens("teriparatide")
    )


def test_giving_a_treatment_is_question_phrasing_not_a_word_the_passages_must_hold():
    """ "how much ondansetron should I give?" was refused at 0.14 where "ondansetron dose?" was answered: guidelines
    write "given" or "administered", so the bare verb read as one of the index's rarest words, missing."""
    from qa_service.gate_features import coverage, unknown_terms

    passage = "Ondansetron 8 mg orally before chemotherapy."
    idf = dict.fromkeys(keyword_tokens(passage + " given administered"), 2.0)
    for question in ("how much ondansetron should I give?", "ondansetron: ok to administer before chemotherapy?"):
        assert coverage(question, passage, idf, 8.0) == 1.0
        assert unknown_terms(question, idf) == 0
    assert coverage("how much ondansetron should I titrate?", passage, idf, 8.0) < 0.5  # another verb still counts


def test_the_usual_or_typical_dose_asks_the_dose():
    """ "typical ondansetron dose?" was cautioned or refused for 62 of 66 drugs where "<drug> dose?" was answered for
    59 (session 39's probe): guidelines seldom call a dose "typical" or "usual", so the word read as a rare one the
    dosing sentence lacks."""
    from qa_service.gate_features import coverage

    passage = "Ondansetron 8 mg orally before chemotherapy."
    idf = dict.fromkeys(keyword_tokens(passage + " usual care typical"), 2.0)
    for question in ("typical ondansetron dose?", "usual dose of ondansetron?", "ondansetron dose, typically?"):
        assert coverage(question, passage, idf, 8.0) == 1.0
    assert coverage("maximum ondansetron dose?", passage, idf, 8.0) < 1.0  # a dose of another kind still counts


def test_the_relative_a_lay_question_is_about_is_the_patient_not_the_topic():
    """ "my mum takes ondansetron, what dose?" was refused at 0.10 where "ondansetron, what dose?" was answered at
    0.92 (session 39's probe: 66 of 66 drugs refused): "mum" and "takes" read as words the dosing sentence lacks."""
    from qa_service.gate_features import coverage

    passage = "Ondansetron 8 mg orally before chemotherapy."
    idf = dict.fromkeys(keyword_tokens(passage + " taking mothers"), 2.0)
    for question in ("my mum takes ondansetron, what dose?", "my husband took ondansetron - what dose?"):
        assert coverage(question, passage, idf, 8.0) == 1.0
    assert coverage("my mum takes ondansetron with aprepitant, what dose?", passage, idf, 8.0) < 1.0


def test_a_normal_or_right_dose_asks_the_dose_and_normal_elsewhere_is_content():
    from qa_service.gate_features import coverage

    passage = "Ondansetron 8 mg orally before chemotherapy."
    idf = dict.fromkeys(keyword_tokens(passage + " normal right standard"), 2.0)
    for question in (
        "normal dose of ondansetron?",
        "ondansetron - what dose is right?",
        "standard ondansetron dose?",
    ):
        assert coverage(question, passage, idf, 8.0) == 1.0
    assert coverage("ondansetron dose, renal function normal?", passage, idf, 8.0) < 1.0  # not beside "dose"
    assert coverage("right femur: ondansetron dose?", passage, idf, 8.0) < 1.0


def test_adults_are_the_default_patient_not_a_word_the_passages_must_hold():
    """ "ondansetron dose for adults?" was refused where "ondansetron dose?" was answered: guidelines rarely say
    "adults", so the word read as a rare one the passages lack (a child's question still needs a child's passage)."""
    from qa_service.gate_features import coverage

    passage = "Ondansetron 8 mg orally before chemotherapy."
    idf = dict.fromkeys(keyword_tokens(passage + " children"), 2.0)
    assert coverage("ondansetron dose for adults?", passage, idf, 8.0) == 1.0
    assert coverage("adult ondansetron dose?", passage, idf, 8.0) == 1.0
    assert coverage("ondansetron dose for children?", passage, idf, 8.0) < 1.0


def test_a_dose_asked_per_kilogram_is_not_answered_by_an_adult_fixed_dose():
    question = "WHO starting dose of oral morphine in mg/kg for a 6yo?"
    adult = "Morphine: oral 30 mg, IV 10 mg. [1]"
    child = "Oral morphine 0.2-0.4 mg/kg every 4 hours. [1]"

    assert judge(question=question, answer_text=adult, **STRONG).penalised
    assert not judge(question=question, answer_text=child, **STRONG).penalised
    assert not judge(question="morphine starting dose?", answer_text=adult, **STRONG).penalised
    fixed = "Docetaxel 75 mg every 3 weeks. [1]"
    assert judge(question="docetaxel dose per m2?", answer_text=fixed, **STRONG).penalised


@pytest.mark.parametrize(
    ("question", "refused", "accepted"),
    [
        pytest.param(  # a dose per kilogram of one drug is not answered by another drug's
            "gabapentin starting dose in mg/kg for a 12 yo?",
            "Gabapentin up to 3,600 mg per day in adults. Ondansetron 0.15 mg/kg IV. [1]",
            "Gabapentin 5 mg/kg at bedtime. [1]",
            id="per-kg-of-another-drug",
        ),
        pytest.param(  # an answer that never names the drug asked about doses only other drugs
            "13yo w functional abd pain - amitriptyline dose?",
            "Dexamethasone 8 mg on days 0 to 4. The arms differed little (52 versus 40 mg/day). [1]",
            "Amitriptyline is an option. The usual starting dose is 10 mg at night. [1]",
            id="drug-asked-never-named",
        ),
    ],
)
def test_a_dose_question_is_refused_an_answer_dosing_only_other_drugs(question, refused, accepted):
    assert judge(question=question, answer_text=refused, **STRONG).penalised
    assert not judge(question=question, answer_text=accepted, **STRONG).penalised


def test_a_drug_the_patient_is_on_is_not_the_drug_whose_dose_is_asked():
    question = "pt on oxycodone wants to try ginger caps for nausea - what dose?"
    ginger = "A trial evaluated 0.5 g, 1 g, and 1.5 g of ginger. Another gave it with cisplatin (>50 mg/m2). [1]"
    morphine = "Morphine 30 mg orally every 4 hours. [1]"

    assert drugs_taken(question) == {"oxycodone"}
    assert not doses_only_for_other_drugs(question, ginger)  # ginger is no drug the lexicon knows: its dose stands
    assert doses_only_for_other_drugs("oxycodone dose for cancer pain?", morphine)  # the drug asked, not the story


def test_how_much_asks_for_a_dose_only_of_a_drug_the_question_names():
    saved = judge(
        question="internet CBT for kids - how much did it save?", answer_text="It saved US$ 974. [1]", **STRONG
    )
    morphine = judge(question="fentanyl patch 12 mcg/h = how much PO morphine?", answer_text="About 25%. [1]", **STRONG)

    assert saved.asks_quantity and not saved.penalised  # a saving, not a dose
    assert morphine.penalised  # a morphine dose asked, a percentage given


def test_a_question_asking_a_dose_and_a_time_in_two_parts_still_asks_a_dose():
    question = "Pt tapering off oxycodone with sweats. What lofexidine dose in mg? And for how many days?"
    other_drugs = "Oxycodone 10 mg taken twice a day would contain a total of 20 mg of oxycodone daily. [1]"
    asked_drug = "Lofexidine 0.54 mg four times daily for 5 to 7 days. [1]"
    time_only = "how long after the last dose of methadone should I wait?"

    assert judge(question=question, answer_text=other_drugs, **STRONG).penalised  # another drug's dose
    assert not judge(question=question, answer_text=asked_drug, **STRONG).penalised
    assert not judge(question=time_only, answer_text="Wait at least 24 hours. [1]", **STRONG).penalised


@pytest.mark.parametrize(
    "question",
    [
        "during a taper, what clonidine dose (mg and how often) for sweating?",
        "clonidine for withdrawal sweats: what dose and how often?",
        "how many days of clonidine and what dose?",
    ],
)
def test_a_dose_asked_beside_a_time_in_the_same_part_is_still_asked(question):
    # The drug named without a dose, and a time of another drug's dose: no answer to either ask.
    other_drugs = (
        "Alpha-2 agonists such as clonidine help with sweating. [1] Tablets of hydrocodone 5 mg taken four times a "
        "day contain 20 mg of hydrocodone daily. [1]"
    )
    asked_drug = "Clonidine 0.1 mg two or three times daily for 5 to 7 days. [1]"

    assert judge(question=question, answer_text=other_drugs, **STRONG).penalised  # another drug's dose
    assert not judge(question=question, answer_text=asked_drug, **STRONG).penalised
    # A time counted from a dose asks no dose, in one clause or beside another.
    for timed in ("how long after the last dose of methadone should I wait?", "how long after the dose and why?"):
        assert not judge(question=timed, answer_text="Wait at least 24 hours. [1]", **STRONG).penalised


def test_how_much_before_a_verb_or_a_comparison_asks_for_an_effect_not_a_dose():
    question = "62F on xanax 0.5mg bid now needs oxycodone. how much does the benzo combo raise OD death risk?"
    risk = judge(
        question=question, answer_text="Concurrent use nearly quadrupled the risk (hazard ratio 3.86). [1]", **STRONG
    )
    better = judge(question="olanzapine added for HEC - how much better?", answer_text="74% versus 45%. [1]", **STRONG)
    dose = judge(question="how much oxycodone for a 70 kg adult?", answer_text="Start low and go slow. [1]", **STRONG)

    assert risk.asks_quantity and not risk.penalised  # a risk asked and a ratio given
    assert not better.penalised
    assert dose.penalised  # "how much" + a drug, no verb between: a dose


def test_a_dose_named_as_a_moment_is_not_asked():
    question = "81F starting dara, worried about infusion rxn w the first IV dose. any way to soften it?"
    story = judge(question=question, answer_text="Split the first infusion over 2 days. [1]", **STRONG)
    each = judge(
        question="need creatinine before each zometa dose?", answer_text="Yes, check it every time. [1]", **STRONG
    )
    first = judge(question="buprenorphine first dose?", answer_text="Wait for mild withdrawal. [1]", **STRONG)

    assert not story.asks_quantity and not story.penalised
    assert not each.penalised
    assert first.penalised  # "first dose?" asked on its own is the dose's amount


def test_a_dose_change_is_answered_by_a_share_of_the_dose():
    question = "58M on oxycodone 90 MME for 3 yrs, how fast should i taper his dose?"
    share = judge(question=question, answer_text="A decrease of 10% of the original dosage per week. [1]", **STRONG)
    vague = judge(question=question, answer_text="Go slowly and follow up often. [1]", **STRONG)
    unchanged = judge(question="oxycodone starting dose?", answer_text="Reduce the risk by 10%. [1]", **STRONG)

    assert not share.penalised
    assert vague.penalised
    assert unchanged.penalised  # a starting dose is no change: a share does not answer it


def test_how_long_after_a_dose_asks_for_a_time_not_a_dose():
    question = "switching from oxycodone to buprenorphine - how long after the last dose before the first dose?"
    timed = judge(question=question, answer_text="Wait at least 12 hours after the last dose. [1]", **STRONG)
    untimed = judge(question=question, answer_text="Wait for mild withdrawal. [1]", **STRONG)
    dose = judge(question="buprenorphine first dose?", answer_text="Wait at least 12 hours. [1]", **STRONG)

    assert not timed.penalised
    assert untimed.penalised  # still a quantity question: the answer must state a time
    assert dose.penalised  # a dose question answered with a time


@pytest.mark.parametrize(
    ("text", "states"),
    [("every six months", True), ("give 8 Gy", True), ("30% of patients", True), ("one of the options", False)],
)
def test_a_number_may_be_spelled_out(text, states):
    from qa_service.dose_checks import states_number

    assert states_number(text) is states


@pytest.mark.parametrize(
    "question", ["SINS score above what = unstable spine", "spinal cord Dmax limit single fraction SBRT"]
)
def test_asking_for_a_limit_or_a_cut_off_asks_for_a_quantity(question):
    evidence = judge(question=question, answer_text="Assess spinal stability before SBRT. [1]", **STRONG)

    assert evidence.asks_quantity and evidence.penalised


def _unknown_feature(mini_pipeline, word_pieces, questions: list[str]) -> list[float]:
    """The gate's `unknown` feature for each question, with an encoder that counts a word's pieces by `word_pieces`
    (one piece: everyday English)."""

    class Vocabulary(type(mini_pipeline.embedder)):  # the hash fake with the given word-piece count
        def count_tokens(self, texts):
            return [sum(word_pieces(w) for w in t.split()) for t in texts]

    pipeline = QAPipeline(mini_pipeline.index, Vocabulary(dimension=64, max_tokens=128), mini_pipeline.settings)
    seen: list[float] = []
    pipeline.on_evidence = lambda _q, evidence, _composed: seen.append(evidence.features["unknown"])
    for question in questions:
        pipeline.ask(AskRequest(question=question))
    return seen


def test_the_service_reads_everyday_words_from_the_encoders_vocabulary(mini_pipeline):
    seen = _unknown_feature(
        mini_pipeline,
        lambda w: 2 if len(w) > 8 else 1,  # long words are two word pieces
        ["radiotherapy came back worry", "radiotherapy melorheostosis fibrodysplasia"],
    )

    assert seen == [0.0, 2 / 3]  # everyday words are not unknown; two technical ones are


def test_unknown_words_count_in_the_clause_that_asks_not_in_the_story_around_it(mini_pipeline):
    seen = _unknown_feature(
        mini_pipeline,
        lambda w: 2,  # every word two word pieces: none everyday
        [
            "84F with ckd and afib, painful bone metastases: single fraction radiotherapy dose?",
            "painful bone metastases: melorheostosis and fibrodysplasia dose?",
            "ckd afib radiotherapy",  # one clause: the whole question asks
        ],
    )

    assert seen == [0.0, 2 / 3, 2 / 3]


def test_excluding_what_the_corpus_never_speaks_of_as_absent_is_flagged(mini_index):
    from qa_service.gate_features import idf_table, uncovered_negation

    idf, _ = idf_table(mini_index)
    negated = frozenset(keyword_tokens("fracture bone"))  # "no pathological fracture", "without bone involvement"

    assert uncovered_negation("kyphoplasty for osteoporotic fracture, no cancer hx", idf, negated)
    assert uncovered_negation("hypercalcaemia in a pt without malignancy", idf | {"malign": 1.0}, negated)
    assert not uncovered_negation("painful met, no fx, RT dose?", idf, negated)  # fx: fracture, spoken of as absent
    assert not uncovered_negation("no teriparatide?", idf, negated)  # a word the corpus does not know at all
    metastatic = frozenset(keyword_tokens("no metastatic disease"))
    assert not uncovered_negation("dmab for bone loss (no mets)", idf, metastatic)  # metastases ~ metastatic
    assert not uncovered_negation("radiotherapy for bone pain", idf, negated)
    assert not uncovered_negation("ok to not give radiotherapy?", idf, negated)  # "not" negates a verb


def test_the_corpus_negated_vocabulary_reads_what_follows_no_without_and_non():
    from types import SimpleNamespace

    from qa_service.gate_features import negated_vocabulary

    chunks = [
        SimpleNamespace(text="Patients with no pathological fracture. Treat without delay."),
        SimpleNamespace(text="A non-urgent setting; no history of radiation to the jaws."),
    ]

    vocabulary = negated_vocabulary(SimpleNamespace(chunks=chunks))

    assert set(keyword_tokens("pathological fracture delay urgent radiation")) <= vocabulary
    assert not set(keyword_tokens("patients jaws")) & vocabulary


def test_the_negation_feature_is_computed_but_not_weighed_by_the_shipped_gate():
    # Dropped in session 25: on unseen questions it marked more answerable questions than unanswerable ones
    # (the gate file's provenance.dropped_features). A gate file that weighs it still lowers the score.
    from dataclasses import replace

    shipped = packaged_gate()
    plain = judge(question="x", answer_text="x [1].", **STRONG)
    negated = judge(question="x", answer_text="x [1].", negation=True, **STRONG)
    assert "negation" not in shipped.features and "negation" in shipped.provenance["dropped_features"]
    assert negated.features["negation"] == 1.0 and negated.score == plain.score

    weighing = replace(shipped, features=(*shipped.features, "negation"), weights={**shipped.weights, "negation": -1.5})
    plain = judge(question="x", answer_text="x [1].", model=weighing, **STRONG)
    negated = judge(question="x", answer_text="x [1].", negation=True, model=weighing, **STRONG)
    assert negated.score < plain.score


def test_the_remembered_everyday_words_stay_bounded(mini_pipeline, monkeypatch):
    import qa_service.abstention

    monkeypatch.setattr(qa_service.abstention, "COMMON_WORDS_KEPT", 3)

    for word in ["alpha", "beta", "gamma", "delta", "epsilon"]:
        assert mini_pipeline.gate.is_common_word(word)  # the hash fake: every word is one piece

    assert len(mini_pipeline.gate._common_words) <= 3


def test_the_packaged_gate_file_loads_with_its_provenance():
    from qa_service.gate_model import FEATURES

    gate = packaged_gate()
    assert set(gate.features) <= set(FEATURES) and gate.provenance["command"]
    assert 0 < gate.threshold < 1 and 0 < gate.quantity_penalty < 1
    # A penalised answer (a dose of another drug or use, no number where one is asked) scores at most the penalty:
    # below the threshold, it is always refused.
    assert gate.quantity_penalty < gate.threshold


def _vector_index(vectors, documents):
    from types import SimpleNamespace

    import numpy as np

    unit = np.asarray(vectors, dtype=np.float32)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    return SimpleNamespace(vectors=unit, chunks=[SimpleNamespace(doc_id=d) for d in documents])


def test_neighbour_similarity_is_how_close_passages_sit_to_another_documents():
    from qa_service.gate_features import neighbour_similarity

    # Two documents written to one template: each passage has a near twin in the other document.
    twins = _vector_index([[1, 0.1, 0], [1, 0, 0.1], [0, 1, 0.1], [0.1, 1, 0]], ["a", "b", "a", "b"])
    # Two documents about different things: a passage's nearest neighbour elsewhere is far.
    apart = _vector_index([[1, 0, 0], [0.9, 0.1, 0], [0, 0, 1], [0, 0.1, 0.9]], ["a", "a", "b", "b"])

    assert neighbour_similarity(twins) > 0.95
    assert neighbour_similarity(apart) < 0.2
    assert neighbour_similarity(twins, sample=2) == neighbour_similarity(twins, sample=2)  # seeded
    assert neighbour_similarity(_vector_index([[1, 0, 0], [0, 1, 0]], ["a", "a"])) is None  # no other document


def test_the_best_cosine_is_read_against_the_index_s_neighbour_similarity():
    from dataclasses import replace

    from qa_service.abstention import EvidenceGate
    from qa_service.gate_features import neighbour_similarity
    from qa_service.gate_model import packaged_gate

    strong = {**STRONG, "answer_text": "Give 8 Gy in a single fraction. [1]", "question": "RT dose?"}
    as_is = judge(**strong)
    shifted = judge(**strong, dense_offset=0.12)
    assert shifted.features["dense"] == pytest.approx(as_is.features["dense"] - 0.2)
    assert shifted.score < as_is.score

    index = _vector_index([[1, 0.1, 0], [1, 0, 0.1], [0, 1, 0.1], [0.1, 1, 0]], ["a", "b", "a", "b"])
    gate = EvidenceGate.__new__(EvidenceGate)  # only the index and the model: no IDF table needed here
    gate.index, gate.model = index, replace(packaged_gate(), dense_reference=0.7)
    assert gate.dense_offset == pytest.approx(neighbour_similarity(index) - 0.7)
    gate = EvidenceGate.__new__(EvidenceGate)
    gate.index, gate.model = index, replace(packaged_gate(), dense_reference=None)
    assert gate.dense_offset == 0.0


def test_the_gate_file_keeps_its_dense_reference_through_a_round_trip():
    from dataclasses import replace

    from qa_service.gate_model import GateModel, packaged_gate

    assert packaged_gate().dense_reference is not None
    model = replace(packaged_gate(), dense_reference=0.65)
    assert GateModel.from_json(model.to_json()).dense_reference == 0.65
    data = {k: v for k, v in model.to_json().items() if k != "dense_reference"}
    assert GateModel.from_json(data).dense_reference is None  # an older file: the cosine read as it is


def test_a_gate_file_with_an_unknown_feature_is_refused_naming_the_file(tmp_path):
    import json

    from qa_service.gate_model import GateModel, packaged_gate

    data = packaged_gate().to_json() | {"features": ["dense", "telepathy"]}
    path = tmp_path / "gate.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"gate\.json.*telepathy"):
        GateModel.load(path)


@pytest.mark.parametrize(("band", "flagged"), [(1.0, True), (0.0, False)])
def test_an_answer_just_above_the_threshold_is_flagged_as_partial_evidence(mini_pipeline, monkeypatch, band, flagged):
    from dataclasses import replace

    from qa_service.schemas import AskRequest

    monkeypatch.setattr(mini_pipeline.gate, "model", replace(mini_pipeline.gate.model, caution_band=band))
    response = mini_pipeline.ask(AskRequest(question="single fraction radiotherapy dose for painful bone metastases"))
    assert not response.abstained
    assert response.caution is flagged


def test_an_abstention_is_never_flagged_as_partial_evidence(mini_pipeline, monkeypatch):
    from dataclasses import replace

    from qa_service.schemas import AskRequest

    monkeypatch.setattr(mini_pipeline.gate, "model", replace(mini_pipeline.gate.model, caution_band=1.0))
    response = mini_pipeline.ask(AskRequest(question="teriparatide dose for osteoporosis in men"))
    assert response.abstained and not response.caution


@pytest.mark.parametrize(
    ("answer", "is_dose"),
    [
        ("Reassess before increasing to 50 MME/day or more. [1]", True),
        ("Give 0.1 mg/kg every 4 hours. [1]", True),
        ("Give 8 Gy in a single fraction. [1]", True),
        ("Treat when calcium is above 14 mg/dL. [1]", False),
        ("Observe the infant for at least 72 hours. [1]", False),
        # Read sentence by sentence: a dose in any sentence of the answer, whichever comes first.
        ("Treat when calcium is above 14 mg/dL. [1] Give zoledronic acid 4 mg over 15 minutes. [2]", True),
        ("Give zoledronic acid 4 mg over 15 minutes. [1] Treat when calcium is above 14 mg/dL. [2]", True),
        ("Observe the infant for 72 hours. [1] Treat when calcium is above 14 mg/dL. [2]", False),
    ],
)
def test_a_dose_is_recognised_by_the_grounding_check_s_quantity_reader(answer, is_dose):
    from qa_service.dose_checks import states_dose

    assert states_dose(answer) is is_dose


def _chunk(*sentences: str):
    from ingest import Chunk

    text, bounds = "", []
    for sentence in sentences:
        start = len(text) + (1 if text else 0)
        text = f"{text} {sentence}" if text else sentence
        bounds.append((start, len(text)))
    return Chunk(
        chunk_id="c1",
        doc_id="d",
        position=0,
        text=text,
        start=0,
        end=len(text),
        title="Guideline",
        section=("Recommendation 5",),
        sentences=tuple(bounds),
    )


def test_a_number_is_read_with_the_sentence_before_it_and_its_table_header(mini_pipeline):
    from qa_service.composed import AnswerSentence, Candidate, Composed

    named = "Buprenorphine induction for patients on short-acting opioids needs care."
    waiting = "Clinicians should wait at least 12 hours after the last dose."
    chunk = _chunk(named, waiting, "Unrelated sentence about bone scans.")
    question = "when to start buprenorphine after short-acting opioid, how many hours?"
    gate = mini_pipeline.gate
    number = AnswerSentence(text=waiting, source=0, position=1)
    alone = gate._quantity_coverage(question, Composed([number], "extractive"), [Candidate(chunk, 0, 0)])
    # The same sentence as the last of its passage: nothing before it names the drug.
    moved = _chunk(waiting)
    first = AnswerSentence(text=waiting, source=0, position=0)
    without = gate._quantity_coverage(question, Composed([first], "extractive"), [Candidate(moved, 0, 0)])
    assert alone > without  # "buprenorphine", "short-acting" come from the sentence before

    row = AnswerSentence(
        text="| Methadone | 4.7 |", source=0, position=0, table_header="| Opioid | Conversion factor |"
    )
    table = _chunk(row.text)
    plain = AnswerSentence(text=row.text, source=0, position=0)
    q = "conversion factor for methadone?"
    with_header = gate._quantity_coverage(q, Composed([row], "extractive"), [Candidate(table, 0, 0)])
    assert with_header > gate._quantity_coverage(q, Composed([plain], "extractive"), [Candidate(table, 0, 0)])


def test_a_how_often_question_answered_without_an_interval_is_penalised():
    question = "Lung-RADS 3 nodule on screening CT - f/u interval?"
    numbers = "The risk of death or major complications is 4.1 and 4.5 per 10,000. [1]"
    interval = "Repeat low-dose CT every 6 months. [1]"

    assert judge(question=question, answer_text=numbers, **STRONG).penalised
    assert not judge(question=question, answer_text=interval, **STRONG).penalised
    how_long = "how long should adjuvant zol continue?"
    assert judge(question=how_long, answer_text="Zoledronic acid 4 mg was given. [1]", **STRONG).penalised
    assert not judge(question=how_long, answer_text="Continue zoledronic acid for 3 years. [1]", **STRONG).penalised
    # A question that asks no time is not held to one.
    assert not judge(question="zol dose for bone mets?", answer_text="Zoledronic acid 4 mg. [1]", **STRONG).penalised


@pytest.mark.parametrize(
    ("question", "name", "asks"),
    [
        ("per NCCN, zol dose?", "nccn", True),
        ("what 4-drug regimen does ASCO recommend?", "asco", True),
        ("AAFP position on LDCT screening", "aafp", True),
        ("what is ACOG's position on tamoxifen?", "acog", True),
        ("IDSA guidelines for cellulitis", "idsa", True),
        ("uACR 300, ACR 300 mg/g - start an SGLT2 inhibitor?", "acr", False),
        ("ACC of the parotid - RT dose?", "acc", False),
    ],
)
def test_a_body_is_asked_for_only_with_a_word_asking_for_its_guidance(question, name, asks):
    from qa_service.abstention import asks_for_its_word

    assert asks_for_its_word(question, name) is asks


@pytest.mark.parametrize(
    ("question", "population"),
    [
        ("58M, BRCA2 carrier: tamoxifen for risk reduction?", {"male"}),
        ("7yo with cancer pain - oxycodone starting dose?", {"child"}),
        ("16 y/o after wisdom tooth extraction, max days of hydrocodone?", {"child"}),
        ("a 12-year-old boy with chronic pain", {"child", "male"}),
        ("31F, 22 wks pregnant: which imaging is safe?", {"female"}),
        ("58M, his mother had breast ca: screening?", {"male"}),
        ("34F and her partner, 36M: fertility after chemo?", set()),  # both sexes: neither counts
        ("single fraction dose for painful bone mets?", set()),
        ("8 Gy in 1 fraction or 20 Gy in 5?", set()),  # doses are not ages
        ("zol 4 mg every 6m for early BC, then for 5y?", set()),  # durations are not a child
        ("tamoxifen 20 mg daily for 5y: dose?", set()),
    ],
)
def test_question_population_reads_age_sex_and_words(question, population):
    assert question_population(question) == population


def test_a_passage_conflicts_only_when_it_names_another_population_and_not_the_questions():
    man, child = frozenset({"male"}), frozenset({"child"})

    assert population_conflict(man, "Offer tamoxifen to women at increased risk of breast cancer.") == "women"
    assert population_conflict(man, "Offer ADT-treated men and women on AIs a bone agent.") == ""
    assert population_conflict(man, "Offer a bone-modifying agent to patients with bone metastases.") == ""
    assert population_conflict(child, "In adults, start oxycodone at 5 mg.") == "adults"
    assert population_conflict(child, "In children and adults, CBT is recommended.") == ""


def _rows(*texts: str, header: str | None = "| Opioid | Conversion factor |") -> Composed:
    return Composed(
        sentences=[AnswerSentence(text=t, source=i, table_header=header) for i, t in enumerate(texts)],
        composer="extractive",
    )


def test_table_rows_naming_only_other_drugs_do_not_answer_a_drugs_quantity():
    question = "butorphanol nasal spray - whats the MME conversion factor in the cdc table?"
    other = _rows("| Fentanyl nasal spray (Lazanda) | 100 | 15–21 |", "| Codeine | 0.15 |")

    assert table_rows_for_other_drugs(question, other) == {"butorphanol"}
    assert table_rows_for_other_drugs(question, _rows("| Butorphanol | 7 |", "| Codeine | 0.15 |")) == frozenset()
    # A row naming no drug, or a number in prose, may be the drug's: the passage may have named it before.
    assert table_rows_for_other_drugs(question, _rows("| Nasal spray | 100 |")) == frozenset()
    assert table_rows_for_other_drugs(question, _rows("Fentanyl 100 mcg.", header=None)) == frozenset()
    assert table_rows_for_other_drugs("MME conversion factors in the table?", other) == frozenset()  # no drug asked


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("single 8 Gy to spine safe long term?", False),  # the dose is the story, not the question
        ("64F, T-spine met got 8Gy x1 six months ago, pain back. re-irradiate?", False),
        ("pt on methadone 20 mg/day - what conversion factor do i use?", True),  # asks a factor
        ("8 Gy x1 or 20 Gy/5 for a painful rib met?", True),  # a choice between doses asks one
        ("naloxone nasal spray: 4 mg or 8 mg?", True),
        ("zoledronic acid 4 mg: how often?", True),
    ],
)
def test_a_dose_stated_in_the_question_is_not_a_quantity_asked(question, asks):
    assert judge(question=question, answer_text="Give radiotherapy [1].", **STRONG).asks_quantity is asks


def test_a_time_unstated_for_one_part_of_a_question_flags_the_answer_instead_of_refusing_it():
    two_parts = "urine tox on chronic opioids: how often, and will a standard immunoassay pick up fentanyl?"
    answer = "Standard opiate immunoassays miss fentanyl at 1 ng/mL [1]."

    flagged = judge(question=two_parts, answer_text=answer, **STRONG)
    time_only = judge(question="urine tox on chronic opioids: how often?", answer_text=answer, **STRONG)

    assert flagged.untimed_part == "how often" and not flagged.time_unstated and not flagged.penalised
    assert time_only.time_unstated and time_only.penalised and time_only.untimed_part == ""
    # A clause that only names the subject asks nothing more: "Lung-RADS 4A nodule - follow-up interval?".
    subject = judge(question="Lung-RADS 4A nodule on LDCT - follow-up interval?", answer_text=answer, **STRONG)
    assert subject.time_unstated and subject.untimed_part == ""
    timed = judge(question=two_parts, answer_text="Test at least annually [1]. Fentanyl is missed [1].", **STRONG)
    assert timed.untimed_part == "" and not timed.time_unstated


HEADER = "| Drug category | Medication | Dose |"


def _texts(sentences: list[AnswerSentence]) -> list[str]:
    return [s.text for s in sentences]


def test_a_dose_question_reads_the_asked_drugs_table_row_before_another_drugs() -> None:
    from qa_service.dose_checks import asked_doses_first

    rows = [
        AnswerSentence("| Corticosteroids | Methylprednisolone | 4–10 mg/kg |", 0, position=1, table_header=HEADER),
        AnswerSentence("| Benzodiazepines | Lorazepam | 0.02–0.05 mg/kg/dose |", 0, position=2, table_header=HEADER),
        AnswerSentence("Lorazepam is the most commonly used benzodiazepine.", 1),
    ]
    ordered = asked_doses_first("10yo, anticipatory nausea before chemo: lorazepam dose?", rows)
    assert _texts(ordered) == _texts([rows[1], rows[0], rows[2]])
    # A question asking no dose, or another drug's, leaves the order as composed.
    assert asked_doses_first("is lorazepam used for anticipatory nausea?", rows) == rows
    assert asked_doses_first("methylprednisolone dose in children?", rows) == rows


def test_a_passage_dosing_only_other_drugs_moves_behind_the_first_dosing_the_asked_drug() -> None:
    from qa_service.dose_checks import asked_doses_first

    answer = [
        AnswerSentence("Give ondansetron 8 mg twice daily.", 0),
        AnswerSentence("Consider an NK1 receptor antagonist for highly emetogenic regimens.", 1),
        AnswerSentence("Aprepitant 125 mg on day 1, then 80 mg on days 2 and 3.", 2),
        AnswerSentence("Granisetron 2 mg orally once daily.", 3),
    ]
    ordered = asked_doses_first("aprepitant dosing for CINV prophylaxis?", answer)
    assert _texts(ordered) == _texts([answer[1], answer[2], answer[0], answer[3]])


def test_a_passage_naming_neither_the_drug_asked_nor_its_class_does_not_lead_its_dose() -> None:
    """Session 43's probes: "standard dose of haloperidol?" opened with a sentence on single-fraction SBRT becoming
    "the standard of care" (it shares "standard" and "dose"), haloperidol's row second."""
    from qa_service.dose_checks import asked_doses_first

    answer = [
        AnswerSentence("The higher dose of single-fraction SBRT could become the standard of care.", 0),
        AnswerSentence("| Dopamine antagonists | Haloperidol | 0.5–5 mg q24h |", 1, position=1, table_header=HEADER),
    ]
    assert _texts(asked_doses_first("standard dose of haloperidol?", answer)) == _texts([answer[1], answer[0]])
    # A sentence naming the drug's class is context for its dose, and stays first.
    context = [AnswerSentence("A dopamine antagonist may be used for nausea.", 0), answer[1]]
    assert asked_doses_first("standard dose of haloperidol?", context) == context


def test_a_passage_naming_the_drug_asked_leads_with_its_dose_said_a_sentence_later() -> None:
    """Session 45's probes: "thalidomide starting dose for an elderly pt?" led with ondansetron's passage ("current
    drug labeling calls for a maximum single 16-mg IV dose"); thalidomide's passage names it, then gives "a low dose
    (50 mg by mouth every day)" in a sentence naming no drug."""
    from qa_service.dose_checks import asked_doses_first

    answer = [
        AnswerSentence("Current drug labeling calls for a maximum single 16-mg IV dose.", 0),
        AnswerSentence("Ondansetron clearance is diminished; these patients receive no more than 8 mg.", 0, position=1),
        AnswerSentence("Thalidomide is a first-generation immunomodulatory agent.", 1),
        AnswerSentence("By using a low dose (50 mg by mouth every day), sedation may be avoided.", 1, position=1),
    ]
    ordered = asked_doses_first("thalidomide starting dose for an elderly pt?", answer)
    assert _texts(ordered) == _texts([answer[2], answer[3], answer[0], answer[1]])
    # Asked about ondansetron, its own passage stays first.
    assert asked_doses_first("ondansetron starting dose for an elderly pt?", answer) == answer


def test_the_leading_passage_stays_first_unless_it_doses_only_other_drugs() -> None:
    from qa_service.dose_checks import asked_doses_first

    context_first = [
        AnswerSentence("Patients with bone metastases should receive a bone-modifying agent.", 0),
        AnswerSentence("Denosumab 120 mg subcutaneously every 4 weeks.", 1),
    ]
    assert asked_doses_first("denosumab dose for bone mets?", context_first) == context_first
    # Another use's dose of the same drug is the composer's to place: it is not pulled ahead of the lead.
    other_use = [
        AnswerSentence("For treatment-induced bone loss, denosumab 60 mg every 6 months.", 0),
        AnswerSentence("Zoledronic acid 4 mg every 12 weeks.", 1),
        AnswerSentence("Denosumab 120 mg subcutaneously every 4 weeks.", 2),
    ]
    assert asked_doses_first("prolia dose for AI induced bone loss?", other_use) == other_use


def test_the_service_leads_a_dose_answer_with_the_asked_drugs_row(tmp_path) -> None:
    from tests.qa_service.mini_corpus import pipeline_over

    table = (
        "# Antiemetics in children\n\n## Doses\n\n"
        f"{HEADER}\n| --- | --- | --- |\n"
        "| Corticosteroids | Methylprednisolone | 4–10 mg/kg/dose for anticipatory nausea |\n"
        "| Benzodiazepines | Lorazepam | 0.02–0.05 mg/kg/dose for anticipatory nausea |\n"
    )
    pipeline = pipeline_over(tmp_path, {"antiemetics.md": table})
    reply = pipeline.ask(AskRequest(question="lorazepam dose for anticipatory nausea in a child?"))
    assert not reply.abstained and "Methylprednisolone" in reply.answer
    assert reply.answer.index("Lorazepam") < reply.answer.index("Methylprednisolone")


EQUIANALGESIC = "| Opioid drug | Equianalgesic dosing | Comments |"


@pytest.mark.parametrize(
    ("row", "header", "dosed"),
    [
        # A comment comparing with another drug does not make its number that drug's dose.
        ("| Tapentadol | 100 mg | Similar to morphine, 30-40 mg |", EQUIANALGESIC, ("tapentadol",)),
        ("| Tramadol | 150 mg ~ 25 mg oral morphine | Use at <400 mg/d |", EQUIANALGESIC, ("tramadol",)),
        # The label cells are those before the first number: a class there names no drug, the next cell does.
        ("| Corticosteroids | Methylprednisolone | 4–10 mg/kg/dose |", HEADER, ("methylprednisolone",)),
        # A class may hold a drug's name: the label cell nearest the numbers names the row's drug.
        ("| Dopamine antagonists: butyrophenones | Haloperidol | 0.5–5 mg q24h |", HEADER, ("haloperidol",)),
        # A row whose label cells name no drug is read as a sentence, as before.
        ("| Adults | Morphine 30 mg orally |", "| Population | Regimen |", ("morphine",)),
    ],
)
def test_a_table_rows_doses_are_its_own_drugs(row: str, header: str, dosed: tuple[str, ...]) -> None:
    from qa_service.dose_checks import sentence_dosed_drugs

    assert sentence_dosed_drugs(AnswerSentence(row, 0, table_header=header)) == dosed
    # Prose is read as written: both drugs beside their numbers.
    prose = AnswerSentence("Tapentadol 100 mg is similar to morphine 30-40 mg.", 0)
    assert set(sentence_dosed_drugs(prose)) == {"tapentadol", "morphine"}


def test_a_terse_dose_question_reads_its_drugs_row_first() -> None:
    """ "morphine dose?" over NCI's equianalgesic table: tapentadol's and tramadol's rows mention morphine beside a
    number and were read as dosing it, so they stayed ahead of morphine's own row."""
    from qa_service.dose_checks import asked_doses_first

    rows = [
        AnswerSentence("| Tapentadol | 100 mg | Similar to morphine, 30-40 mg |", 0, table_header=EQUIANALGESIC),
        AnswerSentence("| Tramadol | 150 mg ~ 25 mg oral morphine | Use at <400 mg/d |", 1, table_header=EQUIANALGESIC),
        AnswerSentence("| Morphine | Oral: 30 mg, IV: 10 mg | First-choice opioid |", 2, table_header=EQUIANALGESIC),
    ]
    assert _texts(asked_doses_first("morphine dose?", rows)) == _texts([rows[2], rows[0], rows[1]])


TRANSMUCOSAL = "| Drug | Starting Dose (µg) | Tmax (median, minutes) |"


def test_a_dose_asked_for_one_product_reads_that_products_row_first() -> None:
    """NCI's transmucosal fentanyl table gives each product its own starting dose, its unit in the column's header:
    "lazanda starting dose" led with the buccal film's 200 µg, because no row read as dosing fentanyl at all."""
    from qa_service.dose_checks import asked_doses_first, sentence_dosed_drugs

    lead = AnswerSentence("Rapid-onset fentanyl products are for opioid-tolerant patients.", 0)
    rows = [
        AnswerSentence("| Fentanyl buccal film (Onsolis) | 200 | 60 |", 0, table_header=TRANSMUCOSAL),
        AnswerSentence("| Fentanyl nasal spray (Lazanda) | 100 | 15–21 |", 0, table_header=TRANSMUCOSAL),
        AnswerSentence("| Fentanyl sublingual spray (Subsys) | 100 | 40–75 |", 0, table_header=TRANSMUCOSAL),
    ]
    other = AnswerSentence("Patients received dexamethasone 8 mg on days 0 to 4.", 1)
    assert sentence_dosed_drugs(rows[0]) == ("fentanyl",)  # "Starting Dose (µg): 200" is a dose
    answer = [other, lead, *rows]

    lazanda = asked_doses_first("lazanda starting dose", answer)
    assert _texts(lazanda) == _texts([lead, rows[1], rows[0], rows[2], other])
    # The dictionary reads Subsys as fentanyl sublingual spray: its row, then the other spray's.
    subsys = asked_doses_first("subsys starting dose", answer)
    assert _texts(subsys) == _texts([lead, rows[2], rows[1], rows[0], other])
    # Naming no product, the rows keep the table's order.
    assert _texts(asked_doses_first("fentanyl dose?", answer)) == _texts([lead, *rows, other])


@pytest.mark.parametrize(
    ("question", "answer", "unanswered"),
    [
        ("sore muscles after exercise - how long does it last?", "It generally resolved within several days.", False),
        ("sore muscles after exercise - how long does it last?", "Muscle soreness was reported.", True),
        ("how long to continue?", "Continue for a few weeks.", False),
        # A time in words says how long, not how often.
        ("how often should soreness be reviewed?", "It generally resolved within several days.", True),
    ],
)
def test_a_time_in_words_answers_how_long(question: str, answer: str, unanswered: bool) -> None:
    from qa_service.dose_checks import time_unanswered

    assert time_unanswered(question, answer) is unanswered


def test_a_reference_number_no_longer_passes_for_the_quantity_asked(tmp_path) -> None:
    """A document citing by numbers in parentheses: its "(166)" is neither data in the answer nor the number a
    question asks for; a time in words ("within several days") answers "how long"."""
    from tests.qa_service.mini_corpus import pipeline_over

    cited = " ".join(f"Exercise helps knee pain in adults ({n}) and in older adults ({n + 1})." for n in range(12))
    files = {
        "cdc/exercise.md": "# Exercise for pain\n\n## Exercise therapy\n\n"
        f"{cited} Muscle soreness after new exercises generally resolved within several days.\n"
    }
    pipeline = pipeline_over(tmp_path, files)
    many = pipeline.ask(AskRequest(question="exercise for knee pain in adults: how many sessions?"))
    assert many.abstained and "quantity" in (many.reason or "")
    long = pipeline.ask(AskRequest(question="muscle soreness after new exercises: how long does it last?"))
    assert not long.abstained and "within several days" in long.answer and "(1" not in long.answer


def test_a_passage_read_only_for_a_sentence_pointed_to_is_not_a_retrieved_passage_speaking_of_the_use(mini_pipeline):
    from dataclasses import replace

    from tests.qa_service.mini_corpus import candidates_for

    question = "zoledronic acid dose for hypercalcaemia of malignancy?"
    candidates = candidates_for(mini_pipeline.index, "BM-MM-01", "HCM-01")
    dose = next(i for i, t in enumerate(candidates[0].chunk.sentence_texts()) if "4 mg every 12 weeks" in t)
    composed = Composed(
        sentences=[AnswerSentence(candidates[0].chunk.sentence_texts()[dose], source=0, position=dose)],
        composer="extractive",
    )
    gate = mini_pipeline.gate

    retrieved = gate.uses.unstated(question, composed, candidates, frozenset())
    read_for_one_sentence = gate.uses.unstated(
        question, composed, [candidates[0], replace(candidates[1], only_before=True)], frozenset()
    )

    assert retrieved == "hypercalcaemia of malignancy"  # another retrieved passage speaks of the use
    assert read_for_one_sentence == ""  # the passage before another is not evidence that the index speaks of it


@pytest.mark.parametrize(
    ("passage", "excluded"),
    [
        ("These schedules are much less intensive than those used for bone metastases.", ["bone metastases"]),
        (
            "They are not indicated for extraskeletal metastases without bone involvement.",
            ["extraskeletal metastases without bone involvement"],
        ),
        (
            "Anastrozole is approved for advanced breast cancer, not for breast cancer risk reduction.",
            ["breast cancer risk reduction"],
        ),
        # A comparison of options or schedules says nothing about whom a dose is for.
        ("Give zoledronic acid every 12 weeks rather than at the standard 4-week interval.", []),
        ("Isatuximab is given IV, unlike daratumumab.", []),
    ],
)
def test_what_a_passage_says_its_doses_are_not_for(passage: str, excluded: list[str]) -> None:
    from qa_service.dose_checks import excluded_uses

    assert [e.strip() for e in excluded_uses(passage)] == excluded


BONE_LOSS = {
    "esmo/bone-loss.md": "# Bone health\n\n## Treatment-induced bone loss\n\n"
    "Aromatase inhibitors and androgen deprivation cause bone loss. Suitable agents are denosumab 60 mg "
    "subcutaneously every 6 months or zoledronic acid 4 mg IV every 6 months. These schedules are much less "
    "intensive than those used for bone metastases.\n",
    "esmo/imaging.md": "# Bone metastases\n\n## Imaging\n\nBone metastases are found by a radionuclide bone scan. "
    "Plain radiographs of painful bone metastases show lytic or sclerotic lesions.\n",
}


def test_a_dose_whose_passage_says_it_is_not_for_the_asked_use_is_refused(tmp_path) -> None:
    """The passage names the use the question asks ("bone metastases") only to say its 60 mg is not that dose;
    the same dose asked for bone loss is answered."""
    from tests.qa_service.mini_corpus import pipeline_over

    pipeline = pipeline_over(tmp_path, BONE_LOSS)

    other_use = pipeline.ask(AskRequest(question="denosumab dose for bone metastases?"))
    own_use = pipeline.ask(AskRequest(question="denosumab dose for treatment-induced bone loss?"))

    assert other_use.abstained, other_use.answer
    assert (other_use.reason or "").startswith("the question asks a dose for bone metastases"), other_use.reason
    assert not own_use.abstained and "60 mg" in own_use.answer, (own_use.reason, own_use.answer)


@pytest.mark.parametrize(
    ("question", "answer", "unnamed"),
    [
        # "docetaxel in pregnancy?" answered with CDC's text on opioids in pregnancy: docetaxel never named.
        ("docetaxel in pregnancy?", "Opioid use during pregnancy might be associated with risks. [1]", {"docetaxel"}),
        ("zolendronic acid in myeloma, how long?", "Zoledronic acid every 4 weeks for 2 years. [1]", set()),  # misspelt
        ("Sm-153 for painful mets?", "Radionuclides such as samarium Sm 153 (153Sm) may be considered. [1]", set()),
        ("adjuvant BP decision?", "Offer adjuvant bisphosphonates to postmenopausal women. [1]", set()),
        ("oxycodone taper - how fast?", "Opioids should be tapered by 10% a month. [1]", set()),  # its class named
        ("pt on oxycodone, how fast to taper?", "Taper by 10% of the dose a month. [1]", set()),  # the patient's drug
        ("continue LHRH during radium tx?", "Give radium-223 while LHRH analogue therapy continues. [1]", set()),
    ],
)
def test_an_answer_that_never_names_the_drug_asked_is_flagged(question, answer, unnamed):
    from qa_service.dose_checks import drugs_unnamed

    assert drugs_unnamed(question, answer) == unnamed


def test_a_question_about_pregnancy_needs_a_passage_speaking_of_it_and_of_the_drug():
    """ "pamidronate in pregnancy?" was answered at 0.90 from a myeloma trial, and "metoclopramide in pregnancy?" from
    a passage on metoclopramide beside CDC's text on opioids in pregnancy: neither speaks of the drug in pregnancy."""
    from qa_service.population import pregnancy_unspoken

    trial = "A trial of 504 patients with myeloma compared 30 mg of pamidronate with 90 mg."
    opioids = "Opioid use during pregnancy might be associated with risks to the fetus."
    assert pregnancy_unspoken("pamidronate in pregnancy?", [trial])
    assert not pregnancy_unspoken("pamidronate in pregnancy?", [trial, opioids])  # the check reads what it is given
    assert not pregnancy_unspoken("pamidronate dose in myeloma?", [trial])  # not about pregnancy
    assert pregnancy_unspoken("ok while breastfeeding?", [trial])
    assert not pregnancy_unspoken("31F, 22 wks pregnant: opioid for bone pain?", [opioids])


@pytest.mark.parametrize(
    ("question", "answer", "penalised"),
    [
        # "how long should rolapitant be continued?" answered with how long opioids are continued: refused.
        ("how long should rolapitant be continued?", "If opioids are continued for ≥1 month, reassess. [1]", True),
        # The drug's class states the time: CDC's opioid text answers oxycodone.
        ("how long should oxycodone be continued?", "If opioids are continued for ≥1 month, reassess. [1]", False),
        # The time is the drug's, in its sentence or right after it.
        (
            "how long should pamidronate be continued?",
            "Pamidronate and zoledronic acid were given for 2 years. [1]",
            False,
        ),
        ("how long to continue zol?", "Zoledronic acid is effective. It was continued for 2 years. [1]", False),
        # No drug asked: any time stated may answer.
        ("how long should bone pain be reassessed?", "If opioids are continued for ≥1 month, reassess. [1]", False),
    ],
)
def test_a_time_asked_for_a_drug_is_not_answered_by_another_drug_s_time(question, answer, penalised):
    from qa_service.dose_checks import times_only_for_other_drugs

    assert times_only_for_other_drugs(question, answer) is penalised
    assert judge(question=question, answer_text=answer, **STRONG).penalised is penalised


def test_a_renal_function_outside_every_band_the_answer_states_is_found():
    from qa_service.population import renal_value_outside

    bisphosphonate = (
        "When creatinine clearance is above 60 mL/min, the dose need no change. [1] Zoledronic acid 4 mg. [1]"
    )
    lenalidomide = (
        "Lenalidomide doses need to be reduced (creatinine clearance, 30–50: 10 mg every day; creatinine clearance, "
        "<30: 15 mg every other day). [2]"
    )
    assert renal_value_outside("zol dose, CrCl 40?", bisphosphonate) == "CrCl 40 (the answer speaks of above 60)"
    assert renal_value_outside("zol dose, creatinine clearance of 75?", bisphosphonate) == ""  # above 60
    assert renal_value_outside("lenalidomide, eGFR 45?", lenalidomide) == ""  # in 30-50
    assert renal_value_outside("lenalidomide, eGFR 20?", lenalidomide) == ""  # below 30
    assert renal_value_outside("lenalidomide, CrCl 70?", lenalidomide) == "CrCl 70 (the answer speaks of <30, 30–50)"
    # No renal value asked, or no band stated: nothing to compare.
    assert renal_value_outside("zol dose?", bisphosphonate) == ""
    assert renal_value_outside("eGFR 18, which opioid?", "Morphine may be used in mild renal failure. [1]") == ""
    # A range of doses or minutes in the sentence is no band of renal function.
    assert renal_value_outside("CrCl 40?", "With creatinine clearance checked, infuse over 15-60 minutes. [1]") == ""


def test_a_dose_the_question_states_of_a_drug_it_asks_about_must_be_one_the_answer_states():
    from qa_service.dose_checks import stated_dose_unquoted

    twenty = "Tamoxifen 20 mg daily for 5 years reduces the risk. [1]"
    assert stated_dose_unquoted("low-dose tamoxifen 5 mg/d for 3 yrs - recommended?", twenty) == "tamoxifen 5 mg"
    assert stated_dose_unquoted("tamoxifen 20 mg for 5 yrs - recommended?", twenty) == ""  # the dose is quoted
    # The drug written after the dose (session 40: "is 8 mg of zoledronic acid ok?" was answered with the 4 mg).
    four = "Zoledronic acid 4 mg IV over no less than 15 minutes. [1]"
    assert stated_dose_unquoted("is 8 mg of zoledronic acid ok for bone mets?", four) == "zoledronic acid 8 mg"
    assert stated_dose_unquoted("is 4 mg of zoledronic acid ok?", four) == ""
    assert stated_dose_unquoted("pt on 20 mg/day oxycodone, add naloxone?", "Offer naloxone. [1]") == ""
    # A drug the patient is on is the question's story; a laboratory value is no dose; no drug, no dose asked.
    assert stated_dose_unquoted("pt on methadone 20 mg/day - can I add naloxone?", "Offer naloxone. [1]") == ""
    assert stated_dose_unquoted("Ca 12 mg/dL, zoledronic acid?", "Zoledronic acid 4 mg. [1]") == ""
    assert stated_dose_unquoted("8 Gy x1 or 20 Gy/5?", "8 Gy in a single fraction. [1]") == ""
