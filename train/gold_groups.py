"""Sentence groups for the reranker from the project's development question sets (their training folds).

For each answerable question of a gold set, the service's own retrieval and sentence scoring run over
that set's index; every answer-worthy sentence of the top passages becomes a candidate, read as the
reranker reads a passage (`qa_service.render.sentence_passage`: title and headings, a table row's
header, the sentence). A sentence holding one of the question's key facts is a positive; the others,
best scored first, are its hard negatives. One group per positive: the positive and five negatives.

Only development sets go in (`DEVELOPMENT_SETS`); the held-out sets (`*_heldout*.jsonl`) never do.
The groups of one set can be kept out of training to measure transfer (`python -m train.reranker
--gold-groups ... --gold-val-set realdocs_dev3`).

    python -m train.gold_groups --out .cache/train/gold_groups.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
REALDOCS = REPO_ROOT.parent / "shared" / "realdocs"
NEGATIVES = 5
CANDIDATE_PASSAGES = 8

# (gold set, the index it is asked of: the project's corpus, or the real documents' index)
DEVELOPMENT_SETS: tuple[tuple[str, str], ...] = (
    ("bone_metastasis", "corpus"),
    ("bone_metastasis_dev2", "corpus"),
    ("realdocs_dev", "realdocs"),
    ("realdocs_dev3", "realdocs"),
)
# Every development set, for `--all-sets` (the shipped reranker was trained on the four above).
ALL_DEVELOPMENT_SETS: tuple[tuple[str, str], ...] = (
    *DEVELOPMENT_SETS,
    ("bone_metastasis_dev4", "corpus"),
    ("bone_metastasis_dev6", "corpus"),
    *((f"realdocs_dev{n}", "realdocs") for n in range(4, 9)),
)
REMOVED_NEGATIVES = 3
"""With `--answer-removed`: the sentences the service quotes when the question's gold passages are hidden
(`eval.answer_removed`) come first among a group's negatives, at most this many."""

_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text.lower()).strip()


def holds_fact(text: str, key_facts: Sequence[Sequence[str]]) -> bool:
    """Whether the text states one of the key facts (any of its alternatives), case and spacing aside."""
    body = _norm(text)
    return any(_norm(alt) in body for fact in key_facts for alt in fact)


def development_pipeline(index_dir: Path) -> Any:
    """The service's pipeline over `index_dir` with the judge off: the judge is trained on what it gives, so what
    it gives must not depend on the judge."""
    from qa_service.pipeline import QAPipeline
    from qa_service.settings import Settings

    settings = Settings()
    settings.index_dir = index_dir
    settings.answer.judge = False
    return QAPipeline.from_settings(settings)


