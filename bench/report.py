"""The benchmark table: one row per figure, ours beside naive with the ratio, as text and JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.stats import advantage


@dataclass(frozen=True)
class Row:
    """One figure of the benchmark: ours, the naive pipeline's (if compared) and which way is better."""

    section: str
    metric: str
    unit: str
    ours: float | None
    naive: float | None = None
    higher_is_better: bool = False
    note: str = ""
    compared: bool = True  # False for counts (chunks, errors) where a ratio means nothing

    @property
    def ratio(self) -> float | None:
        """Times better than naive (>1: ours is better); None without a naive figure."""
        if not self.compared:
            return None
        return advantage(self.ours, self.naive, higher_is_better=self.higher_is_better)

    def to_json(self) -> dict[str, Any]:
        """The row with its ratio, for the JSON report."""
        return {
            "section": self.section,
            "metric": self.metric,
            "unit": self.unit,
            "ours": _round(self.ours),
            "naive": _round(self.naive),
            "ratio": _round(self.ratio),
            "higher_is_better": self.higher_is_better,
            "note": self.note,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def format_number(value: float | None) -> str:
    """Three significant figures or so; a dash for a missing value."""
    if value is None:
        return "-"
    magnitude = abs(value)
    if float(value).is_integer() and magnitude < 1e6:
        return f"{int(value):,}"
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude == 0 or magnitude >= 0.01:
        return f"{value:.2f}"
    return f"{value:.1e}"


def format_ratio(ratio: float | None) -> str:
    """`2.3x` (ours better) or `0.8x` (naive better); empty when there is nothing to compare."""
    return "" if ratio is None else f"{ratio:.2f}x"


OURS_VS_NAIVE = ("ours", "naive", "ours vs naive")
LEVER_COLUMNS = ("lever on", "baseline", "gain")
RATIO_LEGEND = "ours vs naive: how many times better ours is (>1x: ours is better; for latency and memory naive/ours)."
LEVER_LEGEND = "gain: how many times better with the lever than the baseline (>1x: the lever helps)."


def render_table(
    rows: Sequence[Row], *, columns: tuple[str, str, str] = OURS_VS_NAIVE, legend: str = RATIO_LEGEND
) -> str:
    """An aligned plain-text table, sections separated by a blank line and a heading."""
    header = ("metric", "unit", *columns)
    body: list[tuple[str, ...] | str] = []
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            body.append(f"[{section}]")
        cells = (row.metric, row.unit, format_number(row.ours), format_number(row.naive), format_ratio(row.ratio))
        body.append(cells + ((row.note,) if row.note else ()))
    widths = [len(h) for h in header]
    for line in body:
        if isinstance(line, tuple):
            widths = [max(w, len(c)) for w, c in zip(widths, line[:5], strict=True)]

    def fmt(cells: tuple[str, ...]) -> str:
        left = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1])]
        right = [c.rjust(w) for c, w in zip(cells[2:5], widths[2:], strict=True)]
        text = "  ".join(left + right)
        return f"{text}  {cells[5]}" if len(cells) > 5 else text.rstrip()

    lines = [fmt(header), "-" * (sum(widths) + 2 * (len(widths) - 1))]
    for line in body:
        if isinstance(line, str):
            lines.extend(([""] if len(lines) > 2 else []) + [line])
        else:
            lines.append(fmt(line))
    lines.extend(["", legend])
    return "\n".join(lines)


def write_report(out_dir: Path, report: dict[str, Any], table: str, *, stem: str = "bench") -> tuple[Path, Path]:
    """Write `<stem>.json` and `<stem>.txt` into `out_dir`; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{stem}.json"
    text_path = out_dir / f"{stem}.txt"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    text_path.write_text(table + "\n", encoding="utf-8")
    return json_path, text_path
