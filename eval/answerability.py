"""Answerability that carries over: the gate fitted on several sources and judged on the one it never saw.

A *source* is a question set with its own corpus: the bone-metastasis gold and development sets over
`corpus/`, the real-document set over `../shared/realdocs`, the NIDDK near-miss benchmark, a
CancerGov near-miss set (a tenth of its answering pages removed, so their questions must abstain
while neighbouring pages remain) and COVID-QA (all answerable). Every question is asked once
through a pipeline over its source's index and the gate's features are recorded.

Leave-one-source-out: for each source, the gate is fitted on all the others and measured on it:
unanswerable questions abstained, answerable ones wrongly abstained, and the AUROC of the evidence
score. Those are the figures to quote for a corpus the project has never seen; the fit on all
sources is what `--write` puts in the gate file, with this table as its provenance.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from eval.errors import EvalDataError
from eval.fit_gate import GateSamples, answers, collect, columns, fit_logistic, model_with, scores
from eval.gold import EvalSet, load_benchmark, load_gold

if TYPE_CHECKING:
    from qa_service.gate_model import GateModel
    from qa_service.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
NEAR_MISS_FRACTION = 0.10
NEAR_MISS_SEED = 13


@dataclass(frozen=True)
class Source:
    """Questions with their answerable flags, and the corpus they are asked against."""

    name: str
    dataset: EvalSet
    corpus: tuple[Path, ...]


def _merged(name: str, sets: Sequence[EvalSet]) -> EvalSet:
    questions = tuple(q for s in sets for q in s.questions)
    return replace(sets[0], name=name, questions=questions)


def page_of(doc_id: str) -> str:
    """The page a MedQuAD section belongs to: "CancerGov_0000037_1_Sec4" -> "CancerGov_0000037_1"."""
    return doc_id.rsplit("_Sec", 1)[0]


def near_miss_benchmark(
    questions_path: Path,
    corpus_path: Path,
    out_dir: Path,
    *,
    fraction: float = NEAR_MISS_FRACTION,
    seed: int = NEAR_MISS_SEED,
) -> tuple[Path, Path]:
    """A benchmark with `fraction` of its answering pages removed, every section of them, and their near-duplicates.

    A question whose every gold document is gone becomes unanswerable: the page that answered it is
    missing while its neighbours (the same cancer in children, a neighbouring disease) remain. Whole
    pages go, not single sections: a MedQuAD page restates its sections in its summaries ("Key Points",
    "Points to Remember"), so a question whose section alone is removed is mostly still answered by its
    page (session 12: 31 of 38 such CancerGov questions had most of their reference answer elsewhere in
    the corpus; `restated_answers`). A question the input already marks unanswerable stays so only
    where its page is removed too; otherwise it is left out, its label being in doubt. Deterministic.
    """
    questions = [json.loads(line) for line in questions_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    answering = sorted({page_of(d) for q in questions for d in _listed(q["gold_doc_ids"])})
    removed = set(random.Random(seed).sample(answering, max(1, round(fraction * len(answering)))))
    for q in questions:  # near-duplicates of a removed page go with it
        if {page_of(d) for d in _listed(q["gold_doc_ids"])} & removed:
            removed |= {page_of(d) for d in _listed((q.get("meta") or {}).get("lenient_gold_doc_ids", []))}
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus_out, questions_out = out_dir / "corpus.jsonl", out_dir / "questions.jsonl"
    with corpus_path.open(encoding="utf-8") as source, corpus_out.open("w", encoding="utf-8") as sink:
        for line in source:
            if line.strip() and page_of(json.loads(line)["doc_id"]) not in removed:
                sink.write(line if line.endswith("\n") else line + "\n")
    with questions_out.open("w", encoding="utf-8") as sink:
        for q in questions:
            meta = dict(q.get("meta") or {})
            earlier = _listed(meta.get("removed_gold_doc_ids", []))
            if q.get("answerable") is False and not all(page_of(d) in removed for d in earlier):
                continue  # a section removed before, its page kept: its page may still answer it
            gold = [d for d in _listed(q["gold_doc_ids"]) if page_of(d) not in removed]
            meta["lenient_gold_doc_ids"] = [
                d for d in _listed(meta.get("lenient_gold_doc_ids", [])) if page_of(d) not in removed
            ]
            meta["removed_gold_doc_ids"] = earlier + [d for d in _listed(q["gold_doc_ids"]) if page_of(d) in removed]
            record = q | {"gold_doc_ids": gold, "answerable": bool(gold), "meta": meta}
            sink.write(json.dumps(record, ensure_ascii=False) + "\n")
    return questions_out, corpus_out


_WORD = re.compile(r"[a-z0-9]+")
RESTATED_GRAMS = 0.5
"""Share of a sentence's word 4-grams a document must hold to restate it."""


