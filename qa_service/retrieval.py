"""Hybrid retrieval: dense (FAISS) and keyword (BM25) paths, filtered before ranking, fused.

Both paths rank only the rows that pass the metadata filters (a FAISS id selector and a BM25
mask), so a filter never empties a result that truncation would have filled. The keyword query is
expanded with the clinical abbreviation list (`qa_service.vocabulary`). A question that names a
guideline's source ("per WHO", "the CDC 2022 guideline") lifts that source's passages in the fused
order (`source_names`, `named_source_boost`): the issuing bodies' names are in the index, not in code.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources

import numpy as np

from ingest import Chunk, Embedder, keyword_tokens
from ingest.index import SearchIndex
from ingest.keywords import STOPWORDS
from qa_service.batching import MicroBatcher
from qa_service.rerank import Reranker, format_passage
from qa_service.schemas import Filters
from qa_service.settings import RetrievalSettings
from qa_service.vocabulary import expand_query

NAME_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
MIN_NAME_LENGTH = 3  # "WHO", "CDC", "NCI"; two letters name too much ("ES", "IV")


def source_names(chunk: Chunk) -> frozenset[str]:
    """Lower-cased names a question may call a passage's source by: each issuing body ("ESMO",
    "CCO/ASCO" as both) and the initials of a body of several words, whole and up to its first "and"
    ("World Health Organization" -> "who"; "Centers for Disease Control and Prevention" -> "cdcp",
    "cdc"). A title's acronyms are not names: in a COVID-19 corpus "SARS" is the subject."""
    names: set[str] = set()
    for body in re.split(r"[/;,]", chunk.issuing_body or ""):
        words = NAME_WORD.findall(body)
        if len(words) == 1:
            names.add(words[0].lower())
        head = words[: [w.lower() for w in words].index("and")] if "and" in (w.lower() for w in words) else words
        for part in (words, head):
            content = [w for w in part if w.lower() not in STOPWORDS]
            if len(content) >= MIN_NAME_LENGTH:
                names.add("".join(w[0] for w in content).lower())
    return frozenset(n for n in names if len(n) >= MIN_NAME_LENGTH)


def source_name_table(chunks: Sequence[Chunk]) -> tuple[list[frozenset[str]], frozenset[str]]:
    """Each chunk's source names (`source_names`), and all of them."""
    names = [source_names(c) for c in chunks]
    return names, frozenset().union(*names)


@lru_cache(maxsize=1)
def _body_table() -> tuple[tuple[str, bool, tuple[str, ...]], ...]:
    """The packaged list of guideline bodies: (initials, also an English word, full names), lower case."""
    rows = []
    for line in resources.files("qa_service").joinpath("data/guideline_bodies.txt").read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, *fields = (f.strip() for f in line.split("\t"))
            full = tuple(n.strip().lower() for f in fields if f.startswith("=") for n in f[1:].split(";") if n.strip())
            rows.append((name.lower(), "capitals" in fields, full))
    return tuple(rows)


@lru_cache(maxsize=1)
def guideline_bodies() -> tuple[frozenset[str], frozenset[str]]:
    """Initials of bodies that issue clinical guidelines (packaged list, lower case), and those of them that are
    also English words ("nice", "gold"): a question names those only in capitals."""
    table = _body_table()
    return frozenset(n for n, _, _ in table), frozenset(n for n, capitals, _ in table if capitals)


@lru_cache(maxsize=1)
def _full_names() -> tuple[re.Pattern[str], dict[str, str]]:
    by_name = {" ".join(full.split()): name for name, _, fulls in _body_table() for full in fulls}
    words = sorted(by_name, key=len, reverse=True)  # "U.S. Preventive Services Task Force" before a shorter one
    pattern = "|".join(r"\s+".join(re.escape(w) for w in full.split()) for full in words)
    return re.compile(rf"(?<![\w.])(?:{pattern})(?!\w)", re.IGNORECASE), by_name


