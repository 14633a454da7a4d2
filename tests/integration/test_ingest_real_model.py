"""Ingest the default corpus with the real model, reopen it, and search it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest import ChunkingSettings, LoadedIndex, SentenceTransformerEmbedder, build_index, open_index

pytestmark = pytest.mark.slow

CORPUS_DIR = Path(__file__).resolve().parents[2] / "corpus"
REC_HEADING = re.compile(r"^###\s+([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-\d+[a-z]?)\b", re.MULTILINE)


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory: pytest.TempPathFactory, real_embedder: SentenceTransformerEmbedder) -> LoadedIndex:
    index_dir = tmp_path_factory.mktemp("real-index")
    summary = build_index([CORPUS_DIR], index_dir, embedder=real_embedder)
    assert summary.documents >= 10 and not summary.errors and not summary.skipped
    assert summary.chunks_embedded == summary.chunks > 0
    return open_index(
        index_dir,
        model_name=real_embedder.name,
        dimension=real_embedder.dimension,
        chunking=ChunkingSettings().model_dump(),
    )


def test_dense_search_ranks_the_single_fraction_recommendation_in_the_top_three(
    corpus_index: LoadedIndex, real_embedder: SentenceTransformerEmbedder
) -> None:
    query = real_embedder.embed(["single fraction dose for painful bone metastases"])[0]

    _, rows = corpus_index.dense_search(query, k=3)

    top = [corpus_index.chunks[r].rec_id for r in rows]
    assert {"BM-RT-02", "BM-RT-03"} & set(top), top


def test_every_recommendation_id_in_the_corpus_is_a_chunk_rec_id(corpus_index: LoadedIndex) -> None:
    expected = {m for path in CORPUS_DIR.rglob("*.md") for m in REC_HEADING.findall(path.read_text(encoding="utf-8"))}
    assert len(expected) > 50

    found = {c.rec_id for c in corpus_index.chunks if c.rec_id}

    assert expected <= found, sorted(expected - found)


def test_recommendation_chunks_carry_their_guideline_metadata(corpus_index: LoadedIndex) -> None:
    rt02 = [c for c in corpus_index.chunks if c.rec_id == "BM-RT-02"]

    assert len(rt02) == 1
    assert rt02[0].guideline == "ESMO 2020"
    assert (rt02[0].issuing_body, rt02[0].year) == ("ESMO", 2020)
    assert rt02[0].metadata["evidence"] == "I, A"
    assert "8 Gy in a single fraction" in rt02[0].text


def test_vectors_are_unit_length_and_sentence_vectors_line_up(corpus_index: LoadedIndex) -> None:
    import numpy as np

    np.testing.assert_allclose(np.linalg.norm(corpus_index.vectors, axis=1), 1.0, rtol=1e-4)
    assert corpus_index.sentence_vectors is not None
    assert len(corpus_index.sentence_vectors) == sum(len(c.sentences) for c in corpus_index.chunks)


def test_reingesting_the_unchanged_corpus_is_up_to_date(
    corpus_index: LoadedIndex, real_embedder: SentenceTransformerEmbedder
) -> None:
    summary = build_index([CORPUS_DIR], corpus_index.path.parent, embedder=real_embedder)

    assert summary.up_to_date and summary.chunks_embedded == 0
