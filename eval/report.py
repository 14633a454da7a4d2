"""Reports of a run: one JSON per configuration plus a combined one, a Markdown summary, a self-contained HTML page.

Equal inputs give byte-identical JSON and HTML: no timestamps, fixed ordering, PNGs without
metadata. Wall-clock run times appear only in `summary.md` and `combined.json` (`run_seconds`).
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.gold import EvalSet
from eval.runner import RunResult

HEADLINE = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
ANSWER_METRICS = ("key_fact_recall", "span_f1", "rouge_l")
LEVEL_STYLES = {"passage": "-", "doc": "--", "doc_lenient": ":"}
WORST = 15


def dumps(document: Any) -> str:
    """Stable JSON text (keys in insertion order, 2-space indent, NaN refused)."""
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def combined_document(runs: Sequence[RunResult], dataset: EvalSet, *, with_seconds: bool = True) -> dict[str, Any]:
    """Every configuration of one run in one document."""
    document: dict[str, Any] = {
        "dataset": dataset.describe(),
        "configs": [r.name for r in runs],
        "runs": [r.to_json() for r in runs],
    }
    if with_seconds:
        document["run_seconds"] = {r.name: round(r.seconds, 1) for r in runs}
    return document


def metric_names(runs: Sequence[RunResult]) -> list[str]:
    """Metric keys in report order, as the runs list them; the unprefixed headline aliases are left out."""
    names: list[str] = []
    for run in runs:
        names += [m for m in run.metrics if m not in names and m not in HEADLINE]
    return names


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "run"


def summary_markdown(runs: Sequence[RunResult], dataset: EvalSet, *, with_seconds: bool = True) -> str:
    """A Markdown page: dataset, one metrics table with a column per configuration, latency, run times."""
    info = dataset.describe()
    lines = [
        f"# Evaluation: {dataset.name}",
        "",
        f"{info['questions']} questions ({info['answerable']} answerable, {info['unanswerable']} unanswerable); "
        f"Retrieval with top_k {runs[0].config.get('top_k') if runs else '-'}; the JSON's unprefixed "
        f"recall@k, mrr@10 and ndcg@10 are the {dataset.primary_level}-level figures.",
        "",
    ]
    lines += [f"> warning: {w}" for w in dataset.warnings]
    header = "| metric | " + " | ".join(r.name for r in runs) + " |"
    lines += [header, "|---|" + "---:|" * len(runs)]
    for name in metric_names(runs):
        lines.append(f"| {name} | " + " | ".join(_fmt(r.metrics.get(name)) for r in runs) + " |")
    stages = sorted({s for r in runs for s in r.latency})
    if stages:
        stage_header = header.replace("| metric |", "| stage |", 1)
        lines += ["", "Latency per stage, median / p95 (ms):", "", stage_header, "|---|" + "---:|" * len(runs)]
        for stage in stages:
            cells = []
            for r in runs:
                stats = r.latency.get(stage)
                cells.append(f"{stats['p50_ms']:.1f} / {stats['p95_ms']:.1f}" if stats else "–")
            lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    if with_seconds:
        lines += ["", "Run time: " + ", ".join(f"{r.name} {r.seconds:.1f} s" for r in runs) + "."]
    return "\n".join(lines) + "\n"


# -- plots ---------------------------------------------------------------------------------------


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt

    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def recall_curve(run: RunResult, level: str, k_max: int) -> list[float]:
    """Share of judged questions with a relevant item within the top k, for k = 1..k_max."""
    ranks = [q["first_hit"][level] for q in run.per_question if level in q["first_hit"]]
    if not ranks:
        return []
    return [sum(1 for r in ranks if r is not None and r <= k) / len(ranks) for k in range(1, k_max + 1)]


def _plot_recall(runs: Sequence[RunResult]) -> str | None:
    import matplotlib.pyplot as plt

    k_max = int(runs[0].config.get("top_k", 10))
    figure, axes = plt.subplots(figsize=(7, 4))
    drawn = False
    for i, run in enumerate(runs):
        for level, style in LEVEL_STYLES.items():
            curve = recall_curve(run, level, k_max)
            if curve:
                axes.plot(
                    range(1, k_max + 1), curve, style, marker="o", ms=3, color=f"C{i}", label=f"{run.name} {level}"
                )
                drawn = True
    if not drawn:
        plt.close(figure)
        return None
    axes.set(xlabel="k", ylabel="recall@k (share of questions)", ylim=(0, 1.02), title="Recall@k")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    return _png(figure)


def _plot_evidence(runs: Sequence[RunResult]) -> str | None:
    import matplotlib.pyplot as plt

    with_answers = [r for r in runs if any("answer" in q for q in r.per_question)]
    if not with_answers:
        return None
    figure, axes = plt.subplots(1, len(with_answers), figsize=(4 * len(with_answers), 3.2), squeeze=False)
    bins = [i / 20 for i in range(21)]
    for ax, run in zip(axes[0], with_answers, strict=True):
        for answerable, colour in ((True, "C0"), (False, "C3")):
            scores = [q["answer"]["evidence_score"] for q in run.per_question if q["answerable"] is answerable]
            if scores:
                label = f"{'answerable' if answerable else 'unanswerable'} ({len(scores)})"
                ax.hist(scores, bins=bins, alpha=0.6, color=colour, label=label)
        threshold = run.config.get("answer", {}).get("abstain_threshold")
        if threshold is not None:
            ax.axvline(threshold, color="k", ls="--", lw=1)
        ax.set(title=run.name, xlabel="evidence_score", ylabel="questions")
        ax.legend(fontsize=7)
    return _png(figure)


def topic_table(run: RunResult) -> dict[str, dict[str, float]]:
    """Per topic (sorted): question count, primary recall@5, the main answer metric, and the share abstained."""
    answer_metric = next((m for m in ANSWER_METRICS if m in run.metrics), None)
    level = run.config.get("primary_level", "passage")
    topics: dict[str, list[dict[str, Any]]] = {}
    for q in run.per_question:
        topics.setdefault(q["topic"], []).append(q)
    table: dict[str, dict[str, float]] = {}
    for topic, items in sorted(topics.items()):
        row: dict[str, float] = {"n": float(len(items))}
        for key, source in (("recall@5", f"{level}_recall@5"), (answer_metric or "", answer_metric)):
            values = [q["scores"][source] for q in items if source and source in q["scores"]]
            if values:
                row[key] = sum(values) / len(values)
        answered = [q for q in items if "answer" in q]
        if answered:
            row["abstained"] = sum(q["answer"]["abstained"] for q in answered) / len(answered)
        table[topic] = row
    return table


def _plot_topics(runs: Sequence[RunResult]) -> str | None:
    import matplotlib.pyplot as plt

    tables = [topic_table(r) for r in runs]
    columns = [
        c for c in ("recall@5", *ANSWER_METRICS, "abstained") if any(c in row for t in tables for row in t.values())
    ]
    topics = sorted({t for table in tables for t in table})
    if not columns or not topics:
        return None
    width_in = min(14.0, max(7.0, 0.2 * len(topics) * len(runs) + 2))
    figure, axes = plt.subplots(len(columns), 1, figsize=(width_in, 2.6 * len(columns)))
    axes = axes if len(columns) > 1 else [axes]
    width = 0.8 / len(runs)
    for ax, column in zip(axes, columns, strict=True):
        for i, (run, table) in enumerate(zip(runs, tables, strict=True)):
            values = [table.get(t, {}).get(column, 0.0) for t in topics]
            ax.bar([x + i * width for x in range(len(topics))], values, width, color=f"C{i}", label=run.name)
        ax.set_ylabel(column)
        ax.set_ylim(0, 1.05)
        ax.set_xticks([x + 0.4 - width / 2 for x in range(len(topics))], topics, rotation=45, ha="right", fontsize=7)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=7)
    axes[0].set_title("By topic")
    figure.tight_layout()
    return _png(figure)


# -- HTML ----------------------------------------------------------------------------------------


def question_quality(question: dict[str, Any], level: str) -> float:
    """0 (worst) .. 1 (best): retrieval rank and answer score, or for unanswerable questions whether it abstained."""
    answer = question.get("answer")
    if not question["answerable"]:
        return 1.0 if answer is None or answer["abstained"] else 0.0
    scores = question["scores"]
    parts = [scores[k] for k in (f"{level}_mrr@10", *ANSWER_METRICS) if k in scores]
    if answer is not None and answer["abstained"]:
        parts.append(0.0)
    return sum(parts) / len(parts) if parts else 1.0


def worst_questions(run: RunResult, n: int = WORST) -> list[dict[str, Any]]:
    """The n lowest-quality questions, ties broken by qid, skipping perfect ones."""
    level = str(run.config.get("primary_level", "passage"))
    scored = sorted((question_quality(q, level), q["qid"], q) for q in run.per_question)
    return [q for quality, _, q in scored if quality < 1.0][:n]


def _worst_html(run: RunResult) -> str:
    esc = html.escape
    level = run.config.get("primary_level", "passage")
    rows = []
    for q in worst_questions(run):
        gold = set(q["gold"]["rec_ids"] if level == "passage" else q["gold"]["doc_ids"])
        gold |= set(q["gold"]["lenient_doc_ids"]) if level == "doc" else set()
        retrieved = []
        for p in q.get("retrieved", [])[:5]:
            key = p["rec_id"] if level == "passage" else p["doc_id"]
            label = esc(p["rec_id"] or p["doc_id"]) if level == "passage" else esc(p["doc_id"])
            retrieved.append(f"<b>{label} ✓</b>" if key in gold else label)
        answer = q.get("answer")
        answer_html = "–"
        if answer is not None:
            flag = "<i>abstained</i> " if answer["abstained"] else ""
            answer_html = f"{flag}{esc(answer['text'][:300])} <small>(evidence {answer['evidence_score']:.2f})</small>"
        gold_text = ", ".join(sorted(gold)) or "(unanswerable)"
        rows.append(
            f"<tr><td>{esc(q['qid'])}</td><td>{esc(q['topic'])}</td><td>{esc(q['question'])}</td>"
            f"<td>{esc(gold_text)}</td><td>{'<br>'.join(retrieved)}</td><td>{answer_html}</td></tr>"
        )
    if not rows:
        return "<p>No question scored below 1.</p>"
    head = "<tr><th>qid</th><th>topic</th><th>question</th><th>gold</th><th>retrieved (top 5)</th><th>answer</th></tr>"
    return f"<table class='worst'>{head}{''.join(rows)}</table>"


STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}table.worst td{max-width:380px}
img{max-width:100%}.warn{color:#a40}"""


