"""build_index: documents -> chunks -> vectors -> a new index generation, re-embedding only what changed."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ingest.chunking import CHUNKER_VERSION, TABLE_SEPARATOR, Chunk, Chunker, ChunkingSettings
from ingest.embedders import load_embedder
from ingest.embedding import DEFAULT_MODEL_NAME, INT8_SUFFIX, Embedder, EmbeddingSettings
from ingest.errors import IndexStoreError, LoaderError
from ingest.index import (
    DocumentEntry,
    IndexSettings,
    LoadedIndex,
    Manifest,
    corpus_hash,
    index_differences,
    open_index,
    read_manifest,
    write_index,
)
from ingest.loaders import Document, load_paths


@dataclass
class IngestSummary:
    """What an ingest run did, for the closing line of the CLI and for tests."""

    index_dir: Path
    documents: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    chunks_embedded: int = 0
    sentences_embedded: int = 0
    skipped: list[Path] = field(default_factory=list)
    errors: list[LoaderError] = field(default_factory=list)
    seconds: float = 0.0
    up_to_date: bool = False
    rebuilt: bool = False
    reports: list[DocumentEntry] = field(default_factory=list)
    """What each document holds (pages, headings, recommendations, tables, excluded pages, warnings)."""

    @property
    def chunks_per_second(self) -> float:
        """Chunks embedded per second of the whole run."""
        return self.chunks_embedded / self.seconds if self.seconds > 0 else 0.0


def configured_model_name(settings: EmbeddingSettings) -> str:
    """The model name an index built with these settings records, known without loading the model."""
    name = DEFAULT_MODEL_NAME if settings.model_path is None else Path(settings.model_path).name
    return name + INT8_SUFFIX if settings.precision == "int8" else name


def _int8_file(embedding: EmbeddingSettings) -> Path:
    """Where the configured model's int8 file is, or will be, on this machine."""
    from ingest.onnx_backend import INT8_FILE, export_dir

    return export_dir(embedding.model_path, embedding.onnx_dir) / INT8_FILE


def configured_fingerprint(embedding: EmbeddingSettings) -> str | None:
    """The fingerprint of the configured int8 model file if it exists already (None otherwise)."""
    if embedding.precision != "int8":
        return None
    from ingest.onnx_backend import file_hash

    model = _int8_file(embedding)
    return file_hash(model) if model.exists() else None


def loading_message(embedding: EmbeddingSettings) -> str:
    """What ingest says while it loads the model: the int8 export takes a few seconds, once per machine."""
    if embedding.precision != "int8":
        return "loading the embedding model"
    model = _int8_file(embedding)
    if model.exists():
        return "loading the int8 embedding model"
    return f"exporting the embedding model to ONNX and quantising it to int8, once per machine, in {model.parent}"


_MARKDOWN_HEADING = re.compile(r"^#{1,6}[ \t]+\S", re.MULTILINE)


def _documents_entry(doc: Document, chunks: list[Chunk], file: tuple[str, str] | None) -> DocumentEntry:
    report = doc.report
    return DocumentEntry(
        doc_id=doc.doc_id,
        content_hash=doc.content_hash,
        title=doc.title,
        source=doc.source,
        issuing_body=doc.issuing_body,
        year=doc.year,
        topic=doc.topic,
        url=doc.url,
        chunks=len(chunks),
        file=file[0] if file else None,
        file_fingerprint=file[1] if file else None,
        pages=report.pages if report else (len({p.number for p in doc.pages}) or None),
        headings=_headings(doc),
        recommendations=len({c.rec_id for c in chunks if c.rec_id}),
        tables=_tables(doc),
        excluded=list(report.excluded) if report else [],
        warnings=list(report.warnings) if report else [],
    )


