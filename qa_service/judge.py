"""A learned second opinion on an answer: does what it quotes answer the question?

The evidence gate (`abstention.py`) scores the retrieved passages and the composed answer with
features that mean the same on any corpus. What they cannot see is a near miss made of the
corpus's own words: with the passage that answers "prolia dose for AI induced bone loss?" missing,
the best remaining sentence gives denosumab's bone-metastasis dose, and every feature says "good
match". The judge is a cross-encoder (the reranker's architecture, `rerank.py`) trained on exactly
those pairs: the sentences the service quotes when a development question's gold passages are
hidden (`guideline-qa eval answer-removed`) are its negatives, the sentences holding the gold key
facts its positives (`make train-judge`; its model card in `qa_service/models/judge/`).

It reads the answer's first sentences under their passage's headings (`sentence_passage`), takes
the best logit, and combines it with the gate's score in a small logistic model whose weights, cut
and provenance live in the gate file (`qa_service/data/gate.json`, key `judge`; written by
`python -m train.judge_gate`). An answer the combination doubts (below the cut) is not refused:
its evidence score is lowered into the caution band, lower the more it doubts, and it is flagged
`caution`. So a clinician sees "check the cited passages" on a confident-looking neighbour's dose,
while an answerable question the judge misreads is still answered. Clients that would rather have a
refusal raise `abstain_threshold` by the caution band.

The judge runs only on answers the gate scored below `band` (the rest score high enough that the
judge rarely doubts them, and their answers keep their speed). It reads the first `FIRST_READ`
sentences, and the rest of at most `sentences` only when those leave the answer doubted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from qa_service.rerank import Reranker, RerankerError

FIRST_READ = 2
"""Answer sentences read first; the rest only when these leave the answer doubted (the verdict is the same as
reading all at once, since the combination grows with the best logit)."""


def default_judge_dir() -> Path:
    """The judge's model folder packaged with the service."""
    return Path(str(files("qa_service") / "models" / "judge"))


@dataclass(frozen=True)
class JudgeModel:
    """How the judge's logit and the gate's score combine: read from the gate file's `judge` entry."""

    evidence_weight: float
    """Weight of logit(evidence score)."""
    judge_weight: float
    """Weight of the judge's best logit over the answer's sentences."""
    bias: float
    cut: float
    """Combined probability below which the answer is doubted (lowered into the caution band)."""
    band: float
    """The judge reads answers the gate scored below this (at or above it, the score stands)."""
    sentences: int = 6
    """Answer sentences read, in answer order."""
    max_length: int = 96
    """Word pieces of each question-sentence pair."""
    model_sha256: str = ""
    """The ONNX file the weights were fitted with: a different model is refused at load."""
    provenance: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str) -> JudgeModel:
        """The `judge` entry of a gate file; a clear error naming the file when it is malformed."""
        try:
            weights = data["weights"]
            return cls(
                evidence_weight=float(weights["evidence"]),
                judge_weight=float(weights["judge"]),
                bias=float(data["bias"]),
                cut=float(data["cut"]),
                band=float(data["band"]),
                sentences=int(data.get("sentences", 6)),
                max_length=int(data.get("max_length", 96)),
                model_sha256=str(data.get("model_sha256", "")),
                provenance=dict(data.get("provenance", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{where}: the `judge` entry is malformed ({exc!r}); refit it with train.judge_gate"
            ) from exc

    def to_json(self) -> dict[str, Any]:
        return {
            "weights": {"evidence": self.evidence_weight, "judge": self.judge_weight},
            "bias": self.bias,
            "cut": self.cut,
            "band": self.band,
            "sentences": self.sentences,
            "max_length": self.max_length,
            "model_sha256": self.model_sha256,
            "provenance": self.provenance,
        }

    def combined(self, evidence_score: float, judge_logit: float) -> float:
        """sigmoid(bias + evidence_weight * logit(evidence score) + judge_weight * judge logit)."""
        s = min(max(evidence_score, 1e-4), 1 - 1e-4)
        z = self.bias + self.evidence_weight * math.log(s / (1 - s)) + self.judge_weight * judge_logit
        return 1 / (1 + math.exp(-z)) if z > -700 else 0.0


@dataclass(frozen=True)
class Judgement:
    """What the judge made of one answer."""

    logit: float
    """Its best logit over the sentences read (a believed answer's first sentences may be all it read)."""
    combined: float
    """The combined probability that the answer answers the question."""
    doubted: bool
    """`combined` fell below the model's cut."""
    score: float
    """The evidence score after the judgement: unchanged unless doubted, else inside the caution band."""


class AnswerJudge:
    """The judge's cross-encoder and its combination with the gate."""

    def __init__(self, model: JudgeModel, encoder: Reranker) -> None:
        self.model = model
        self.encoder = encoder

    @classmethod
    def checked(cls, model: JudgeModel, encoder: Reranker, folder: Path) -> AnswerJudge:
        """The judge, once its model is the one the gate file's weights were fitted on."""
        if model.model_sha256 and encoder.config.get("sha256") != model.model_sha256:
            raise RerankerError(
                f"{folder}: this judge model is not the one the gate file's judge weights were fitted on "
                "(refit them: python -m train.judge_gate)"
            )
        return cls(model, encoder)

    def reads(self, evidence_score: float) -> bool:
        """Whether an answer with this score is judged at all."""
        return evidence_score < self.model.band

    def judge(
        self, question: str, sentences: Sequence[str], evidence_score: float, threshold: float, caution_band: float
    ) -> Judgement:
        """Judge the answer's sentences (each read under its passage's headings)."""
        read = list(sentences[: self.model.sentences])
        if not read:
            return Judgement(logit=0.0, combined=1.0, doubted=False, score=evidence_score)
        # The combination grows with the best logit, so once the first sentences are believed the rest cannot
        # change the verdict: they are read only when the first leave the answer doubted (most are believed).
        first = read if self.model.judge_weight <= 0 else read[:FIRST_READ]
        logit = float(self.encoder.score(question, first, max_length=self.model.max_length).max())
        combined = self.model.combined(evidence_score, logit)
        if combined < self.model.cut and len(first) < len(read):
            rest = self.encoder.score(question, read[len(first) :], max_length=self.model.max_length)
            logit = max(logit, float(rest.max()))
            combined = self.model.combined(evidence_score, logit)
        if combined >= self.model.cut:
            return Judgement(logit=logit, combined=combined, doubted=False, score=evidence_score)
        # Doubted: inside the caution band, from its top (combined at the cut) down to the threshold (combined 0).
        lowered = threshold + caution_band * 0.999 * (combined / self.model.cut)
        return Judgement(logit=logit, combined=combined, doubted=True, score=min(evidence_score, lowered))
