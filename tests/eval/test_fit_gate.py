"""Refitting the evidence gate: the logistic fit, the service's answering rule, stratified folds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.fit_gate import FEATURES, GateSamples, answers, cross_validate, fit_logistic, folds_of, model_with, rates
from qa_service.gate_model import packaged_gate


def synthetic(n_pos: int = 60, n_neg: int = 15, seed: int = 1) -> GateSamples:
    """Answerable rows have high feature values, unanswerable ones low, with some overlap."""
    rng = np.random.default_rng(seed)
    d = len(FEATURES)
    x = np.vstack([rng.normal(0.7, 0.15, (n_pos, d)), rng.normal(0.3, 0.15, (n_neg, d))])
    y = np.array([True] * n_pos + [False] * n_neg)
    n = n_pos + n_neg
    return GateSamples(x, y, np.zeros(n, dtype=bool), np.ones(n, dtype=bool))


def test_fit_separates_the_classes_and_balances_them():
    samples = synthetic()
    weights, bias = fit_logistic(samples.features, samples.answerable.astype(float), l2=0.1)

    assert (weights > 0).all()  # every feature here is evidence for answering
    answered = answers(samples, model_with(weights, bias, FEATURES), 0.5)
    r = rates(samples, answered)
    assert r["abstention_recall"] >= 0.9 and r["false_abstention_rate"] <= 0.1, r


def test_a_fitted_model_keeps_the_dense_reference_and_operating_point_of_the_gate_in_use():
    from dataclasses import replace

    base = replace(packaged_gate(), dense_reference=0.66, threshold=0.3, caution_band=0.22, quantity_penalty=0.2)
    model = model_with(np.ones(len(FEATURES)), -1.0, FEATURES, base)
    assert model.dense_reference == 0.66
    # `eval answerability --write` writes this model: a refit must not reset the caution band to its default.
    assert (model.threshold, model.caution_band, model.quantity_penalty) == (0.3, 0.22, 0.2)
    assert model_with(np.ones(len(FEATURES)), -1.0, FEATURES).dense_reference == packaged_gate().dense_reference


def test_a_stronger_penalty_shrinks_the_weights():
    samples = synthetic()
    y = samples.answerable.astype(float)

    loose, _ = fit_logistic(samples.features, y, l2=0.01)
    tight, _ = fit_logistic(samples.features, y, l2=100.0)

    assert np.linalg.norm(tight) < np.linalg.norm(loose) / 5


def test_answers_apply_the_penalty_and_never_answer_without_sentences():
    features = np.full((3, len(FEATURES)), 0.5)
    samples = GateSamples(
        features, np.array([True, True, True]), np.array([False, True, False]), np.array([True, True, False])
    )
    weights = np.zeros(len(FEATURES))
    bias = float(np.log(0.6 / 0.4))  # score 0.6 for every row before the rules

    answered = answers(samples, model_with(weights, bias, FEATURES), threshold=0.5)

    assert 0.6 * packaged_gate().quantity_penalty < 0.5
    assert answered.tolist() == [True, False, False]


def test_folds_are_stratified_disjoint_and_cover_every_row():
    labels = np.array([True] * 23 + [False] * 7)

    folds = folds_of(labels, 5)

    rows = np.concatenate(folds)
    assert sorted(rows.tolist()) == list(range(30))
    for fold in folds:
        assert 1 <= (~labels[fold]).sum() <= 2 and 4 <= labels[fold].sum() <= 5


def test_cross_validation_is_worse_than_or_equal_to_in_sample_on_noisy_data():
    samples = synthetic(n_pos=40, n_neg=12, seed=3)
    weights, bias = fit_logistic(samples.features, samples.answerable.astype(float))
    in_sample = rates(samples, answers(samples, model_with(weights, bias, FEATURES), 0.5))

    cv = cross_validate(samples, k=4, l2=1.0, threshold=0.5, features=FEATURES)

    errors = lambda r: (1 - r["abstention_recall"]) + r["false_abstention_rate"]  # noqa: E731
    assert errors(cv) >= errors(in_sample) - 1e-9
    assert set(cv) == {"abstention_recall", "false_abstention_rate"}


@pytest.mark.parametrize("argv", [["--folds", "1"], ["--l2", "-1"]])
def test_cli_rejects_bad_options_with_a_message(argv, capsys):
    from guideline_qa import cli

    code = cli.main(["eval", "fit-gate", *argv])

    assert code != 0
    assert "fit-gate" not in capsys.readouterr().out


def test_fitting_on_several_gold_sets_refuses_question_ids_they_share(capsys):
    from guideline_qa import cli

    gold = str(Path(__file__).resolve().parents[2] / "eval" / "gold" / "bone_metastasis.jsonl")

    code = cli.main(["eval", "fit-gate", "--gold", gold, "--gold", gold])

    assert code != 0
    assert "question ids appear in more than one gold set: bm-001" in capsys.readouterr().err


def test_cli_refuses_an_unknown_feature_by_name(capsys):
    from guideline_qa import cli

    code = cli.main(["eval", "fit-gate", "--features", "dense,nonsense"])

    assert code != 0
    assert "--features: unknown nonsense" in capsys.readouterr().err


def test_cli_writes_the_refitted_gate_with_the_in_use_threshold_and_its_provenance(tmp_path, monkeypatch, capsys):
    from eval import fit_gate as fit_module
    from guideline_qa import cli
    from qa_service import pipeline as pipeline_module
    from qa_service.gate_model import GateModel, packaged_gate

    current = packaged_gate()
    features = ("dense", "coverage", "clause_coverage")
    refitted = GateModel(features, {"dense": 1.0, "coverage": 2.0, "clause_coverage": 3.0}, -4.0, 0.5, 0.9, {})
    seen: dict[str, object] = {}

    def fake_fit(pipeline, dataset, **kwargs):
        seen.update(kwargs, questions=len(dataset.questions))
        rates = {"abstention_recall": 0.9, "false_abstention_rate": 0.05}
        return fit_module.FitReport(refitted, rates, rates, rates, {"threshold": 0.9})

    fake_pipeline = type("P", (), {"gate": type("G", (), {"model": current})()})()
    monkeypatch.setattr(fit_module, "fit_gate", fake_fit)
    monkeypatch.setattr(pipeline_module.QAPipeline, "from_settings", classmethod(lambda cls, s: fake_pipeline))
    gold = str(Path(__file__).resolve().parents[2] / "eval" / "gold" / "bone_metastasis_dev2.jsonl")
    out = tmp_path / "gate.json"

    code = cli.main(
        ["eval", "fit-gate", "--gold", gold, "--features", ",".join(features), "--write", str(out), "--quiet"]
    )

    assert code == 0 and seen["features"] == list(features) and seen["questions"] == 80
    written = GateModel.load(out)
    assert written.features == features and written.weights["clause_coverage"] == 3.0
    assert written.threshold == current.threshold and written.caution_band == current.caution_band  # not the fit's
    assert written.dense_reference == current.dense_reference is not None  # the reference the samples were read under
    assert "--features=dense,coverage,clause_coverage" in written.provenance["command"]
    assert "cross-validated 0.900 / 0.050" in written.provenance["figures"]