def _tables(doc: Document) -> int:
    """Tables its loader counted, else the Markdown tables of a structured document's text: runs of table rows
    holding a delimiter row (a web page's table exported with its notes under a second delimiter is one)."""
    if doc.report and doc.report.tables:
        return doc.report.tables
    if not doc.structured:
        return 0
    count, in_table, counted = 0, False, False
    for line in doc.text.splitlines():
        if line.lstrip().startswith("|"):
            if not in_table:
                in_table, counted = True, False
            if not counted and TABLE_SEPARATOR.match(line):
                count, counted = count + 1, True
        else:
            in_table = False
    return count


def _headings(doc: Document) -> int:
    """Headings its loader counted, else the Markdown headings of a structured document's text."""
    if doc.report and doc.report.headings:
        return doc.report.headings
    return len(_MARKDOWN_HEADING.findall(doc.text)) if doc.structured else 0


REPORT_FIELDS = ("pages", "headings", "recommendations", "tables", "excluded", "warnings")


def _known_files(manifest: Manifest | None) -> dict[str, tuple[str, list[str]]]:
    """file -> (fingerprint, its doc ids) from an index's manifest, for files whose bytes can be recognised."""
    known: dict[str, tuple[str, list[str]]] = {}
    for entry in manifest.documents if manifest else []:
        if entry.file and entry.file_fingerprint:
            known.setdefault(entry.file, (entry.file_fingerprint, []))[1].append(entry.doc_id)
    return known


def _reusable(
    index_dir: Path, embedder: Embedder, chunking: ChunkingSettings, sentence_vectors: str
) -> LoadedIndex | None:
    """The existing index if its vectors can be reused for unchanged documents."""
    try:
        old = open_index(
            index_dir,
            model_name=embedder.name,
            dimension=embedder.dimension,
            model_fingerprint=getattr(embedder, "fingerprint", None),
            chunking=chunking.model_dump(),
            mmap=False,
            check_keywords=False,  # vectors do not depend on the keyword index, which is always rebuilt
        )
    except IndexStoreError:
        return None
    # Other sentence vectors, or chunks cut by other rules: nothing to keep.
    return None if index_differences(old.manifest, sentence_vectors=sentence_vectors, chunker=CHUNKER_VERSION) else old


def settings_match(
    manifest: Manifest,
    model_name: str,
    chunking: ChunkingSettings,
    sentence_vectors: str,
    index_settings: IndexSettings | None = None,
    model_fingerprint: str | None = None,
) -> bool:
    """Whether an index was built with these settings, so its chunks and vectors can be kept as they are."""
    return not index_differences(
        manifest,
        model_name=model_name,
        model_fingerprint=model_fingerprint,
        chunking=chunking.model_dump(),
        sentence_vectors=sentence_vectors,
        chunker=CHUNKER_VERSION,
        index_settings=index_settings.model_dump() if index_settings is not None else None,
    )


