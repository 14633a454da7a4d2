"""The one slow test: a benchmark index built with the real model, cached, and scored by the real pipeline."""

from __future__ import annotations

import pytest

from eval.gold import load_benchmark
from eval.runner import benchmark_index, evaluate_all
from eval.targets import pipeline_targets
from ingest import EmbeddingSettings
from qa_service.settings import Settings


@pytest.mark.slow
def test_benchmark_index_is_cached_and_scored_by_the_real_pipeline(benchmark_files, tmp_path):
    corpus, questions = benchmark_files
    cache = tmp_path / "cache"
    # torch throughout: the ONNX encoders have their own tests, and must not be exported into the repo
    retrieval_only = EmbeddingSettings(sentence_vectors="none", precision="fp32", query_backend="torch")
    index_dir, embedding = benchmark_index(corpus, cache_dir=cache, embedding=retrieval_only)
    stamp = (index_dir / "CURRENT").stat().st_mtime_ns
    assert benchmark_index(corpus, cache_dir=cache, embedding=retrieval_only) == (index_dir, embedding)
    assert (index_dir / "CURRENT").stat().st_mtime_ns == stamp  # reused, not rebuilt

    settings = Settings(index_dir=index_dir, embedding=embedding)
    runs = evaluate_all(pipeline_targets(settings, ["hybrid", "keyword"]), load_benchmark(questions, corpus))
    for run in runs:
        assert run.metrics["doc_recall@1"] == 1.0, run.name  # three short documents, unambiguous questions
        assert run.metrics["doc_lenient_recall@1"] == 1.0
        assert run.metrics["citation_validity"] in (1.0, None)
        assert run.config["index"]["sentence_vectors"] == "none"
