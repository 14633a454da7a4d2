"""The evidence gate's fitted model: which features it weighs, their weights, bias, threshold and caution band,
read from a data file that records how they were fitted (`qa_service/data/gate.json`).

`FEATURES` names every feature the gate computes (`qa_service.abstention`); a gate file weighs some of them.
`guideline-qa eval answerability --write` refits the file on several sources (eval/answerability.py).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from qa_service.judge import JudgeModel

FEATURES = (
    "dense",
    "coverage",
    "sentence",
    "agreement",
    "quantity_coverage",
    "unknown",
    "negation",
    "rerank",
    "rerank_margin",
    "header_coverage",
    "clause_coverage",
)
"""Every feature the gate computes (`qa_service.abstention`); a gate file weighs some of them."""

GATE_FILE = "data/gate.json"
GATE_FORMAT = 1


@dataclass(frozen=True)
class GateModel:
    """The gate's fitted logistic model, read from a data file that records how it was fitted.

    `guideline-qa eval answerability --write` refits it on several sources and writes the file; the
    service reads the packaged `qa_service/data/gate.json`.
    """

    features: tuple[str, ...]
    weights: dict[str, float]
    bias: float
    quantity_penalty: float
    threshold: float
    provenance: dict[str, Any]
    caution_band: float = 0.15
    """Answers scoring within this much above the threshold are flagged as resting on partial evidence."""
    judge: JudgeModel | None = None
    """How the learned judge's logit combines with the score (`qa_service/judge.py`); None: no judge."""
    dense_reference: float | None = None
    """The `neighbour_similarity` of the index the gate was fitted on. Over another index, the question's best
    cosine is read shifted by that index's own neighbour similarity less this one; None: read as it is."""

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = GATE_FILE) -> GateModel:
        """A model from the file's JSON; a clear error naming the file when it is not one."""
        if data.get("format_version") != GATE_FORMAT:
            raise ValueError(f"{where}: format_version {data.get('format_version')!r} is not {GATE_FORMAT}")
        features = tuple(data["features"])
        unknown = [f for f in features if f not in FEATURES]
        missing = [f for f in features if f not in data["weights"]]
        if unknown or missing:
            raise ValueError(f"{where}: unknown features {unknown} or features without a weight {missing}")
        return cls(
            features=features,
            weights={f: float(data["weights"][f]) for f in features},
            bias=float(data["bias"]),
            quantity_penalty=float(data["quantity_penalty"]),
            threshold=float(data["threshold"]),
            provenance=dict(data.get("provenance", {})),
            caution_band=float(data.get("caution_band", 0.15)),
            judge=JudgeModel.from_json(data["judge"], where) if data.get("judge") else None,
            dense_reference=float(data["dense_reference"]) if data.get("dense_reference") is not None else None,
        )

    @classmethod
    def load(cls, path: Path | None = None) -> GateModel:
        """The model in `path`, or the packaged one."""
        if path is None:
            return packaged_gate()
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")), str(path))

    def to_json(self) -> dict[str, Any]:
        """The file's JSON."""
        return (
            {
                "format_version": GATE_FORMAT,
                "features": list(self.features),
                "weights": self.weights,
                "bias": self.bias,
                "quantity_penalty": self.quantity_penalty,
                "threshold": self.threshold,
                "caution_band": self.caution_band,
                "provenance": self.provenance,
            }
            | ({"judge": self.judge.to_json()} if self.judge else {})
            | ({"dense_reference": self.dense_reference} if self.dense_reference is not None else {})
        )

    def score(self, features: dict[str, float], *, penalised: bool) -> float:
        """sigmoid(bias + sum of weight x feature), cut by the quantity penalty when penalised."""
        z = self.bias + sum(self.weights[name] * features[name] for name in self.features)
        probability = 1.0 / (1.0 + math.exp(-z))
        return probability * self.quantity_penalty if penalised else probability


@lru_cache(maxsize=1)
def packaged_gate() -> GateModel:
    """The gate fitted for the service, shipped in the package."""
    text = resources.files("qa_service").joinpath(GATE_FILE).read_text(encoding="utf-8")
    return GateModel.from_json(json.loads(text))
