"""Bring your own guidelines: sidecars and folder manifests state metadata; unchanged files are not parsed again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import ingest.loaders as loaders_module
from ingest import HashEmbedder, build_index, load_paths, read_manifest
from ingest.chunking import page_span
from ingest.loaders import PageMark
from ingest.metadata import misnamed_sidecar
from tests.conftest import INGEST_FIXTURES


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    corpus = tmp_path / "guidelines"
    corpus.mkdir()
    shutil.copy(INGEST_FIXTURES / "notes.txt", corpus / "notes.txt")
    shutil.copy(INGEST_FIXTURES / "page.html", corpus / "page.html")
    return corpus


def by_id(folder: Path) -> dict[str, loaders_module.Document]:
    result = load_paths([folder])
    assert not result.errors, result.errors
    return {d.doc_id: d for d in result.documents}


def test_a_sidecar_states_title_body_year_and_url_over_the_file_name(folder: Path) -> None:
    (folder / "notes.txt.meta.yaml").write_text(
        "title: Opioid prescribing for acute pain\nissuing_body: CDC\nyear: 2022\nurl: https://example.org/cdc\n"
        "licence: public domain\n"
    )
    doc = by_id(folder)["notes"]
    assert (doc.title, doc.issuing_body, doc.year, doc.url) == (
        "Opioid prescribing for acute pain",
        "CDC",
        2022,
        "https://example.org/cdc",
    )
    assert doc.metadata["licence"] == "public domain"


def test_a_folder_manifest_gives_defaults_and_per_file_fields_and_a_sidecar_wins(folder: Path) -> None:
    (folder / "guidelines.yaml").write_text(
        "defaults: {issuing_body: NICE, year: 2021}\nnotes.txt: {title: Notes on pain}\npage.html: {year: 2019}\n"
    )
    (folder / "page.meta.yaml").write_text("title: From the sidecar\n")
    docs = by_id(folder)
    assert (docs["notes"].title, docs["notes"].issuing_body, docs["notes"].year) == ("Notes on pain", "NICE", 2021)
    assert (docs["page"].title, docs["page"].issuing_body, docs["page"].year) == ("From the sidecar", "NICE", 2019)


def test_metadata_files_are_neither_documents_nor_reported_as_unsupported(folder: Path) -> None:
    (folder / "guidelines.yaml").write_text("defaults: {issuing_body: WHO}\n")
    (folder / "notes.txt.meta.yaml").write_text("year: 2020\n")
    result = load_paths([folder])
    assert sorted(d.doc_id for d in result.documents) == ["notes", "page"]
    assert result.skipped == []


def test_a_sidecar_with_a_malformed_year_names_the_sidecar_and_the_rest_still_loads(folder: Path) -> None:
    (folder / "notes.txt.meta.yaml").write_text("year: twenty-twenty\n")
    result = load_paths([folder])
    assert [d.doc_id for d in result.documents] == ["page"]
    [error] = result.errors
    assert "notes.txt.meta.yaml" in str(error) and "year" in str(error)


def test_a_sidecar_that_is_not_a_mapping_is_a_clear_error(folder: Path) -> None:
    (folder / "notes.txt.meta.yaml").write_text("- just\n- a list\n")
    [error] = load_paths([folder]).errors
    assert "notes.txt.meta.yaml" in str(error) and "mapping" in str(error)


def test_reingesting_unchanged_files_does_not_parse_them(folder: Path, tmp_path: Path, monkeypatch) -> None:
    index_dir = tmp_path / "index"
    first = build_index([folder], index_dir, embedder=HashEmbedder())
    assert first.new == 2
    parsed: list[Path] = []
    real_load_file = loaders_module.load_file

    def counting(path: Path, root: Path | None = None) -> list[loaders_module.Document]:
        parsed.append(path)
        return real_load_file(path, root)

    monkeypatch.setattr(loaders_module, "load_file", counting)
    again = build_index([folder], index_dir, embedder=HashEmbedder())
    assert again.up_to_date and parsed == []
    assert [r.doc_id for r in again.reports] == ["notes", "page"]

    (folder / "notes.txt").write_text("Give paracetamol 1 g every 6 hours. Review after 3 days.\n")
    changed = build_index([folder], index_dir, embedder=HashEmbedder())
    assert parsed == [folder / "notes.txt"]  # only the edited file
    assert (changed.changed, changed.unchanged) == (1, 1)
    assert {d.doc_id for d in read_manifest(index_dir).documents} == {"notes", "page"}


def test_editing_a_sidecar_counts_as_a_change_of_its_document(folder: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build_index([folder], index_dir, embedder=HashEmbedder())
    (folder / "page.html.meta.yaml").write_text("title: Renamed by its sidecar\n")
    summary = build_index([folder], index_dir, embedder=HashEmbedder())
    assert summary.changed == 1
    titles = {d.doc_id: d.title for d in read_manifest(index_dir).documents}
    assert titles["page"] == "Renamed by its sidecar"


def test_a_removed_file_leaves_the_index_even_when_the_others_are_unchanged(folder: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build_index([folder], index_dir, embedder=HashEmbedder())
    (folder / "notes.txt").unlink()
    summary = build_index([folder], index_dir, embedder=HashEmbedder())
    assert (summary.removed, summary.up_to_date) == (1, False)
    assert [d.doc_id for d in read_manifest(index_dir).documents] == ["page"]


PAGES = (PageMark(0, 1, "i"), PageMark(100, 2, "1"), PageMark(250, 3, "2"))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [(0, 50, (1, 1, "i")), (120, 240, (2, 2, "1")), (90, 260, (1, 3, "i-2")), (250, 251, (3, 3, "2"))],
)
def test_page_span_of_a_passage_gives_its_pages_and_printed_labels(
    start: int, end: int, expected: tuple[int, int, str]
) -> None:
    assert page_span(PAGES, start, end) == expected


def test_a_passage_of_a_source_without_pages_has_no_page() -> None:
    assert page_span((), 0, 10) is None


def test_the_pages_of_quoted_sentences_come_from_the_passage_s_page_marks() -> None:
    from ingest.chunking import Chunk, pages_of

    text = "First page sentence. Second page sentence. Third."
    chunk = Chunk("c", "d", 0, text, 100, 100 + len(text), "T", (), (), page_marks=((0, 4, "2"), (21, 5, "3")))
    assert pages_of(chunk, [(0, 20)]) == (4, 4, "2")
    assert pages_of(chunk, [(21, 42)]) == (5, 5, "3")
    assert pages_of(chunk, [(0, 20), (43, 49)]) == (4, 5, "2-3")
    assert pages_of(chunk, []) is None


def test_a_yaml_named_like_a_document_is_recognised_as_a_misnamed_sidecar(folder: Path) -> None:
    (folder / "page.yaml").write_text("year: 2020\n", encoding="utf-8")
    (folder / "page.html.meta.yaml").write_text("year: 2020\n", encoding="utf-8")
    (folder / "guidelines.yaml").write_text("defaults: {}\n", encoding="utf-8")
    (folder / "other.yml").write_text("a: 1\n", encoding="utf-8")

    assert misnamed_sidecar(folder / "page.yaml") == folder / "page.html"
    assert misnamed_sidecar(folder / "page.html.meta.yaml") is None  # a sidecar already
    assert misnamed_sidecar(folder / "guidelines.yaml") is None  # the folder manifest
    assert misnamed_sidecar(folder / "other.yml") is None  # no document of that name
    assert misnamed_sidecar(folder / "notes.txt") is None  # not YAML
