"""Refit the evidence gate (`qa_service/abstention.py`) on a gold set, and say how well it generalises.

The gate (`qa_service.gate_model.GateModel.score`) is a logistic model over a handful of evidence
features, then fixed penalties (`qa_service.abstention.judge`: a quantity question answered without a
number, a dose question answered without a dose or with another drug's, another use's or another
population's, a "how long" question answered without a time). Its weights are fitted here: every gold question is asked
once, its features are recorded, and a class-balanced, L2-regularised logistic regression is fitted
by Newton's method (numpy only).

Fitting and scoring on the same questions flatters the gate, so the report also gives a stratified
k-fold cross-validation: each fold is scored by weights fitted on the others. That is the figure to
quote. `guideline-qa eval fit-gate` prints the refitted weights; `guideline-qa eval answerability`
fits on several sources at once, reports leave-one-source-out figures and writes the gate file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from qa_service.gate_model import FEATURES, GateModel, packaged_gate

if TYPE_CHECKING:
    from eval.gold import EvalSet
    from qa_service.abstention import Evidence
    from qa_service.pipeline import QAPipeline


@dataclass(frozen=True)
class GateSamples:
    """One row per question: its features, whether it is answerable, and the gate's fixed inputs."""

    features: np.ndarray  # (n, len(FEATURES))
    answerable: np.ndarray  # bool (n,)
    penalised: np.ndarray  # bool (n,): the quantity/dose rule cuts its score
    composed: np.ndarray  # bool (n,): the composer found any sentence (else it abstains regardless)

    def __len__(self) -> int:
        return len(self.answerable)

    def subset(self, rows: np.ndarray) -> GateSamples:
        """The samples at `rows`."""
        return GateSamples(self.features[rows], self.answerable[rows], self.penalised[rows], self.composed[rows])


def collect(pipeline: QAPipeline, questions: Sequence[str], answerable: Sequence[bool]) -> GateSamples:
    """Ask every question once and record the gate's inputs."""
    from qa_service.schemas import AskRequest

    seen: list[tuple[Evidence, bool]] = []
    previous = pipeline.on_evidence
    pipeline.on_evidence = lambda _q, evidence, composed: seen.append((evidence, composed))
    try:
        for question in questions:
            pipeline.ask(AskRequest(question=question))
    finally:
        pipeline.on_evidence = previous
    if len(seen) != len(questions):
        raise RuntimeError(f"expected one evidence record per question, got {len(seen)} for {len(questions)}")
    return GateSamples(
        features=np.array([[ev.features[name] for name in FEATURES] for ev, _ in seen], dtype=np.float64),
        answerable=np.array(answerable, dtype=bool),
        penalised=np.array([ev.penalised for ev, _ in seen], dtype=bool),
        composed=np.array([composed for _, composed in seen], dtype=bool),
    )


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    *,
    l2: float = 1.0,
    iterations: int = 100,
    sample_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Weights and bias of a class-balanced logistic regression with an L2 penalty on the weights.

    Each class carries half the total sample weight, so 32 unanswerable questions count as much as
    150 answerable ones (`sample_weight`, e.g. one weight per source, is applied within each class).
    Newton's method; the bias is not penalised.
    """
    n, d = x.shape
    base = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    positives = max(float(base[y > 0.5].sum()), 1e-9)
    negatives = max(float(base[y <= 0.5].sum()), 1e-9)
    sample_weight = base * np.where(y > 0.5, n / (2 * positives), n / (2 * negatives))
    design = np.hstack([x, np.ones((n, 1))])
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    theta = np.zeros(d + 1)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(design @ theta)))
        gradient = design.T @ (sample_weight * (p - y)) + penalty * theta
        hessian = (design * (sample_weight * p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian + 1e-9 * np.eye(d + 1), gradient)
        theta -= step
        if float(np.abs(step).max()) < 1e-10:
            break
    return theta[:-1], float(theta[-1])


def model_with(weights: np.ndarray, bias: float, features: Sequence[str], base: GateModel | None = None) -> GateModel:
    """A gate model over `features` with these weights (penalty, threshold, caution band and the dense feature's
    reference from `base`, the packaged gate: the samples were read under that reference)."""
    base = base or packaged_gate()
    named = dict(zip(features, map(float, weights), strict=True))
    return GateModel(
        tuple(features),
        named,
        bias,
        base.quantity_penalty,
        base.threshold,
        {},
        caution_band=base.caution_band,
        dense_reference=base.dense_reference,
    )


def scores(samples: GateSamples, model: GateModel) -> np.ndarray:
    """The evidence score of every sample under `model`: the service's own computation (0 where nothing composed)."""
    values = [
        model.score(dict(zip(FEATURES, map(float, row), strict=True)), penalised=bool(cut))
        for row, cut in zip(samples.features, samples.penalised, strict=True)
    ]
    return np.asarray(np.where(samples.composed, np.array(values), 0.0))


