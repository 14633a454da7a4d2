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
