"""A folder a user brings, with broken files in it: each named with its reason, the rest ingested, the index kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import HashEmbedder, LoaderError, build_index, read_manifest
from tests.conftest import PdfWriter


@pytest.fixture
def folder(tmp_path: Path, make_pdf: PdfWriter) -> Path:
    from pypdf import PdfReader
    from pypdf import PdfWriter as Writer

    corpus = tmp_path / "guidelines"
    corpus.mkdir()
    good = make_pdf(corpus / "good.pdf", [["Offer naloxone when opioid doses reach 50 MME per day or more."]])
    writer = Writer()
    for page in PdfReader(good).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner")
    with (corpus / "locked.pdf").open("wb") as handle:
        writer.write(handle)
    make_pdf(corpus / "scanned.pdf", [[]])
    (corpus / "cut.pdf").write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    (corpus / "menu.html").write_text("<html><body><nav><a href='/'>Home</a></nav><script>x()</script></body></html>")
    (corpus / "notes.txt").write_text("Review opioid therapy every 3 months.\n")
    (corpus / "notes.txt.meta.yaml").write_text("year: last year\n")
    return corpus


def test_every_broken_file_is_named_with_its_reason_and_the_rest_is_ingested(folder: Path, tmp_path: Path) -> None:
    summary = build_index([folder], tmp_path / "index", embedder=HashEmbedder())

    reasons = {Path(e.path).name: str(e) for e in summary.errors}
    assert "decrypt it first" in reasons["locked.pdf"]
    assert "run OCR first" in reasons["scanned.pdf"]
    assert reasons.get("cut.pdf")
    assert "no main text" in reasons["menu.html"]
    assert "year" in reasons["notes.txt.meta.yaml"]
    assert [d.doc_id for d in read_manifest(tmp_path / "index").documents] == ["good"]


def test_a_build_with_nothing_loadable_leaves_the_previous_index_untouched(folder: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build_index([folder], index_dir, embedder=HashEmbedder())
    before = (index_dir / "CURRENT").read_text()
    (folder / "good.pdf").unlink()

    with pytest.raises(LoaderError, match="no loadable documents"):
        build_index([folder], index_dir, embedder=HashEmbedder())

    assert (index_dir / "CURRENT").read_text() == before
    assert [d.doc_id for d in read_manifest(index_dir).documents] == ["good"]
