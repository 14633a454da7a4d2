"""Evaluation data, BEIR-shaped: queries, corpus and relevance judgements (qrels).

Two sources load into the same `EvalSet`: the project's gold format (`eval/gold/*.jsonl`, graded
by recommendation id, with key facts) and the shared benchmark schema (`corpus.jsonl` +
`questions.jsonl`, graded by document id, with reference answers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from eval.errors import EvalDataError
from ingest.metadata import file_sha256

GOLD_DIR = Path(__file__).resolve().parent / "gold"
DEFAULT_GOLD = GOLD_DIR / "bone_metastasis.jsonl"
GOLD_FIELDS = ("qid", "question", "answerable", "rec_ids", "key_facts", "topic")
# Gold over documents the project did not write (real PDFs, web pages): graded by document and page.
DOC_GOLD_FIELDS = ("qid", "question", "answerable", "doc_ids", "pages", "pdf_pages", "key_facts", "topic")
# The first token of a heading, as ingest.chunking reads recommendation ids.
_REC_HEADING = re.compile(r"^#{1,6}[ \t]+([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-\d+[a-z]?)\b")


@dataclass(frozen=True)
class EvalQuestion:
    """One question with everything it is graded against."""

    qid: str
    question: str
    answerable: bool
    topic: str = "all"
    rec_ids: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    lenient_doc_ids: tuple[str, ...] = ()
    """Strict gold documents plus their near-duplicates; empty when the source gives none."""
    key_facts: tuple[tuple[str, ...], ...] = ()
    references: tuple[str, ...] = ()
    pdf_pages: tuple[int, ...] = ()
    """Pages (1-based positions in the PDF) that hold the answer, for gold over paginated documents."""


@dataclass(frozen=True)
class EvalSet:
    """Questions and their judgements, with BEIR-style views (`queries`, `qrels`)."""

    name: str
    kind: Literal["gold", "benchmark"]
    questions: tuple[EvalQuestion, ...]
    corpus: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """doc_id -> {"title": ...} (and "text" for benchmarks); may be empty."""
    source: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def queries(self) -> dict[str, str]:
        """qid -> question text."""
        return {q.qid: q.question for q in self.questions}

    @property
    def qrels(self) -> dict[str, dict[str, int]]:
        """qid -> {doc_id: 1}: strict document relevance (empty for unanswerable questions)."""
        return {q.qid: dict.fromkeys(q.doc_ids, 1) for q in self.questions}

    @property
    def lenient_qrels(self) -> dict[str, dict[str, int]]:
        """qid -> {doc_id: 1} including near-duplicate documents."""
        return {q.qid: dict.fromkeys(q.lenient_doc_ids, 1) for q in self.questions}

    @property
    def passage_qrels(self) -> dict[str, dict[str, int]]:
        """qid -> {rec_id: 1}: recommendation-level relevance (gold sets only)."""
        return {q.qid: dict.fromkeys(q.rec_ids, 1) for q in self.questions}

    @property
    def primary_level(self) -> Literal["passage", "doc"]:
        """The level the headline retrieval figures are at: recommendations when graded so, else documents."""
        return "passage" if any(q.rec_ids for q in self.questions) else "doc"

    def limited(self, n: int | None, *, spread: bool = False) -> EvalSet:
        """The first `n` questions, or with `spread` `n` questions evenly spaced over the set."""
        if n is None or n >= len(self.questions):
            return self
        if n <= 0:
            raise EvalDataError(f"--limit must be positive, got {n}")
        if spread:
            total = len(self.questions)
            picked = tuple(self.questions[(i * total) // n] for i in range(n))
        else:
            picked = self.questions[:n]
        return replace(self, questions=picked)

    def describe(self) -> dict[str, Any]:
        """What a report records about the data: name, sources with hashes, counts."""
        answerable = sum(q.answerable for q in self.questions)
        return {
            "name": self.name,
            "kind": self.kind,
            **dict(self.source),
            "questions": len(self.questions),
            "answerable": answerable,
            "unanswerable": len(self.questions) - answerable,
        }


def display_path(path: Path) -> str:
    """The path relative to the working directory when it is under it (reports stay comparable across checkouts)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalDataError(f"{path}: {exc.strerror or exc}") from None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalDataError(f"{path}:{lineno}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise EvalDataError(f"{path}:{lineno}: each line must be a JSON object")
        yield lineno, record


def _strings(value: Any, where: str, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise EvalDataError(f"{where}: {name} must be a list of strings")
    return tuple(value)


def rec_doc_map(corpus_paths: Sequence[Path]) -> tuple[dict[str, str], dict[str, str]]:
    """(rec_id -> doc_id, doc_id -> title) for the recommendations in a Markdown corpus, as ingest ids them."""
    from ingest import load_paths

    loaded = load_paths(list(corpus_paths))
    recs: dict[str, str] = {}
    titles: dict[str, str] = {}
    for doc in loaded.documents:
        titles[doc.doc_id] = doc.title
        for line in doc.text.splitlines():
            if match := _REC_HEADING.match(line):
                recs.setdefault(match.group(1), doc.doc_id)
    return recs, titles


def load_gold(
    path: Path,
    *,
    corpus_paths: Sequence[Path] | None = None,
    rec_to_doc: Mapping[str, str] | None = None,
) -> EvalSet:
    """A gold set in the project's format; document-level gold comes from the corpus the recommendations are in.

    Pass `rec_to_doc` directly, or `corpus_paths` to read it from the corpus; with neither, only
    recommendation-level judgements are available.
    """
    titles: dict[str, str] = {}
    if rec_to_doc is None and corpus_paths:
        rec_to_doc, titles = rec_doc_map(corpus_paths)
    mapping = rec_to_doc or {}
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    unknown: list[str] = []
    for lineno, record in _records(path):
        where = f"{path}:{lineno}"
        by_document = "doc_ids" in record and "rec_ids" not in record
        missing = [f for f in (DOC_GOLD_FIELDS if by_document else GOLD_FIELDS) if f not in record]
        if missing:
            raise EvalDataError(f"{where}: missing {', '.join(missing)}")
        qid, question = record["qid"], record["question"]
        if not isinstance(qid, str) or not qid or not isinstance(question, str) or not question.strip():
            raise EvalDataError(f"{where}: qid and question must be non-empty strings")
        if qid in seen:
            raise EvalDataError(f"{where}: duplicate qid {qid!r}")
        seen.add(qid)
        if not isinstance(record["answerable"], bool):
            raise EvalDataError(f"{where}: answerable must be true or false")
        if by_document:
            questions.append(_document_question(record, where))
            continue
        rec_ids = _strings(record["rec_ids"], where, "rec_ids")
        facts = record["key_facts"]
        if not isinstance(facts, list):
            raise EvalDataError(f"{where}: key_facts must be a list of lists of strings")
        key_facts = tuple(_strings(f, where, "each key fact") for f in facts)
        doc_ids: list[str] = []
        for rec in rec_ids:
            doc = mapping.get(rec)
            if doc is None:
                unknown.append(rec)
            elif doc not in doc_ids:
                doc_ids.append(doc)
        questions.append(
            EvalQuestion(
                qid=qid,
                question=question,
                answerable=record["answerable"],
                topic=str(record["topic"] or "all"),
                rec_ids=rec_ids,
                doc_ids=tuple(doc_ids) if mapping else (),
                key_facts=key_facts,
            )
        )
    if not questions:
        raise EvalDataError(f"{path}: no questions")
    warnings = []
    if not mapping and any(q.rec_ids for q in questions):
        warnings.append("no corpus given: document-level metrics are not computed for this gold set")
    elif unknown:
        shown = ", ".join(sorted(set(unknown))[:5])
        warnings.append(f"{len(set(unknown))} rec_ids not found in the corpus (e.g. {shown})")
    return EvalSet(
        name=path.stem,
        kind="gold",
        questions=tuple(questions),
        corpus={doc: {"title": title} for doc, title in sorted(titles.items())},
        source={"questions": display_path(path), "questions_sha256": file_sha256(path)},
        warnings=tuple(warnings),
    )


def _document_question(record: dict[str, Any], where: str) -> EvalQuestion:
    """A question graded by document and page rather than by recommendation id."""
    facts = record["key_facts"]
    if not isinstance(facts, list):
        raise EvalDataError(f"{where}: key_facts must be a list of lists of strings")
    pdf_pages = record["pdf_pages"]
    if not isinstance(pdf_pages, list) or not all(isinstance(p, int) and p >= 1 for p in pdf_pages):
        raise EvalDataError(f"{where}: pdf_pages must be a list of page numbers (1-based)")
    _strings(record["pages"], where, "pages")
    doc_ids = _strings(record["doc_ids"], where, "doc_ids")
    if record["answerable"] and not doc_ids:
        raise EvalDataError(f"{where}: an answerable question needs doc_ids")
    return EvalQuestion(
        qid=record["qid"],
        question=record["question"],
        answerable=record["answerable"],
        topic=str(record["topic"] or "all"),
        doc_ids=doc_ids,
        key_facts=tuple(_strings(f, where, "each key fact") for f in facts),
        pdf_pages=tuple(pdf_pages),
    )


def load_benchmark(questions_path: Path, corpus_path: Path | None = None) -> EvalSet:
    """A benchmark in the shared schema (`questions.jsonl`, optionally its `corpus.jsonl` for titles and texts)."""
    questions: list[EvalQuestion] = []
    seen: set[str] = set()
    for lineno, record in _records(questions_path):
        where = f"{questions_path}:{lineno}"
        missing = [f for f in ("qid", "question", "gold_doc_ids") if f not in record]
        if missing:
            raise EvalDataError(f"{where}: missing {', '.join(missing)}")
        qid = str(record["qid"])
        if qid in seen:
            raise EvalDataError(f"{where}: duplicate qid {qid!r}")
        seen.add(qid)
        meta = record.get("meta") or {}
        if not isinstance(meta, dict):
            raise EvalDataError(f"{where}: meta must be an object")
        strict = _strings(record["gold_doc_ids"], where, "gold_doc_ids")
        lenient: tuple[str, ...] = ()
        if "lenient_gold_doc_ids" in meta:
            extra = _strings(meta["lenient_gold_doc_ids"], where, "meta.lenient_gold_doc_ids")
            lenient = tuple(dict.fromkeys((*strict, *extra)))
        answerable = record.get("answerable", bool(strict))
        if not isinstance(answerable, bool):
            raise EvalDataError(f"{where}: answerable must be true or false")
        questions.append(
            EvalQuestion(
                qid=qid,
                question=str(record["question"]),
                answerable=answerable,
                topic=str(meta.get("qtype") or meta.get("topic") or "all"),
                doc_ids=strict,
                lenient_doc_ids=lenient,
                references=_strings(record.get("answers", []), where, "answers"),
            )
        )
    if not questions:
        raise EvalDataError(f"{questions_path}: no questions")
    corpus: dict[str, dict[str, str]] = {}
    source = {"questions": display_path(questions_path), "questions_sha256": file_sha256(questions_path)}
    if corpus_path is not None:
        for lineno, record in _records(corpus_path):
            if "doc_id" not in record:
                raise EvalDataError(f"{corpus_path}:{lineno}: missing doc_id")
            corpus[str(record["doc_id"])] = {
                "title": str(record.get("title") or ""),
                "text": str(record.get("text", "")),
            }
        source |= {"corpus": display_path(corpus_path), "corpus_sha256": file_sha256(corpus_path)}
    name = questions_path.parent.name if questions_path.stem == "questions" else questions_path.stem
    return EvalSet(name=name, kind="benchmark", questions=tuple(questions), corpus=corpus, source=source)
