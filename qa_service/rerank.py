"""A small learned relevance model: a cross-encoder that scores (question, passage) pairs.

It reranks the fused candidates of a question and tells whether the best passage answers it
(including near misses: the same aspect of a neighbouring disease, or the right disease but
another aspect). It runs on onnxruntime with a `tokenizers` fast tokenizer only: serving imports
neither torch nor transformers. `train/reranker.py` reproduces the model.

The model folder (by default the packaged `qa_service/models/reranker/`) holds:

- `model.int8.onnx`: the cross-encoder, dynamically quantised to int8. Inputs `input_ids`,
  `attention_mask`, `token_type_ids` (int64, shape `[batch, tokens]`, both axes dynamic); output
  `logits` (float32, shape `[batch]`), one raw relevance logit per pair.
- `tokenizer.json`: the WordPiece fast tokenizer (lower-casing BERT normaliser), saved without
  truncation or padding; this module adds the special tokens and truncates itself.
- `reranker.json`: `format_version`, `max_length`, `layers`, `sha256` (of the ONNX file, checked at
  load), `base_model`, `seed`, `trained_at`, `calibration` (`{"method": "platt", "a", "b"}`:
  probability = sigmoid(a * logit + b), or `{"method": "sigmoid"}`), and the validation figures.
- `MODEL_CARD.md`: data, training, validation, latency and limitations.

A pair is encoded as `[CLS] question [SEP] passage [SEP]` with the question as segment A and the
passage, formatted `"{title} > {section}\\n{text}"` (see `format_passage`), as segment B. Only the
passage is truncated, to fit `max_length` word pieces; the question is never truncated (a question
longer than `max_length` leaves the passage `MIN_PASSAGE_TOKENS` pieces and runs past `max_length`,
up to the model's 512 positions).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ingest.metadata import file_sha256

sha256_file = file_sha256  # train/reranker.py writes the hash this module checks

FORMAT_VERSION = 1
MODEL_FILE = "model.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "reranker.json"
CARD_FILE = "MODEL_CARD.md"
MIN_PASSAGE_TOKENS = 32
"""Word pieces the passage keeps however long the question is."""
POSITION_LIMIT = 512
"""BERT's position embeddings: no pair may be longer."""
CHARS_PER_PIECE = 8
"""A passage is tokenised from its first `CHARS_PER_PIECE * budget` characters (word pieces average ~4-5)."""
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


class RerankerError(RuntimeError):
    """The reranker's folder is missing, incomplete or does not match its manifest."""


def default_model_dir() -> Path:
    """The model folder packaged with the service."""
    return Path(str(files("qa_service") / "models" / "reranker"))


def format_passage(title: str, section: str | Sequence[str] | None, text: str) -> str:
    """A passage as the reranker was trained to read it: `title > section` on the first line, then the text."""
    parts = [section] if isinstance(section, str) else list(section or ())
    parts = [p for p in parts if p]
    if not parts or parts[0] != title:
        parts.insert(0, title)
    return f"{' > '.join(parts)}\n{text}"


@dataclass(frozen=True)
class SpecialIds:
    cls: int
    sep: int
    pad: int


def special_ids(tokenizer: Any) -> SpecialIds:
    """[CLS], [SEP] and [PAD] of a BERT WordPiece `tokenizers.Tokenizer`."""
    ids = [tokenizer.token_to_id(tok) for tok in ("[CLS]", "[SEP]", "[PAD]")]
    if any(i is None for i in ids):
        raise RerankerError("the tokenizer lacks [CLS], [SEP] or [PAD]: not a BERT WordPiece tokenizer")
    return SpecialIds(cls=int(ids[0]), sep=int(ids[1]), pad=int(ids[2]))