@lru_cache(maxsize=512)
def _body_word(name: str) -> re.Pattern[str]:
    """The guideline body `name` (lower case) as a whole word, "'s" included: "WHO" only in capitals, where the
    name is also an English word, "uspstf" in any case."""
    if name in guideline_bodies()[1]:
        return re.compile(rf"(?<![\w-]){re.escape(name.upper())}(?:['’]s)?(?![\w-])")
    return re.compile(rf"(?<![\w-]){re.escape(name)}(?:['’]s)?(?![\w-])", re.IGNORECASE)


def mentions_body(text: str, name: str) -> bool:
    """Whether the text names the guideline body `name` (lower case; `_body_word`)."""
    return _body_word(name).search(text) is not None


def without_body_names(text: str, names: frozenset[str] | set[str]) -> str:
    """The text without the guideline bodies of `names` that it names as `named_in` finds them ("per NCCN",
    "IDSA's", "nccn"; "NICE" only in capitals), their full names already read as initials (`abbreviate_bodies`)."""
    for name in named_in(text, names):
        text = _body_word(name).sub(" ", text)  # "WHO", never "who"
    return text


def abbreviate_bodies(text: str) -> str:
    """The text with each guideline body it names in full written as its initials, as clinicians write them:
    "what does the European Society for Medical Oncology say" -> "what does the ESMO say". Every part of the
    service then reads the body as it reads "per ESMO": a source to lift or to miss, not words to find."""
    pattern, by_name = _full_names()
    return pattern.sub(lambda m: by_name[" ".join(m.group(0).lower().split())].upper(), text)


def body_initials(name: str) -> str:
    """The initials clinicians call a guideline body named in full ("Centers for Disease Control and Prevention"
    -> "CDC", as in "Per CDC 2022"); any other name as it is."""
    _, by_name = _full_names()
    initials = by_name.get(" ".join(name.lower().split()))
    return initials.upper() if initials else name


def bodies_named_in_full(text: str) -> set[str]:
    """Initials of the guideline bodies the text names in full ("American College of Radiology" -> "acr")."""
    pattern, by_name = _full_names()
    return {by_name[" ".join(m.group(0).lower().split())] for m in pattern.finditer(text)}


def named_in(question: str, names: frozenset[str] | set[str]) -> set[str]:
    """The source names the question uses: as written in capitals ("WHO"), or in any case when the name
    is neither an English stopword nor a body's name that is an English word ("cdc", "esmo"; "who" must be
    "WHO", "nice" must be "NICE")."""
    found = set()
    capitals = guideline_bodies()[1]
    for word in NAME_WORD.findall(question):
        lower = word.lower()
        if lower in names and (word.isupper() or (lower not in STOPWORDS and lower not in capitals)):
            found.add(lower)
    return found


@dataclass
class Hit:
    """One fused result: a chunk row and how each path ranked it."""

    row: int
    score: float
    dense_score: float | None = None
    dense_rank: int | None = None
    keyword_score: float | None = None
    keyword_rank: int | None = None
    rerank: float | None = None
    """The reranker's probability that this passage answers the question, when it ran."""
    rerank_logit: float | None = None
    """The reranker's raw score (what the evidence gate reads)."""


@dataclass
class RetrievalResult:
    """Fused hits plus what the answer stage and the abstention gate need."""

    hits: list[Hit]
    query_vector: np.ndarray
    keyword_tokens: list[str]
    timings_ms: dict[str, float] = field(default_factory=dict)
    lifted: frozenset[str] = frozenset()
    """The sources the query names whose passages were lifted (`named_source_boost`); empty when none were."""


def _min_max(scores: list[float]) -> list[float]:
    """Scores rescaled to [0, 1] over the candidate list (all 1 when they are equal)."""
    if not scores:
        return []
    low, high = min(scores), max(scores)
    return [1.0 if high == low else (x - low) / (high - low) for x in scores]


