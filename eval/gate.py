"""The regression gate: the project's thresholds on the gold set, plus any `--min`/`--max` given on the command line."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.errors import EvalDataError
from eval.gold import DEFAULT_GOLD

if TYPE_CHECKING:
    from eval.runner import RunResult
    from qa_service.protocols import AnswerPipeline
    from qa_service.settings import Settings

# The project's own bar for the default gold set (eval/README.md, "The gate").
PROJECT_MINIMUMS: dict[str, float] = {
    "passage_recall@5": 0.95,
    "key_fact_recall": 0.85,
    "abstention_recall": 0.90,
    "citation_validity": 1.0,
}
PROJECT_MAXIMUMS: dict[str, float] = {"false_abstention_rate": 0.05}


@dataclass
class GateResult:
    """Whether a run passed, which thresholds it failed, and the figures it was judged on."""

    passed: bool
    failures: list[str]
    metrics: dict[str, float | None] = field(default_factory=dict)
    run: RunResult | None = None


def parse_threshold(text: str) -> tuple[str, float]:
    """`METRIC=VALUE` -> (metric, value)."""
    name, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not sep or not name.strip() or math.isnan(number):
        raise EvalDataError(f"a threshold must look like METRIC=VALUE (e.g. recall@5=0.9), got {text!r}")
    return name.strip(), number


def gate_values(run_json: Mapping[str, Any]) -> dict[str, float | None]:
    """The figures a gate can test: every metric, and latency as `<kind>.<stage>.p50_ms` / `.p95_ms`."""
    values: dict[str, float | None] = dict(run_json.get("metrics", {}))
    for stage, stats in run_json.get("latency", {}).items():
        for stat in ("p50_ms", "p95_ms"):
            if stat in stats:
                values[f"{stage}.{stat}"] = stats[stat]
    return values


def check_gate(
    values: Mapping[str, float | None],
    *,
    minimums: Mapping[str, float] | None = None,
    maximums: Mapping[str, float] | None = None,
) -> list[str]:
    """One message per failed threshold (a metric that was not measured fails too); empty when all pass."""
    failures = []
    for bound, limits in (("min", minimums or {}), ("max", maximums or {})):
        for metric, limit in limits.items():
            value = values.get(metric)
            if value is None:
                failures.append(f"{metric} was not measured (needs {'>=' if bound == 'min' else '<='} {limit:g})")
            elif bound == "min" and value < limit:
                failures.append(f"{metric} = {value:.4f} < {limit:g}")
            elif bound == "max" and value > limit:
                failures.append(f"{metric} = {value:.4f} > {limit:g}")
    return failures


def thresholds(
    *, project: bool, minimums: Sequence[str] = (), maximums: Sequence[str] = ()
) -> tuple[dict[str, float], dict[str, float]]:
    """The minimums and maximums to apply: the project's (if asked) overridden by `METRIC=VALUE` options."""
    low = dict(PROJECT_MINIMUMS) if project else {}
    high = dict(PROJECT_MAXIMUMS) if project else {}
    low.update(parse_threshold(t) for t in minimums)
    high.update(parse_threshold(t) for t in maximums)
    return low, high


def run_gate(
    *,
    pipeline: AnswerPipeline | None = None,
    settings: Settings | None = None,
    gold: Path = DEFAULT_GOLD,
    corpus_paths: Sequence[Path] | None = None,
    limit: int | None = None,
    minimums: Mapping[str, float] | None = None,
    maximums: Mapping[str, float] | None = None,
) -> GateResult:
    """Evaluate the gold set in-process and apply the thresholds (the project's by default).

    For a fast check in a test, pass a loaded `pipeline` and a `limit`: that many questions, spread
    evenly over the file so unanswerable ones are included.
    """
    from eval.gold import load_gold
    from eval.runner import evaluate
    from eval.targets import PipelineTarget
    from qa_service.settings import Settings

    settings = settings or Settings()
    if pipeline is None:
        from qa_service.pipeline import QAPipeline

        pipeline = QAPipeline.from_settings(settings)
    dataset = load_gold(gold, corpus_paths=corpus_paths or settings.corpus_paths).limited(limit, spread=True)
    target = PipelineTarget(
        pipeline, settings.retrieval.mode, {"retrieval": settings.retrieval.model_dump(mode="json")}
    )
    run = evaluate(target, dataset)
    values = gate_values(run.to_json())
    failures = check_gate(
        values,
        minimums=PROJECT_MINIMUMS if minimums is None else minimums,
        maximums=PROJECT_MAXIMUMS if maximums is None else maximums,
    )
    return GateResult(passed=not failures, failures=failures, metrics=dict(run.metrics), run=run)
