"""Fitting the judge's combination with the gate (train/judge_gate.py) on synthetic judged answers, and the
judge's model card (train/reranker.py's `write_card` with `role: judge`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from train.judge_gate import fit
from train.reranker import write_card

REPO = Path(__file__).resolve().parents[2]


def synthetic_rows(seed: int = 0) -> list[dict]:
    """Answerable answers score higher and read better to the judge than near misses, with overlap."""
    rng = np.random.default_rng(seed)
    rows = []
    for kind, score_mean, logit_mean, n in (
        ("answerable", 0.75, 2.0, 300),
        ("answer-removed", 0.62, -2.0, 200),
        ("unanswerable", 0.6, -1.0, 40),
    ):
        for score, logit in zip(rng.normal(score_mean, 0.12, n), rng.normal(logit_mean, 2.5, n), strict=True):
            rows.append({"set": "s", "kind": kind, "score": float(np.clip(score, 0.41, 0.99)), "logit": float(logit)})
    return rows


def test_the_fit_weighs_both_signals_and_its_cut_keeps_to_the_doubt_budget() -> None:
    rows = synthetic_rows()
    fitted = fit(rows, band=0.8, budget=0.10, l2=1.0)
    assert fitted["weights"]["evidence"] > 0 and fitted["weights"]["judge"] > 0
    below = [r for r in rows if r["kind"] == "answerable" and r["score"] < 0.8]
    share_of_all = len(below) / sum(r["kind"] == "answerable" for r in rows)
    assert fitted["doubted"]["answerable"] <= 0.10 * share_of_all + 0.01  # the budget is of answers below the band
    assert fitted["doubted"]["answer-removed"] > 3 * fitted["doubted"]["answerable"]
    removed = fitted["auroc"]["answer-removed"]
    assert removed["combined_auroc"] > removed["score_auroc"]  # the judge adds what the score cannot see


def test_a_larger_budget_doubts_more_of_both() -> None:
    rows = synthetic_rows(1)
    strict, loose = fit(rows, 0.8, 0.05, 1.0), fit(rows, 0.8, 0.2, 1.0)
    assert strict["cut"] < loose["cut"]
    assert strict["doubted"]["answerable"] < loose["doubted"]["answerable"]
    assert strict["doubted"]["answer-removed"] < loose["doubted"]["answer-removed"]


def test_the_judges_card_says_what_it_is_for_and_how_it_was_quantised(tmp_path: Path) -> None:
    config = json.loads((REPO / "qa_service" / "models" / "judge" / "reranker.json").read_text(encoding="utf-8"))
    write_card(tmp_path, config, [])
    card = (tmp_path / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert card.startswith("# guideline-qa judge (cross-encoder, int8 ONNX)")
    assert "fixed from 60 training batches" in card and "`--answer-removed`" in card
    assert card == (REPO / "qa_service" / "models" / "judge" / "MODEL_CARD.md").read_text(encoding="utf-8")
    reranker = json.loads((REPO / "qa_service" / "models" / "reranker" / "reranker.json").read_text(encoding="utf-8"))
    write_card(tmp_path, reranker, [])
    card = (tmp_path / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert card.startswith("# guideline-qa reranker") and "fixed from 300 training batches" in card
    assert "--answer-removed" not in card