def _margin(scores: list[float], depth: int = 10) -> float:
    """How far the best score stands above the one at `depth`, relative to the best: a path's confidence."""
    if len(scores) < 2 or scores[0] <= 0:
        return 1.0 if scores else 0.0
    return max(scores[0] - scores[min(depth, len(scores)) - 1], 0.0) / scores[0]


class QueryEmbeddingCache:
    """A small thread-safe LRU of query vectors: repeated questions skip the encoder."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: np.ndarray) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class Retriever:
    """Dense + keyword retrieval over one loaded index."""

    def __init__(
        self, index: SearchIndex, embedder: Embedder, settings: RetrievalSettings, reranker: Reranker | None = None
    ) -> None:
        self.index = index
        self.reranker = reranker
        self.embedder = embedder
        self.settings = settings
        self.cache = QueryEmbeddingCache(settings.query_cache_size)
        self.batcher = MicroBatcher(lambda texts: embedder.embed(texts)) if settings.micro_batching else None
        chunks = index.chunks
        self._bodies = [
            {p.strip().lower() for p in (c.issuing_body or "").replace(";", "/").split("/") if p.strip()}
            | {(c.issuing_body or "").lower()}
            for c in chunks
        ]
        self._years = np.array([c.year if c.year is not None else -1 for c in chunks], dtype=np.int64)
        self._topics = [(c.topic or "").lower() for c in chunks]
        self._doc_ids = np.array([c.doc_id for c in chunks], dtype=object)
        self.hidden: np.ndarray | None = None
        """Rows answered around as if the index lacked them (evaluation only: `QAPipeline.hiding`)."""

    def with_settings(self, settings: RetrievalSettings) -> Retriever:
        """The same index and model with other retrieval settings (for side-by-side evaluation)."""
        clone = Retriever.__new__(Retriever)
        clone.__dict__.update(self.__dict__)
        clone.settings = settings
        return clone

    def allowed_rows(self, filters: Filters | None) -> np.ndarray | None:
        """Rows passing the filters (and not hidden), or None when nothing is filtered."""
        if self.hidden is not None:
            rows = self._filtered_rows(filters)
            return np.setdiff1d(np.arange(len(self.index.chunks)) if rows is None else rows, self.hidden)
        return self._filtered_rows(filters)

    def _filtered_rows(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None or filters.is_empty():
            return None
        keep = np.ones(len(self.index.chunks), dtype=bool)
        if filters.issuing_body:
            wanted = {b.strip().lower() for b in filters.issuing_body}
            keep &= np.array([bool(bodies & wanted) for bodies in self._bodies], dtype=bool)
        if filters.year_min is not None:
            keep &= self._years >= filters.year_min
        if filters.year_max is not None:
            keep &= (self._years <= filters.year_max) & (self._years >= 0)
        if filters.topic:
            prefixes = tuple(t.strip().lower() for t in filters.topic)
            keep &= np.array([t.startswith(prefixes) for t in self._topics], dtype=bool)
        if filters.doc_id:
            keep &= np.isin(self._doc_ids, list(filters.doc_id))
        return np.flatnonzero(keep)

    def unmatched_filters(self, filters: Filters | None) -> str:
        """What in the filters matches no passage of the index, for a user to fix: the values no passage has ("doc_id
        'nope' is not in this index"), else the filters together; empty when some passage matches them."""
        rows = self._filtered_rows(filters)
        if filters is None or rows is None or len(rows):
            return ""
        problems = []
        bodies = set().union(*self._bodies) if self._bodies else set()
        problems += [f"issuing_body '{b}'" for b in filters.issuing_body or () if b.strip().lower() not in bodies]
        problems += [
            f"topic '{t}'"
            for t in filters.topic or ()
            if not any(x.startswith(t.strip().lower()) for x in self._topics)
        ]
        held = set(self._doc_ids.tolist())
        problems += [f"doc_id '{d}'" for d in filters.doc_id or () if d not in held]
        if problems:
            verb = "is" if len(problems) == 1 else "are"
            return f"{', '.join(problems)} {verb} not in this index (GET /v1/documents lists what it holds)"
        years = sorted({int(y) for y in self._years if y >= 0})
        if (filters.year_min is not None or filters.year_max is not None) and years:
            return f"together they match no passage (guideline years here: {years[0]}-{years[-1]})"
        return "together they match no passage"

    def embed_query(self, query: str) -> np.ndarray:
        """The query vector, from the cache when the same question came before."""
        cached = self.cache.get(query)
        if cached is not None:
            return cached
        if self.batcher is not None:
            vector = self.batcher.embed(query)
        else:
            vector = np.asarray(self.embedder.embed([query])[0], dtype=np.float32)
        self.cache.put(query, vector)
        return vector

    def retrieve(
        self, query: str, top_k: int, filters: Filters | None = None, *, lift_named_sources: bool = True
    ) -> RetrievalResult:
        """Fused top_k hits for the query, near-duplicates collapsed; the passages of a source the query names
        lifted when `named_source_boost` is on and `lift_named_sources`."""
        s = self.settings
        timings: dict[str, float] = {}
        allowed = self.allowed_rows(filters)
        n_candidates = max(s.candidates, top_k * 2)
        dense: list[tuple[int, float]] = []
        keyword: list[tuple[int, float]] = []
        expanded = expand_query(query) if s.expand_abbreviations else query
        tokens = keyword_tokens(expanded)
        # Computed in every mode: sentence scoring and the evidence gate need it too.
        t = time.perf_counter()
        query_vector = self.embed_query(expanded if s.expand_dense else query)
        timings["embed"] = (time.perf_counter() - t) * 1000
        if s.mode in ("hybrid", "dense"):
            t = time.perf_counter()
            scores, rows = self.index.dense_search(query_vector, n_candidates, allowed)
            dense = list(zip(rows.tolist(), scores.tolist(), strict=True))
            timings["dense"] = (time.perf_counter() - t) * 1000
        if s.mode in ("hybrid", "keyword"):
            t = time.perf_counter()
            mask = None
            if allowed is not None:
                mask = np.zeros(len(self.index.chunks), dtype=np.float32)
                mask[allowed] = 1.0
            scores_all = self.index.keyword_scores(tokens, mask, bigram_weight=s.bigram_weight)
            positive = np.flatnonzero(scores_all > 0)
            if len(positive):
                take = positive[np.argsort(-scores_all[positive], kind="stable")[:n_candidates]]
                keyword = [(int(r), float(scores_all[r])) for r in take]
            timings["keyword"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        hits = self._fuse(dense, keyword)
        lifted = self._lift_named_sources(query, hits) if lift_named_sources else frozenset()
        reranking = self.reranker is not None and s.rerank
        hits = self._collapse_duplicates(hits, max(top_k, s.rerank_depth) if reranking else top_k)
        timings["fuse"] = (time.perf_counter() - t) * 1000
        if reranking and hits:
            t = time.perf_counter()
            hits = self._rerank(query, hits, query_vector)[:top_k]
            timings["rerank"] = (time.perf_counter() - t) * 1000
        return RetrievalResult(
            hits=hits, query_vector=query_vector, keyword_tokens=tokens, timings_ms=timings, lifted=lifted
        )

    def _fuse(self, dense: list[tuple[int, float]], keyword: list[tuple[int, float]]) -> list[Hit]:
        s = self.settings
        dense_weight, keyword_weight = s.dense_weight, s.keyword_weight
        if s.fusion == "confidence":
            dense_weight *= _margin([score for _, score in dense])
            keyword_weight *= _margin([score for _, score in keyword])
        by_row: dict[int, Hit] = {}
        dense_norm = _min_max([score for _, score in dense])
        keyword_norm = _min_max([score for _, score in keyword])
        for rank, (row, score) in enumerate(dense, start=1):
            part = 1 / (s.rrf_k + rank) if s.fusion == "rrf" else dense_norm[rank - 1]
            by_row[row] = Hit(row=row, score=dense_weight * part, dense_score=score, dense_rank=rank)
        for rank, (row, score) in enumerate(keyword, start=1):
            hit = by_row.setdefault(row, Hit(row=row, score=0.0))
            part = 1 / (s.rrf_k + rank) if s.fusion == "rrf" else keyword_norm[rank - 1]
            hit.score += keyword_weight * part
            hit.keyword_score, hit.keyword_rank = score, rank
        return sorted(by_row.values(), key=lambda h: (-h.score, h.row))

    @cached_property
    def _source_names(self) -> tuple[list[frozenset[str]], frozenset[str]]:
        """Each row's source names and all of them, read from the index at the first question that could name
        one, not at start-up."""
        return source_name_table(self.index.chunks)

    def _lift_named_sources(self, query: str, hits: list[Hit]) -> frozenset[str]:
        """Lift the passages of the sources the question names, unless it names every passage's source; the
        sources whose passages were lifted (empty when none were)."""
        boost = self.settings.named_source_boost
        if boost <= 0:
            return frozenset()
        names, all_names = self._source_names
        named = named_in(query, all_names)
        if not named:
            return frozenset()
        lifted = [h for h in hits if names[h.row] & named]
        if not lifted or len(lifted) == len(hits):
            return frozenset()
        for hit in lifted:
            hit.score += boost
        hits.sort(key=lambda h: (-h.score, h.row))
        return frozenset(named)

    def _rerank(self, query: str, hits: list[Hit], query_vector: np.ndarray) -> list[Hit]:
        """Hits reordered by a blend of the reranker's logits and the fused scores, each min-max scaled over the hits.

        Scaled over the candidates, the logits say which passage answers best whatever the corpus; their
        absolute level (calibrated on the reranker's own training domain) is left to the evidence gate.
        """
        assert self.reranker is not None
        chunks = [self.index.chunks[h.row] for h in hits]
        passages = [
            format_passage(c.title, c.local_headings(), self._reranker_text(h.row, c, query_vector))
            for h, c in zip(hits, chunks, strict=True)
        ]
        logits = self.reranker.score(query, passages, max_length=self.settings.rerank_max_length)
        probabilities = self.reranker.calibrate(logits)
        relevance = _min_max(logits.tolist())
        fused = _min_max([h.score for h in hits])
        w = self.settings.rerank_weight
        for i, hit in enumerate(hits):
            hit.rerank = float(probabilities[i])
            hit.rerank_logit = float(logits[i])
            hit.score = w * relevance[i] + (1 - w) * fused[i]
        return sorted(hits, key=lambda h: (-h.score, h.row))

    def _reranker_text(self, row: int, chunk: Chunk, query_vector: np.ndarray) -> str:
        """The passage text the reranker reads: from the sentence closest to the question (the index's sentence
        vectors) when that is not the passage's first (`rerank_window`), else the whole text.

        The reranker reads about 64 word pieces; in a long passage (a scientific article's paragraph, a PDQ
        section) the sentence that answers often lies past them, and the head it would read says little.
        """
        whole = chunk.prefix + chunk.text
        if not self.settings.rerank_window or len(chunk.sentences) < 2:
            return whole
        vectors = self.index.chunk_sentence_vectors(row)
        if vectors is None or len(vectors) != len(chunk.sentences):
            return whole
        best = int(np.argmax(np.asarray(vectors) @ query_vector))
        return whole if best == 0 else chunk.text[chunk.sentences[best][0] :]

    def _collapse_duplicates(self, hits: list[Hit], top_k: int) -> list[Hit]:
        """Keep the better of any two passages whose vectors are nearly identical."""
        kept: list[Hit] = []
        kept_vectors: list[np.ndarray] = []
        for hit in hits:
            vector = np.asarray(self.index.vectors[hit.row])
            if kept_vectors and float(np.max(np.stack(kept_vectors) @ vector)) >= self.settings.dedupe_threshold:
                continue
            kept.append(hit)
            kept_vectors.append(vector)
            if len(kept) >= top_k:
                break
        return kept