def _embed_chunks(
    chunks: list[Chunk],
    embedder: Embedder,
    embedding: EmbeddingSettings,
    separator: str,
    *,
    progress: bool,
    say: Callable[[str], None],
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Chunk vectors and, per chunk, its sentence vectors (empty arrays when not stored)."""
    texts = [c.embedding_text(separator) for c in chunks]
    empty = np.zeros((0, embedder.dimension), np.float32)
    if embedding.sentence_vectors == "pooled":
        say(f"embedding {len(chunks)} chunks and pooling their sentences")
        spans = []
        for chunk, text in zip(chunks, texts, strict=True):
            shift = len(text) - len(chunk.text)  # the header and prefix come before the chunk text
            spans.append([(a + shift, b + shift) for a, b in chunk.sentences])
        return embedder.embed_with_sentences(texts, spans, batch_size=embedding.batch_size, progress=progress)
    say(f"embedding {len(chunks)} chunks")
    vectors = embedder.embed(texts, batch_size=embedding.batch_size, progress=progress)
    if embedding.sentence_vectors == "none":
        return vectors, [empty for _ in chunks]
    unique = sorted({s for c in chunks for s in c.sentence_texts()})
    say(f"embedding {len(unique)} sentences")
    by_text = dict(zip(unique, embedder.embed(unique, batch_size=embedding.batch_size, progress=progress), strict=True))
    return vectors, [
        np.array([by_text[s] for s in c.sentence_texts()], dtype=np.float32).reshape(-1, embedder.dimension)
        for c in chunks
    ]


def build_index(
    paths: Iterable[Path],
    index_dir: Path,
    *,
    embedder: Embedder | None = None,
    embedding: EmbeddingSettings | None = None,
    chunking: ChunkingSettings | None = None,
    index_settings: IndexSettings | None = None,
    rebuild: bool = False,
    strict: bool = False,
    progress: bool = False,
    on_status: Callable[[str], None] | None = None,
    loader: Callable[[EmbeddingSettings], Embedder] | None = None,
) -> IngestSummary:
    """Load, chunk and embed the documents under `paths` and write the index to `index_dir`.

    Unchanged documents keep their vectors; only new or changed ones are embedded; deleted ones are
    dropped. A different model or chunking (or `rebuild`) re-embeds everything. With nothing changed
    the model is not even loaded. `loader` loads the embedder when one is needed and none was given
    (default `load_embedder`; tests pass a fake).
    """
    started = time.perf_counter()
    embedding = embedding or EmbeddingSettings()
    chunking = chunking or ChunkingSettings()
    index_settings = index_settings or IndexSettings()
    say = on_status or (lambda _msg: None)
    summary = IngestSummary(index_dir=index_dir)

    paths = list(paths)
    model_name = embedder.name if embedder is not None else configured_model_name(embedding)
    fingerprint = getattr(embedder, "fingerprint", None) if embedder is not None else configured_fingerprint(embedding)
    try:
        previous = None if rebuild else read_manifest(index_dir)
    except IndexStoreError:
        previous = None
    if previous is not None and not settings_match(
        previous, model_name, chunking, embedding.sentence_vectors, index_settings, fingerprint
    ):
        previous = None
    # Files whose bytes are unchanged are not parsed again: their documents come from the index as they are.
    loaded = load_paths(paths, strict=strict, known=_known_files(previous))
    summary.skipped, summary.errors = loaded.skipped, loaded.errors
    documents = loaded.documents
    reused_ids = {
        doc_id for file, (_, ids) in _known_files(previous).items() if file in loaded.unchanged_files for doc_id in ids
    }
    summary.documents = len(documents) + len(reused_ids)
    if not summary.documents:
        # Say why each file failed: "no loadable documents" alone leaves a user guessing at every file.
        why = "".join(f"\n  {error}" for error in summary.errors)
        n = len(summary.skipped)
        types = "its type" if n == 1 else "their types"
        skipped = (
            f"\n  {n} file{' was' if n == 1 else 's were'} skipped: guideline-qa does not read {types}" if n else ""
        )
        raise LoaderError(Path(", ".join(str(p) for p in paths)), f"no loadable documents found{why}{skipped}")
    if previous is not None and not documents and reused_ids == set(previous.document_hashes()):
        summary.unchanged = len(reused_ids)
        summary.chunks = sum(d.chunks for d in previous.documents)
        summary.reports = list(previous.documents)
        summary.up_to_date = True
        summary.seconds = time.perf_counter() - started
        return summary

    if embedder is None:
        say(loading_message(embedding))
        embedder = (loader or load_embedder)(embedding)
    old = None if rebuild else _reusable(index_dir, embedder, chunking, embedding.sentence_vectors)
    if reused_ids and old is None:  # the index cannot lend its chunks after all: parse those files too
        loaded = load_paths(paths, strict=strict)
        summary.skipped, summary.errors = loaded.skipped, loaded.errors
        documents, reused_ids = loaded.documents, set()
    summary.rebuilt = old is None
    old_hashes = old.manifest.document_hashes() if old else {}
    old_entries = {e.doc_id: e for e in old.manifest.documents} if old else {}
    old_rows: dict[str, list[int]] = {}
    if old:
        for row, chunk in enumerate(old.chunks):
            old_rows.setdefault(chunk.doc_id, []).append(row)

    chunker = Chunker(chunking, embedder.count_tokens, embedder.max_tokens)
    per_doc: list[tuple[DocumentEntry | None, Document | None, list[Chunk], list[int] | None]] = []
    if old is not None:
        for entry in old.manifest.documents:
            if entry.doc_id in reused_ids:
                rows = old_rows.get(entry.doc_id, [])
                per_doc.append((entry, None, [old.chunks[r] for r in rows], rows))
                summary.unchanged += 1
    for doc in documents:
        previous_hash = old_hashes.get(doc.doc_id)
        file = loaded.files.get(doc.doc_id)
        if old is not None and previous_hash == doc.content_hash:
            rows = old_rows.get(doc.doc_id, [])
            entry = _documents_entry(doc, [old.chunks[r] for r in rows], file)
            if doc.report is None and (kept := old_entries.get(doc.doc_id)) is not None:
                entry = entry.model_copy(update={k: getattr(kept, k) for k in REPORT_FIELDS})
            per_doc.append((entry, doc, [old.chunks[r] for r in rows], rows))
            summary.unchanged += 1
        else:
            chunks = chunker.chunk(doc)
            per_doc.append((_documents_entry(doc, chunks, file), doc, chunks, None))
            if previous_hash is None:
                summary.new += 1
            else:
                summary.changed += 1
    summary.removed = len(set(old_hashes) - {d.doc_id for d in documents} - reused_ids)
    summary.reports = [entry for entry, _, _, _ in per_doc if entry is not None]

    fresh = [c for _, _, chunks, rows in per_doc if rows is None for c in chunks]
    fresh_vectors, fresh_sentences = _embed_chunks(
        fresh, embedder, embedding, chunking.section_separator, progress=progress, say=say
    )
    summary.chunks_embedded = len(fresh)
    summary.sentences_embedded = sum(len(v) for v in fresh_sentences)
    with_sentences = embedding.sentence_vectors != "none"

    all_chunks: list[Chunk] = []
    vector_rows: list[np.ndarray] = []
    sentence_rows: list[np.ndarray] = []
    fresh_iter = iter(range(len(fresh)))
    for _entry, _doc, chunks, old_rows_of_doc in per_doc:
        for i, chunk in enumerate(chunks):
            all_chunks.append(chunk)
            if old_rows_of_doc is not None and old is not None:
                vector_rows.append(np.asarray(old.vectors[old_rows_of_doc[i]]))
                block = old.chunk_sentence_vectors(old_rows_of_doc[i]) if with_sentences else None
            else:
                j = next(fresh_iter)
                vector_rows.append(fresh_vectors[j])
                block = fresh_sentences[j] if with_sentences else None
            if block is not None:
                sentence_rows.append(np.asarray(block))
    dim = embedder.dimension
    vectors = np.vstack(vector_rows).astype(np.float32) if vector_rows else np.zeros((0, dim), np.float32)
    sentence_vectors = None
    if with_sentences:
        sentence_vectors = (
            np.vstack(sentence_rows).astype(np.float32) if sentence_rows else np.zeros((0, dim), np.float32)
        )

    entries = [entry for entry, _, _, _ in per_doc if entry is not None]
    hashes = {e.doc_id: e.content_hash for e in entries}
    manifest = Manifest(
        model_name=embedder.name,
        dimension=dim,
        model_max_tokens=embedder.max_tokens,
        model_fingerprint=getattr(embedder, "fingerprint", None),
        chunking=chunking.model_dump(),
        chunker=CHUNKER_VERSION,
        index=index_settings.model_dump(),
        sentence_vectors=embedding.sentence_vectors,
        corpus_hash=corpus_hash(hashes),
        documents=entries,
        counts={
            "documents": len(entries),
            "chunks": len(all_chunks),
            "sentences": int(sum(len(c.sentences) for c in all_chunks)),
        },
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        dense_kind="pending",
    )
    say("writing the index")
    write_index(
        index_dir, manifest, all_chunks, vectors, sentence_vectors, index_settings, separator=chunking.section_separator
    )
    summary.chunks = len(all_chunks)
    summary.seconds = time.perf_counter() - started
    return summary