def encode_pairs(
    tokenizer: Any, question: str, passages: Sequence[str], max_length: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Model inputs for one question and its passages, padded to the longest pair.

    `tokenizer` is a `tokenizers.Tokenizer` (no truncation or padding configured). The training
    script uses this same function, so training and serving see identical inputs.
    """
    ids = special_ids(tokenizer)
    q_ids: list[int] = list(tokenizer.encode(question, add_special_tokens=False).ids)
    q_ids = q_ids[: POSITION_LIMIT - 3 - MIN_PASSAGE_TOKENS]  # only a question of ~470 word pieces is cut
    budget = max(max_length - len(q_ids) - 3, MIN_PASSAGE_TOKENS)
    # Tokenise only the head of a long passage (cut at a space, so every word before the cut tokenises
    # as in the whole text); a head that yields fewer than `budget` pieces is redone from the whole text.
    limit = CHARS_PER_PIECE * budget
    heads = [_head(p, limit) for p in passages]
    encodings = tokenizer.encode_batch(heads, add_special_tokens=False)
    short = [i for i, enc in enumerate(encodings) if len(heads[i]) < len(passages[i]) and len(enc.ids) < budget]
    if short:
        redone = tokenizer.encode_batch([passages[i] for i in short], add_special_tokens=False)
        for i, enc in zip(short, redone, strict=True):
            encodings[i] = enc
    rows: list[list[int]] = []
    n_first = len(q_ids) + 2
    for enc in encodings:
        rows.append([ids.cls, *q_ids, ids.sep, *enc.ids[:budget], ids.sep])
    width = max((len(r) for r in rows), default=n_first + 1)
    input_ids = np.full((len(rows), width), ids.pad, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    types = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        input_ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
        types[i, n_first : len(row)] = 1
    return input_ids, mask, types


def _head(text: str, limit: int) -> str:
    """`text` itself if short, else its first `limit` characters extended to the next space."""
    if len(text) <= limit:
        return text
    cut = text.find(" ", limit)
    return text if cut < 0 else text[:cut]


class Reranker:
    """The int8 ONNX cross-encoder: `score` gives raw logits, `probability` calibrated probabilities."""

    def __init__(self, session: Any, tokenizer: Any, config: dict[str, Any], model_dir: Path) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self.config = config
        self.model_dir = model_dir
        self.max_length = int(config["max_length"])
        calibration = config.get("calibration") or {"method": "sigmoid"}
        if calibration.get("method") == "platt":
            self._a, self._b = float(calibration["a"]), float(calibration["b"])
        else:
            self._a, self._b = 1.0, 0.0
        special_ids(tokenizer)  # fail at load, not at the first question

    @classmethod
    def load(cls, model_dir: Path | None = None, *, threads: int = 1) -> Reranker:
        """Open the model folder (default: the packaged one), checking the ONNX file against its sha256."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(model_dir) if model_dir is not None else default_model_dir()
        config_path = folder / CONFIG_FILE
        model_path = folder / MODEL_FILE
        tokenizer_path = folder / TOKENIZER_FILE
        for path in (config_path, model_path, tokenizer_path):
            if not path.is_file():
                raise RerankerError(
                    f"reranker file missing: {path}. Reinstall the package or rebuild the model with "
                    f"`python -m train.reranker --out {folder}`"
                )
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RerankerError(f"cannot read {config_path}: {exc}") from None
        if config.get("format_version") != FORMAT_VERSION:
            raise RerankerError(
                f"{config_path}: format_version {config.get('format_version')!r}, this code reads {FORMAT_VERSION}"
            )
        expected = config.get("sha256")
        actual = sha256_file(model_path)
        if not expected or expected != actual:
            raise RerankerError(
                f"{model_path} does not match the sha256 recorded in {config_path} "
                f"(recorded {expected or 'nothing'}, file has {actual}): the model file is corrupt, truncated "
                f"(a Git LFS pointer?) or from another build. Restore both files from the same build, "
                f"or rebuild them with `python -m train.reranker --out {folder}`"
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, int(threads))
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        return cls(session, tokenizer, config, folder)

    def score(self, question: str, passages: Sequence[str], *, max_length: int | None = None) -> FloatArray:
        """One raw logit per passage (higher: more likely to answer the question), in one session run.

        `max_length` caps the word pieces of each pair below the model's own (its cost grows with them).
        """
        if len(passages) == 0:
            return np.zeros(0, dtype=np.float32)
        length = self.max_length if max_length is None else min(max_length, self.max_length)
        input_ids, mask, types = encode_pairs(self._tokenizer, question, passages, length)
        (logits,) = self._session.run(
            ["logits"], {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": types}
        )
        return np.asarray(logits, dtype=np.float32).reshape(len(passages))

    def probability(self, question: str, passages: Sequence[str]) -> FloatArray:
        """The calibrated probability that each passage answers the question."""
        return self.calibrate(self.score(question, passages))

    def calibrate(self, logits: FloatArray) -> FloatArray:
        """Logits to probabilities with the calibration recorded in reranker.json."""
        z = self._a * logits.astype(np.float64) + self._b
        return (1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))).astype(np.float32)
