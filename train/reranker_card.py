"""The model card (MODEL_CARD.md) of a trained reranker or judge, written from its reranker.json."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qa_service.rerank import CARD_FILE, MODEL_FILE
from train.reranker_data import GROUP_SIZE

_QUANT_NOTE = {
    "static": "fixed from {groups} training batches (QDQ, per-channel weights, 99.99th percentile)",
    "dynamic": "taken per tensor at run time (quantize_dynamic)",
}


def _fmt(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


ROLES = {
    "reranker": """A small cross-encoder that scores (question, passage) pairs for guideline-qa: it reranks the fused
candidates of a question and tells whether the best passage answers it, near misses included (the
same aspect of a neighbouring disease, or the right disease but another aspect). Served by
`qa_service/rerank.py` with onnxruntime and `tokenizers` only.""",
    "judge": """A cross-encoder that reads the sentences an answer quotes, each under its passage's headings, and
scores whether they answer the question: guideline-qa's answer judge (`qa_service/judge.py`). Its
guideline training groups put first among the negatives the sentences the service quotes when the
question's gold passages are hidden (`python -m train.gold_groups --answer-removed`): a neighbouring
passage's answer in the corpus's own words. How its logit combines with the evidence gate, and the
figures that combination gives on development and held-out sets, are in the gate file's `judge`
entry (`python -m train.judge_gate`) and in `docs/results/`. Served by `qa_service/rerank.py` with
onnxruntime and `tokenizers` only.""",
}


LIMITATIONS = {
    "reranker": """- Trained mostly on consumer-health MedQuAD pages and template questions; clinicians' questions
  (about 470 sentence groups from four development sets over two corpora) are a minority of its
  data. Its best-sentence score does not separate answerable from unanswerable questions on sets it
  did not train on (AUROC 0.44-0.64): treat its scores as a ranking signal, not the gate.""",
    "judge": """- Trained on every development set's answerable questions: its figures on those sets are in-sample
  and flatter it. Judge it on the held-out sets (`make eval-heldout`, totals only), where it flags
  fewer near misses and more answerable questions than on the development sets (`docs/results/`).
- Four layers over six sentences cost about 40 ms on one core, which is why it reads only answers
  the gate scored below its band.""",
}


def write_card(out: Path, config: dict[str, Any], compare: Sequence[dict[str, Any]]) -> None:
    s = config["data"]
    v = config["validation"]
    rows = ["| metric | int8 ONNX (shipped) | torch fp32 | BM25 on the same candidates |", "|---|---|---|---|"]
    for key in ("mrr@10", "accuracy@1", "auroc", "auroc_near_miss", "auroc_aspect", "auroc_bm25"):
        rows.append(f"| {key} | {_fmt(v['int8'][key])} | {_fmt(v['fp32'][key])} | {_fmt(v['bm25'][key])} |")
    lat = "; ".join(
        f"{x['threads']} thread(s): median {x['median_ms']} ms, p90 {x['p90_ms']} ms" for x in config["latency"]
    )
    trade = ""
    if compare:
        lines = [
            "| layers | max_length | development-set groups | minutes | steps | MRR@10 | acc@1 | AUROC | "
            "near-miss AUROC | aspect AUROC | latency 1 thread (ms) | latency 2 threads (ms) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for c in sorted(compare, key=lambda c: (c["layers"], c["max_length"], c["training"]["train_seconds"])):
            w = c["validation"]["int8"]
            lats = {x["threads"]: x["median_ms"] for x in c["latency"]}
            sets = c["data"].get("gold_groups") or {}
            used = ", ".join(f"{k.split(':')[-1]} {n}" for k, n in sets.items()) or "none"
            lines.append(
                f"| {c['layers']} | {c['max_length']} | {used} | {c['training']['train_seconds'] / 60:.1f} | "
                f"{c['training']['steps']} | {w['mrr@10']:.3f} | {w['accuracy@1']:.3f} | {w['auroc']:.3f} | "
                f"{w['auroc_near_miss']:.3f} | {w['auroc_aspect']:.3f} | {lats.get(1, '-')} | {lats.get(2, '-')} |"
            )
        trade = (
            "\n## Trade-off measured (same data, seed and held-out split; int8 figures)\n\n"
            "Every run is `python -m train.reranker` with the layers, length and minutes shown; latency is "
            "the median of 200 `Reranker.score` calls on 10 real candidates, measured on the shared machine "
            "while other jobs ran.\n\n" + "\n".join(lines) + "\n"
        )
    cal = config["calibration"]
    gold = s.get("gold_groups") or {}
    gold_sets = ", ".join(f"{k.split(':')[-1]} {n}" for k, n in gold.items())
    gold_excluded = (
        "; from `eval/gold` only the development sets below (never a `*_heldout*` set)" if gold else ", nor `eval/gold`"
    )
    role = config.get("role", "reranker")
    removed = (
        "; the negatives start with the sentences the\n  service quotes when the question's gold passages are hidden "
        "(`--answer-removed`)"
        if role == "judge"
        else ""
    )
    gold_line = (
        "- Clinicians' questions against guideline sentences (`python -m train.gold_groups`): the\n"
        "  development question sets' answerable questions asked of their own index; a sentence of the\n"
        "  top passages holding a key fact is the positive, the best-scored others its five negatives,\n"
        f"  each read as `qa_service.render.sentence_passage` reads a sentence{removed}.\n"
        f"  Groups: {gold_sets}; {round(100 * s.get('gold_share', 0))}% of each batch's groups.\n"
        if gold
        else ""
    )
    purpose = ROLES[role]
    quant_note = _QUANT_NOTE[config.get("quantisation", "dynamic")].format(groups=config.get("calibration_groups", 300))
    limitation = LIMITATIONS[role]
    card = f"""# guideline-qa {role} (cross-encoder, int8 ONNX)

