"""Fit how the learned judge's logit combines with the gate's score, and write it into the gate file.

Every development set is asked of its own index with the judge off, three ways:

- each answerable question as it is: answered ones are the positives;
- each answerable question with its gold passages hidden (`eval.answer_removed`): answered ones
  whose answer does not still state every key fact are negatives (near misses in the corpus's words);
- each unanswerable question: answered ones are negatives.

The judge (`--model`) reads each answer's first sentences under their headings, as the service does
(`qa_service.judge`); a class-balanced logistic regression on logit(score) and the judge's best logit
gives the weights, and the cut is the highest that doubts at most `--doubt-budget` of the answerable
answers scored below `--band`. Only development sets are read, never a `*_heldout*` set; the judge
itself was trained on the same sets, so its development figures are optimistic: measure held-out
sets with `guideline-qa eval gold` and `eval answer-removed` afterwards.

    python -m train.judge_gate --model qa_service/models/judge --write qa_service/data/gate.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from train.gold_groups import ALL_DEVELOPMENT_SETS, REPO_ROOT

Row = dict[str, Any]
"""One judged answer: its set, kind (answerable, answer-removed, unanswerable), evidence score and judge logit."""

DEFAULT_BAND = 0.8
"""Answers the gate scores at or above this are not judged (the judge rarely doubts them; they keep their speed)."""
DEFAULT_BUDGET = 0.10
"""Share of development answerable answers below the band the judge may doubt."""


def judged_rows(index_dir: Path, sets: Sequence[str], model_dir: Path, sentences: int, max_length: int) -> list[Row]:
    """(set, kind, score, judge logit) for every answered question of the sets, asked of `index_dir`."""
    from eval.answer_removed import answer_rows, ask_hiding, removed_outcome
    from eval.gold import load_gold
    from qa_service.pipeline import QAPipeline
    from qa_service.render import sentence_passage
    from qa_service.rerank import Reranker
    from qa_service.schemas import AskRequest
    from qa_service.settings import Settings

    settings = Settings()
    settings.index_dir = index_dir
    settings.answer.judge = False
    pipeline = QAPipeline.from_settings(settings)
    encoder = Reranker.load(model_dir)
    seen: dict[str, list[str]] = {}
    assess = pipeline.gate.assess

    def keep(question, hits, composed, answer_text, query_vector, candidates, **kwargs):  # type: ignore[no-untyped-def]
        seen["read"] = [
            sentence_passage(candidates[s.source].chunk, s.text, s.table_header) for s in composed.sentences
        ]
        return assess(question, hits, composed, answer_text, query_vector, candidates, **kwargs)

    pipeline.gate.assess = keep  # type: ignore[method-assign,assignment]
    rows: list[Row] = []
    for name in sets:
        for q in load_gold(REPO_ROOT / "eval" / "gold" / f"{name}.jsonl").questions:
            hidden = answer_rows(q, pipeline.index.chunks) if q.answerable else []
            for kind in ("answerable", "answer-removed") if q.answerable else ("unanswerable",):
                if kind == "answer-removed":
                    if not hidden:
                        continue
                    reply = ask_hiding(pipeline, q, hidden)
                    if removed_outcome(q, reply) == "restated":
                        continue  # the answer still stands elsewhere: not a near miss
                else:
                    reply = pipeline.ask(AskRequest(question=q.question))
                read = seen.get("read", [])[:sentences]
                if reply.abstained or not read:
                    continue
                logit = float(encoder.score(q.question, read, max_length=max_length).max())
                rows.append({"set": name, "kind": kind, "score": reply.evidence_score, "logit": logit})
        print(f"{name}: {sum(r['set'] == name for r in rows)} answers judged", file=sys.stderr, flush=True)
    return rows


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.asarray(np.log(p / (1 - p)))


def fit(rows: Sequence[Row], band: float, budget: float, l2: float) -> dict[str, Any]:
    """Weights, bias and cut, with the development figures they give."""
    from eval.answerability import auroc
    from eval.fit_gate import fit_logistic

    score = np.array([r["score"] for r in rows])
    logit = np.array([r["logit"] for r in rows])
    positive = np.array([r["kind"] == "answerable" for r in rows])
    x = np.c_[_logit(score), logit]
    weights, bias = fit_logistic(x, positive.astype(float), l2=l2)
    combined = 1 / (1 + np.exp(-(x @ weights + bias)))
    judged = score < band
    below = combined[positive & judged]
    # The highest cut that doubts at most `budget` of the answerable answers the judge reads.
    cut = float(np.quantile(below, budget)) if len(below) else 0.0
    doubted = judged & (combined < cut)
    shares = {
        kind: round(float(doubted[[r["kind"] == kind for r in rows]].mean()), 3)
        for kind in ("answerable", "answer-removed", "unanswerable")
        if any(r["kind"] == kind for r in rows)
    }
    negatives = {"answer-removed", "unanswerable"}
    figures = {}
    for kind in negatives:
        k = np.array([r["kind"] in ("answerable", kind) for r in rows])
        if k.any():
            figures[kind] = {
                "score_auroc": round(auroc(score[k], positive[k]) or 0.0, 3),
                "combined_auroc": round(auroc(combined[k], positive[k]) or 0.0, 3),
            }
    return {
        "weights": {"evidence": round(float(weights[0]), 4), "judge": round(float(weights[1]), 4)},
        "bias": round(bias, 4),
        "cut": round(cut, 4),
        "doubted": shares,
        "auroc": figures,
    }


def main(argv: Sequence[str] | None = None) -> int:
    from qa_service.gate_model import GateModel
    from qa_service.judge import JudgeModel
    from qa_service.rerank import Reranker

    parser = argparse.ArgumentParser(prog="python -m train.judge_gate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "qa_service" / "models" / "judge")
    parser.add_argument("--gate", type=Path, default=REPO_ROOT / "qa_service" / "data" / "gate.json")
    parser.add_argument("--write", type=Path, help="write the gate file with the judge's entry here")
    parser.add_argument("--corpus-index", type=Path, default=REPO_ROOT / ".index")
    parser.add_argument("--realdocs-index", type=Path, default=REPO_ROOT / ".cache" / "realdocs-index")
    parser.add_argument("--band", type=float, default=DEFAULT_BAND)
    parser.add_argument("--doubt-budget", type=float, default=DEFAULT_BUDGET)
    parser.add_argument("--sentences", type=int, default=6)
    parser.add_argument("--max-length", type=int, default=96)
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--rows", type=Path, help="also write every judged answer here (JSON lines)")
    args = parser.parse_args(argv)
    if not 0 < args.band <= 1 or not 0 <= args.doubt_budget < 1:
        parser.error("--band must be in (0, 1] and --doubt-budget in [0, 1)")
    started = time.perf_counter()
    indexes = {"corpus": args.corpus_index, "realdocs": args.realdocs_index}
    rows: list[Row] = []
    used: list[str] = []
    for which, index_dir in indexes.items():
        sets = [name for name, kind in ALL_DEVELOPMENT_SETS if kind == which]
        if not (index_dir / "CURRENT").is_file():
            print(f"skipping {', '.join(sets)}: no index at {index_dir} (make index; make eval)", file=sys.stderr)
            continue
        rows += judged_rows(index_dir, sets, args.model, args.sentences, args.max_length)
        used += sets
    if not any(r["kind"] == "answerable" for r in rows) or all(r["kind"] == "answerable" for r in rows):
        print("no answers of both kinds to fit on", file=sys.stderr)
        return 1
    fitted = fit(rows, args.band, args.doubt_budget, args.l2)
    counts = {k: sum(r["kind"] == k for r in rows) for k in ("answerable", "answer-removed", "unanswerable")}
    sha = Reranker.load(args.model).config.get("sha256", "")
    judge = JudgeModel(
        evidence_weight=fitted["weights"]["evidence"],
        judge_weight=fitted["weights"]["judge"],
        bias=fitted["bias"],
        cut=fitted["cut"],
        band=args.band,
        sentences=args.sentences,
        max_length=args.max_length,
        model_sha256=sha,
        provenance={
            "fitted": datetime.now(UTC).strftime("%Y-%m-%d"),
            "command": "python -m train.judge_gate " + " ".join(argv if argv is not None else sys.argv[1:]),
            "data": f"answers of the development sets ({', '.join(used)}), judge off: {counts}",
            "method": "class-balanced logistic regression on logit(evidence score) and the judge's best logit "
            f"(L2 {args.l2}); cut: doubts {args.doubt_budget:.0%} of development answerable answers below the band",
            "development": {"doubted": fitted["doubted"], "auroc": fitted["auroc"]},
            "note": "the judge was trained on these sets: the held-out figures are in docs/results",
        },
    )
    print(json.dumps(judge.to_json(), indent=2))
    print(f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    if args.rows:
        args.rows.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    if args.write:
        gate = GateModel.load(args.gate)
        args.write.write_text(json.dumps(replace(gate, judge=judge).to_json(), indent=2) + "\n", encoding="utf-8")
        print(f"wrote the gate with the judge's entry to {args.write}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
