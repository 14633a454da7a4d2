"""Fixtures for the evaluation harness tests: a tiny corpus, gold set and benchmark on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_fakes import CORPUS_FILES, GOLD, PASSAGES


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
    folder = tmp_path / "tinybench"
    folder.mkdir()
    corpus = folder / "corpus.jsonl"
    corpus.write_text(
        "".join(json.dumps({"doc_id": d, "title": d, "text": t, "source": "x"}) + "\n" for _, d, _, t in PASSAGES[::2]),
        encoding="utf-8",
    )
    questions = [
        {
            "qid": "b1",
            "question": "how much Gy for pain bone metastases",
            "gold_doc_ids": ["bm/rt"],
            "answers": ["8 Gy"],
            "answerable": True,
            "meta": {"lenient_gold_doc_ids": ["bm/rt", "bm/dx"], "qtype": "treatment"},
        },
        {
            "qid": "b2",
            "question": "urgent MRI spine compression",
            "gold_doc_ids": ["mscc"],
            "answers": ["urgent MRI of the whole spine"],
            "answerable": True,
            "meta": {"lenient_gold_doc_ids": ["mscc"], "qtype": "exams and tests"},
        },
    ]
    qpath = folder / "questions.jsonl"
    qpath.write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    return corpus, qpath
