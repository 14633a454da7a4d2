"""Percentiles, latency summaries, medians over repeats and ours-vs-naive ratios."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    """The middle value (the mean of the two middle ones for an even count)."""
    return percentile(values, 50)


@dataclass(frozen=True)
class LatencySummary:
    """Latency of a batch of calls, in milliseconds."""

    n: int
    median_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float

    @classmethod
    def of(cls, samples_ms: Sequence[float]) -> LatencySummary:
        """Summarise raw samples."""
        return cls(
            n=len(samples_ms),
            median_ms=median(samples_ms),
            p95_ms=percentile(samples_ms, 95),
            p99_ms=percentile(samples_ms, 99),
            mean_ms=sum(samples_ms) / len(samples_ms),
        )

    def to_json(self) -> dict[str, Any]:
        """Rounded for the report."""
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def median_of_runs(runs: Sequence[Mapping[str, float | int | None]]) -> dict[str, float | None]:
    """Per key, the median over repeated runs (keys missing or None in a run are skipped)."""
    keys = list(dict.fromkeys(k for run in runs for k in run))
    out: dict[str, float | None] = {}
    for key in keys:
        values = [float(v) for run in runs if (v := run.get(key)) is not None]
        out[key] = median(values) if values else None
    return out


def advantage(ours: float | None, naive: float | None, *, higher_is_better: bool) -> float | None:
    """How many times better ours is than naive (>1: ours better), or None when undefined."""
    if ours is None or naive is None or ours <= 0 or naive <= 0:
        return None
    return ours / naive if higher_is_better else naive / ours
