"""Run an evaluation: ask a target every question, score the replies, and collect one `RunResult` per configuration."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from eval.gold import EvalSet
from eval.metrics import (
    CitedAnswer,
    Score,
    abstained_or_cautioned,
    abstention_recall,
    broken_words,
    cautioned_rate,
    citation_precision,
    citation_validity,
    citations_with_page,
    coverage,
    dedupe,
    doc_in_first_citations,
    false_abstention_rate,
    first_relevant_rank,
    grounding,
    key_fact_losses,
    key_fact_recall,
    latency_summary,
    mrr_at_k,
    ndcg,
    page_hit,
    recall_at_k,
    rouge_l_score,
    span_scores,
)
from eval.targets import EvalTarget
from ingest.metadata import file_sha256
from qa_service.schemas import AskRequest, AskResponse, SearchRequest, SearchResponse

if TYPE_CHECKING:
    from ingest import ChunkingSettings, EmbeddingSettings, IndexSettings

DEFAULT_CACHE_DIR = Path(".cache/bench-index")


def _index_key(corpus_sha: str, embedding: EmbeddingSettings, chunking: ChunkingSettings) -> str:
    """What the vectors depend on. Keyword-index settings are not in the key: `build_index` refreshes them in place."""
    from ingest import configured_model_name

    settings = {
        "corpus_sha256": corpus_sha,
        "model": configured_model_name(embedding),
        "model_path": str(embedding.model_path) if embedding.model_path else None,
        "sentence_vectors": embedding.sentence_vectors,
        "chunking": chunking.model_dump(mode="json"),
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def corpus_sha256(paths: Sequence[Path]) -> str:
    """One hash of the corpus files: a single file's own SHA-256, else a hash of every file's path and hash."""
    if len(paths) == 1 and paths[0].is_file():
        return file_sha256(paths[0])
    digest = hashlib.sha256()
    for given in paths:
        files = sorted(f for f in given.rglob("*") if f.is_file()) if given.is_dir() else [given]
        for file in files:
            if not any(
                part.startswith(".") for part in file.relative_to(given if given.is_dir() else file.parent).parts
            ):
                digest.update(f"{file.as_posix()}\t{file_sha256(file)}\n".encode())
    return digest.hexdigest()


def benchmark_index(
    corpus_path: Path | Sequence[Path],
    *,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    embedding: EmbeddingSettings | None = None,
    chunking: ChunkingSettings | None = None,
    index_settings: IndexSettings | None = None,
    rebuild: bool = False,
    on_status: Callable[[str], None] | None = None,
) -> tuple[Path, EmbeddingSettings]:
    """An index of a corpus (a benchmark's corpus.jsonl, or files and folders) under `cache_dir/<hash>`.

    Built once per corpus content and ingest settings.

    Returns the index directory and the embedding settings it was built with. A request without
    sentence vectors reuses an index that has them (retrieval is the same), never the reverse.
    """
    from ingest import ChunkingSettings, EmbeddingSettings, IndexSettings, build_index

    embedding = embedding or EmbeddingSettings()
    chunking = chunking or ChunkingSettings()
    index_settings = index_settings or IndexSettings()
    say = on_status or (lambda _msg: None)
    paths = [corpus_path] if isinstance(corpus_path, Path) else list(corpus_path)
    corpus_sha = corpus_sha256(paths)
    index_dir = cache_dir / _index_key(corpus_sha, embedding, chunking)
    if embedding.sentence_vectors == "none" and not rebuild:
        for richer in ("pooled", "encoded"):
            alternative = embedding.model_copy(update={"sentence_vectors": richer})
            candidate = cache_dir / _index_key(corpus_sha, alternative, chunking)
            if (candidate / "CURRENT").exists():
                index_dir, embedding = candidate, alternative
                break
    say(f"index {index_dir} of {', '.join(map(str, paths))} (incremental: only what changed is rebuilt)")
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    # Incremental: returns at once when up to date; new keyword settings rebuild BM25 and keep the vectors.
    build_index(
        paths,
        index_dir,
        embedding=embedding,
        chunking=chunking,
        index_settings=index_settings,
        rebuild=rebuild,
        on_status=on_status,
    )
    return index_dir, embedding


# -- running and scoring -----------------------------------------------------------------------

K_VALUES = (1, 5, 10)
Progress = Callable[[str, int, int], None]


@dataclass
class RunResult:
    """One configuration's figures: `config`, `metrics`, `latency` and `per_question` (JSON-ready)."""

    config: dict[str, Any]
    metrics: dict[str, float | None]
    latency: dict[str, dict[str, float]]
    per_question: list[dict[str, Any]]
    seconds: float = 0.0

    @property
    def name(self) -> str:
        """The configuration's name (e.g. the retrieval mode)."""
        return str(self.config.get("name", "run"))

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> RunResult:
        """A result read back from its report document."""
        return cls(
            config=dict(document["config"]),
            metrics=dict(document["metrics"]),
            latency=dict(document.get("latency", {})),
            per_question=list(document.get("per_question", [])),
        )

    def to_json(self) -> dict[str, Any]:
        """The report document; wall-clock time is left out so equal inputs give equal files."""
        return {
            "config": self.config,
            "metrics": self.metrics,
            "latency": self.latency,
            "per_question": self.per_question,
        }


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


class _Level(NamedTuple):
    """One judging level: the ranked ids per question, the relevant ids, and the lenient hit cap."""

    runs: dict[str, list[str]]
    qrels: dict[str, set[str]]
    needed: dict[str, int] | None = None


def _levels(dataset: EvalSet, searched: Mapping[str, SearchResponse]) -> dict[str, _Level]:
    """Every level the data can be judged at: passage (rec ids), doc, doc_lenient."""
    levels: dict[str, _Level] = {}
    doc_runs = {qid: dedupe(p.doc_id for p in r.passages) for qid, r in searched.items()}
    if any(q.rec_ids for q in dataset.questions):
        # A passage without a rec_id keeps its rank under its own chunk id, so it never counts as relevant.
        rec_runs = {qid: dedupe(p.rec_id or f"chunk:{p.chunk_id}" for p in r.passages) for qid, r in searched.items()}
        levels["passage"] = _Level(rec_runs, {q.qid: set(q.rec_ids) for q in dataset.questions})
    if any(q.doc_ids for q in dataset.questions):
        levels["doc"] = _Level(doc_runs, {q.qid: set(q.doc_ids) for q in dataset.questions})
    if any(q.lenient_doc_ids for q in dataset.questions):
        lenient = {q.qid: set(q.lenient_doc_ids) for q in dataset.questions}
        needed = {q.qid: max(1, len(q.doc_ids)) for q in dataset.questions}
        levels["doc_lenient"] = _Level(doc_runs, lenient, needed)
    return levels


def score_run(
    dataset: EvalSet,
    searched: Mapping[str, SearchResponse],
    asked: Mapping[str, AskResponse] | None = None,
    *,
    top_k: int = 10,
) -> tuple[dict[str, float | None], dict[str, dict[str, float]], list[dict[str, Any]]]:
    """(metrics, latency, per_question) of one configuration's replies. Pure: same replies, same figures."""
    metrics: dict[str, float | None] = {}
    per_q: dict[str, dict[str, float]] = {q.qid: {} for q in dataset.questions}
    first_hits: dict[str, dict[str, int | None]] = {q.qid: {} for q in dataset.questions}

    def record(key: str, score: Score) -> None:
        metrics[key] = _round(score.value)
        for qid, value in score.per_question.items():
            per_q[qid][key] = round(value, 6)

    levels = _levels(dataset, searched)
    for level, (runs, qrels, needed) in levels.items():
        for k in K_VALUES:
            record(f"{level}_recall@{k}", recall_at_k(runs, qrels, k))
        record(f"{level}_mrr@10", mrr_at_k(runs, qrels, 10))
        record(f"{level}_ndcg@10", ndcg(runs, qrels, 10, needed))
        record(f"{level}_coverage@{top_k}", coverage(runs, qrels, top_k, needed))
        for qid, relevant in qrels.items():
            if relevant:
                first_hits[qid][level] = first_relevant_rank(runs.get(qid, ()), relevant, top_k)
    primary = dataset.primary_level if dataset.primary_level in levels else next(iter(levels), None)
    if primary:
        for key in [f"recall@{k}" for k in K_VALUES] + ["mrr@10", "ndcg@10"]:
            metrics[key] = metrics[f"{primary}_{key}"]

    timings: list[tuple[str, Mapping[str, float]]] = [("search", r.timings_ms) for r in searched.values()]
    if asked:
        timings += [("ask", r.timings_ms) for r in asked.values()]
        _score_answers(dataset, asked, record)
    latency = {
        f"{kind}.{stage}": {k: round(v, 3) for k, v in stats.items()}
        for kind in ("search", "ask")
        for stage, stats in latency_summary(t for name, t in timings if name == kind).items()
    }

    per_question = []
    for q in dataset.questions:
        item: dict[str, Any] = {
            "qid": q.qid,
            "question": q.question,
            "topic": q.topic,
            "answerable": q.answerable,
            "gold": {
                "rec_ids": list(q.rec_ids),
                "doc_ids": list(q.doc_ids),
                "pdf_pages": list(q.pdf_pages),
                "lenient_doc_ids": list(q.lenient_doc_ids),
            },
            "first_hit": first_hits[q.qid],
            "scores": per_q[q.qid],
        }
        if q.qid in searched:
            item["retrieved"] = [
                {"doc_id": p.doc_id, "rec_id": p.rec_id, "chunk_id": p.chunk_id, "score": round(p.score, 4)}
                for p in searched[q.qid].passages
            ]
        if asked and q.qid in asked:
            reply = asked[q.qid]
            item["answer"] = {
                "text": reply.answer,
                "abstained": reply.abstained,
                "reason": reply.reason,
                "evidence_score": round(reply.evidence_score, 4),
                "caution": reply.caution,
                "citations": [
                    {
                        "id": c.id,
                        "doc_id": c.doc_id,
                        "rec_id": c.rec_id,
                        "page": c.page,
                        "page_label": c.page_label,
                        "also_on": [ref.page for ref in c.also_on],
                    }
                    for c in reply.citations
                ],
            }
        per_question.append(item)
    return metrics, latency, per_question


def _score_answers(dataset: EvalSet, asked: Mapping[str, AskResponse], record: Callable[[str, Score], None]) -> None:
    questions = [q for q in dataset.questions if q.qid in asked]
    # An abstention states nothing: it scores zero on answerable questions.
    texts = {q.qid: "" if asked[q.qid].abstained else asked[q.qid].answer for q in questions}
    answerable = [q for q in questions if q.answerable]
    if any(q.key_facts for q in answerable):
        facts = {q.qid: q.key_facts for q in answerable if q.key_facts}
        record("key_fact_recall", key_fact_recall(texts, facts))
        read = {qid: (r.answer, r.abstained, [p.text for p in r.passages]) for qid, r in asked.items() if qid in facts}
        losses = key_fact_losses(read, facts)
        record("key_facts_refused", losses.refused)
        record("key_facts_unquoted", losses.unquoted)
        record("key_facts_unretrieved", losses.unretrieved)
    references = {q.qid: q.references for q in answerable if q.references}
    if references:
        f1, em = span_scores(texts, references)
        record("span_f1", f1)
        record("span_em", em)
        record("rouge_l", rouge_l_score(texts, references))
    replies = {
        qid: CitedAnswer(
            answer=reply.answer,
            citations={c.id: (c.doc_id, c.quote) for c in reply.citations},
            passage_chunks={p.chunk_id for p in reply.passages},
            cited_chunks={c.id: c.chunk_id for c in reply.citations},
        )
        for qid, reply in asked.items()
        if not reply.abstained
    }
    gold_docs = {q.qid: {*q.doc_ids, *q.lenient_doc_ids} for q in answerable}
    record("citation_validity", citation_validity(replies))
    record(
        "citation_precision",
        citation_precision(
            {qid: r for qid, r in replies.items() if qid in gold_docs},
            gold_docs,
            {q.qid: q.key_facts for q in answerable},
        ),
    )
    record("citation_grounding", grounding(replies))
    answered = {qid: asked[qid] for qid in replies}
    if any(q.pdf_pages for q in questions) or dataset.primary_level == "doc":
        cited_docs = {qid: [c.doc_id for c in r.citations] for qid, r in answered.items()}
        record("doc_in_first3_citations", doc_in_first_citations(cited_docs, {q.qid: q.doc_ids for q in answerable}))
    if any(q.pdf_pages for q in questions):
        cited_pages = {qid: [(c.doc_id, c.page, c.page_end) for c in r.citations] for qid, r in answered.items()}
        paged = {d for q in questions if q.pdf_pages for d in q.doc_ids}
        # A citation names the pages that hold its passage again (`also_on`): the clinician may check either.
        shown_pages = {
            qid: cited_pages[qid] + [(c.doc_id, ref.page, ref.page) for c in r.citations for ref in c.also_on]
            for qid, r in answered.items()
        }
        record("page_hit", page_hit(shown_pages, {q.qid: (q.doc_ids, q.pdf_pages) for q in answerable}))
        record("citations_with_page", citations_with_page(cited_pages, paged))
        record("broken_word_answers", broken_words({qid: r.answer for qid, r in answered.items()}))
    abstained = {q.qid: asked[q.qid].abstained for q in questions}
    flags = {q.qid: q.answerable for q in questions}
    record("abstention_recall", abstention_recall(abstained, flags))
    record("false_abstention_rate", false_abstention_rate(abstained, flags))
    caution = {q.qid: asked[q.qid].caution for q in questions}
    record("abstained_or_cautioned", abstained_or_cautioned(abstained, caution, flags))
    record("cautioned_rate", cautioned_rate(abstained, caution, flags))


def evaluate(
    target: EvalTarget,
    dataset: EvalSet,
    *,
    answers: bool = True,
    top_k: int = 10,
    progress: Progress | None = None,
) -> RunResult:
    """Search (top_k passages) and, with `answers`, ask every question of the set, then score the replies."""
    started = time.perf_counter()
    searched: dict[str, SearchResponse] = {}
    asked: dict[str, AskResponse] = {}
    total = len(dataset.questions)
    for i, q in enumerate(dataset.questions, start=1):
        searched[q.qid] = target.search(SearchRequest(query=q.question, top_k=top_k))
        if answers:
            asked[q.qid] = target.ask(AskRequest(question=q.question))
        if progress:
            progress(target.name, i, total)
    metrics, latency, per_question = score_run(dataset, searched, asked if answers else None, top_k=top_k)
    config = {
        **target.describe(),
        "dataset": dataset.describe(),
        "top_k": top_k,
        "answers": answers,
        "primary_level": dataset.primary_level,
    }
    return RunResult(config, metrics, latency, per_question, seconds=time.perf_counter() - started)


def evaluate_all(
    targets: Sequence[EvalTarget],
    dataset: EvalSet,
    *,
    answers: bool = True,
    top_k: int = 10,
    progress: Progress | None = None,
) -> list[RunResult]:
    """`evaluate` for each configuration, in the order given."""
    return [evaluate(t, dataset, answers=answers, top_k=top_k, progress=progress) for t in targets]
