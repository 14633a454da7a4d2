"""The ONNX encoder gives the same vectors as the torch model it was exported from (fp32), or close
ones (int8), for questions and for the chunks and sentence spans of ingest."""

from pathlib import Path

import numpy as np
import pytest

from ingest import INT8_SUFFIX, SentenceTransformerEmbedder
from ingest.onnx_backend import OnnxQueryEmbedder, export_dir, load_query_embedder

pytestmark = pytest.mark.slow

QUESTIONS = [
    "72F, breast ca, hot spot on bone scan, X-ray normal: next step?",
    "single fraction dose painful bone met",
    "denos vs zol",
    "x" * 3000,  # longer than the model reads: truncated the same way
]


def test_onnx_export_reproduces_the_torch_vectors(real_embedder: SentenceTransformerEmbedder, onnx_export: Path):
    onnx = OnnxQueryEmbedder(onnx_export)

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


PASSAGES = [
    "Single-fraction radiotherapy of 8 Gy relieves pain from uncomplicated bone metastases. Retreatment is more "
    "often needed after a single fraction than after 30 Gy in 10 fractions.",
    "Zoledronic acid 4 mg every 12 weeks is as effective as every 4 weeks. Check renal function before each dose.",
    "Denosumab 120 mg is given subcutaneously every 4 weeks with calcium and vitamin D supplements.",
    "word " * 400 + ". A sentence past the 256 word pieces the model reads.",
]


def spans_of(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, split at full stops."""
    spans, start = [], 0
    for end in [i + 1 for i, ch in enumerate(text) if ch == "."]:
        spans.append((start, end))
        start = end + 1
    return spans


def test_two_processes_exporting_the_same_model_at_once_both_load_it(tmp_path: Path):
    """Two replicas starting on a fresh machine export and quantise the same model at the same moment."""
    import subprocess
    import sys

    script = (
        "import sys; from pathlib import Path; from ingest.onnx_backend import load_query_embedder; "
        "e = load_query_embedder(None, Path(sys.argv[1]), precision='int8'); print(e.embed(['denos vs zol']).shape)"
    )
    runs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outcomes = [(run.wait(timeout=300), run.communicate()) for run in runs]

    assert [(code, out.decode().strip()) for code, (out, _) in outcomes] == [(0, "(1, 384)")] * 2, outcomes
    folder = export_dir(None, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == ["meta.json", "model.int8.onnx", "model.onnx", "tokenizer.json"]


def test_onnx_ingest_pools_the_same_chunk_and_sentence_vectors_as_torch(real_embedder, onnx_export: Path):
    spans = [spans_of(p) for p in PASSAGES]
    torch_vectors, torch_spans = real_embedder.embed_with_sentences(PASSAGES, spans, batch_size=2)
    onnx = OnnxQueryEmbedder(onnx_export, workers=2)

    vectors, span_vectors = onnx.embed_with_sentences(PASSAGES, spans, batch_size=2)

    np.testing.assert_allclose(vectors, torch_vectors, atol=1e-5)
    for ours, theirs in zip(span_vectors, torch_spans, strict=True):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    # The last passage's final sentence lies past the word pieces read: it falls back to the whole text.
    np.testing.assert_allclose(span_vectors[-1][-1], vectors[-1], atol=1e-6)


def test_int8_vectors_stay_close_to_fp32_and_say_they_are_int8(onnx_export: Path):
    fp32 = OnnxQueryEmbedder(onnx_export)
    int8 = OnnxQueryEmbedder(onnx_export, precision="int8", workers=2)
    texts = QUESTIONS[:3] + PASSAGES

    cosines = (int8.embed(texts, batch_size=3) * fp32.embed(texts)).sum(axis=1)

    assert int8.name == fp32.name + INT8_SUFFIX
    assert (onnx_export / "model.int8.onnx").is_file()
    assert cosines.min() > 0.97, cosines  # per-tensor quantisation gave about 0.93 here
    assert cosines.max() < 0.99999, "the int8 model gave the fp32 vectors: was it quantised?"


def test_parallel_batches_keep_each_vector_with_its_text(onnx_export: Path):
    one = OnnxQueryEmbedder(onnx_export, precision="int8")
    two = OnnxQueryEmbedder(onnx_export, precision="int8", workers=2)
    texts = [f"{p} ({i})" for i, p in enumerate(PASSAGES * 3)]

    np.testing.assert_allclose(two.embed(texts, batch_size=2), one.embed(texts, batch_size=5), atol=1e-6)


def test_an_int8_vector_does_not_depend_on_the_texts_beside_it(onnx_export: Path):
    int8 = OnnxQueryEmbedder(onnx_export, precision="int8")
    alone = int8.embed([PASSAGES[1]])

    among_others = int8.embed(PASSAGES, batch_size=64)[1]

    np.testing.assert_allclose(among_others, alone[0], atol=1e-6)


def test_the_int8_encoder_is_fingerprinted_by_its_file_and_fp32_is_not(onnx_export: Path):
    int8 = OnnxQueryEmbedder(onnx_export, precision="int8")
    again = OnnxQueryEmbedder(onnx_export, precision="int8", workers=2)

    assert int8.fingerprint is not None and len(int8.fingerprint) == 16
    assert again.fingerprint == int8.fingerprint
    assert OnnxQueryEmbedder(onnx_export).fingerprint is None


def test_spinning_threads_change_the_session_not_the_vectors(onnx_export: Path):
    sleeping = OnnxQueryEmbedder(onnx_export, precision="int8")
    spinning = OnnxQueryEmbedder(onnx_export, precision="int8", spin=True)

    def allow_spinning(embedder: OnnxQueryEmbedder) -> str:
        return embedder._session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning")

    assert (allow_spinning(sleeping), allow_spinning(spinning)) == ("0", "1")
    np.testing.assert_allclose(spinning.embed(PASSAGES), sleeping.embed(PASSAGES), atol=1e-6)