def restated_answers(questions_path: Path, corpus_path: Path) -> tuple[int, int]:
    """How many unanswerable questions there are, and how many of them have most of their reference answer's
    sentences (of eight words or more) restated in a document of the corpus: a label to doubt.

    A sentence is restated where one document holds half of its word 4-grams. For a benchmark whose
    questions carry reference answers (`answers`); others count as not restated.
    """

    def grams(text: str) -> set[tuple[str, ...]]:
        words = _WORD.findall(text.lower())
        return {tuple(words[i : i + 4]) for i in range(len(words) - 3)}

    where: dict[tuple[str, ...], set[int]] = {}
    with corpus_path.open(encoding="utf-8") as lines:
        for i, line in enumerate(x for x in lines if x.strip()):
            for gram in grams(json.loads(line)["text"]):
                where.setdefault(gram, set()).add(i)
    unanswerable = restated = 0
    for line in questions_path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or (q := json.loads(line)).get("answerable", True):
            continue
        unanswerable += 1
        answer = " ".join(str(a) for a in q.get("answers") or [])
        pieces = re.split(r"(?<=[.!?])\s+|\n+", answer)
        sentences = [grams(s) for s in pieces if len(s.split()) >= 8]
        found = 0
        for sentence in sentences:
            hits: dict[int, int] = {}
            for gram in sentence:
                for doc in where.get(gram, ()):
                    hits[doc] = hits.get(doc, 0) + 1
            found += any(n >= RESTATED_GRAMS * len(sentence) for n in hits.values())
        restated += bool(sentences) and found > len(sentences) / 2
    return unanswerable, restated


def _listed(value: Any) -> list[str]:
    """A list of ids, also when the benchmark stores it as the text of a Python list."""
    if isinstance(value, str):
        import ast

        value = ast.literal_eval(value)
    return [str(v) for v in value]


def project_sources(cache_dir: Path, shared: Path = SHARED) -> tuple[list[Source], list[str]]:
    """The project's answerability sources that are present here, and a note for each that is not.

    Held-out sets are never among them: they stay for measuring, not fitting.
    """
    gold_dir = REPO_ROOT / "eval" / "gold"
    sources = [
        Source(
            "bone-metastasis",
            _merged(
                "bone-metastasis",
                [load_gold(gold_dir / "bone_metastasis.jsonl"), load_gold(gold_dir / "bone_metastasis_dev2.jsonl")],
            ),
            (REPO_ROOT / "corpus",),
        )
    ]
    missing: list[str] = []
    realdocs = shared / "realdocs"
    if realdocs.is_dir():
        names = ("realdocs_dev.jsonl", "realdocs_dev3.jsonl", "realdocs_dev4.jsonl", "realdocs_dev5.jsonl")
        development = [load_gold(gold_dir / name) for name in names]
        sources.append(Source("real-guidelines", _merged("real-guidelines", development), (realdocs,)))
    else:
        missing.append(f"real-guidelines: {realdocs} is absent")
    bench = shared / "benchmarks"
    # Both near-miss sources remove whole pages (`near_miss_benchmark`); the shared NIDDK set removed single
    # sections, which the rest of their page mostly restates.
    for name, folder in (
        ("niddk-near-miss", bench / "medquad_niddk_nearmiss"),
        ("cancergov-near-miss", bench / "medquad_cancergov"),
    ):
        if (folder / "questions.jsonl").is_file():
            questions, corpus = near_miss_benchmark(
                folder / "questions.jsonl", folder / "corpus.jsonl", cache_dir / f"{name}-pages"
            )
            sources.append(Source(name, load_benchmark(questions), (corpus,)))
        else:
            missing.append(f"{name}: {folder} is absent")
    covid = bench / "covidqa"
    if (covid / "questions.jsonl").is_file():
        sources.append(Source("covid-qa", load_benchmark(covid / "questions.jsonl"), (covid / "corpus.jsonl",)))
    else:
        missing.append(f"covid-qa: {covid} is absent")
    return sources, missing


