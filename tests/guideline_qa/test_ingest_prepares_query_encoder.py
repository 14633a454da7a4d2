"""`guideline-qa ingest` also prepares the ONNX query encoder, so the service's first start stays fast."""

from __future__ import annotations

from pathlib import Path

import pytest

import ingest.onnx_backend as onnx_backend
from guideline_qa import cli
from ingest import DEFAULT_MODEL_NAME, HashEmbedder


def fake(_settings: object) -> HashEmbedder:
    return HashEmbedder(name=DEFAULT_MODEL_NAME)


DOC = "---\ntitle: T\n---\n# T\n\n## S\n\n### BM-T-01 Rec\nGuideline: ESMO 2020\n\nGive 8 Gy in a single fraction.\n"


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "t.md").write_text(DOC)
    return folder


def test_ingest_exports_the_onnx_query_encoder_when_it_is_the_configured_backend(corpus, tmp_path, monkeypatch, capsys):
    calls: list[tuple[object, Path]] = []

    def fake_export(model_path, cache_dir):
        calls.append((model_path, cache_dir))
        return cache_dir / "x", True

    monkeypatch.setattr(onnx_backend, "ensure_export", fake_export)
    monkeypatch.setenv("GQA_EMBEDDING__QUERY_BACKEND", "onnx")
    monkeypatch.setenv("GQA_EMBEDDING__ONNX_DIR", str(tmp_path / "onnx"))

    assert cli.main(["ingest", str(corpus), "--index", str(tmp_path / "idx")], load_embedder=fake) == 0

    assert calls == [(None, tmp_path / "onnx")]
    assert "exported the ONNX query encoder" in capsys.readouterr().err


def test_a_failed_export_warns_but_ingest_still_succeeds(corpus, tmp_path, monkeypatch, capsys):
    def broken(*_args):
        raise RuntimeError("no onnx here")

    monkeypatch.setattr(onnx_backend, "ensure_export", broken)
    monkeypatch.setenv("GQA_EMBEDDING__QUERY_BACKEND", "onnx")

    assert cli.main(["ingest", str(corpus), "--index", str(tmp_path / "idx")], load_embedder=fake) == 0

    assert "no ONNX query encoder (RuntimeError: no onnx here)" in capsys.readouterr().err


def test_the_torch_backend_exports_nothing(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_backend, "ensure_export", lambda *_a: pytest.fail("exported"))

    assert cli.main(["ingest", str(corpus), "--index", str(tmp_path / "idx")], load_embedder=fake) == 0


def test_the_onnx_export_lives_in_the_user_cache_wherever_the_service_starts(tmp_path, monkeypatch):
    from ingest import EmbeddingSettings

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)

    assert EmbeddingSettings().onnx_dir == tmp_path / "xdg" / "guideline-qa" / "onnx"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert EmbeddingSettings().onnx_dir.is_absolute()
    assert EmbeddingSettings().onnx_dir.parts[-3:] == (".cache", "guideline-qa", "onnx")


def test_ingest_says_when_it_makes_the_int8_model(tmp_path):
    from ingest import EmbeddingSettings
    from ingest.onnx_backend import export_dir
    from ingest.pipeline import loading_message

    settings = EmbeddingSettings(onnx_dir=tmp_path)
    assert loading_message(settings).startswith("exporting the embedding model to ONNX and quantising it to int8")

    folder = export_dir(None, tmp_path)
    folder.mkdir(parents=True)
    (folder / "model.int8.onnx").write_bytes(b"")
    assert loading_message(settings) == "loading the int8 embedding model"
    assert loading_message(EmbeddingSettings(precision="fp32")) == "loading the embedding model"
