"""Fixtures for the evaluation harness tests: a tiny corpus, gold set and benchmark on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.evaluation import CORPUS_FILES, GOLD, PASSAGES, OverlapPipeline, write_tiny_benchmark


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """The tiny Markdown corpus the gold set's rec_ids live in."""
    root = tmp_path / "corpus"
    texts = {c: t for c, _, _, t in PASSAGES}
    for name, template in CORPUS_FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**texts), encoding="utf-8")
    return root


@pytest.fixture
def gold_file(tmp_path: Path) -> Path:
    """The tiny gold set as JSONL."""
    path = tmp_path / "tiny_gold.jsonl"
    path.write_text("".join(json.dumps(g) + "\n" for g in GOLD), encoding="utf-8")
    return path


@pytest.fixture
def benchmark_files(tmp_path: Path) -> tuple[Path, Path]:
    """A tiny benchmark in the shared schema: (corpus.jsonl, questions.jsonl)."""
    return write_tiny_benchmark(tmp_path / "tinybench")


@pytest.fixture
def fake_targets(monkeypatch):
    """`pipeline_targets` returning fake pipelines, one per mode."""
    import eval.targets

    monkeypatch.setattr(
        eval.targets,
        "pipeline_targets",
        lambda settings, modes: [eval.targets.PipelineTarget(OverlapPipeline(m), m) for m in modes],
    )
