"""The index on disk: its writer, its reader and its manifest. This is the ingest/service contract.

Layout of an index directory::

    DIR/CURRENT                  name of the live generation (replaced atomically)
    DIR/gen-<time>-<rand>/
        manifest.json            model, dimension, chunking, corpus hash, documents, counts
        chunks.jsonl             one chunk a line (no pickle)
        vectors.npy              chunk vectors, float32 (n, dim), memory-mapped at load
        sentence_vectors.npy     sentence vectors (optional), in chunk order
        dense.faiss              FAISS inner-product index (flat, or HNSW above a size)
        bm25/                    bm25s keyword index

A new generation is written beside the old one and `CURRENT` is swapped with `os.replace`, so a
crash or Ctrl-C mid-write leaves the previous index intact and loadable.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ingest.chunking import Chunk
from ingest.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from ingest.keywords import TOKENIZER_VERSION, keyword_tokens

FORMAT_VERSION = 1
CURRENT_FILE = "CURRENT"


class IndexSettings(BaseModel):
    """How the dense and keyword indexes are built."""

    model_config = ConfigDict(extra="forbid")

    # Measured on 15,811 MedQuAD documents (33,320 chunks, docs/scaling.md): exact search took 2.0 ms of
    # a 7.4 ms question, HNSW 0.4 ms, at the same doc MRR@10; below ~20,000 chunks exact costs under 1 ms.
    hnsw_threshold: int = Field(
        20_000,
        ge=1,
        description="Above this many chunks the dense index is HNSW (approximate); below it, exact inner product.",
    )
    hnsw_m: int = Field(32, ge=4, le=128, description="HNSW graph degree.")
    hnsw_ef_construction: int = Field(
        200, ge=8, le=4096, description="HNSW build breadth: a better graph for a slower ingest."
    )
    hnsw_ef_search: int = Field(256, ge=8, le=4096, description="HNSW search breadth.")
    # k1 and b tuned on the development benchmarks (MedQuAD, COVID-QA): chunks are of similar length,
    # so length normalisation matters less than in whole-document BM25.
    bm25_k1: float = Field(0.9, gt=0, le=5, description="BM25 term-frequency saturation.")
    bm25_b: float = Field(0.4, ge=0, le=1, description="BM25 length normalisation.")


class DocumentEntry(BaseModel):
    """What the manifest remembers of one document."""

    doc_id: str
    content_hash: str
    title: str
    source: str
    issuing_body: str | None = None
    year: int | None = None
    topic: str | None = None
    url: str | None = None
    chunks: int
    file: str | None = None
    """The file the document was loaded from, as ingest found it."""
    file_fingerprint: str | None = None
    """Hash of that file's bytes, its metadata files and the loader version: equal means no need to parse."""
    pages: int | None = None
    headings: int = 0
    recommendations: int = 0
    tables: int = 0
    excluded: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class Manifest(BaseModel):
    """Everything needed to tell whether an index fits the configuration and the corpus."""

    model_config = ConfigDict(protected_namespaces=())

    format_version: int = FORMAT_VERSION
    model_name: str
    dimension: int
    model_max_tokens: int
    model_fingerprint: str | None = None  # hash of the int8 model file: its vectors are that file's alone
    chunking: dict[str, Any]
    index: dict[str, Any]
    keyword_tokenizer: str = TOKENIZER_VERSION
    chunker: str | None = None  # CHUNKER_VERSION of the build; None: written before it was recorded
    sentence_vectors: str
    corpus_hash: str
    documents: list[DocumentEntry]
    counts: dict[str, int]
    created_at: str
    dense_kind: str

    def document_hashes(self) -> dict[str, str]:
        """doc_id -> content hash."""
        return {d.doc_id: d.content_hash for d in self.documents}


def corpus_hash(hashes: dict[str, str]) -> str:
    """One hash for a whole corpus, independent of load order."""
    import hashlib

    joined = "\n".join(f"{k}\t{v}" for k, v in sorted(hashes.items()))
    return hashlib.sha256(joined.encode()).hexdigest()


def chunk_to_record(chunk: Chunk) -> dict[str, Any]:
    """A chunk as a JSON-able dict."""
    record = asdict(chunk)
    record["section"] = list(chunk.section)
    record["sentences"] = [list(s) for s in chunk.sentences]
    return record


def chunk_from_record(record: dict[str, Any]) -> Chunk:
    """Inverse of `chunk_to_record`."""
    record = dict(record)
    record["section"] = tuple(record["section"])
    record["sentences"] = tuple((int(a), int(b)) for a, b in record["sentences"])
    record["page_marks"] = tuple((int(o), int(n), str(label)) for o, n, label in record.get("page_marks", ()))
    return Chunk(**record)


