"""The learned judge's combination with the gate (qa_service/judge.py), with a fake encoder; the packaged model
and its gate-file entry are tested on real answers in test_judge_model.py."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa_service.gate_model import GateModel, packaged_gate
from qa_service.judge import AnswerJudge, JudgeModel
from qa_service.rerank import RerankerError

MODEL = JudgeModel(evidence_weight=0.7, judge_weight=0.35, bias=-0.8, cut=0.2, band=0.8, sentences=3, max_length=64)


class FakeEncoder:
    """Scores a sentence by the logit written at its end ("... [logit -3]"), and records what it read."""

    def __init__(self, sha: str = "") -> None:
        self.config: dict[str, Any] = {"sha256": sha}
        self.calls: list[tuple[str, list[str], int | None]] = []

    def score(self, question: str, passages: Sequence[str], *, max_length: int | None = None) -> np.ndarray:
        self.calls.append((question, list(passages), max_length))
        return np.array([float(p.rsplit("[logit ", 1)[1].rstrip("]")) for p in passages], dtype=np.float32)


def judge_with(encoder: FakeEncoder, model: JudgeModel = MODEL) -> AnswerJudge:
    return AnswerJudge(model, encoder)  # type: ignore[arg-type]


def test_the_combination_rises_with_the_score_and_with_the_judges_logit() -> None:
    assert MODEL.combined(0.5, 0.0) < MODEL.combined(0.7, 0.0) < MODEL.combined(0.7, 3.0)
    assert MODEL.combined(0.5, -10.0) < MODEL.cut < MODEL.combined(0.75, 4.0)


def test_an_answer_the_judge_doubts_scores_inside_the_caution_band_lower_the_more_it_doubts() -> None:
    judge = judge_with(FakeEncoder())
    mild = judge.judge("q?", ["Denosumab 120 mg [logit -4]"], 0.7, threshold=0.4, caution_band=0.15)
    strong = judge.judge("q?", ["Denosumab 120 mg [logit -9]"], 0.7, threshold=0.4, caution_band=0.15)
    assert mild.doubted and strong.doubted
    assert 0.4 <= strong.score < mild.score < 0.55  # never refused by the judge, always flagged
    assert strong.combined < mild.combined < MODEL.cut


def test_an_answer_the_judge_believes_keeps_its_score() -> None:
    judgement = judge_with(FakeEncoder()).judge("q?", ["x [logit -9]", "y [logit 5]"], 0.6, 0.4, 0.15)
    assert not judgement.doubted and judgement.score == 0.6 and judgement.logit == 5.0  # the best sentence counts


def test_the_judge_reads_only_the_first_sentences_at_its_length_and_only_below_its_band() -> None:
    encoder = FakeEncoder()
    judge = judge_with(encoder)
    judge.judge("q?", [f"s{i} [logit -30]" for i in range(5)], 0.6, 0.4, 0.15)  # doubted: reads all it may
    assert encoder.calls == [("q?", ["s0 [logit -30]", "s1 [logit -30]"], 64), ("q?", ["s2 [logit -30]"], 64)]
    assert judge.reads(0.79) and not judge.reads(0.8)
    assert judge.judge("q?", [], 0.6, 0.4, 0.15).score == 0.6 and len(encoder.calls) == 2


def test_an_answer_believed_on_its_first_sentences_is_not_read_further() -> None:
    encoder = FakeEncoder()
    judgement = judge_with(encoder).judge("q?", ["s0 [logit 5]", "s1 [logit -9]", "s2 [logit -9]"], 0.6, 0.4, 0.15)
    assert not judgement.doubted and encoder.calls == [("q?", ["s0 [logit 5]", "s1 [logit -9]"], 64)]


@pytest.mark.parametrize("score", [0.42, 0.5, 0.6, 0.75])
def test_reading_the_first_sentences_first_gives_the_verdict_of_reading_them_all(score: float) -> None:
    rng = np.random.default_rng(7)
    everything = JudgeModel(**{**MODEL.__dict__, "sentences": 6})
    for _ in range(200):
        sentences = [f"s{i} [logit {v:.2f}]" for i, v in enumerate(rng.normal(-2.0, 4.0, size=rng.integers(1, 7)))]
        staged = AnswerJudge(everything, FakeEncoder()).judge("q?", sentences, score, 0.4, 0.15)  # type: ignore[arg-type]
        best = max(float(s.rsplit("[logit ", 1)[1].rstrip("]")) for s in sentences)
        at_once = everything.combined(score, best)
        assert staged.doubted == (at_once < everything.cut)
        if staged.doubted:  # a doubted answer's score and reason come from every sentence it may read
            assert staged.logit == pytest.approx(best, abs=1e-5) and staged.combined == pytest.approx(at_once)


def test_a_judge_model_other_than_the_one_the_weights_were_fitted_on_is_refused() -> None:
    fitted = JudgeModel(**{**MODEL.__dict__, "model_sha256": "abc"})
    assert AnswerJudge.checked(fitted, FakeEncoder("abc"), Path("m")).model is fitted  # type: ignore[arg-type]
    with pytest.raises(RerankerError, match="refit them"):
        AnswerJudge.checked(fitted, FakeEncoder("def"), Path("m"))  # type: ignore[arg-type]


def test_the_gate_file_carries_the_judge_entry_through_a_round_trip() -> None:
    data = packaged_gate().to_json() | {"judge": MODEL.to_json()}
    model = GateModel.from_json(data)
    assert model.judge == MODEL
    assert GateModel.from_json(model.to_json()).judge == MODEL
    assert GateModel.from_json({k: v for k, v in data.items() if k != "judge"}).judge is None


def test_a_malformed_judge_entry_names_the_file() -> None:
    data = packaged_gate().to_json() | {"judge": {"weights": {"evidence": 1.0}, "bias": 0, "cut": 0.2, "band": 0.8}}
    with pytest.raises(ValueError, match=r"my-gate\.json: the `judge` entry is malformed"):
        GateModel.from_json(data, "my-gate.json")


class ConstantEncoder(FakeEncoder):
    """Gives every sentence the same logit."""

    def __init__(self, logit: float) -> None:
        super().__init__()
        self.logit = logit

    def score(self, question: str, passages: Sequence[str], *, max_length: int | None = None) -> np.ndarray:
        self.calls.append((question, list(passages), max_length))
        return np.full(len(passages), self.logit, dtype=np.float32)


def pipeline_with(mini_index: Any, mini_index_dir: Path, encoder: FakeEncoder) -> Any:
    from qa_service.pipeline import QAPipeline
    from qa_service.settings import Settings

    try:
        from tests.qa_service.mini_corpus import make_embedder
    except ModuleNotFoundError:
        from mini_corpus import make_embedder  # type: ignore[no-redef]
    every_answer = JudgeModel(**{**MODEL.__dict__, "band": 1.01, "sentences": 6})
    return QAPipeline(
        mini_index, make_embedder(), Settings(index_dir=mini_index_dir), judge=judge_with(encoder, every_answer)
    )


QUESTION = "single fraction dose for painful bone metastases"


def test_a_doubted_answer_is_served_with_caution_a_reason_and_a_score_inside_the_band(
    mini_index, mini_index_dir
) -> None:
    from qa_service.schemas import AskRequest

    encoder = ConstantEncoder(-30.0)
    pipeline = pipeline_with(mini_index, mini_index_dir, encoder)
    reply = pipeline.ask(AskRequest(question=QUESTION))
    threshold, band = pipeline.abstain_threshold, pipeline.gate.model.caution_band
    assert not reply.abstained and reply.caution and "learned judge" in (reply.reason or "")
    assert threshold <= reply.evidence_score < threshold + band and "judge" in reply.timings_ms
    # It read the answer's sentences, each under its passage's title and headings, with the question as asked.
    read = [r for question, passages, _ in encoder.calls for r in passages]
    assert {question for question, _, _ in encoder.calls} == {QUESTION}
    assert read and all("\n" in r for r in read)


def test_a_believed_answer_keeps_the_gates_score_and_no_judge_reason(mini_index, mini_index_dir) -> None:
    from qa_service.schemas import AskRequest

    believed = pipeline_with(mini_index, mini_index_dir, ConstantEncoder(30.0)).ask(AskRequest(question=QUESTION))
    unjudged = pipeline_with(mini_index, mini_index_dir, ConstantEncoder(30.0))
    unjudged.judge = None
    plain = unjudged.ask(AskRequest(question=QUESTION))
    assert believed.evidence_score == plain.evidence_score and believed.answer == plain.answer
    assert "learned judge" not in (believed.reason or "") and "judge" in believed.timings_ms


def test_an_abstention_is_never_judged(mini_index, mini_index_dir) -> None:
    from qa_service.schemas import AskRequest

    encoder = ConstantEncoder(30.0)
    reply = pipeline_with(mini_index, mini_index_dir, encoder).ask(
        AskRequest(question="chemo regimen for paediatric ALL")
    )
    assert reply.abstained and encoder.calls == [] and "judge" not in reply.timings_ms
