"""The ONNX query encoder gives the same vectors as the torch model it was exported from."""

from pathlib import Path

import numpy as np
import pytest

from ingest import SentenceTransformerEmbedder
from ingest.onnx_backend import OnnxQueryEmbedder, export_dir, export_onnx, load_query_embedder

pytestmark = pytest.mark.slow

QUESTIONS = [
    "72F, breast ca, hot spot on bone scan, X-ray normal: next step?",
    "single fraction dose painful bone met",
    "denos vs zol",
    "x" * 3000,  # longer than the model reads: truncated the same way
]


def test_onnx_export_reproduces_the_torch_vectors(real_embedder: SentenceTransformerEmbedder, tmp_path: Path):
    folder = export_onnx(real_embedder, tmp_path / "export")
    onnx = OnnxQueryEmbedder(folder)

    assert (onnx.name, onnx.dimension, onnx.max_tokens) == (
        real_embedder.name,
        real_embedder.dimension,
        real_embedder.max_tokens,
    )
    np.testing.assert_allclose(onnx.embed(QUESTIONS), real_embedder.embed(QUESTIONS), atol=1e-5)
    assert onnx.count_tokens(QUESTIONS[:3]) == real_embedder.count_tokens(QUESTIONS[:3])


def test_the_export_is_made_once_and_reused(tmp_path: Path):
    first = load_query_embedder(None, tmp_path)
    made = (export_dir(None, tmp_path) / "model.onnx").stat().st_mtime_ns

    second = load_query_embedder(None, tmp_path)

    assert (export_dir(None, tmp_path) / "model.onnx").stat().st_mtime_ns == made
    np.testing.assert_allclose(first.embed(["bone scan"]), second.embed(["bone scan"]))