def _faiss() -> Any:
    """The faiss module, typed loosely: its bundled stubs miss classes it has at run time."""
    import importlib

    return importlib.import_module("faiss")


def _build_dense(vectors: np.ndarray, settings: IndexSettings) -> tuple[Any, str]:
    faiss = _faiss()

    dim = vectors.shape[1]
    if len(vectors) > settings.hnsw_threshold:
        index = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = max(settings.hnsw_ef_construction, settings.hnsw_m)
        kind = "hnsw"
    else:
        index = faiss.IndexFlatIP(dim)
        kind = "flat"
    if len(vectors):
        index.add(vectors)
    return index, kind


def keyword_text_tokens(chunk: Chunk, separator: str = " > ") -> list[str]:
    """BM25 tokens of a chunk: its embedding text with the title once more, since titles name the subject."""
    return keyword_tokens(f"{chunk.title} {chunk.embedding_text(separator)}") or [""]


def bigrams(tokens: Sequence[str]) -> list[str]:
    """Adjacent keyword pairs ("mother_child", "child_transmission"): phrase evidence for BM25."""
    return [f"{a}_{b}" for a, b in pairwise(tokens) if a and b]


def _bm25(corpus: list[list[str]], settings: IndexSettings) -> Any:
    import bm25s

    retriever = bm25s.BM25(k1=settings.bm25_k1, b=settings.bm25_b)
    retriever.index(corpus, show_progress=False)
    return retriever


