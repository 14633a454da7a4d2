"""The QA pipeline over the real corpus with the real embedding model: three questions with known answers."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from ingest import LoadedIndex, SentenceTransformerEmbedder, build_index, open_index
from qa_service.grounding import numbers_in, strip_citations
from qa_service.pipeline import ABSTAIN_TEXT, QAPipeline
from qa_service.schemas import AskRequest, SearchRequest
from qa_service.settings import Settings

pytestmark = pytest.mark.slow

CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus"


@pytest.fixture(scope="module")
def corpus_index_dir(tmp_path_factory: pytest.TempPathFactory, real_embedder: SentenceTransformerEmbedder) -> Path:
    index_dir = tmp_path_factory.mktemp("service-real-index")
    summary = build_index([CORPUS_DIR], index_dir, embedder=real_embedder)
    assert summary.documents >= 10 and not summary.errors
    return index_dir


@pytest.fixture(scope="module")
def pipeline(corpus_index_dir: Path, real_embedder: SentenceTransformerEmbedder) -> QAPipeline:
    index: LoadedIndex = open_index(corpus_index_dir, model_name=real_embedder.name, dimension=real_embedder.dimension)
    return QAPipeline(index, real_embedder, Settings(index_dir=corpus_index_dir))


def assert_grounded(response) -> None:
    """Every [n] resolves to a citation whose quote states the numbers of the sentence carrying it."""
    by_id = {c.id: c for c in response.citations}
    for piece in re.findall(r".+?(?:\s*\[\d+\])+", response.answer):
        (n,) = (int(m) for m in re.findall(r"\[(\d+)\]", piece))
        assert n in by_id, piece
        assert set(numbers_in(strip_citations(piece))) <= set(numbers_in(by_id[n].quote)), piece


def test_hot_spot_with_normal_x_ray_is_answered_from_a_diagnostic_recommendation(pipeline: QAPipeline) -> None:
    response = pipeline.ask(AskRequest(question="72F, breast ca, hot spot on bone scan, X-ray normal: next step?"))

    assert not response.abstained, response.reason
    assert any((c.rec_id or "").startswith("BM-DX") for c in response.citations), response.citations
    assert re.search(r"\b(CT|MRI)\b", response.answer), response.answer
    assert_grounded(response)


def test_paediatric_chemotherapy_question_abstains(pipeline: QAPipeline) -> None:
    response = pipeline.ask(AskRequest(question="chemo regimen for paediatric ALL"))

    assert response.abstained, response.answer
    assert response.answer.startswith(ABSTAIN_TEXT) and response.reason
    assert response.citations == [] and response.passages


def test_single_fraction_dose_question_answers_8_gy(pipeline: QAPipeline) -> None:
    response = pipeline.ask(AskRequest(question="single fraction dose for painful bone mets"))

    assert not response.abstained, response.reason
    assert "8 Gy" in response.answer, response.answer
    assert_grounded(response)


# Regression floors for CI: a little under what the default configuration measures on these 60
# questions, so a change that hurts answer quality fails here. The project's targets (eval/gate.py,
# `make eval`) are higher and not all met yet.
# On these 60 questions the default configuration measured (2026-11-27, int8, gate fitted on gold +
# dev2): Recall@5 1.0, key-fact recall 0.93, abstention 1.0, wrong abstention 0.04.
# Unanswerable questions refused, and refused or flagged with caution. Since session 25 the gate no longer weighs the
# negation feature, written from this set: on unseen questions it refused more answerable questions than unanswerable
# ones. Two of this sample's ten unanswerable questions ("... no cancer") are answered now, one with caution.
CI_MINIMUMS = {
    "passage_recall@5": 0.9,
    "key_fact_recall": 0.8,
    "abstention_recall": 0.7,
    "abstained_or_cautioned": 0.8,
    "citation_validity": 1.0,
}
CI_MAXIMUMS = {"false_abstention_rate": 0.15}


def test_quality_gate_on_the_gold_set(pipeline: QAPipeline, corpus_index_dir: Path) -> None:
    from eval.gate import run_gate

    result = run_gate(
        pipeline=pipeline,
        settings=Settings(index_dir=corpus_index_dir),
        limit=60,
        minimums=CI_MINIMUMS,
        maximums=CI_MAXIMUMS,
    )

    assert result.passed, f"quality gate failed: {result.failures}; metrics: {result.metrics}"


@pytest.fixture(scope="module")
def int8_pipeline(tmp_path_factory: pytest.TempPathFactory, onnx_export: Path) -> QAPipeline:
    """The default configuration: chunks and questions encoded by the int8 model."""
    from ingest.onnx_backend import OnnxQueryEmbedder

    ingest_encoder = OnnxQueryEmbedder(onnx_export, precision="int8", workers=2)
    index_dir = tmp_path_factory.mktemp("service-int8-index")
    build_index([CORPUS_DIR], index_dir, embedder=ingest_encoder)
    question_encoder = OnnxQueryEmbedder(onnx_export, precision="int8")
    index = open_index(index_dir, model_name=question_encoder.name, dimension=question_encoder.dimension)
    return QAPipeline(index, question_encoder, Settings(index_dir=index_dir))


def test_quality_gate_holds_with_the_int8_encoder(int8_pipeline: QAPipeline) -> None:
    from eval.gate import run_gate

    result = run_gate(
        pipeline=int8_pipeline,
        settings=int8_pipeline.settings,
        limit=60,
        minimums=CI_MINIMUMS,
        maximums=CI_MAXIMUMS,
    )

    assert result.passed, f"quality gate failed with int8: {result.failures}; metrics: {result.metrics}"
    assert int8_pipeline.ask(AskRequest(question="single fraction dose for painful bone mets")).answer.count("8 Gy")


def _first_sentence(response) -> str:
    return re.split(r"(?<=\])\s", response.answer, maxsplit=1)[0]


def test_naming_a_body_that_gives_no_such_dose_does_not_lead_with_its_other_schedule(pipeline: QAPipeline) -> None:
    # ESMO's summary here gives denosumab 60 mg every 6 months for treatment-induced bone loss, and no
    # bone-metastasis dose; lifting ESMO's passages for "per ESMO" led with that schedule (named sources, now off).
    response = pipeline.ask(AskRequest(question="per ESMO, denosumb dose for bone mets?"))

    assert not response.abstained, response.reason
    assert "120 mg" in response.answer and "60 mg" not in _first_sentence(response), response.answer


def test_a_filter_to_a_body_without_the_asked_dose_abstains(pipeline: QAPipeline) -> None:
    # A known gap until session 26 (the worst kind of failure): ESMO's 60 mg schedule for treatment-induced bone
    # loss, whose passage says it is "much less intensive than those used for bone metastases", led the answer.
    from qa_service.schemas import Filters

    response = pipeline.ask(
        AskRequest(question="denosumab dose for bone mets?", filters=Filters(issuing_body=["ESMO"]))
    )

    assert response.abstained, response.answer
    assert (response.reason or "").startswith("the question asks a dose for bone mets"), response.reason
    unfiltered = pipeline.ask(AskRequest(question="denosumab dose for bone mets?"))
    doses = re.findall(r"\b(?:120|60) mg", unfiltered.answer)
    assert not unfiltered.abstained and doses and doses[0] == "120 mg", unfiltered.answer


def test_a_dose_for_treatment_induced_bone_loss_leads_with_that_schedule(pipeline: QAPipeline) -> None:
    # Until session 27 the answer quoted CCO/ASCO's bone-metastasis options (120 mg every 4 weeks) before
    # ESMO's 60 mg every 6 months for bone loss on an aromatase inhibitor, the use asked about.
    response = pipeline.ask(AskRequest(question="prolia dose for AI induced bone loss?"))

    doses = re.findall(r"\b(?:120|60) mg", response.answer)
    assert not response.abstained and doses and doses[0] == "60 mg", response.answer


def test_a_patient_detail_does_not_lead_a_bone_metastasis_dose_with_the_adjuvant_schedule(pipeline: QAPipeline) -> None:
    # A known gap until session 21: the story word 'clonazepam' moved the adjuvant early-breast-cancer passage first.
    # Reading "breast ca" as "breast cancer" (the general table) puts the bone-metastasis recommendation back first.
    response = pipeline.ask(AskRequest(question="pt on clonazepam, what zol dose for breast ca bone mets?"))

    assert response.abstained or "every 6 months" not in _first_sentence(response), response.answer


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        # The corpus doses zoledronic acid and denosumab for bone metastases, not for these uses or a child.
        ("zoledronic acid dose for hypercalcaemia of malignancy?", "the question asks a dose for hypercalcaemia"),
        ("denosumab dose for myeloma bone disease?", "the question asks a dose for myeloma bone disease"),
        ("16yo with osteosarcoma - zoledronic acid dose?", "the question's patient is not whom the passages speak"),
    ],
)
def test_a_dose_for_another_use_or_patient_is_refused_with_its_reason(
    pipeline: QAPipeline, question: str, reason: str
) -> None:
    response = pipeline.ask(AskRequest(question=question))

    assert response.abstained and (response.reason or "").startswith(reason), (response.reason, response.answer)
    same_use = pipeline.ask(AskRequest(question="zoledronic acid dose for bone metastases?"))
    assert not same_use.abstained and "4 mg" in same_use.answer, same_use.answer


def test_hidden_passages_are_answered_around_and_come_back_after(pipeline: QAPipeline) -> None:
    question = AskRequest(question="single fraction dose for painful bone metastases")
    before = pipeline.ask(question)
    cited = {c.chunk_id for c in before.citations}
    rows = [i for i, c in enumerate(pipeline.index.chunks) if c.chunk_id in cited]
    assert rows and not before.abstained
    with pipeline.hiding(rows):
        during = pipeline.ask(question)
        found = pipeline.search(SearchRequest(query=question.question, top_k=20))
    assert not cited & {c.chunk_id for c in during.citations}
    assert not cited & ({p.chunk_id for p in during.passages} | {p.chunk_id for p in found.passages})
    assert pipeline.ask(question).answer == before.answer  # nothing stays hidden


def test_answer_removed_near_misses_from_the_gold_set(pipeline: QAPipeline) -> None:
    """Three gold questions with their recommendations hidden: each is located, and each ends in an outcome."""
    from eval.answer_removed import ask_with_answer_removed, to_markdown
    from eval.gold import load_gold

    gold = load_gold(Path(__file__).resolve().parents[2] / "eval" / "gold" / "bone_metastasis.jsonl")
    wanted = {"bm-109", "bm-031", "bm-001"}
    subset = replace(gold, questions=tuple(q for q in gold.questions if q.qid in wanted))
    summary = ask_with_answer_removed(pipeline, subset)
    assert {r.qid for r in summary.results} == wanted and all(r.hidden >= 1 for r in summary.results)
    outcomes = {r.qid: r for r in summary.results}
    # The adjuvant schedule hidden, no answer may state "4 mg IV every 6 months" from a hidden passage.
    assert outcomes["bm-109"].outcome in ("abstained", "answered")
    assert outcomes["bm-109"].asks_number and not outcomes["bm-031"].asks_number
    assert summary.near_misses == len(summary.results) - summary.count("restated")
    # The same questions with nothing hidden are answered (they are answerable), and score higher than without.
    assert summary.wrongly_abstained == 0.0 and all(r.present_score > r.score for r in summary.results)
    assert summary.auroc == 1.0
    table = to_markdown([summary])
    assert "| bone_metastasis | 3 of " in table


# bm-052 ("ADT for prostate, T score -1.2, no risk factors, treat?") was here until session 21: with its
# recommendation hidden, the gate now refuses it outright ("no risk factors" is no longer read as the clause asked).
@pytest.mark.parametrize("qid", ["bm-056", "bm-113"])
def test_the_judge_believes_the_answer_and_doubts_a_neighbours_once_it_is_hidden(
    pipeline: QAPipeline, qid: str
) -> None:
    """The packaged judge and its gate entry: the same question, read with its recommendation and without it."""
    from eval.answer_removed import answer_rows
    from eval.gold import load_gold

    gold = load_gold(Path(__file__).resolve().parents[2] / "eval" / "gold" / "bone_metastasis.jsonl")
    question = next(q for q in gold.questions if q.qid == qid)
    assert pipeline.judge is not None and pipeline.gate.model.judge is not None
    present = pipeline.ask(AskRequest(question=question.question))
    assert not present.abstained and "judge" in present.timings_ms  # scored below the band: read, and believed
    assert "learned judge" not in (present.reason or "")
    with pipeline.hiding(answer_rows(question, pipeline.index.chunks)):
        hidden = pipeline.ask(AskRequest(question=question.question))
    threshold, band = pipeline.abstain_threshold, pipeline.gate.model.caution_band
    assert not hidden.abstained and hidden.caution and "learned judge" in (hidden.reason or ""), hidden.reason
    assert threshold <= hidden.evidence_score < threshold + band


def test_reranker_groups_can_start_their_negatives_with_the_answer_removed_fallbacks(
    corpus_index_dir: Path, tmp_path: Path
) -> None:
    """`python -m train.gold_groups --answer-removed`: what the service quotes with the answer hidden leads the
    negatives, never a sentence holding a key fact, and each group keeps one positive and five negatives."""
    import json

    from train.gold_groups import NEGATIVES, REMOVED_NEGATIVES, holds_fact, set_groups

    source = Path(__file__).resolve().parents[2] / "eval" / "gold" / "bone_metastasis.jsonl"
    wanted = {"bm-109", "bm-053", "bm-022"}
    rows = [r for r in map(json.loads, source.read_text().splitlines()) if r["qid"] in wanted]
    gold = tmp_path / "three.jsonl"
    gold.write_text("".join(json.dumps(r) + "\n" for r in rows))

    plain = set_groups("three", gold, corpus_index_dir)
    removed = set_groups("three", gold, corpus_index_dir, answer_removed=True)

    assert plain and len(removed) == len(plain)
    facts = {r["qid"]: r["key_facts"] for r in rows}
    changed = 0
    for before, after in zip(plain, removed, strict=True):
        assert after["labels"] == [1.0] + [0.0] * NEGATIVES and len(after["passages"]) == NEGATIVES + 1
        assert after["passages"][0] == before["passages"][0]  # the same positive
        assert not any(holds_fact(t, facts[after["qid"]]) for t in after["passages"][1:])
        new = [t for t in after["passages"][1:] if t not in before["passages"]]
        assert len(new) <= REMOVED_NEGATIVES
        changed += bool(new)
    assert changed  # the hidden-answer fallbacks are sentences the usual negatives did not hold
