"""Ingest throughput: our `build_index` against the naive split-and-`FAISS.from_documents`, same model."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.naive import NaivePipeline, naive_documents
from ingest import Embedder, EmbeddingSettings, as_langchain_embeddings, build_index


@dataclass(frozen=True)
class IngestRun:
    """One timed ingest: documents in, chunks embedded, wall seconds (loading to index on disk)."""

    documents: int
    chunks: int
    seconds: float

    @property
    def chunks_per_second(self) -> float:
        """Chunks embedded per second."""
        return self.chunks / self.seconds if self.seconds > 0 else 0.0

    @property
    def documents_per_second(self) -> float:
        """Documents ingested per second (comparable across chunkers, unlike chunks/s)."""
        return self.documents / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """Figures for the report."""
        return {
            "documents": self.documents,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
            "chunks_per_second": round(self.chunks_per_second, 2),
            "documents_per_second": round(self.documents_per_second, 2),
        }


@dataclass(frozen=True)
class Encoders:
    """The embedders of an ingest comparison: ours as configured, and the naive pipeline's.

    The naive pipeline always gets the plain fp32 sentence-transformers model, what a tutorial
    user would have; ours may be the int8 ONNX encoder (`settings.precision`).
    """

    ours: Embedder
    naive: Embedder
    settings: EmbeddingSettings


def ingest_ours(paths: Sequence[Path], index_dir: Path, embedder: Embedder, settings: EmbeddingSettings) -> IngestRun:
    """A full build of our index with the given embedding settings into `index_dir`."""
    started = time.perf_counter()
    summary = build_index(list(paths), index_dir, embedder=embedder, embedding=settings, rebuild=True)
    return IngestRun(summary.documents, summary.chunks_embedded, time.perf_counter() - started)


def ingest_naive(paths: Sequence[Path], store_dir: Path, embedder: Embedder) -> tuple[IngestRun, NaivePipeline]:
    """The tutorial pipeline: read, split (1000/200), embed into FAISS, save to `store_dir`."""
    started = time.perf_counter()
    documents = naive_documents(paths)
    pipeline, chunks = NaivePipeline.build(documents, as_langchain_embeddings(embedder))
    pipeline.save(store_dir)
    return IngestRun(len(documents), chunks, time.perf_counter() - started), pipeline


def limited_jsonl(source: Path, limit: int, folder: Path) -> Path:
    """A copy of the first `limit` records of a JSONL file (for `--quick`)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    with source.open(encoding="utf-8") as reader, target.open("w", encoding="utf-8") as writer:
        kept = 0
        for line in reader:
            if kept >= limit:
                break
            if line.strip():
                writer.write(line)
                kept += 1
    return target


def compare_ingest(
    paths: Sequence[Path], encoders: Encoders, *, repeat: int = 1, work_dir: Path | None = None
) -> tuple[list[IngestRun], list[IngestRun], Path]:
    """Ours and naive `repeat` times each, alternating; returns both run lists and the last naive store."""
    work = work_dir or Path(tempfile.mkdtemp(prefix="gqa-bench-ingest-"))
    ours_runs, naive_runs = [], []
    store = work / "naive"
    for i in range(repeat):
        ours_runs.append(ingest_ours(paths, work / f"ours-{i}", encoders.ours, encoders.settings))
        store = work / f"naive-{i}"
        naive_runs.append(ingest_naive(paths, store, encoders.naive)[0])
    return ours_runs, naive_runs, store


def pdf_parse_speed(pdfs: Sequence[Path], repeat: int = 1) -> tuple[dict[str, Any], dict[str, Any]]:
    """Pages parsed per second: our layout-aware extractor, and pypdf's plain text (what a tutorial loader uses)."""
    from pypdf import PdfReader

    from ingest.pdf import extract_pdf

    def timed(parse: Any) -> dict[str, Any]:
        best = float("inf")
        pages = 0
        for _ in range(repeat):
            started = time.perf_counter()
            pages = sum(parse(pdf) for pdf in pdfs)
            best = min(best, time.perf_counter() - started)
        return {"pages": pages, "seconds": round(best, 3), "pages_per_second": round(pages / best, 1)}

    ours = timed(lambda pdf: extract_pdf(pdf).page_count)
    naive = timed(lambda pdf: len([page.extract_text() for page in PdfReader(pdf).pages]))
    return ours, naive


def reingest_unchanged(paths: Sequence[Path], embedder: Embedder, settings: EmbeddingSettings) -> dict[str, Any]:
    """A full build of `paths`, then the same build again with nothing changed: the seconds of each."""
    with tempfile.TemporaryDirectory(prefix="gqa-reingest-") as tmp:
        started = time.perf_counter()
        first = build_index(list(paths), Path(tmp) / "index", embedder=embedder, embedding=settings)
        built = time.perf_counter() - started
        started = time.perf_counter()
        again = build_index(list(paths), Path(tmp) / "index", embedder=embedder, embedding=settings)
        unchanged = time.perf_counter() - started
    return {
        "documents": first.documents,
        "chunks": first.chunks,
        "build_seconds": round(built, 2),
        "reingest_unchanged_seconds": round(unchanged, 3),
        "up_to_date": again.up_to_date,
    }
