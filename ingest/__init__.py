"""Documents -> chunks -> embeddings -> an index on disk (and the reader the service uses)."""

from ingest.chunking import Chunk, Chunker, ChunkingSettings
from ingest.embedders import load_embedder
from ingest.embedding import (
    DEFAULT_MODEL_NAME,
    INT8_SUFFIX,
    Embedder,
    EmbeddingSettings,
    HashEmbedder,
    SentenceTransformerEmbedder,
    as_langchain_embeddings,
    default_model_path,
)
from ingest.errors import (
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexStoreError,
    IngestError,
    LoaderError,
    UnsupportedFileError,
)
from ingest.index import IndexSettings, LoadedIndex, Manifest, SearchIndex, open_index, read_manifest
from ingest.keywords import keyword_tokens
from ingest.loaders import Document, LoadResult, load_paths
from ingest.pipeline import IngestSummary, build_index, configured_model_name
from ingest.sentences import split_sentences

__all__ = [
    "DEFAULT_MODEL_NAME",
    "INT8_SUFFIX",
    "Chunk",
    "Chunker",
    "ChunkingSettings",
    "Document",
    "Embedder",
    "EmbeddingSettings",
    "HashEmbedder",
    "IndexCorruptError",
    "IndexMismatchError",
    "IndexNotFoundError",
    "IndexSettings",
    "IndexStoreError",
    "IngestError",
    "IngestSummary",
    "LoadResult",
    "LoadedIndex",
    "LoaderError",
    "Manifest",
    "SearchIndex",
    "SentenceTransformerEmbedder",
    "UnsupportedFileError",
    "as_langchain_embeddings",
    "build_index",
    "configured_model_name",
    "default_model_path",
    "keyword_tokens",
    "load_embedder",
    "load_paths",
    "open_index",
    "read_manifest",
    "split_sentences",
]