def answers(samples: GateSamples, model: GateModel, threshold: float) -> np.ndarray:
    """Which questions the gate answers with this model: the service's own score and rule."""
    answered: np.ndarray = (scores(samples, model) >= threshold) & samples.composed
    return answered


def rates(samples: GateSamples, answered: np.ndarray) -> dict[str, float]:
    """Share of unanswerable questions abstained, and of answerable ones wrongly abstained."""
    unanswerable = ~samples.answerable
    return {
        "abstention_recall": float((~answered & unanswerable).sum() / max(int(unanswerable.sum()), 1)),
        "false_abstention_rate": float((~answered & samples.answerable).sum() / max(int(samples.answerable.sum()), 1)),
    }


def folds_of(answerable: np.ndarray, k: int, seed: int = 0) -> list[np.ndarray]:
    """k stratified folds (row indices): each holds its share of answerable and unanswerable rows."""
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    for label in (True, False):
        rows = np.flatnonzero(answerable == label)
        rng.shuffle(rows)
        for i, row in enumerate(rows):
            folds[i % k].append(int(row))
    return [np.array(sorted(f), dtype=int) for f in folds]


def columns(features: Sequence[str]) -> list[int]:
    """Where the named features sit in a sample row."""
    return [FEATURES.index(name) for name in features]


def fit_model(samples: GateSamples, features: Sequence[str], *, l2: float, base: GateModel | None = None) -> GateModel:
    """A gate model over `features`, fitted on `samples`."""
    weights, bias = fit_logistic(samples.features[:, columns(features)], samples.answerable.astype(float), l2=l2)
    return model_with(weights, bias, features, base)


def cross_validate(
    samples: GateSamples,
    *,
    k: int,
    l2: float,
    threshold: float,
    seed: int = 0,
    features: Sequence[str] | None = None,
) -> dict[str, float]:
    """Rates over all questions, each scored by weights fitted without its fold."""
    features = features or packaged_gate().features
    answered = np.zeros(len(samples), dtype=bool)
    for held_out in folds_of(samples.answerable, k, seed):
        train = np.setdiff1d(np.arange(len(samples)), held_out)
        model = fit_model(samples.subset(train), features, l2=l2)
        answered[held_out] = answers(samples.subset(held_out), model, threshold)
    return rates(samples, answered)


@dataclass
class FitReport:
    """The refitted model and how the gate fares with it and with the current one."""

    model: GateModel
    current: dict[str, float]
    in_sample: dict[str, float]
    cross_validated: dict[str, float]
    settings: dict[str, Any] = field(default_factory=dict)

    def to_text(self) -> str:
        """A readable report ending with the refitted weights."""

        def line(name: str, r: dict[str, float]) -> str:
            return (
                f"  {name:<28} unanswerable abstained {r['abstention_recall']:.3f}, "
                f"answerable wrongly abstained {r['false_abstention_rate']:.3f}"
            )

        weights = ", ".join(f"{k} {v:.3g}" for k, v in self.model.weights.items())
        s = self.settings
        return "\n".join(
            [
                f"{s.get('questions')} questions; threshold {s.get('threshold')}, L2 {s.get('l2')}, "
                f"{s.get('folds')}-fold cross-validation",
                line("current gate", self.current),
                line("refitted, in-sample", self.in_sample),
                line("refitted, cross-validated", self.cross_validated),
                "",
                f"weights: {weights}; bias {self.model.bias:.3g}",
            ]
        )


def fit_gate(
    pipeline: QAPipeline,
    dataset: EvalSet,
    *,
    folds: int = 5,
    l2: float = 1.0,
    threshold: float | None = None,
    features: Sequence[str] | None = None,
) -> FitReport:
    """Collect the gold set's features through `pipeline` and refit the gate."""
    threshold = pipeline.abstain_threshold if threshold is None else threshold
    features = features or pipeline.gate.model.features
    samples = collect(pipeline, [q.question for q in dataset.questions], [q.answerable for q in dataset.questions])
    model = fit_model(samples, features, l2=l2, base=pipeline.gate.model)
    return FitReport(
        model=model,
        current=rates(samples, answers(samples, pipeline.gate.model, threshold)),
        in_sample=rates(samples, answers(samples, model, threshold)),
        cross_validated=cross_validate(samples, k=folds, l2=l2, threshold=threshold, features=features),
        settings={"questions": len(samples), "threshold": threshold, "l2": l2, "folds": folds},
    )
