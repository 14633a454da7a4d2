"""What a benchmark run measures and where: the one place its options and their defaults live."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_LEVELS = (1, 8, 32)


@dataclass
class BenchOptions:
    """What to run and where; the defaults are `guideline-qa bench` run from the repository root."""

    index_dir: Path = Path(".index")
    out_dir: Path = Path("reports/bench")
    corpus_paths: list[Path] = field(default_factory=lambda: [Path("corpus")])
    gold_path: Path = Path("eval/gold/bone_metastasis.jsonl")
    medquad_path: Path = Path("../shared/benchmarks/medquad_cancergov/corpus.jsonl")
    realdocs_path: Path = Path("../shared/realdocs")  # real guideline PDFs and pages: parse speed, re-ingest
    quick: bool = False
    skip_ingest: bool = False
    skip_http: bool = False
    skip_levers: bool = False
    repeat: int = 3
    ingest_repeat: int = 1
    lever_repeat: int = 1  # HTTP lever runs (each starts a server); in-process levers use `repeat`
    requests: int = 300
    levels: tuple[int, ...] = DEFAULT_LEVELS
    medquad_limit: int | None = None  # --quick: the first 100 records
    question_limit: int | None = None  # --quick: the first 40 gold questions

    @classmethod
    def quick_defaults(cls, **overrides: Any) -> BenchOptions:
        """Smaller inputs for a run of a minute or two: 100 MedQuAD records, 40 questions, 60 requests, 1 run."""
        base: dict[str, Any] = {"quick": True, "repeat": 1, "requests": 60, "medquad_limit": 100, "question_limit": 40}
        return cls(**{**base, **overrides})
