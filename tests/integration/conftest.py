"""Fixtures shared with the unit tests' folders, for the slow tests here."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.evaluation import write_tiny_benchmark
from tests.qa_service.conftest import mini_index, mini_index_dir, mini_pipeline

__all__ = ["benchmark_files", "mini_index", "mini_index_dir", "mini_pipeline"]


@pytest.fixture
def benchmark_files(tmp_path: Path) -> tuple[Path, Path]:
    """A tiny benchmark in the shared schema: (corpus.jsonl, questions.jsonl)."""
    return write_tiny_benchmark(tmp_path / "tinybench")
