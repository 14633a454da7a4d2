"""The token limit measured with all-MiniLM-L6-v2's own tokenizer, on the real corpus and benchmark records."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from ingest import Chunk, Chunker, ChunkingSettings, Document, SentenceTransformerEmbedder, load_paths
from ingest.loaders import load_jsonl

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
MEDQUAD_RECORDS = 30


def _model_token_counts(embedder: SentenceTransformerEmbedder, chunks: list[Chunk]) -> list[int]:
    """Word pieces the model sees for each chunk, [CLS] and [SEP] included, without truncation."""
    encoded = embedder._tokenizer([c.embedding_text() for c in chunks], truncation=False)
    return [len(ids) for ids in encoded["input_ids"]]


def _check(embedder: SentenceTransformerEmbedder, docs: list[Document]) -> list[Chunk]:
    chunker = Chunker(ChunkingSettings(), embedder.count_tokens, embedder.max_tokens)
    chunks = [c for doc in docs for c in chunker.chunk(doc)]
    by_id = {d.doc_id: d for d in docs}
    counts = _model_token_counts(embedder, chunks)
    for chunk, count in zip(chunks, counts, strict=True):
        assert count <= embedder.max_tokens, (chunk.doc_id, chunk.position, count)
        assert by_id[chunk.doc_id].text[chunk.start : chunk.end] == chunk.text
    # count_tokens + the two special tokens is exactly what the model sees.
    assert [n + 2 for n in embedder.count_tokens([c.embedding_text() for c in chunks])] == counts
    return chunks


def test_model_limit_is_256_word_pieces(real_embedder: SentenceTransformerEmbedder) -> None:
    assert real_embedder.max_tokens == 256
    assert real_embedder.dimension == 384


def test_no_corpus_chunk_exceeds_the_model_limit(real_embedder: SentenceTransformerEmbedder) -> None:
    docs = load_paths([REPO_ROOT / "corpus"]).documents
    assert len(docs) >= 10

    chunks = _check(real_embedder, docs)

    assert len(chunks) > len(docs)


def test_no_benchmark_record_chunk_exceeds_the_model_limit(
    real_embedder: SentenceTransformerEmbedder, benchmarks_dir: Path
) -> None:
    docs = list(itertools.islice(load_jsonl(benchmarks_dir / "medquad_cancergov" / "corpus.jsonl"), MEDQUAD_RECORDS))
    lengths = real_embedder.count_tokens([d.text for d in docs])
    assert max(lengths) > 256, "expected some records longer than the model limit, so that splitting is exercised"

    chunks = _check(real_embedder, docs)

    # Long records are split, and neighbouring chunks of one record share a sentence.
    overlapping = [
        (a, b)
        for a, b in itertools.pairwise(chunks)
        if a.doc_id == b.doc_id and a.sentence_texts()[-1] == b.sentence_texts()[0]
    ]
    assert overlapping


def test_long_tables_and_lists_stay_within_the_model_limit(real_embedder: SentenceTransformerEmbedder) -> None:
    header = "| Agent | Dose and route | Interval | Renal adjustment |\n| --- | --- | --- | --- |"
    rows = [
        f"| Agent {i} (brand {i}) | {i * 4} mg intravenously over {i + 15} minutes | every {i % 4 + 1} weeks | "
        f"reduce to {i} mg when creatinine clearance is below {30 + i} mL/min |"
        for i in range(40)
    ]
    items = [
        f"- Item {i}: check serum calcium, creatinine and vitamin D before dose {i}. Repeat monthly." for i in range(60)
    ]
    text = "# Dosing of bone-modifying agents\n\n## Table\n\n" + header + "\n" + "\n".join(rows)
    text += "\n\n## Checks\n\n" + "\n".join(items) + "\n"
    doc = Document(doc_id="long", text=text, title="Dosing of bone-modifying agents", source="x", structured=True)

    chunks = _check(real_embedder, [doc])

    table_chunks = [c for c in chunks if c.section[-1:] == ("Table",)]
    assert len(table_chunks) > 1
    assert all(c.prefix == header + "\n" for c in table_chunks[1:])
