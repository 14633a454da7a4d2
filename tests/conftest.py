"""Shared fixtures: paths to the test data, a fake and a real embedder, a tiny corpus, a PDF writer."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    # Imported inside the fixtures so tests that do not need ingest (tests/eval) never import it.
    from ingest import HashEmbedder, SentenceTransformerEmbedder

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO_ROOT / "corpus"
INGEST_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ingest"
BENCHMARKS_DIR = REPO_ROOT.parent / "shared" / "benchmarks"

# The fixture files that load cleanly; the malformed and unsupported ones are copied only on request.
TINY_CORPUS_FILES = ("guideline.md", "notes.txt", "page.html", "records.jsonl")

PdfWriter = Callable[..., Path]


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def write_text_pdf(path: Path, pages: Sequence[Sequence[str]], *, title: str | None = None) -> Path:
    """Write a minimal valid PDF whose pages carry the given lines as real text (Helvetica)."""
    n_pages = len(pages)
    font_id = 3 + 2 * n_pages
    info_id = font_id + 1
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: (
            "<< /Type /Pages /Kids [" + " ".join(f"{3 + 2 * i} 0 R" for i in range(n_pages)) + f"] /Count {n_pages} >>"
        ).encode(),
        font_id: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    }
    for i, lines in enumerate(pages):
        page_id, content_id = 3 + 2 * i, 4 + 2 * i
        ops = ["BT", "/F1 12 Tf", "16 TL", "72 720 Td"]
        for line in lines:
            ops += [f"{_pdf_string(line)} Tj", "T*"]
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects[page_id] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>"
        ).encode()
        objects[content_id] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    if title is not None:
        objects[info_id] = f"<< /Title {_pdf_string(title)} >>".encode("latin-1")
    return assemble_pdf(path, objects, info_id if title is not None else None)


def assemble_pdf(path: Path, objects: dict[int, bytes], info_id: int | None = None) -> Path:
    """Write numbered PDF objects (1 is the catalog) with their cross-reference table and trailer."""
    out = bytearray(b"%PDF-1.4\n")
    offsets: dict[int, int] = {}
    for obj_id in sorted(objects):
        offsets[obj_id] = len(out)
        out += b"%d 0 obj\n" % obj_id + objects[obj_id] + b"\nendobj\n"
    size = max(objects) + 1
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for obj_id in range(1, size):
        out += b"%010d 00000 n \n" % offsets[obj_id] if obj_id in offsets else b"0000000000 65535 f \n"
    trailer = f"<< /Size {size} /Root 1 0 R" + (f" /Info {info_id} 0 R" if info_id is not None else "") + " >>"
    out += f"trailer\n{trailer}\nstartxref\n{xref_at}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


@pytest.fixture
def make_pdf() -> PdfWriter:
    """`make_pdf(path, pages, title=...)`: write a small text PDF at test time."""
    return write_text_pdf


@pytest.fixture
def ingest_fixtures() -> Path:
    """Folder of the ingest fixture files (read-only: copy before changing anything)."""
    return INGEST_FIXTURES


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    """A fresh deterministic fake embedder that counts its calls."""
    from ingest import HashEmbedder

    return HashEmbedder()


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    """A writable copy of the loadable fixture documents (Markdown, text, HTML, JSONL) in tmp_path."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in TINY_CORPUS_FILES:
        shutil.copyfile(INGEST_FIXTURES / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def real_embedder() -> SentenceTransformerEmbedder:
    """The packaged all-MiniLM-L6-v2, loaded once per session; tests using it are marked slow."""
    from ingest import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def onnx_export(real_embedder: SentenceTransformerEmbedder, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packaged model exported to ONNX once per session, in a temporary folder."""
    from ingest.onnx_backend import export_onnx

    return export_onnx(real_embedder, tmp_path_factory.mktemp("onnx") / "export")


@pytest.fixture
def benchmarks_dir() -> Path:
    """`../shared/benchmarks` next to the repo, or a skip when this checkout has none."""
    if not BENCHMARKS_DIR.is_dir():
        pytest.skip(f"shared benchmarks not found at {BENCHMARKS_DIR} (expected ../shared/benchmarks next to the repo)")
    return BENCHMARKS_DIR


@pytest.fixture(autouse=True)
def _no_onnx_export_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings built from the environment use the torch query encoder in tests: no test exports the
    real model to ONNX by accident. The ONNX encoder has its own tests, which ask for it explicitly."""
    monkeypatch.setenv("GQA_EMBEDDING__QUERY_BACKEND", "torch")
    monkeypatch.setenv("GQA_EMBEDDING__PRECISION", "fp32")
    # Code that builds EmbeddingSettings() itself gets the int8 default, which exports the model into
    # the user's cache: a test doing so must say which precision it means. The cache is pointed at a
    # temporary folder, and an export into it (or into the repository) fails the test.
    import ingest.onnx_backend
    from ingest.embedding import default_onnx_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(Path(tempfile.gettempdir()) / "gqa-tests-xdg-cache"))
    real_export = ingest.onnx_backend.export_onnx

    def export_outside_the_repo(embedder: Any, target: Path) -> Path:
        where = Path(target).resolve()
        if where.is_relative_to(REPO_ROOT) or where.is_relative_to(default_onnx_dir().resolve()):
            pytest.fail(f"a test exported the model through the default settings ({target}); use onnx_export")
        return real_export(embedder, target)

    monkeypatch.setattr(ingest.onnx_backend, "export_onnx", export_outside_the_repo)
