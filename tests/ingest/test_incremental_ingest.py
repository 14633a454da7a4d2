"""Re-ingesting embeds only new or changed documents, drops deleted ones, and rebuilds when it must."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

import ingest.pipeline as pipeline_module
from ingest import (
    ChunkingSettings,
    EmbeddingSettings,
    HashEmbedder,
    IngestSummary,
    LoadedIndex,
    LoaderError,
    build_index,
    open_index,
    read_manifest,
)
from ingest.index import DocumentEntry


class RecordingEmbedder(HashEmbedder):
    """The hash fake, remembering every text it embedded (chunks and sentences alike)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.seen: list[str] = []

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        self.seen.extend(texts)
        return super().embed(texts, batch_size=batch_size, progress=progress)


ALL_DOCS = {"guideline", "notes", "page", "rec-001", "rec-002"}


def ingest(corpus: Path, index_dir: Path, embedder: HashEmbedder | None = None, **kwargs: object) -> IngestSummary:
    return build_index([corpus], index_dir, embedder=embedder or RecordingEmbedder(), **kwargs)  # type: ignore[arg-type]


def vectors_by_chunk(index: LoadedIndex) -> dict[str, np.ndarray]:
    return {c.chunk_id: np.array(index.vectors[row]) for row, c in enumerate(index.chunks)}


def sentence_vectors_by_chunk(index: LoadedIndex) -> dict[str, np.ndarray]:
    out = {}
    for row, chunk in enumerate(index.chunks):
        block = index.chunk_sentence_vectors(row)
        assert block is not None
        out[chunk.chunk_id] = np.array(block)
    return out


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


def test_first_ingest_embeds_every_chunk(tiny_corpus: Path, index_dir: Path) -> None:
    embedder = RecordingEmbedder()

    summary = ingest(tiny_corpus, index_dir, embedder)

    index = open_index(index_dir)
    assert (summary.documents, summary.new, summary.changed, summary.unchanged, summary.removed) == (5, 5, 0, 0, 0)
    assert summary.rebuilt and not summary.up_to_date
    assert summary.chunks == summary.chunks_embedded == len(index) > 5
    assert summary.sentences_embedded == sum(len(c.sentences) for c in index.chunks)
    assert summary.seconds > 0 and summary.chunks_per_second > 0
    assert {c.embedding_text() for c in index.chunks} <= set(embedder.seen)


def test_unchanged_corpus_embeds_nothing_and_keeps_the_generation(tiny_corpus: Path, index_dir: Path) -> None:
    ingest(tiny_corpus, index_dir)
    generation = (index_dir / "CURRENT").read_text()
    embedder = RecordingEmbedder()

    summary = ingest(tiny_corpus, index_dir, embedder)

    assert embedder.calls == 0 and embedder.texts_embedded == 0
    assert summary.up_to_date
    assert (summary.unchanged, summary.new, summary.changed, summary.chunks_embedded) == (5, 0, 0, 0)
    assert summary.chunks == len(open_index(index_dir))
    assert (index_dir / "CURRENT").read_text() == generation


