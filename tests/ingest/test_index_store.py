"""The index on disk: round trip, manifest checks, atomic writes, dense (flat/HNSW) and keyword search."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

import ingest.index as index_module
from ingest import (
    DEFAULT_MODEL_NAME,
    Chunker,
    ChunkingSettings,
    EmbeddingSettings,
    HashEmbedder,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexSettings,
    LoadedIndex,
    build_index,
    keyword_tokens,
    load_paths,
    open_index,
    read_manifest,
)
from ingest.index import FORMAT_VERSION


@pytest.fixture
def built(tiny_corpus: Path, tmp_path: Path, hash_embedder: HashEmbedder) -> Path:
    """An index of the tiny corpus built with the fake embedder."""
    index_dir = tmp_path / "index"
    build_index([tiny_corpus], index_dir, embedder=hash_embedder)
    return index_dir


def _generation_dirs(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.is_dir())


def _snapshot(index: LoadedIndex) -> tuple[list[str], np.ndarray]:
    return [c.chunk_id for c in index.chunks], np.array(index.vectors)


# --- round trip -----------------------------------------------------------------------------------


def test_written_index_reopens_with_the_same_chunks_and_vectors(tiny_corpus: Path, built: Path) -> None:
    embedder = HashEmbedder()
    docs = load_paths([tiny_corpus]).documents
    chunker = Chunker(ChunkingSettings(), embedder.count_tokens, embedder.max_tokens)
    expected = [c for d in docs for c in chunker.chunk(d)]

    index = open_index(built)

    assert index.chunks == expected
    assert len(index) == len(expected)
    assert index.vectors.shape == (len(expected), embedder.dimension)
    assert index.vectors.dtype == np.float32
    np.testing.assert_allclose(index.vectors, embedder.embed([c.embedding_text() for c in expected]), rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(index.vectors, axis=1), 1.0, rtol=1e-5)


def test_manifest_records_model_chunking_corpus_and_counts(tiny_corpus: Path, built: Path) -> None:
    manifest = read_manifest(built)
    index = open_index(built)

    assert manifest.format_version == FORMAT_VERSION
    assert (manifest.model_name, manifest.dimension, manifest.model_max_tokens) == ("hash-embedder", 64, 128)
    assert manifest.chunking == ChunkingSettings().model_dump()
    assert manifest.index == IndexSettings().model_dump()
    assert manifest.sentence_vectors == "pooled"
    assert manifest.dense_kind == "flat"
    assert len(manifest.corpus_hash) == 64
    assert manifest.counts == {
        "documents": 5,
        "chunks": len(index.chunks),
        "sentences": sum(len(c.sentences) for c in index.chunks),
    }
    assert {d.doc_id: d.chunks for d in manifest.documents} == {
        doc_id: sum(c.doc_id == doc_id for c in index.chunks)
        for doc_id in ("guideline", "notes", "page", "rec-001", "rec-002")
    }
    guideline = next(d for d in manifest.documents if d.doc_id == "guideline")
    assert (guideline.issuing_body, guideline.year, guideline.source) == (
        "ESMO",
        2020,
        str(tiny_corpus / "guideline.md"),
    )
    assert datetime.fromisoformat(manifest.created_at).tzinfo is not None


def test_chunk_store_is_plain_json_lines_and_npy_without_pickle(built: Path) -> None:
    generation = built / (built / "CURRENT").read_text().strip()

    assert sorted(p.name for p in generation.iterdir()) == [
        "bm25",
        "bm25_bigrams",
        "chunks.jsonl",
        "dense.faiss",
        "manifest.json",
        "sentence_vectors.npy",
        "vectors.npy",
    ]
    records = [json.loads(line) for line in (generation / "chunks.jsonl").read_text().splitlines()]
    assert {"chunk_id", "doc_id", "text", "start", "end", "section", "sentences", "rec_id"} <= set(records[0])
    np.load(generation / "vectors.npy", allow_pickle=False)  # raises if anything needed pickle


def test_sentence_vectors_line_up_with_each_chunks_sentences(built: Path) -> None:
    index = open_index(built)

    assert index.sentence_vectors is not None
    assert len(index.sentence_vectors) == sum(len(c.sentences) for c in index.chunks)
    for row, chunk in enumerate(index.chunks):
        block = index.chunk_sentence_vectors(row)
        assert block is not None and block.shape == (len(chunk.sentences), 64)


def test_index_without_sentence_vectors_reports_none(tiny_corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build_index([tiny_corpus], index_dir, embedder=HashEmbedder(), embedding=EmbeddingSettings(sentence_vectors="none"))

    index = open_index(index_dir)

    assert index.sentence_vectors is None
    assert index.chunk_sentence_vectors(0) is None
    assert not (index.path / "sentence_vectors.npy").exists()


def test_open_index_without_mmap_loads_arrays_into_memory(built: Path) -> None:
    mapped = open_index(built)
    loaded = open_index(built, mmap=False)

    assert isinstance(mapped.vectors, np.memmap)
    assert not isinstance(loaded.vectors, np.memmap)
    np.testing.assert_array_equal(mapped.vectors, loaded.vectors)


# --- manifest checks ------------------------------------------------------------------------------


def test_open_index_with_matching_settings_succeeds(built: Path) -> None:
    index = open_index(built, model_name="hash-embedder", dimension=64, chunking=ChunkingSettings().model_dump())

    assert len(index) > 0


def test_other_model_name_raises_mismatch_naming_the_model(built: Path) -> None:
    with pytest.raises(IndexMismatchError) as info:
        open_index(built, model_name=DEFAULT_MODEL_NAME)

    assert info.value.differences == {"model": ("hash-embedder", DEFAULT_MODEL_NAME)}
    message = str(info.value)
    assert "model: index has 'hash-embedder', configured 'all-MiniLM-L6-v2'" in message
    assert "--rebuild" in message


def test_other_dimension_raises_mismatch_naming_the_dimension(built: Path) -> None:
    with pytest.raises(IndexMismatchError, match="dimension: index has 64, configured 384"):
        open_index(built, dimension=384)


def test_another_int8_file_of_the_same_model_is_refused_and_an_unfingerprinted_index_is_not(
    tiny_corpus: Path, tmp_path: Path
) -> None:
    embedder = HashEmbedder()
    embedder.fingerprint = "aaaa0000aaaa0000"  # type: ignore[attr-defined]
    build_index([tiny_corpus], tmp_path / "index", embedder=embedder)

    assert open_index(tmp_path / "index").manifest.model_fingerprint == "aaaa0000aaaa0000"
    assert len(open_index(tmp_path / "index", model_fingerprint="aaaa0000aaaa0000")) > 0
    with pytest.raises(IndexMismatchError) as info:
        open_index(tmp_path / "index", model_name="hash-embedder", model_fingerprint="bbbb1111bbbb1111")
    assert info.value.differences == {"model_fingerprint": ("aaaa0000aaaa0000", "bbbb1111bbbb1111")}

    plain = tmp_path / "plain"
    build_index([tiny_corpus], plain, embedder=HashEmbedder())  # torch and fp32 record no fingerprint
    assert len(open_index(plain, model_fingerprint="bbbb1111bbbb1111")) > 0


def test_a_changed_int8_file_re_embeds_unchanged_documents_too(tiny_corpus: Path, tmp_path: Path) -> None:
    first = HashEmbedder()
    first.fingerprint = "aaaa0000aaaa0000"  # type: ignore[attr-defined]
    build_index([tiny_corpus], tmp_path / "index", embedder=first)
    second = HashEmbedder()
    second.fingerprint = "bbbb1111bbbb1111"  # type: ignore[attr-defined]

    summary = build_index([tiny_corpus], tmp_path / "index", embedder=second)

    assert summary.rebuilt and summary.chunks_embedded == summary.chunks
    assert open_index(tmp_path / "index").manifest.model_fingerprint == "bbbb1111bbbb1111"


def test_other_chunking_raises_mismatch_naming_each_changed_setting(built: Path) -> None:
    chunking = ChunkingSettings(max_tokens=128, overlap_sentences=2).model_dump()

    with pytest.raises(IndexMismatchError) as info:
        open_index(built, chunking=chunking)

    assert set(info.value.differences) == {"chunking.max_tokens", "chunking.overlap_sentences"}
    assert "chunking.max_tokens: index has 256, configured 128" in str(info.value)
    assert "chunking.overlap_sentences: index has 1, configured 2" in str(info.value)


def test_every_difference_is_listed_at_once(built: Path) -> None:
    with pytest.raises(IndexMismatchError) as info:
        open_index(built, model_name="other", dimension=8, chunking=ChunkingSettings(max_tokens=64).model_dump())

    assert set(info.value.differences) == {"model", "dimension", "chunking.max_tokens"}


def test_missing_index_raises_not_found(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="guideline-qa ingest"):
        open_index(tmp_path / "nowhere")


def test_current_pointing_nowhere_raises_corrupt(built: Path) -> None:
    (built / "CURRENT").write_text("gen-missing")

    with pytest.raises(IndexCorruptError, match="gen-missing"):
        open_index(built)


def test_missing_manifest_raises_corrupt(built: Path) -> None:
    generation = built / (built / "CURRENT").read_text().strip()
    (generation / "manifest.json").unlink()

    with pytest.raises(IndexCorruptError, match="missing"):
        read_manifest(built)


def test_unknown_format_version_raises_corrupt(built: Path) -> None:
    generation = built / (built / "CURRENT").read_text().strip()
    manifest = json.loads((generation / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    (generation / "manifest.json").write_text(json.dumps(manifest))

    with pytest.raises(IndexCorruptError, match="not supported"):
        open_index(built)


def test_invalid_manifest_raises_corrupt(built: Path) -> None:
    generation = built / (built / "CURRENT").read_text().strip()
    (generation / "manifest.json").write_text('{"model_name": "x"}')

    with pytest.raises(IndexCorruptError, match="not a manifest"):
        open_index(built)


def test_vectors_that_disagree_with_chunks_raise_corrupt(built: Path) -> None:
    generation = built / (built / "CURRENT").read_text().strip()
    np.save(generation / "vectors.npy", np.zeros((1, 64), dtype=np.float32))

    with pytest.raises(IndexCorruptError, match="counts disagree"):
        open_index(built)


def test_missing_dense_index_file_raises_corrupt(built: Path) -> None:
    generation = built / (built / "CURRENT").read_text().strip()
    (generation / "dense.faiss").unlink()

    with pytest.raises(IndexCorruptError, match="cannot read index files"):
        open_index(built)


# --- atomic writes --------------------------------------------------------------------------------


def _changed_corpus(corpus: Path) -> None:
    (corpus / "notes.txt").write_text("A completely new note about calcium. It replaces the old one.\n")


@pytest.mark.parametrize("exception", [RuntimeError("disk full"), KeyboardInterrupt()])
@pytest.mark.parametrize("stage", ["_build_keyword", "_save_npy", "_build_dense"])
def test_failure_mid_write_leaves_previous_index_loadable_and_no_temp_dirs(
    tiny_corpus: Path, built: Path, monkeypatch: pytest.MonkeyPatch, stage: str, exception: BaseException
) -> None:
    before = _snapshot(open_index(built))
    dirs_before = _generation_dirs(built)
    current_before = (built / "CURRENT").read_text()

    def fail(*args: object, **kwargs: object) -> None:
        raise exception

    monkeypatch.setattr(index_module, stage, fail)
    _changed_corpus(tiny_corpus)
    with pytest.raises(type(exception)):
        build_index([tiny_corpus], built, embedder=HashEmbedder())

    assert (built / "CURRENT").read_text() == current_before
    assert _generation_dirs(built) == dirs_before
    assert not [p for p in built.iterdir() if p.name.startswith(".")]
    after = _snapshot(open_index(built))
    assert after[0] == before[0]
    np.testing.assert_array_equal(after[1], before[1])


def test_failure_writing_the_current_pointer_leaves_previous_index_and_no_stray_generation(
    tiny_corpus: Path, built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _snapshot(open_index(built))
    dirs_before = _generation_dirs(built)
    real_write = index_module._write_bytes

    def fail_on_pointer(path: Path, data: bytes) -> None:
        real_write(path, data)
        if path.name.startswith(".CURRENT"):
            raise KeyboardInterrupt

    monkeypatch.setattr(index_module, "_write_bytes", fail_on_pointer)
    _changed_corpus(tiny_corpus)
    with pytest.raises(KeyboardInterrupt):
        build_index([tiny_corpus], built, embedder=HashEmbedder())

    assert _generation_dirs(built) == dirs_before
    assert sorted(p.name for p in built.iterdir() if p.is_file()) == ["CURRENT"]
    assert _snapshot(open_index(built))[0] == before[0]


def test_failed_first_write_leaves_no_index_and_no_temp_dirs(
    tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = tmp_path / "index"

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(index_module, "_build_keyword", fail)
    with pytest.raises(RuntimeError):
        build_index([tiny_corpus], index_dir, embedder=HashEmbedder())

    assert list(index_dir.iterdir()) == []
    with pytest.raises(IndexNotFoundError):
        open_index(index_dir)


def test_successful_rewrite_keeps_only_the_new_generation(tiny_corpus: Path, built: Path) -> None:
    old_generation = (built / "CURRENT").read_text().strip()
    _changed_corpus(tiny_corpus)

    build_index([tiny_corpus], built, embedder=HashEmbedder())

    new_generation = (built / "CURRENT").read_text().strip()
    assert new_generation != old_generation
    assert _generation_dirs(built) == [new_generation]


def test_leftover_temp_generation_from_a_crash_is_cleaned_by_the_next_write(tiny_corpus: Path, built: Path) -> None:
    # What a kill -9 mid-write leaves behind: a half-written temporary generation.
    leftover = built / ".tmp-gen-19990101T000000-dead00"
    leftover.mkdir()
    (leftover / "chunks.jsonl").write_text("{}\n")

    assert len(open_index(built)) > 0  # the reader ignores it
    _changed_corpus(tiny_corpus)
    build_index([tiny_corpus], built, embedder=HashEmbedder())

    assert not leftover.exists()


# --- dense search ---------------------------------------------------------------------------------


def _brute_force(index: LoadedIndex, query: np.ndarray, rows: np.ndarray, k: int) -> list[int]:
    scores = np.asarray(index.vectors)[rows] @ query
    return [int(rows[i]) for i in np.argsort(-scores, kind="stable")[:k]]


@pytest.fixture(params=["flat", "hnsw"])
def searchable(request: pytest.FixtureRequest, tiny_corpus: Path, tmp_path: Path) -> LoadedIndex:
    index_dir = tmp_path / f"index-{request.param}"
    threshold = 1_000_000 if request.param == "flat" else 2
    build_index(
        [tiny_corpus], index_dir, embedder=HashEmbedder(), index_settings=IndexSettings(hnsw_threshold=threshold)
    )
    index = open_index(index_dir)
    assert index.manifest.dense_kind == request.param
    return index


def test_hnsw_is_used_above_the_threshold(searchable: LoadedIndex) -> None:
    kind = type(searchable.dense).__name__
    assert kind == ("IndexHNSWFlat" if searchable.manifest.dense_kind == "hnsw" else "IndexFlatIP")


def test_dense_search_finds_each_chunk_by_its_own_vector(searchable: LoadedIndex) -> None:
    for row in range(len(searchable)):
        scores, rows = searchable.dense_search(np.asarray(searchable.vectors[row]), k=3)
        assert rows[0] == row
        assert scores[0] == pytest.approx(1.0, abs=1e-5)
        assert list(scores) == sorted(scores, reverse=True)


def test_dense_search_matches_brute_force_ranking(searchable: LoadedIndex) -> None:
    query = HashEmbedder().embed(["zoledronic acid dose every 12 weeks"])[0]
    everything = np.arange(len(searchable))

    _, rows = searchable.dense_search(query, k=5)

    assert list(rows) == _brute_force(searchable, query, everything, 5)


def test_filtered_dense_search_returns_only_allowed_rows_in_order(searchable: LoadedIndex) -> None:
    query = HashEmbedder().embed(["zoledronic acid dose every 12 weeks"])[0]
    allowed = np.array([r for r, c in enumerate(searchable.chunks) if c.doc_id in {"notes", "page"}])
    assert len(allowed) >= 2

    scores, rows = searchable.dense_search(query, k=10, allowed=allowed)

    assert len(rows) == len(allowed)  # k is capped at the number of allowed rows
    assert set(rows.tolist()) == set(allowed.tolist())
    assert list(rows) == _brute_force(searchable, query, allowed, len(allowed))
    assert len(scores) == len(rows)


def test_filtered_dense_search_with_nothing_allowed_is_empty(searchable: LoadedIndex) -> None:
    query = np.asarray(searchable.vectors[0])

    scores, rows = searchable.dense_search(query, k=5, allowed=np.array([], dtype=np.int64))

    assert len(scores) == 0 and len(rows) == 0


def test_dense_search_caps_k_at_the_index_size(searchable: LoadedIndex) -> None:
    _, rows = searchable.dense_search(np.asarray(searchable.vectors[0]), k=1000)

    assert sorted(rows.tolist()) == list(range(len(searchable)))


# --- keyword search -------------------------------------------------------------------------------


def test_keyword_scores_are_positive_only_where_the_term_occurs(built: Path) -> None:
    index = open_index(built)

    scores = index.keyword_scores(keyword_tokens("zoledronic"))

    assert scores.shape == (len(index),)
    for chunk, score in zip(index.chunks, scores, strict=True):
        has_term = "zoledronic" in chunk.embedding_text().lower()
        assert (score > 0) == has_term, chunk.text


def test_keyword_index_sees_the_section_header(built: Path) -> None:
    index = open_index(built)

    # "Follow-up" is only in the heading path of the last guideline section, not in its text.
    scores = index.keyword_scores(keyword_tokens("follow-up"))

    best = index.chunks[int(np.argmax(scores))]
    assert best.section[-1] == "Follow-up"
    assert "Follow-up" not in best.text


def test_keyword_scores_mask_zeroes_excluded_chunks(built: Path) -> None:
    index = open_index(built)
    tokens = keyword_tokens("calcium")
    mask = np.array([c.doc_id == "notes" for c in index.chunks], dtype=np.float32)

    unmasked = index.keyword_scores(tokens)
    masked = index.keyword_scores(tokens, mask=mask)

    assert (unmasked[mask == 0] > 0).any()  # calcium also occurs outside notes
    assert (masked[mask == 0] == 0).all()
    np.testing.assert_array_equal(masked[mask == 1], unmasked[mask == 1])
    assert (masked[mask == 1] > 0).any()


def test_keyword_scores_for_unknown_terms_are_zero(built: Path) -> None:
    index = open_index(built)

    scores = index.keyword_scores(keyword_tokens("xylophone quasar"))

    assert scores.shape == (len(index),)
    assert not scores.any()


def test_the_loaded_index_is_the_search_index_the_service_depends_on(tmp_path: Path) -> None:
    from ingest import HashEmbedder, SearchIndex, build_index, open_index
    from tests.conftest import INGEST_FIXTURES

    build_index([INGEST_FIXTURES / "guideline.md"], tmp_path / "index", embedder=HashEmbedder())
    index = open_index(tmp_path / "index")
    assert isinstance(index, SearchIndex)
    _scores, rows = index.dense_search(index.vectors[0], 1)
    assert rows.tolist() == [0] and len(index.keyword_scores(["radiotherapy"])) == len(index)