def collect_source(
    source: Source,
    settings: Settings,
    *,
    cache_dir: Path,
    on_status: Callable[[str], None] | None = None,
) -> GateSamples:
    """Index the source's corpus (cached), ask every question once, record the gate's inputs."""
    from eval.runner import benchmark_index
    from qa_service.pipeline import QAPipeline

    index_dir, embedding = benchmark_index(
        list(source.corpus),
        cache_dir=cache_dir / "index",
        embedding=settings.embedding,
        chunking=settings.chunking,
        index_settings=settings.index,
        on_status=on_status,
    )
    local = settings.model_copy(deep=True)
    local.index_dir, local.embedding = index_dir, embedding
    pipeline = QAPipeline.from_settings(local)
    questions = source.dataset.questions
    return collect(pipeline, [q.question for q in questions], [q.answerable for q in questions])


def auroc(values: np.ndarray, positive: np.ndarray) -> float | None:
    """Probability that a random positive scores above a random negative (ties count half); None if one class."""
    pos, neg = values[positive], values[~positive]
    if not len(pos) or not len(neg):
        return None
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


@dataclass
class SourceFigures:
    """How the gate does on one source."""

    source: str
    questions: int
    unanswerable: int
    abstained: float | None
    """Share of unanswerable questions abstained (None without any)."""
    wrongly_abstained: float | None
    """Share of answerable questions abstained (None without any)."""
    auroc: float | None

    def row(self) -> list[str]:
        """Table cells."""

        def cell(x: float | None) -> str:
            return "-" if x is None else f"{x:.3f}"

        return [
            self.source,
            str(self.questions),
            str(self.unanswerable),
            cell(self.abstained),
            cell(self.wrongly_abstained),
            cell(self.auroc),
        ]


def figures(name: str, samples: GateSamples, model: GateModel, threshold: float) -> SourceFigures:
    """Abstention rates and AUROC of one source's samples under a gate model."""
    answered = answers(samples, model, threshold)
    unanswerable = ~samples.answerable
    n_un, n_ans = int(unanswerable.sum()), int(samples.answerable.sum())
    return SourceFigures(
        source=name,
        questions=len(samples),
        unanswerable=n_un,
        abstained=float((~answered & unanswerable).sum() / n_un) if n_un else None,
        wrongly_abstained=float((~answered & samples.answerable).sum() / n_ans) if n_ans else None,
        auroc=auroc(scores(samples, model), samples.answerable),
    )


def _concat(parts: Sequence[GateSamples]) -> GateSamples:
    return GateSamples(
        np.vstack([p.features for p in parts]),
        np.concatenate([p.answerable for p in parts]),
        np.concatenate([p.penalised for p in parts]),
        np.concatenate([p.composed for p in parts]),
    )


def fit_sources(
    samples: dict[str, GateSamples], features: Sequence[str], *, l2: float, base: GateModel | None = None
) -> GateModel:
    """The gate fitted on several sources at once, each source weighing the same whatever its size.

    Within the pooled data the two classes weigh half each, as in `fit_logistic`.
    """
    parts = list(samples.values())
    pooled = _concat(parts)
    per_source = np.concatenate([np.full(len(p), len(pooled) / (len(parts) * len(p))) for p in parts])
    weights, bias = fit_logistic(
        pooled.features[:, columns(features)], pooled.answerable.astype(float), l2=l2, sample_weight=per_source
    )
    return model_with(weights, bias, features, base)


SWEEP = (0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55)


@dataclass(frozen=True)
class SweepRow:
    """The gate in use at one threshold: each source's figures and their mean balanced accuracy."""

    threshold: float
    per_source: list[SourceFigures]

    @property
    def balanced_accuracy(self) -> float | None:
        """Mean over the sources with both kinds of question of (abstained + (1 - wrongly abstained)) / 2.

        Each source weighs the same, whatever its size: the threshold must serve a corpus like any of them.
        """
        values = [
            (f.abstained + 1 - f.wrongly_abstained) / 2
            for f in self.per_source
            if f.abstained is not None and f.wrongly_abstained is not None
        ]
        return sum(values) / len(values) if values else None


def threshold_sweep(
    samples: dict[str, GateSamples], model: GateModel, thresholds: Sequence[float] = SWEEP
) -> list[SweepRow]:
    """The gate's figures on every source at each threshold (its weights unchanged)."""
    return [SweepRow(t, [figures(name, part, model, t) for name, part in samples.items()]) for t in thresholds]


