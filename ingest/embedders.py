"""`load_embedder`: the one place that picks an embedder for the settings, for ingest or for questions.

The modules below it never import each other in a circle: `embedding` holds the protocol, the
settings and the sentence-transformers and hash embedders; `onnx_backend` builds on it with the
ONNX export (fp32 or int8); this module chooses between them.
"""

from __future__ import annotations

import logging
import os

from ingest.embedding import Embedder, EmbeddingSettings, SentenceTransformerEmbedder
from ingest.errors import IngestError

log = logging.getLogger("guideline_qa.embedders")


def load_embedder(settings: EmbeddingSettings, *, for_queries: bool = False) -> Embedder:
    """The configured embedder.

    For ingest (the default) an int8 model runs on every core, else sentence-transformers. For
    questions (`for_queries`, the service) the local ONNX export is used when possible: the same
    vectors, about three times faster per question and no torch at run time; a failure to export or
    load it falls back to torch with a warning. An int8 index needs the int8 ONNX encoder: there is
    no torch twin of those vectors to fall back to, so that failure is an error that says so.
    """
    from ingest.onnx_backend import load_query_embedder

    if settings.precision == "int8":
        try:
            if for_queries:
                return load_query_embedder(
                    settings.model_path,
                    settings.onnx_dir,
                    threads=settings.torch_threads,
                    precision="int8",
                    spin=settings.spin_threads,
                )
            return load_query_embedder(
                settings.model_path,
                settings.onnx_dir,
                precision="int8",
                workers=settings.torch_threads or os.cpu_count() or 1,
            )
        except Exception as exc:  # no torch twin of int8 vectors: say so rather than answer wrongly
            raise IngestError(
                f"the int8 encoder could not load ({type(exc).__name__}: {exc}); the index holds int8 vectors. "
                "Fix onnxruntime, or re-ingest with GQA_EMBEDDING__PRECISION=fp32"
            ) from exc
    if for_queries and settings.query_backend == "onnx":
        try:
            return load_query_embedder(
                settings.model_path, settings.onnx_dir, threads=settings.torch_threads, spin=settings.spin_threads
            )
        except Exception as exc:  # a missing or broken ONNX runtime must never stop the service
            log.warning("ONNX query encoder unavailable (%s: %s); using sentence-transformers", type(exc).__name__, exc)
    return SentenceTransformerEmbedder(settings.model_path, torch_threads=settings.torch_threads)


__all__ = ["load_embedder"]
