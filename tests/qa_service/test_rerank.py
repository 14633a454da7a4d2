"""The packaged reranker (int8 ONNX cross-encoder), loaded once for the module: ranking, typos, tampering."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa_service.rerank import (
    CONFIG_FILE,
    MODEL_FILE,
    Reranker,
    RerankerError,
    default_model_dir,
    format_passage,
)

# The shipped model's activation ranges are fixed (static int8), so a pair scores the same alone or in a batch.
BATCH_TOLERANCE = 1e-4

GOUT_SYMPTOMS = format_passage(
    "Gout",
    "Signs and symptoms",
    "Gout causes sudden attacks of severe pain, swelling, redness and warmth in a joint, most often the "
    "big toe. An attack often starts at night and is worst within the first day. Over years, lumps of "
    "urate crystals (tophi) can form under the skin around the joints.",
)
RA_SYMPTOMS = format_passage(
    "Rheumatoid arthritis",
    "Signs and symptoms",
    "Rheumatoid arthritis causes pain, swelling and stiffness in several joints on both sides of the body, "
    "often the small joints of the hands and feet. The stiffness is worst in the morning and can last hours. "
    "Many people also feel tired and have a low fever.",
)
HEMOCHROMATOSIS_SYMPTOMS = format_passage(
    "Hemochromatosis",
    "Signs and symptoms",
    "Hemochromatosis is iron overload. Early symptoms include tiredness, weakness, joint pain and abdominal "
    "pain. Later the extra iron can cause liver disease, diabetes, bronze or grey skin and heart problems.",
)
HEMOPHILIA_SYMPTOMS = format_passage(
    "Hemophilia",
    "Signs and symptoms",
    "The main symptom of hemophilia is bleeding that lasts longer than normal: large bruises, bleeding into "
    "joints and muscles, nosebleeds, and bleeding after cuts, dental work or surgery.",
)


@pytest.fixture(scope="module")
def reranker() -> Reranker:
    return Reranker.load()


def test_right_disease_beats_the_same_aspect_of_another(reranker: Reranker) -> None:
    scores = reranker.score("What are the symptoms of gout?", [RA_SYMPTOMS, GOUT_SYMPTOMS])
    assert scores.shape == (2,)
    assert scores.dtype == np.float32
    assert scores[1] > scores[0]
    probs = reranker.probability("What are the symptoms of gout?", [RA_SYMPTOMS, GOUT_SYMPTOMS])
    assert np.all((probs >= 0) & (probs <= 1))
    assert probs[1] > probs[0]


def test_right_aspect_beats_another_section_of_the_same_disease(reranker: Reranker) -> None:
    treatment = format_passage(
        "Gout",
        "Treatment",
        "Gout attacks are treated with anti-inflammatory drugs, colchicine or corticosteroids. Long term, "
        "allopurinol or febuxostat lowers the uric acid level and prevents new attacks.",
    )
    scores = reranker.score("How is gout treated?", [GOUT_SYMPTOMS, treatment])
    assert scores[1] > scores[0]


def test_misspelt_question_still_prefers_the_right_passage(reranker: Reranker) -> None:
    scores = reranker.score("what are the symtoms of hemochromatossis", [HEMOPHILIA_SYMPTOMS, HEMOCHROMATOSIS_SYMPTOMS])
    assert scores[1] > scores[0]


def test_no_passages(reranker: Reranker) -> None:
    assert reranker.score("What causes gout?", []).shape == (0,)
    assert reranker.probability("What causes gout?", []).shape == (0,)


def test_batch_equals_one_at_a_time(reranker: Reranker) -> None:
    question = "What are the symptoms of gout?"
    passages = [GOUT_SYMPTOMS, RA_SYMPTOMS, HEMOPHILIA_SYMPTOMS, format_passage("Gout", None, "Short.")]
    batch = reranker.score(question, passages)
    single = np.array([reranker.score(question, [p])[0] for p in passages])
    np.testing.assert_allclose(batch, single, atol=BATCH_TOLERANCE, rtol=0)
    assert list(np.argsort(batch)) == list(np.argsort(single))
    np.testing.assert_array_equal(reranker.score(question, passages), batch)  # deterministic


def test_only_the_passage_is_truncated(reranker: Reranker) -> None:
    from qa_service.rerank import encode_pairs

    long_passage = format_passage("Gout", None, "word " * 2000)
    question = "What are the symptoms of gout in " + "very " * 40 + "old patients?"
    ids, mask, types = encode_pairs(reranker._tokenizer, question, [long_passage, "Gout\nShort."], reranker.max_length)
    q_len = len(reranker._tokenizer.encode(question, add_special_tokens=False).ids)
    assert ids.shape[1] == max(reranker.max_length, q_len + 3 + 32)
    assert int(types[0].sum()) == ids.shape[1] - q_len - 2  # the whole question is in segment A
    assert int(mask[1].sum()) < ids.shape[1]  # the short pair is padded, not stretched


def test_tampered_model_is_refused(reranker: Reranker, tmp_path: Path) -> None:
    copy = tmp_path / "reranker"
    shutil.copytree(reranker.model_dir, copy)
    model = copy / MODEL_FILE
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model.write_bytes(bytes(data))
    with pytest.raises(RerankerError, match=r"model\.int8\.onnx.*sha256.*train\.reranker"):
        Reranker.load(copy)


def test_missing_checksum_is_refused(reranker: Reranker, tmp_path: Path) -> None:
    copy = tmp_path / "reranker"
    shutil.copytree(reranker.model_dir, copy)
    config = json.loads((copy / CONFIG_FILE).read_text())
    del config["sha256"]
    (copy / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(RerankerError, match="recorded nothing"):
        Reranker.load(copy)


def test_packaged_folder_serves_without_torch(reranker: Reranker) -> None:
    assert reranker.model_dir == default_model_dir()
    assert reranker.config["max_length"] == reranker.max_length
    code = (
        "import sys; from qa_service.rerank import Reranker; "
        "Reranker.load().score('What causes gout?', ['Gout\\nUrate crystals.']); "
        "bad = {'torch', 'transformers', 'sentence_transformers'} & set(sys.modules); "
        "sys.exit(f'imported {bad}' if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_shorter_max_length_reads_fewer_word_pieces_and_never_more_than_the_model(reranker):
    question = "denosumab dose for bone metastases?"
    sentence = "Denosumab 120 mg subcutaneously every 4 weeks is recommended. "
    passage = "Bone-modifying agents > Denosumab\n" + sentence * 10

    full = reranker.score(question, [passage])
    short = reranker.score(question, [passage], max_length=48)
    capped = reranker.score(question, [passage], max_length=4096)  # never past the model's own length

    assert short[0] != full[0]  # it read less of the passage
    assert capped[0] == full[0]