{purpose}

- Base: {config["base_model"]} (Apache-2.0), first **{config["layers"]}** of its 6 transformer layers,
  plus a new head: mean of the question's tokens, mean of the passage's and max of all -> MLP -> logit.
- Input: `[CLS] question [SEP] "{{title}} > {{section}}\\n{{text}}" [SEP]`, at most **{config["max_length"]}**
  word pieces; only the passage is truncated.
- Output: one raw logit per pair. Probability: {cal["method"]} (`sigmoid(a * logit + b)`, a = {cal.get("a", 1.0)},
  b = {cal.get("b", 0.0)}), fitted on the held-out pairs, where 1 candidate in 10 is relevant: the
  probability reflects that prior, so tune any answer/abstain threshold on the service's own data.
- File: `{MODEL_FILE}`, {config["onnx_bytes"] / 1e6:.1f} MB (int8 {config.get("quantisation", "dynamic")}
  quantisation: QInt8 weights, activation ranges {quant_note};
  opset 17, dynamic batch and sequence axes), sha256 `{config["sha256"]}`.
- Trained {config["trained_at"]}, seed {config["seed"]}, {config["training"]["train_seconds"] / 60:.1f} minutes
  ({config["training"]["steps"]} steps of {config["batch_groups"]} groups x {GROUP_SIZE} pairs,
  {config["training"]["epochs"]} epochs) on {config["hardware"]}, one torch thread.

Reproduce: `{config["command"]}`

## Data

- MedQuAD (abachaa/MedQuAD, CC BY 4.0) as stored in `shared/benchmarks/medquad_nih/`:
  {s["docs_used"]} documents used ({", ".join(f"{k.split('/')[-1]} {n}" for k, n in s["sources"].items())}),
  {s["docs_typed"]} with a known question type; {s["questions_used"]} of the given questions.
- **Excluded**: every CancerGov and NIDDK document ({s.get("excluded_docs", 0)}) and question
  ({s.get("excluded_questions", 0)}): they are the evaluation sets `medquad_cancergov` and
  `medquad_niddk_nearmiss`. Nothing from `covidqa`, `medquad_cancergov` or `medquad_niddk_nearmiss`
  is read{gold_excluded}.
- Questions: each typed section gets a question from its topic title and type (MedQuAD's templates
  and paraphrases, random casing, a typo in 15%), or one of the given questions (half the time when
  one exists). Types come from the section: GHR and NINDS sections have a fixed order, GARD sections
  open with their question, MedlinePlus pages are overviews, the given questions label the rest.
  In training, GARD's leading question is removed from half the passages and a third of passages
  carry a section name in their header line.
- Negatives per positive (training: {GROUP_SIZE - 1}): near misses (the same question type about the
  nearest topics by title, BM25), the same topic's other sections (wrong aspect), BM25 hard
  negatives for the question, and a random negative (same type 70%). Duplicated topics (same
  normalised title, MedQuAD's lenient gold) are never negatives.
- Guideline corpus (`corpus/`, the project's own): {s["train_guideline_groups"]} training groups from
  Markdown headings (heading -> query, the section -> positive, sibling sections -> negatives),
  a minority ({100 * s["train_guideline_groups"] / max(1, s["train_groups"]):.1f}% of training groups).
{gold_line}- Split by topic: {s["title_groups"]} normalised titles, {s["val_title_groups"]} held out; training
  {s["train_groups"]} groups ({s["train_pairs"]} pairs), validation {s["val_groups"]} groups
  ({s["val_pairs"]} pairs, 10 candidates each, MedQuAD phrasing, {s["val_guideline_groups"]} from
  held-out guideline files). Validation negatives: {s["val_kinds"]}.

## Validation (held-out topics)

{chr(10).join(rows)}

- MRR@10 / accuracy@1: rank of the positive among its 10 candidates.
- AUROC: positives vs all negatives; near-miss AUROC: positives vs same-question-type negatives from
  other (neighbouring) topics; aspect AUROC: positives vs other sections of the same topic.
- int8 vs fp32 agreement on the {s["val_pairs"]} validation pairs: Pearson
  {config["agreement"]["pearson"]}, Spearman {config["agreement"]["spearman"]}, max |diff|
  {config["agreement"]["max_abs_diff"]}, top-1 agreement {config["agreement"]["top1_agreement"]}.
- Largest difference between a pair scored in its batch of 10 and scored alone, on 100 validation
  questions: {config["agreement"]["batch_vs_single_max_abs_diff"]} (logits span about
  {config["validation"]["logit_range"]}). Static quantisation fixes every activation range, so a
  pair's score does not depend on its batch; dynamic quantisation (one range per tensor and run)
  moves it with the other pairs.

## Latency

`Reranker.score` for 10 real candidates (tokenisation included), onnxruntime CPU, {lat}.
Measured on {config["hardware"]}, shared with other jobs (medians move with their load).
{trade}
## Limitations

{limitation}
- Very shallow and short (latency budget): it reads only the first ~{config["max_length"]} word pieces
  of a pair, so evidence deep in a long chunk is invisible to it, and it leans on the disease name and
  the section wording more than on reasoning over the text.
- MedQuAD repeats text (GARD symptom tables, GHR resource lists): labels there are partly noisy, and
  near-identical pages of different diseases are separated only by their names.
- English only; uncased WordPiece vocabulary of all-MiniLM-L6-v2.
"""
    (out / CARD_FILE).write_text(card, encoding="utf-8")