def _build_keyword(chunks: Sequence[Chunk], settings: IndexSettings, separator: str) -> tuple[Any, Any]:
    """Two BM25 indexes over the same chunks: single keywords, and adjacent keyword pairs."""
    corpus = [keyword_text_tokens(c, separator) for c in chunks]
    return _bm25(corpus, settings), _bm25([bigrams(tokens) or [""] for tokens in corpus], settings)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_bytes(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _save_npy(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as handle:
        np.save(handle, array, allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())


def write_index(
    index_dir: Path,
    manifest: Manifest,
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    sentence_vectors: np.ndarray | None,
    settings: IndexSettings,
    *,
    separator: str = " > ",
) -> Path:
    """Write a new generation and make it current atomically; return its folder.

    Older generations are removed only after the swap; a half-written generation is never current.
    """
    if len(chunks) != len(vectors):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
    index_dir.mkdir(parents=True, exist_ok=True)
    name = f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
    tmp = index_dir / f".tmp-{name}"
    final = index_dir / name
    pointer = index_dir / f".{CURRENT_FILE}.tmp"
    tmp.mkdir()
    try:
        dense, kind = _build_dense(vectors, settings)
        manifest = manifest.model_copy(update={"dense_kind": kind})
        _write_bytes(tmp / "chunks.jsonl", b"".join(orjson.dumps(chunk_to_record(c)) + b"\n" for c in chunks))
        _save_npy(tmp / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
        if sentence_vectors is not None:
            _save_npy(tmp / "sentence_vectors.npy", np.ascontiguousarray(sentence_vectors, dtype=np.float32))
        faiss = _faiss()
        faiss.write_index(dense, str(tmp / "dense.faiss"))
        unigram_index, bigram_index = _build_keyword(chunks, settings, separator)
        unigram_index.save(str(tmp / "bm25"))
        bigram_index.save(str(tmp / "bm25_bigrams"))
        # The manifest goes last: a generation without one is incomplete by definition.
        _write_bytes(tmp / "manifest.json", manifest.model_dump_json(indent=2).encode())
        _fsync_dir(tmp)
        tmp.rename(final)
        _write_bytes(pointer, name.encode())
        pointer.replace(index_dir / CURRENT_FILE)
        _fsync_dir(index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            pointer.unlink(missing_ok=True)
            # Renamed but never made current (the pointer write failed): nothing can read it.
            current = index_dir / CURRENT_FILE
            if final.is_dir() and (not current.is_file() or current.read_text().strip() != name):
                shutil.rmtree(final, ignore_errors=True)
        raise
    _remove_stale_generations(index_dir, keep=name)
    return final


def _remove_stale_generations(index_dir: Path, keep: str) -> None:
    for child in index_dir.iterdir():
        if (
            child.is_dir()
            and child.name != keep
            and (child.name.startswith("gen-") or child.name.startswith(".tmp-gen-"))
        ):
            shutil.rmtree(child, ignore_errors=True)


def current_generation(index_dir: Path) -> Path:
    """Folder of the live generation, or IndexNotFoundError."""
    pointer = index_dir / CURRENT_FILE
    if not pointer.is_file():
        raise IndexNotFoundError(f"no index at {index_dir} (run `guideline-qa ingest` first)")
    name = pointer.read_text().strip()
    folder = index_dir / name
    if not name or not folder.is_dir():
        raise IndexCorruptError(f"{pointer} names {name!r}, which does not exist")
    return folder


def read_manifest(index_dir: Path) -> Manifest:
    """The live generation's manifest."""
    path = current_generation(index_dir) / "manifest.json"
    try:
        manifest = Manifest.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise IndexCorruptError(f"{path} is missing") from None
    except ValidationError as exc:
        raise IndexCorruptError(f"{path} is not a manifest of this version: {exc.error_count()} problems") from None
    if manifest.format_version != FORMAT_VERSION:
        raise IndexCorruptError(
            f"index format {manifest.format_version} is not supported (this version reads {FORMAT_VERSION}); rebuild it"
        )
    return manifest


def fingerprints_agree(recorded: str | None, configured: str | None) -> bool:
    """Whether an index's model fingerprint fits the configured one; a fingerprint not known on either side fits."""
    return recorded is None or configured is None or recorded == configured


def index_differences(
    manifest: Manifest,
    *,
    model_name: str | None = None,
    dimension: int | None = None,
    chunking: dict[str, Any] | None = None,
    check_keywords: bool = True,
    model_fingerprint: str | None = None,
    sentence_vectors: str | None = None,
    chunker: str | None = None,
    index_settings: dict[str, Any] | None = None,
) -> dict[str, tuple[object, object]]:
    """Every setting in which an index differs from the configuration: (recorded, configured) by name.

    The one answer to "does this index fit these settings": loading checks the settings the vectors
    depend on; ingest also checks the sentence vectors, the chunker's rules and the index settings
    before it keeps an index's chunks and vectors. A setting given as None is not compared.
    """
    differences: dict[str, tuple[object, object]] = {}
    if model_name is not None and manifest.model_name != model_name:
        differences["model"] = (manifest.model_name, model_name)
    elif not fingerprints_agree(manifest.model_fingerprint, model_fingerprint):
        # Same name, another int8 file (re-quantised, e.g. by another onnxruntime): vectors would drift.
        differences["model_fingerprint"] = (manifest.model_fingerprint, model_fingerprint)
    if dimension is not None and manifest.dimension != dimension:
        differences["dimension"] = (manifest.dimension, dimension)
    if chunking is not None:
        for key in sorted(set(manifest.chunking) | set(chunking)):
            if manifest.chunking.get(key) != chunking.get(key):
                differences[f"chunking.{key}"] = (manifest.chunking.get(key), chunking.get(key))
    if check_keywords and manifest.keyword_tokenizer != TOKENIZER_VERSION:
        differences["keyword_tokenizer"] = (manifest.keyword_tokenizer, TOKENIZER_VERSION)
    if sentence_vectors is not None and manifest.sentence_vectors != sentence_vectors:
        differences["sentence_vectors"] = (manifest.sentence_vectors, sentence_vectors)
    if chunker is not None and manifest.chunker != chunker:
        differences["chunker"] = (manifest.chunker, chunker)
    if index_settings is not None and manifest.index != index_settings:
        differences["index"] = (manifest.index, index_settings)
    return differences


def check_compatible(manifest: Manifest, **settings: Any) -> None:
    """Raise IndexMismatchError naming every setting in which the index differs (see `index_differences`)."""
    differences = index_differences(manifest, **settings)
    if differences:
        raise IndexMismatchError(differences)


def _bm25_scores(index: Any, tokens: Sequence[str], n: int) -> np.ndarray:
    vocab = index.vocab_dict
    ids = [vocab[t] for t in tokens if t and t in vocab]
    if not ids:
        return np.zeros(n, dtype=np.float32)
    return np.asarray(index.get_scores_from_ids(ids), dtype=np.float32)


@runtime_checkable
class SearchIndex(Protocol):
    """What the service needs of an index: the seam where another search backend would plug in.

    `LoadedIndex` (FAISS + bm25s, on disk) implements it. A backend for a corpus beyond one node
    (OpenSearch, PostgreSQL with pgvector, Milvus: keyword and vector search with filters) would
    implement the same members over its own store; see docs/scaling.md.
    """

    path: Path
    manifest: Manifest
    chunks: list[Chunk]
    vectors: np.ndarray

    def __len__(self) -> int: ...

    def dense_search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, rows) by inner product, restricted to `allowed` rows when given."""
        ...

    def keyword_scores(
        self, tokens: Sequence[str], mask: np.ndarray | None = None, *, bigram_weight: float = 0.0
    ) -> np.ndarray:
        """A keyword score for every chunk (zero where masked out or no match)."""
        ...

    def chunk_sentence_vectors(self, row: int) -> np.ndarray | None:
        """The sentence vectors of one chunk, when the index stores them."""
        ...


@dataclass
class LoadedIndex:
    """An index in memory: chunks, vectors, the dense and keyword indexes, and the manifest."""

    path: Path
    manifest: Manifest
    chunks: list[Chunk]
    vectors: np.ndarray
    sentence_vectors: np.ndarray | None
    sentence_offsets: np.ndarray
    """Row of each chunk's first sentence in `sentence_vectors` (length n_chunks + 1)."""
    dense: Any
    keyword: Any
    keyword_bigrams: Any
    hnsw_ef_search: int = 256

    def __len__(self) -> int:
        return len(self.chunks)

    def dense_search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, rows) by inner product, restricted to `allowed` rows when given."""
        faiss = _faiss()

        n = len(self.chunks)
        if n == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        k = min(k, n if allowed is None else len(allowed))
        params = None
        if allowed is not None:
            selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            if self.manifest.dense_kind == "hnsw":
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(self.hnsw_ef_search, k))
            else:
                params = faiss.SearchParameters(sel=selector)
        elif self.manifest.dense_kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.hnsw_ef_search, k))
        scores, rows = self.dense.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        keep = rows[0] >= 0
        return scores[0][keep], rows[0][keep].astype(np.int64)

    def keyword_scores(
        self, tokens: Sequence[str], mask: np.ndarray | None = None, *, bigram_weight: float = 0.0
    ) -> np.ndarray:
        """BM25 score of every chunk for the query tokens, plus `bigram_weight` times the score of
        their adjacent pairs (zero where masked out or no match)."""
        scores = _bm25_scores(self.keyword, tokens, len(self.chunks))
        if bigram_weight and self.keyword_bigrams is not None:
            scores += bigram_weight * _bm25_scores(self.keyword_bigrams, bigrams(tokens), len(self.chunks))
        if mask is not None:
            scores = scores * mask
        return scores

    def chunk_sentence_vectors(self, row: int) -> np.ndarray | None:
        """Sentence vectors of chunk `row`, or None when the index has none."""
        if self.sentence_vectors is None:
            return None
        return self.sentence_vectors[self.sentence_offsets[row] : self.sentence_offsets[row + 1]]


def open_index(
    index_dir: Path,
    *,
    model_name: str | None = None,
    dimension: int | None = None,
    chunking: dict[str, Any] | None = None,
    mmap: bool = True,
    hnsw_ef_search: int = 256,
    check_keywords: bool = True,
    model_fingerprint: str | None = None,
) -> LoadedIndex:
    """Load the live generation, checking it against the configured model and chunking."""
    import bm25s

    faiss = _faiss()

    manifest = read_manifest(index_dir)
    check_compatible(
        manifest,
        model_name=model_name,
        dimension=dimension,
        chunking=chunking,
        check_keywords=check_keywords,
        model_fingerprint=model_fingerprint,
    )
    folder = current_generation(index_dir)
    try:
        chunks = [
            chunk_from_record(orjson.loads(line))
            for line in (folder / "chunks.jsonl").read_bytes().splitlines()
            if line
        ]
        vectors = np.load(folder / "vectors.npy", mmap_mode="r" if mmap else None, allow_pickle=False)
        sentence_path = folder / "sentence_vectors.npy"
        sentence_vectors = (
            np.load(sentence_path, mmap_mode="r" if mmap else None, allow_pickle=False)
            if sentence_path.exists()
            else None
        )
        dense = faiss.read_index(str(folder / "dense.faiss"))
        keyword = bm25s.BM25.load(str(folder / "bm25"), mmap=mmap)
        # Indexes written before the bigram index existed have none; their vectors stay reusable.
        bigram_folder = folder / "bm25_bigrams"
        keyword_bigrams = bm25s.BM25.load(str(bigram_folder), mmap=mmap) if bigram_folder.exists() else None
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexCorruptError(f"{folder}: cannot read index files ({exc})") from None
    if len(chunks) != len(vectors) or dense.ntotal != len(chunks) or vectors.shape[1:] != (manifest.dimension,):
        raise IndexCorruptError(f"{folder}: chunk, vector and dense index counts disagree; rebuild the index")
    offsets = np.zeros(len(chunks) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(c.sentences) for c in chunks])
    if sentence_vectors is not None and len(sentence_vectors) != offsets[-1]:
        raise IndexCorruptError(f"{folder}: sentence vectors do not match the chunks' sentences; rebuild the index")
    return LoadedIndex(
        path=folder,
        manifest=manifest,
        chunks=chunks,
        vectors=vectors,
        sentence_vectors=sentence_vectors,
        sentence_offsets=offsets,
        dense=dense,
        keyword_bigrams=keyword_bigrams,
        keyword=keyword,
        hnsw_ef_search=hnsw_ef_search,
    )