def test_up_to_date_index_does_not_even_load_the_model(
    tiny_corpus: Path, index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(tiny_corpus, index_dir, HashEmbedder(name=pipeline_module.configured_model_name(EmbeddingSettings())))

    def no_model(settings: EmbeddingSettings) -> None:
        raise AssertionError("the model was loaded for an up-to-date index")

    summary = build_index([tiny_corpus], index_dir, loader=no_model)  # type: ignore[arg-type]

    assert summary.up_to_date


def test_changed_document_re_embeds_only_its_own_chunks(tiny_corpus: Path, index_dir: Path) -> None:
    ingest(tiny_corpus, index_dir)
    before = open_index(index_dir)
    notes = tiny_corpus / "notes.txt"
    notes.write_text(notes.read_text() + "Review the patient after two weeks.\n")
    embedder = RecordingEmbedder()

    summary = ingest(tiny_corpus, index_dir, embedder)

    after = open_index(index_dir)
    notes_chunks = [c for c in after.chunks if c.doc_id == "notes"]
    assert (summary.changed, summary.unchanged, summary.new, summary.removed) == (1, 4, 0, 0)
    assert not summary.rebuilt and not summary.up_to_date
    assert summary.chunks_embedded == len(notes_chunks)
    assert embedder.texts_embedded == len(notes_chunks) + sum(len(c.sentences) for c in notes_chunks)
    assert set(embedder.seen) == {c.embedding_text() for c in notes_chunks} | {
        s for c in notes_chunks for s in c.sentence_texts()
    }
    assert any("Review the patient after two weeks." in c.text for c in notes_chunks)
    # The other documents' chunks were carried over untouched.
    kept_before = [c for c in before.chunks if c.doc_id != "notes"]
    kept_after = [c for c in after.chunks if c.doc_id != "notes"]
    assert kept_after == kept_before


def test_vectors_of_unchanged_documents_are_identical_after_an_update(tiny_corpus: Path, index_dir: Path) -> None:
    ingest(tiny_corpus, index_dir)
    before = open_index(index_dir, mmap=False)
    old_vectors, old_sentences = vectors_by_chunk(before), sentence_vectors_by_chunk(before)
    (tiny_corpus / "page.html").write_text("<h1>Replaced page</h1><p>Entirely new content here.</p>")

    ingest(tiny_corpus, index_dir)

    after = open_index(index_dir)
    new_vectors, new_sentences = vectors_by_chunk(after), sentence_vectors_by_chunk(after)
    unchanged = [c.chunk_id for c in after.chunks if c.doc_id != "page"]
    assert unchanged
    for chunk_id in unchanged:
        np.testing.assert_array_equal(new_vectors[chunk_id], old_vectors[chunk_id])
        np.testing.assert_array_equal(new_sentences[chunk_id], old_sentences[chunk_id])
    # And the rows still line up with their chunks: a fresh embedding of every chunk agrees.
    fresh = HashEmbedder().embed([c.embedding_text() for c in after.chunks])
    np.testing.assert_allclose(after.vectors, fresh, rtol=1e-6)


def test_deleted_document_is_dropped_without_embedding_anything(tiny_corpus: Path, index_dir: Path) -> None:
    ingest(tiny_corpus, index_dir)
    (tiny_corpus / "page.html").unlink()
    embedder = RecordingEmbedder()

    summary = ingest(tiny_corpus, index_dir, embedder)

    after = open_index(index_dir)
    assert summary.removed == 1 and summary.unchanged == 4
    assert embedder.texts_embedded == 0
    assert "page" not in {c.doc_id for c in after.chunks}
    assert "page" not in {d.doc_id for d in after.manifest.documents}
    assert after.manifest.counts["documents"] == 4
    assert (after.keyword_scores(["osteonecrosi"]) == 0).all()  # gone from the keyword index too


def test_new_document_is_the_only_one_embedded(tiny_corpus: Path, index_dir: Path) -> None:
    ingest(tiny_corpus, index_dir)
    (tiny_corpus / "extra.md").write_text("# Extra\n\nA brand new guideline sentence.\n")
    embedder = RecordingEmbedder()

    summary = ingest(tiny_corpus, index_dir, embedder)

    assert (summary.new, summary.unchanged) == (1, 5)
    assert summary.chunks_embedded == 1
    assert embedder.seen == ["Extra\nA brand new guideline sentence.", "A brand new guideline sentence."]


def test_changed_record_in_a_jsonl_file_re_embeds_only_that_record(tiny_corpus: Path, index_dir: Path) -> None:
    ingest(tiny_corpus, index_dir)
    records = tiny_corpus / "records.jsonl"
    records.write_text(records.read_text().replace("It most often affects teenagers.", "It affects teenagers."))

    summary = ingest(tiny_corpus, index_dir)

    assert (summary.changed, summary.unchanged) == (1, 4)
    assert summary.chunks_embedded == sum(c.doc_id == "rec-002" for c in open_index(index_dir).chunks)


def test_front_matter_change_counts_as_a_changed_document(tiny_corpus: Path, index_dir: Path) -> None:
    ingest(tiny_corpus, index_dir)
    guideline = tiny_corpus / "guideline.md"
    guideline.write_text(guideline.read_text().replace("year: 2020", "year: 2021"))

    summary = ingest(tiny_corpus, index_dir)

    assert summary.changed == 1
    follow_up = next(c for c in open_index(index_dir).chunks if c.section[-1:] == ("Follow-up",))
    assert follow_up.year == 2021


@pytest.mark.parametrize(
    "chunking",
    [ChunkingSettings(max_tokens=96), ChunkingSettings(overlap_sentences=0), ChunkingSettings(section_separator=" / ")],
)
def test_changed_chunking_settings_force_a_rebuild(
    tiny_corpus: Path, index_dir: Path, chunking: ChunkingSettings
) -> None:
    ingest(tiny_corpus, index_dir)
    embedder = RecordingEmbedder()

    summary = ingest(tiny_corpus, index_dir, embedder, chunking=chunking)

    index = open_index(index_dir)
    assert summary.rebuilt and not summary.up_to_date
    assert summary.chunks_embedded == len(index)
    assert index.manifest.chunking == chunking.model_dump()


def test_rebuild_flag_forces_a_full_re_embed(tiny_corpus: Path, index_dir: Path) -> None:
    first = ingest(tiny_corpus, index_dir)
    embedder = RecordingEmbedder()

    summary = ingest(tiny_corpus, index_dir, embedder, rebuild=True)

    assert summary.rebuilt and not summary.up_to_date
    assert summary.chunks_embedded == first.chunks_embedded
    assert summary.new == 5  # nothing is reused, so every document counts as new


def test_other_model_forces_a_rebuild(tiny_corpus: Path, index_dir: Path) -> None:
    ingest(tiny_corpus, index_dir)

    summary = ingest(tiny_corpus, index_dir, RecordingEmbedder(name="other-model"))

    assert summary.rebuilt
    assert read_manifest(index_dir).model_name == "other-model"


def test_same_model_name_with_another_dimension_rebuilds_instead_of_mixing_vectors(
    tiny_corpus: Path, index_dir: Path
) -> None:
    ingest(tiny_corpus, index_dir)
    (tiny_corpus / "extra.txt").write_text("One more document.\n")

    summary = ingest(tiny_corpus, index_dir, RecordingEmbedder(dimension=32))

    assert summary.rebuilt
    assert open_index(index_dir, dimension=32).vectors.shape[1] == 32


def test_changed_sentence_vector_mode_forces_a_rebuild(tiny_corpus: Path, index_dir: Path) -> None:
    ingest(tiny_corpus, index_dir)

    summary = ingest(tiny_corpus, index_dir, embedding=EmbeddingSettings(sentence_vectors="encoded"))

    assert summary.rebuilt and not summary.up_to_date
    assert read_manifest(index_dir).sentence_vectors == "encoded"


def test_encoded_sentence_vectors_are_the_embeddings_of_each_sentence(tiny_corpus: Path, index_dir: Path) -> None:
    ingest(tiny_corpus, index_dir, embedding=EmbeddingSettings(sentence_vectors="encoded"))

    index = open_index(index_dir)

    embedder = HashEmbedder()
    for row, chunk in enumerate(index.chunks):
        block = index.chunk_sentence_vectors(row)
        assert block is not None
        np.testing.assert_allclose(block, embedder.embed(chunk.sentence_texts()).reshape(-1, 64), rtol=1e-6)


def test_malformed_file_is_reported_and_the_rest_indexed(
    tiny_corpus: Path, index_dir: Path, ingest_fixtures: Path
) -> None:
    shutil.copyfile(ingest_fixtures / "malformed.jsonl", tiny_corpus / "malformed.jsonl")
    shutil.copyfile(ingest_fixtures / "dosing.csv", tiny_corpus / "dosing.csv")

    summary = ingest(tiny_corpus, index_dir)

    assert summary.documents == 5
    assert [e.path.name for e in summary.errors] == ["malformed.jsonl"]
    assert summary.skipped == [tiny_corpus / "dosing.csv"]
    assert {c.doc_id for c in open_index(index_dir).chunks} == ALL_DOCS


def test_strict_ingest_of_a_malformed_file_raises_and_writes_nothing(
    tiny_corpus: Path, index_dir: Path, ingest_fixtures: Path
) -> None:
    shutil.copyfile(ingest_fixtures / "malformed.jsonl", tiny_corpus / "malformed.jsonl")

    with pytest.raises(LoaderError, match=r"malformed\.jsonl"):
        ingest(tiny_corpus, index_dir, strict=True)

    assert not index_dir.exists()


def test_folder_without_loadable_documents_raises(tmp_path: Path, index_dir: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.csv").write_text("a,b\n")

    with pytest.raises(LoaderError, match="no loadable documents"):
        ingest(empty, index_dir)


def test_status_messages_are_reported(tiny_corpus: Path, index_dir: Path) -> None:
    messages: list[str] = []

    ingest(tiny_corpus, index_dir, on_status=messages.append)

    assert any(m.startswith("embedding ") for m in messages)
    assert messages[-1] == "writing the index"


def test_new_chunker_rules_re_chunk_documents_that_did_not_change(
    tiny_corpus: Path, index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(tiny_corpus, index_dir)
    assert read_manifest(index_dir).chunker == pipeline_module.CHUNKER_VERSION
    monkeypatch.setattr(pipeline_module, "CHUNKER_VERSION", "next")
    embedder = RecordingEmbedder()

    summary = ingest(tiny_corpus, index_dir, embedder)

    assert summary.rebuilt and not summary.up_to_date
    assert summary.chunks_embedded == len(open_index(index_dir))
    assert read_manifest(index_dir).chunker == "next"
    assert ingest(tiny_corpus, index_dir, RecordingEmbedder()).up_to_date


def _ingest_one_markdown(tmp_path: Path, index_dir: Path, text: str) -> DocumentEntry:
    """Ingest one Markdown document into `index_dir` and return its manifest entry."""
    corpus = tmp_path / "md"
    corpus.mkdir()
    (corpus / "pdq.md").write_text(text, encoding="utf-8")
    ingest(corpus, index_dir)
    (entry,) = read_manifest(index_dir).documents
    return entry


def test_the_manifest_lists_a_markdown_document_s_left_out_sections_and_counts_its_headings(
    tmp_path: Path, index_dir: Path
) -> None:
    entry = _ingest_one_markdown(
        tmp_path,
        index_dir,
        "# Cancer pain\n\n## Opioids\n\nStart a stimulant laxative with the opioid.\n\n"
        "### References\n\n1. Smith J: Laxatives. J Pain 3 (2): 1-9, 2012.\n\n"
        "## Radiotherapy\n\nA single 8 Gy fraction relieves pain.\n",
    )

    assert entry.excluded == ['1 section "References" (references)']
    assert entry.headings == 3  # the headings kept: Cancer pain, Opioids, Radiotherapy
    index = open_index(index_dir)
    assert not any("Smith J" in chunk.text for chunk in index.chunks)


def test_the_manifest_counts_a_markdown_document_s_tables(tmp_path: Path, index_dir: Path) -> None:
    entry = _ingest_one_markdown(
        tmp_path,
        index_dir,
        "# Antiemetics\n\n| Drug | Dose |\n| --- | --- |\n| Ondansetron | 8 mg |\n\n"
        # A web table exported with its notes under a second delimiter row is one table.
        "## Effects\n\n| Effect | Rate |\n| --- | --- |\n| | |\n| --- | --- |\n| aNote. | |\n| Nausea | +++ |\n\n"
        # Rows without a delimiter row are not a table with a header, and prose is not a table.
        "## Other\n\n| a | b |\n| c | d |\n\nGive it with food.\n",
    )

    assert entry.tables == 2
