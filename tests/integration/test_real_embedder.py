"""The real embedding model on the few texts the hash fake is tested on."""

from __future__ import annotations

import numpy as np
import pytest

from ingest import SentenceTransformerEmbedder
from tests.ingest.test_embedders import SPANS, TEXTS  # the texts the hash fake's tests use too


@pytest.mark.slow
def test_real_embedder_gives_unit_vectors_and_counts_word_pieces(real_embedder: SentenceTransformerEmbedder) -> None:
    vectors = real_embedder.embed(TEXTS)

    assert real_embedder.name == "all-MiniLM-L6-v2"
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert real_embedder.embed([]).shape == (0, 384)
    assert real_embedder.count_tokens(["", "bone", "bone bone"]) == [0, 1, 2]  # no [CLS]/[SEP]


@pytest.mark.slow
def test_real_pooled_sentence_vectors_match_the_chunk_and_resemble_encoded_sentences(
    real_embedder: SentenceTransformerEmbedder,
) -> None:
    vectors, sentences = real_embedder.embed_with_sentences(TEXTS, SPANS)

    # The pooled chunk vector is exactly what encode() gives.
    np.testing.assert_allclose(vectors, real_embedder.embed(TEXTS), atol=1e-4)
    for text, spans, block in zip(TEXTS, SPANS, sentences, strict=True):
        encoded = real_embedder.embed([text[a:b] for a, b in spans])
        similarity = block @ encoded.T
        np.testing.assert_allclose(np.linalg.norm(block, axis=1), 1.0, rtol=1e-5)
        assert (np.diag(similarity) > 0.5).all(), similarity
        assert (similarity.argmax(axis=1) == np.arange(len(spans))).all(), similarity


def test_real_embedder_can_be_called_from_several_threads_at_once(real_embedder: SentenceTransformerEmbedder) -> None:
    """Questions encoded on one thread while words are counted on others (the service does both at once)."""
    from concurrent.futures import ThreadPoolExecutor

    short, long = ["bone pain"], ["single fraction radiotherapy for painful uncomplicated bone metastases " * 3]
    expected = {"short": real_embedder.embed(short), "long": real_embedder.embed(long)}
    words = ["denosumab", "zoledronic acid every twelve weeks"]
    counts = real_embedder.count_tokens(words)

    def work(i: int) -> bool:
        for _ in range(20):
            if i % 3 == 0:
                assert real_embedder.count_tokens(words) == counts
            else:
                kind, texts = ("short", short) if i % 3 == 1 else ("long", long)
                np.testing.assert_allclose(real_embedder.embed(texts), expected[kind], atol=1e-5)
        return True

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert all(pool.map(work, range(6)))
