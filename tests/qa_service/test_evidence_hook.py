"""The pipeline reports each answer's evidence to an optional hook: how the gate is refitted."""

from __future__ import annotations

from eval.fit_gate import FEATURES, collect
from qa_service.pipeline import QAPipeline
from qa_service.schemas import AskRequest


def test_collect_records_one_row_of_gate_features_per_question(mini_pipeline: QAPipeline):
    questions = ["single fraction dose for painful bone metastases", "chemotherapy for paediatric leukaemia"]

    samples = collect(mini_pipeline, questions, [True, False])

    assert samples.features.shape == (2, len(FEATURES))
    assert ((samples.features >= 0) & (samples.features <= 1)).all()
    assert samples.answerable.tolist() == [True, False]
    assert mini_pipeline.on_evidence is None  # the hook is removed afterwards


def test_the_hook_sees_the_score_the_response_reports(mini_pipeline: QAPipeline):
    seen = []
    mini_pipeline.on_evidence = lambda q, evidence, composed: seen.append((q, evidence, composed))
    try:
        response = mini_pipeline.ask(AskRequest(question="single fraction dose for painful bone metastases"))
    finally:
        mini_pipeline.on_evidence = None

    ((question, evidence, composed),) = seen
    assert question == "single fraction dose for painful bone metastases"
    assert round(evidence.score, 4) == response.evidence_score
    assert composed == bool(response.citations) or response.abstained
