"""In-process query latency: retrieval and full answers, ours against the naive pipeline."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.stats import LatencySummary, median_of_runs


def time_calls(call: Callable[[str], Any], questions: Sequence[str], *, warmup: int = 3) -> list[float]:
    """Milliseconds of `call(q)` for each question, after a few untimed warm-up calls."""
    for question in questions[:warmup]:
        call(question)
    samples = []
    for question in questions:
        started = time.perf_counter()
        call(question)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def compare_latency(
    calls: dict[str, Callable[[str], Any]],
    questions: Sequence[str],
    *,
    repeat: int,
    say: Callable[[str], None] = lambda _msg: None,
) -> dict[str, list[LatencySummary]]:
    """One latency summary per named call and repeat; the calls take turns within each repeat."""
    runs: dict[str, list[LatencySummary]] = {name: [] for name in calls}
    for r in range(repeat):
        for name, call in calls.items():
            runs[name].append(LatencySummary.of(time_calls(call, questions)))
            say(f"  {name} (run {r + 1}/{repeat}): median {runs[name][-1].median_ms:.1f} ms")
    return runs


def medians(summaries: Sequence[LatencySummary]) -> dict[str, float | None]:
    """Median over repeats of each latency statistic."""
    return median_of_runs([s.to_json() for s in summaries])
