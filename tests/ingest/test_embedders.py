"""The Embedder protocol: the hash fake used everywhere in tests, and the real model on a few texts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest import (
    Embedder,
    EmbeddingSettings,
    HashEmbedder,
    IngestError,
    SentenceTransformerEmbedder,
    as_langchain_embeddings,
    load_embedder,
)

TEXTS = [
    "Bone metastasis > Radiotherapy\nGive 8 Gy in a single fraction. Retreatment is more frequent after it.",
    "Hypercalcaemia\nRehydrate first. Then give zoledronic acid to lower serum calcium.",
]
HEADER = [len("Bone metastasis > Radiotherapy\n"), len("Hypercalcaemia\n")]


def _sentence_spans(text: str, start: int) -> list[tuple[int, int]]:
    first_end = text.index(".", start) + 1
    return [(start, first_end), (first_end + 1, len(text))]


SPANS = [_sentence_spans(t, h) for t, h in zip(TEXTS, HEADER, strict=True)]


def test_hash_embedder_satisfies_the_protocol_and_counts_calls() -> None:
    embedder = HashEmbedder(dimension=32)

    vectors = embedder.embed(TEXTS)
    embedder.embed(TEXTS[:1])

    assert isinstance(embedder, Embedder)
    assert vectors.shape == (2, 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    assert (embedder.calls, embedder.texts_embedded) == (2, 3)


def test_hash_embedder_is_deterministic_and_word_sensitive() -> None:
    a, b = HashEmbedder(), HashEmbedder()
    same = a.embed(["single fraction radiotherapy"])[0]
    again = b.embed(["single fraction radiotherapy"])[0]
    near = a.embed(["radiotherapy in a single fraction"])[0]
    far = a.embed(["zoledronic acid for hypercalcaemia"])[0]

    np.testing.assert_array_equal(same, again)
    assert same @ near > same @ far


def test_hash_embedder_sentence_vectors_embed_each_span() -> None:
    embedder = HashEmbedder()

    vectors, sentences = embedder.embed_with_sentences(TEXTS, SPANS)

    np.testing.assert_allclose(vectors, embedder.embed(TEXTS))
    for text, spans, block in zip(TEXTS, SPANS, sentences, strict=True):
        np.testing.assert_allclose(block, embedder.embed([text[a:b] for a, b in spans]))


def test_langchain_adapter_returns_the_embedders_vectors() -> None:
    embedder = HashEmbedder()
    adapter = as_langchain_embeddings(embedder)

    documents = adapter.embed_documents(TEXTS)
    query = adapter.embed_query("single fraction")

    np.testing.assert_allclose(np.array(documents), embedder.embed(TEXTS), rtol=1e-6)
    np.testing.assert_allclose(np.array(query), embedder.embed(["single fraction"])[0], rtol=1e-6)


def test_folder_that_is_not_a_model_raises_ingest_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="not a sentence-transformers model folder"):
        SentenceTransformerEmbedder(tmp_path)


def test_configured_model_path_that_is_not_a_model_raises_ingest_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=str(tmp_path)):
        load_embedder(EmbeddingSettings(model_path=tmp_path))
