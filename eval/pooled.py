"""Pool several evaluation reports question by question: one figure per metric, with its uncertainty.

A single held-out set of 60 questions moves by 0.067 when one of its 15 unanswerable questions
changes outcome, so one set's figure says little on its own. `guideline-qa eval pooled` reads the
reports of several sets (`reports/heldout*/hybrid.json`, as `make eval-heldout` writes them),
pools their questions and gives each figure a 95% interval from a bootstrap over questions (fixed
seed, so the same reports always give the same intervals).

Figures (the answerable questions' unless said):
- key facts: the share of each question's key facts the answer states, averaged;
- wrongly abstained: the share refused;
- right passage (or document) in the top 5 retrieved;
- right document among the first three citations (sets graded by document);
- a citation on the answer's page (questions with a gold page);
- where the key facts not stated were lost: to a refusal, in a retrieved passage the answer did not quote, in no
  retrieved passage (with the key facts stated, these add up to 1);
- unanswerable abstained, and unanswerable refused or answered with caution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eval.compare import load_runs
from eval.errors import EvalDataError

BOOTSTRAP_SAMPLES = 2000
SEED = 0


@dataclass
class Pooled:
    """Per-question outcomes of several reports, by metric."""

    sets: list[str] = field(default_factory=list)
    answerable: int = 0
    unanswerable: int = 0
    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, metric: str, value: float | None) -> None:
        if value is not None:
            self.values.setdefault(metric, []).append(float(value))


# metric -> (label, the per-question score it reads, in order of preference)
ANSWERABLE_METRICS = {
    "key_fact_recall": ("key facts stated", ("key_fact_recall",)),
    "false_abstention_rate": ("answerable: wrongly abstained", ("false_abstention_rate",)),
    "recall@5": ("right passage (or document) in top 5", ("passage_recall@5", "doc_recall@5")),
    "doc_in_first3_citations": ("right document among the first three citations", ("doc_in_first3_citations",)),
    "page_hit": ("cited page holds the answer (questions with a gold page)", ("page_hit",)),
    "key_facts_refused": ("key facts lost: the answer was refused", ("key_facts_refused",)),
    "key_facts_unquoted": ("key facts lost: in a retrieved passage, not quoted", ("key_facts_unquoted",)),
    "key_facts_unretrieved": ("key facts lost: in no retrieved passage", ("key_facts_unretrieved",)),
}
UNANSWERABLE_METRICS = {
    "abstention_recall": "unanswerable: abstained",
    "abstained_or_cautioned": "unanswerable: refused or cautioned",
}


def report_file(path: Path, mode: str = "hybrid") -> Path:
    """A report directory's run file for `mode` (a file is taken as it is)."""
    file = path / f"{mode}.json" if path.is_dir() else path
    if not file.is_file():
        folder = path if path.suffix != ".json" else path.parent
        fix = f"write one with `guideline-qa eval gold --gold SET --out {folder}`"
        raise EvalDataError(f"{file}: no such report ({fix})")
    return file


def _first(scores: dict[str, Any], keys: Sequence[str]) -> float | None:
    for key in keys:
        if scores.get(key) is not None:
            return float(scores[key])
    return None


def pool(paths: Sequence[Path], mode: str = "hybrid") -> Pooled:
    """Every question of the reports at `paths`, pooled."""
    if not paths:
        raise EvalDataError("no reports to pool")
    pooled = Pooled()
    for given in paths:
        path = report_file(given, mode)
        runs = load_runs(path)
        questions = runs[0].get("per_question")
        if not isinstance(questions, list) or not questions:
            raise EvalDataError(f"{path}: the report holds no per-question results")
        if not all("answer" in q for q in questions):
            raise EvalDataError(f"{path}: the report has no answers (it was run with --no-answers)")
        pooled.sets.append(str(runs[0].get("config", {}).get("dataset", {}).get("name") or given))
        for q in questions:
            scores, answer = q.get("scores", {}), q["answer"]
            if q["answerable"]:
                pooled.answerable += 1
                for metric, (_, keys) in ANSWERABLE_METRICS.items():
                    pooled.add(metric, _first(scores, keys))
            else:
                pooled.unanswerable += 1
                pooled.add("abstention_recall", answer["abstained"])
                pooled.add("abstained_or_cautioned", answer["abstained"] or bool(answer.get("caution")))
    return pooled


def interval(values: Sequence[float], *, seed: int = SEED, samples: int = BOOTSTRAP_SAMPLES) -> tuple[float, float]:
    """The 95% bootstrap interval of the mean of `values` (resampling the values themselves)."""
    array = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = array[rng.integers(0, len(array), size=(samples, len(array)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def figures(pooled: Pooled) -> dict[str, dict[str, float | int]]:
    """Metric -> mean, interval and number of questions it was measured on."""
    out: dict[str, dict[str, float | int]] = {}
    for metric, values in pooled.values.items():
        low, high = interval(values)
        out[metric] = {"mean": float(np.mean(values)), "low": low, "high": high, "questions": len(values)}
    return out


def to_markdown(pooled: Pooled, title: str = "Pooled") -> str:
    """One row per metric: the pooled figure, its interval and the questions it counts."""
    labels = {metric: label for metric, (label, _) in ANSWERABLE_METRICS.items()} | UNANSWERABLE_METRICS
    found = figures(pooled)
    lines = [
        f"# {title}: {len(pooled.sets)} sets, {pooled.answerable + pooled.unanswerable} questions "
        f"({pooled.unanswerable} unanswerable)",
        "",
        "| Figure | Pooled | 95% interval | Questions |",
        "| --- | ---: | ---: | ---: |",
    ]
    for metric, label in labels.items():
        if metric in found:
            f = found[metric]
            lines.append(f"| {label} | {f['mean']:.3f} | {f['low']:.2f}-{f['high']:.2f} | {f['questions']} |")
    lines += ["", "Sets: " + ", ".join(f"`{s}`" for s in pooled.sets), ""]
    return "\n".join(lines)