@dataclass
class AnswerabilityReport:
    """Leave-one-source-out, in-sample and current-gate figures per source, and the gate fitted on all."""

    model: GateModel
    held_out: list[SourceFigures]
    in_sample: list[SourceFigures]
    current: list[SourceFigures]
    settings: dict[str, Any] = field(default_factory=dict)
    sweep: list[SweepRow] = field(default_factory=list)
    """The gate in use at other thresholds."""
    audits: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per benchmark source: its unanswerable questions, and how many of them have most of their reference
    answer restated in the corpus (`restated_answers`)."""

    def to_markdown(self) -> str:
        """Three tables, one per way of measuring."""
        head = "| source | questions | unanswerable | unanswerable abstained | answerable wrongly abstained | AUROC |"
        rule = "|---|---:|---:|---:|---:|---:|"
        out = [
            f"Gate features: {', '.join(self.model.features)}; threshold {self.settings.get('threshold')}, "
            f"L2 {self.settings.get('l2')}.",
        ]
        for title, rows in (
            ("Leave-one-source-out (fitted on the other sources)", self.held_out),
            ("In-sample (fitted on all sources)", self.in_sample),
            ("The gate in use before this fit", self.current),
        ):
            out += ["", f"### {title}", "", head, rule]
            out += ["| " + " | ".join(r.row()) + " |" for r in rows]
        weights = ", ".join(f"{k} {v:.3g}" for k, v in self.model.weights.items())
        out += ["", f"Fitted on all sources: {weights}; bias {self.model.bias:.3g}."]
        if self.audits:
            audit = "; ".join(f"{name} {restated} of {n}" for name, (n, restated) in self.audits.items())
            out += [
                "",
                "Label audit: unanswerable questions with most of their reference answer restated in a document "
                f"left in the corpus (their label is in doubt): {audit}.",
            ]
        if self.sweep:
            names = [f.source for f in self.sweep[0].per_source]
            out += [
                "",
                "### The gate in use at other thresholds (unanswerable abstained / answerable wrongly abstained)",
                "",
                "| threshold | " + " | ".join(names) + " | mean balanced accuracy |",
                "|---:|" + "---:|" * (len(names) + 1),
            ]
            for row in self.sweep:
                cells = [
                    "/".join("-" if v is None else f"{v:.3f}" for v in (f.abstained, f.wrongly_abstained))
                    for f in row.per_source
                ]
                accuracy = "-" if row.balanced_accuracy is None else f"{row.balanced_accuracy:.3f}"
                out.append(f"| {row.threshold:.2f} | " + " | ".join(cells) + f" | {accuracy} |")
        return "\n".join(out)

    def provenance(self, command: str) -> dict[str, Any]:
        """What the gate file records of this fit."""
        return {
            "fitted": datetime.now(UTC).date().isoformat(),
            "command": command,
            "data": {r.source: {"questions": r.questions, "unanswerable": r.unanswerable} for r in self.in_sample},
            "method": "logistic regression, each source weighing the same and the two classes half each, "
            f"L2 {self.settings.get('l2')} (eval/answerability.py)",
            "leave_one_source_out": {
                r.source: {"abstained": r.abstained, "wrongly_abstained": r.wrongly_abstained, "auroc": r.auroc}
                for r in self.held_out
            },
        }


def leave_one_source_out(
    samples: dict[str, GateSamples],
    features: Sequence[str],
    *,
    l2: float,
    threshold: float,
    current: GateModel,
) -> AnswerabilityReport:
    """Fit on all sources but one, measure on that one, for every source; then fit on all."""
    if len(samples) < 2:
        raise EvalDataError("leave-one-source-out needs at least two sources")
    held_out = []
    for name, part in samples.items():
        others = {k: v for k, v in samples.items() if k != name}
        model = fit_sources(others, features, l2=l2, base=current)
        held_out.append(figures(name, part, model, threshold))
    final = fit_sources(samples, features, l2=l2, base=current)
    final = replace(final, threshold=threshold)
    return AnswerabilityReport(
        model=final,
        held_out=held_out,
        in_sample=[figures(name, part, final, threshold) for name, part in samples.items()],
        current=[figures(name, part, current, current.threshold) for name, part in samples.items()],
        settings={"threshold": threshold, "l2": l2, "features": list(features)},
        sweep=threshold_sweep(samples, current),
    )
