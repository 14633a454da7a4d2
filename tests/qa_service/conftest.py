"""Fixtures for the QA service tests: a small real index (hash embeddings) and a pipeline over it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import LoadedIndex, open_index
from qa_service.pipeline import QAPipeline
from qa_service.settings import Settings

try:  # tests/qa_service as a package, or as a plain folder that pytest puts on sys.path
    from tests.qa_service.mini_corpus import build_mini_index, make_embedder
except ModuleNotFoundError:
    from mini_corpus import build_mini_index, make_embedder  # type: ignore[no-redef]


@pytest.fixture(scope="session")
def mini_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The index of MINI_CORPUS, built once per session."""
    return build_mini_index(tmp_path_factory.mktemp("mini"))


@pytest.fixture(scope="session")
def mini_index(mini_index_dir: Path) -> LoadedIndex:
    """The loaded mini index (read-only: tests must not change it)."""
    return open_index(mini_index_dir)


@pytest.fixture(scope="session")
def mini_pipeline(mini_index: LoadedIndex, mini_index_dir: Path) -> QAPipeline:
    """A real QAPipeline over the mini index with default settings."""
    return QAPipeline(mini_index, make_embedder(), Settings(index_dir=mini_index_dir))