def html_report(runs: Sequence[RunResult], dataset: EvalSet) -> str:
    """One HTML file with the metrics table, the plots (base64 PNG) and the worst questions of each configuration."""
    import matplotlib

    matplotlib.use("Agg")
    esc = html.escape
    info = dataset.describe()
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Evaluation: {esc(dataset.name)}</title>",
        f"<style>{STYLE}</style></head><body><h1>Evaluation: {esc(dataset.name)}</h1>",
        f"<p>{info['questions']} questions ({info['answerable']} answerable, {info['unanswerable']} unanswerable); "
        f"the JSON's unprefixed recall@k, mrr@10 and ndcg@10 are the {esc(dataset.primary_level)}-level figures.</p>",
    ]
    parts += [f"<p class='warn'>warning: {esc(w)}</p>" for w in dataset.warnings]
    head = "".join(f"<th>{esc(r.name)}</th>" for r in runs)
    body = "".join(
        f"<tr><td>{esc(m)}</td>" + "".join(f"<td class='n'>{_fmt(r.metrics.get(m))}</td>" for r in runs) + "</tr>"
        for m in metric_names(runs)
    )
    parts.append(f"<h2>Metrics</h2><table><tr><th>metric</th>{head}</tr>{body}</table>")
    for title, image in (
        ("Recall@k", _plot_recall(runs)),
        ("Evidence score: answerable vs unanswerable", _plot_evidence(runs)),
        ("By topic", _plot_topics(runs)),
    ):
        if image:
            parts.append(f"<h2>{esc(title)}</h2><img alt='{esc(title)}' src='data:image/png;base64,{image}'>")
    for run in runs:
        parts.append(f"<h2>Worst questions: {esc(run.name)}</h2>{_worst_html(run)}")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_reports(runs: Sequence[RunResult], dataset: EvalSet, out_dir: Path) -> list[Path]:
    """Write `<config>.json` for each configuration, `combined.json`, `summary.md` and `report.html`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for run in runs:
        path = out_dir / f"{_slug(run.name)}.json"
        path.write_text(dumps(run.to_json()), encoding="utf-8")
        written.append(path)
    for name, text in (
        ("combined.json", dumps(combined_document(runs, dataset))),
        ("summary.md", summary_markdown(runs, dataset)),
        ("report.html", html_report(runs, dataset)),
    ):
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