def set_groups(
    name: str,
    gold: Path,
    index_dir: Path,
    full: list[dict[str, object]] | None = None,
    *,
    answer_removed: bool = False,
) -> list[dict[str, object]]:
    """The groups of one gold set, asked of the index in `index_dir` (and each question's whole list into `full`).

    With `answer_removed`, each group's negatives start with the sentences the service quotes when the
    question's gold passages are hidden: the near misses it falls back on.
    """
    from eval.answer_removed import answer_rows
    from eval.gold import load_gold
    from qa_service.render import sentence_passage

    pipeline = development_pipeline(index_dir)
    composer = pipeline.extractive
    groups: list[dict[str, object]] = []
    for q in load_gold(gold).questions:
        if not q.answerable or not q.key_facts:
            continue
        question = pipeline.read_question(q.question)
        result = pipeline.retriever.retrieve(question, CANDIDATE_PASSAGES)
        candidates = pipeline.reader.candidates(result.hits)
        scored = composer.score_sentences(question, result.query_vector, candidates, max_passages=CANDIDATE_PASSAGES)
        texts = [sentence_passage(candidates[s.source].chunk, s.text, s.table_header) for s in scored]
        labels = [1.0 if holds_fact(t, q.key_facts) else 0.0 for t in texts]
        scores = [round(s.score, 4) for s in scored]
        negatives = [i for i, label in enumerate(labels) if not label][:NEGATIVES]
        if not any(labels) or len(negatives) < NEGATIVES:
            continue
        removed = (
            _quoted_with_answer_hidden(pipeline, q, question, answer_rows(q, pipeline.index.chunks))[:REMOVED_NEGATIVES]
            if answer_removed
            else []
        )
        if full is not None:  # every candidate sentence, for ranking measured over the whole list
            full.append(
                {
                    "question": q.question,
                    "passages": texts,
                    "labels": labels,
                    "composer_scores": scores,
                    "set": name,
                    "qid": q.qid,
                }
            )
        others = [i for i, label in enumerate(labels) if not label and texts[i] not in removed]
        kept = others[: NEGATIVES - len(removed)]
        for positive in [i for i, label in enumerate(labels) if label][:3]:
            chosen = [positive, *kept]
            groups.append(
                {
                    "question": q.question,
                    "passages": [texts[i] for i in chosen] + removed,
                    "labels": [1.0] + [0.0] * NEGATIVES,
                    # the baseline to beat (a hidden-answer sentence was not scored with the others: 0)
                    "composer_scores": [scores[i] for i in chosen] + [0.0] * len(removed),
                    "set": name,
                    "qid": q.qid,
                }
            )
    return groups


def _quoted_with_answer_hidden(pipeline: Any, q: Any, question: str, rows: list[int]) -> list[str]:
    """The sentences the service's answer quotes with `rows` hidden, minus any holding a key fact (`[]` when
    nothing is hidden)."""
    from qa_service.render import sentence_passage

    if not rows:
        return []
    with pipeline.hiding(rows):
        result = pipeline.retriever.retrieve(question, CANDIDATE_PASSAGES)
        candidates = pipeline.reader.candidates(result.hits)
        composed = pipeline.extractive.compose(
            question, result.query_vector, candidates, max_words=pipeline.settings.answer.max_words
        )
    quoted = [sentence_passage(candidates[s.source].chunk, s.text, s.table_header) for s in composed.sentences]
    return [t for t in dict.fromkeys(quoted) if not holds_fact(t, q.key_facts)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.gold_groups", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--full", type=Path, help="also write each question's whole candidate list here")
    parser.add_argument("--corpus-index", type=Path, default=REPO_ROOT / ".index")
    parser.add_argument("--realdocs-index", type=Path, default=REPO_ROOT / ".cache" / "realdocs-index")
    parser.add_argument("--all-sets", action="store_true", help="every development set, not only the first four")
    parser.add_argument(
        "--answer-removed",
        action="store_true",
        help="negatives start with the sentences quoted when the question's answer is hidden (eval answer-removed)",
    )
    args = parser.parse_args(argv)
    indexes = {"corpus": args.corpus_index, "realdocs": args.realdocs_index}
    groups: list[dict[str, object]] = []
    full: list[dict[str, object]] = []
    for name, which in ALL_DEVELOPMENT_SETS if args.all_sets else DEVELOPMENT_SETS:
        index_dir = indexes[which]
        if not (index_dir / "CURRENT").is_file():
            print(
                f"skipping {name}: no index at {index_dir} (make index; for real documents, make eval)", file=sys.stderr
            )
            continue
        gold = REPO_ROOT / "eval" / "gold" / f"{name}.jsonl"
        found = set_groups(name, gold, index_dir, full, answer_removed=args.answer_removed)
        print(f"{name}: {len(found)} groups from {len({g['qid'] for g in found})} questions", file=sys.stderr)
        groups.extend(found)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(g) + "\n" for g in groups), encoding="utf-8")
    print(f"{len(groups)} groups written to {args.out}", file=sys.stderr)
    if args.full:
        args.full.write_text("".join(json.dumps(g) + "\n" for g in full), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
