"""Compare two reports: what improved and what regressed, per metric and per question."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from eval.errors import EvalDataError

Verdict = Literal["improved", "regressed", "unchanged", "mixed", "added", "removed"]
LOWER_IS_BETTER = frozenset(
    {"false_abstention_rate", "cautioned_rate", "key_facts_refused", "key_facts_unquoted", "key_facts_unretrieved"}
)
TOLERANCE = 1e-9
# Unprefixed copies of the headline level's figures: compared once, under their prefixed names.
ALIASES = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
# What the Markdown shows per question (the JSON has every change).
DETAIL_KEYS = frozenset(
    {
        "key_fact_recall",
        "span_f1",
        "rouge_l",
        "citation_precision",
        "citation_validity",
        "abstention_recall",
        "false_abstention_rate",
    }
)
DETAIL_SUFFIXES = ("_recall@5", "_mrr@10")


def lower_is_better(metric: str) -> bool:
    """True for error rates and latencies."""
    return metric in LOWER_IS_BETTER or metric.endswith("_ms")


def _verdict(metric: str, a: float | None, b: float | None, tolerance: float) -> Verdict:
    if a is None and b is None:
        return "unchanged"
    if a is None:
        return "added"
    if b is None:
        return "removed"
    delta = b - a
    if abs(delta) <= tolerance:
        return "unchanged"
    better = delta < 0 if lower_is_better(metric) else delta > 0
    return "improved" if better else "regressed"


@dataclass(frozen=True)
class MetricChange:
    """One metric in A and B."""

    metric: str
    a: float | None
    b: float | None
    verdict: Verdict

    @property
    def delta(self) -> float | None:
        """B minus A, when both exist."""
        return None if self.a is None or self.b is None else self.b - self.a


@dataclass(frozen=True)
class QuestionChange:
    """A question whose per-question scores differ between A and B."""

    qid: str
    question: str
    verdict: Verdict
    changes: dict[str, tuple[float | None, float | None]]


@dataclass
class Comparison:
    """A against B for one configuration."""

    name: str
    metrics: list[MetricChange]
    questions: list[QuestionChange]
    warnings: list[str] = field(default_factory=list)

    def count(self, verdict: Verdict) -> int:
        """How many metrics have this verdict."""
        return sum(1 for m in self.metrics if m.verdict == verdict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "metrics": [asdict(m) | {"delta": m.delta} for m in self.metrics],
            "questions": [asdict(q) for q in self.questions],
            "warnings": self.warnings,
        }


def _has_prefixed(alias: str, metrics: Mapping[str, Any]) -> bool:
    return any(key.endswith(f"_{alias}") for key in metrics)


def _detail(changes: Mapping[str, tuple[float | None, float | None]]) -> str:
    """The changes worth a line: headline retrieval, answers, citations, abstention (vanished scores last)."""
    shown = {k: v for k, v in changes.items() if k in DETAIL_KEYS or k.endswith(DETAIL_SUFFIXES)}
    moved = {k: v for k, v in shown.items() if None not in v} or shown or changes
    return ", ".join(f"{k} {_num(a)}→{_num(b)}" for k, (a, b) in moved.items())


def compare_runs(
    a: Mapping[str, Any], b: Mapping[str, Any], *, tolerance: float = TOLERANCE, latency: bool = False
) -> Comparison:
    """Compare two single-configuration report documents (`{"config", "metrics", "per_question"}`).

    Latency (median and p95 per stage) is compared only with `latency`: it varies from run to run.
    """
    warnings = []
    data_a, data_b = a.get("config", {}).get("dataset", {}), b.get("config", {}).get("dataset", {})
    if data_a.get("questions_sha256") != data_b.get("questions_sha256"):
        warnings.append("the two reports were made from different question files")
    metrics_a, metrics_b = dict(a.get("metrics", {})), dict(b.get("metrics", {}))
    for side in (a, b) if latency else ():
        for stage, stats in side.get("latency", {}).items():
            target = metrics_a if side is a else metrics_b
            target[f"{stage}.p50_ms"], target[f"{stage}.p95_ms"] = stats.get("p50_ms"), stats.get("p95_ms")
    names = [n for n in dict.fromkeys([*metrics_a, *metrics_b]) if n not in ALIASES or not _has_prefixed(n, metrics_a)]
    metrics = [
        MetricChange(n, metrics_a.get(n), metrics_b.get(n), _verdict(n, metrics_a.get(n), metrics_b.get(n), tolerance))
        for n in names
    ]

    by_qid_b = {q["qid"]: q for q in b.get("per_question", [])}
    questions = []
    for qa in a.get("per_question", []):
        qb = by_qid_b.get(qa["qid"])
        if qb is None:
            continue
        scores_a, scores_b = qa.get("scores", {}), qb.get("scores", {})
        changes: dict[str, tuple[float | None, float | None]] = {}
        verdicts: set[Verdict] = set()
        for key in dict.fromkeys([*scores_a, *scores_b]):
            verdict = _verdict(key, scores_a.get(key), scores_b.get(key), tolerance)
            if verdict != "unchanged":
                changes[key] = (scores_a.get(key), scores_b.get(key))
                verdicts.add(verdict)
        if changes:
            # Scores that appear or vanish (e.g. citation figures of a new abstention) do not set the direction.
            directional = verdicts & {"improved", "regressed"} or verdicts
            overall: Verdict = directional.pop() if len(directional) == 1 else "mixed"
            questions.append(QuestionChange(qa["qid"], qa.get("question", ""), overall, changes))
    missing = len(a.get("per_question", [])) - sum(1 for q in a.get("per_question", []) if q["qid"] in by_qid_b)
    if missing:
        warnings.append(f"{missing} questions of A are not in B")
    name_a, name_b = a.get("config", {}).get("name", "A"), b.get("config", {}).get("name", "B")
    return Comparison(name_a if name_a == name_b else f"{name_a} -> {name_b}", metrics, questions, warnings)


def load_runs(path: Path) -> list[dict[str, Any]]:
    """The run documents in a report file: one for a per-configuration file, several for `combined.json`."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EvalDataError(f"{path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise EvalDataError(f"{path}: not JSON ({exc.msg})") from None
    if isinstance(document, dict) and isinstance(document.get("runs"), list):
        return list(document["runs"])
    if isinstance(document, dict) and "metrics" in document:
        return [document]
    raise EvalDataError(f"{path}: not an evaluation report (no 'metrics' or 'runs')")


def compare_files(
    path_a: Path, path_b: Path, *, tolerance: float = TOLERANCE, latency: bool = False
) -> list[Comparison]:
    """Compare two report files; combined files are matched configuration by configuration (by name)."""
    runs_a, runs_b = load_runs(path_a), load_runs(path_b)
    if len(runs_a) == 1 and len(runs_b) == 1:
        return [compare_runs(runs_a[0], runs_b[0], tolerance=tolerance, latency=latency)]
    by_name = {r["config"].get("name"): r for r in runs_b}
    pairs = [(r, by_name[r["config"].get("name")]) for r in runs_a if r["config"].get("name") in by_name]
    if not pairs:
        raise EvalDataError(f"{path_a} and {path_b} have no configuration in common")
    return [compare_runs(a, b, tolerance=tolerance, latency=latency) for a, b in pairs]


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def render_comparison(comparisons: Sequence[Comparison], *, max_questions: int = 30) -> str:
    """Markdown: per configuration a metric table (A, B, delta, verdict), then the questions that changed."""
    lines: list[str] = []
    for comparison in comparisons:
        lines += [f"## {comparison.name}", ""]
        lines += [f"> warning: {w}" for w in comparison.warnings]
        lines += [
            f"{comparison.count('improved')} metrics improved, {comparison.count('regressed')} regressed, "
            f"{comparison.count('unchanged')} unchanged.",
            "",
            "| metric | A | B | delta | |",
            "|---|---:|---:|---:|---|",
        ]
        for m in comparison.metrics:
            delta = "" if m.delta is None else f"{m.delta:+.3f}"
            mark = "" if m.verdict == "unchanged" else m.verdict
            lines.append(f"| {m.metric} | {_num(m.a)} | {_num(m.b)} | {delta} | {mark} |")
        for verdict in ("regressed", "mixed", "improved"):
            changed = [q for q in comparison.questions if q.verdict == verdict]
            if not changed:
                continue
            lines += ["", f"Questions {verdict} ({len(changed)}):", ""]
            for q in changed[:max_questions]:
                lines.append(f"- {q.qid} ({q.question[:60]}): {_detail(q.changes)}")
            if len(changed) > max_questions:
                lines.append(f"- ... and {len(changed) - max_questions} more")
        lines.append("")
    return "\n".join(lines)
