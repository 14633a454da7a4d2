"""Columns and reading order.

- Columns: a gutter is an empty vertical strip between text lines. Candidate gutters found page
  by page are kept when the same strip recurs across the document (a layout template; a table's
  cell gaps do not recur), then confirmed on each page by text lines on both sides.
- Reading order: the page is cut into bands at lines that cross the gutter (titles, wide tables),
  at short lines with blank space beside them in the other columns (a heading across columns),
  and at drawn rules that cross the gutter (box borders); a band of running text is read column
  by column, a band of short cells (a wide table) row by row.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

from ingest.pdf.lines import Line, Segment
from ingest.pdf.reader import RawPage, Rule


def gutter_candidates(rows: list[list[Segment]], body: float) -> list[tuple[float, float]]:
    """Empty vertical strips with text lines on both sides, on one page.

    A strip may be crossed by a few lines (a title, a reference list below the columns): what
    counts is that many more lines end just left of it and start just right of it.
    """
    segs = [s for row in rows for s in row if len(s.text) >= 2]
    if len(segs) < 10:
        return []
    left = int(min(s.x0 for s in segs))
    right = int(max(s.x1 for s in segs)) + 1
    width = right - left
    delta = [0] * (width + 2)
    for s in segs:
        delta[int(s.x0) - left] += 1
        delta[int(s.x1) - left + 1] -= 1
    allowed = max(1, len(segs) // 3)
    out: list[tuple[float, float]] = []
    count = 0
    run_start: int | None = None
    for x in range(width + 1):
        count += delta[x]
        if count <= allowed and x > 0.15 * width and x < 0.85 * width:
            if run_start is None:
                run_start = x
            continue
        if run_start is not None and x - run_start >= 0.8 * body:
            lo, hi = left + run_start, left + x
            crossing = sum(1 for s in segs if s.x0 < lo and s.x1 > hi)
            on_left = sum(1 for s in segs if s.x1 <= hi and s.x1 - s.x0 > 0.3 * (lo - left))
            on_right = sum(1 for s in segs if s.x0 >= lo and s.x0 <= hi + 2 * body and s.x1 - s.x0 > 0.3 * (right - hi))
            if on_left >= 5 and on_right >= 5 and crossing < on_left + on_right:
                out.append((lo, hi))
        run_start = None
    return out


def document_gutters(per_page: list[list[tuple[float, float]]], pages_with_text: int) -> list[float]:
    """Gutter positions shared by many pages: the document's column layout."""
    centers = sorted((lo + hi) / 2 for page in per_page for lo, hi in page)
    clusters: list[list[float]] = []
    for c in centers:
        if clusters and c - clusters[-1][-1] <= 15:
            clusters[-1].append(c)
        else:
            clusters.append([c])
    need = max(2, round(0.2 * pages_with_text)) if pages_with_text > 3 else 1
    return [sum(c) / len(c) for c in clusters if len(c) >= need]


def _page_gutters(rows: list[list[Segment]], gutters: list[float], body: float) -> list[tuple[float, float]]:
    """The document's gutters that this page's text actually leaves empty (with lines beside them)."""
    segs = [s for row in rows for s in row if len(s.text) >= 2]
    if not segs:
        return []
    left, right = min(s.x0 for s in segs), max(s.x1 for s in segs)
    out = []
    for g in gutters:
        lo = max((s.x1 for s in segs if s.x1 <= g + 2), default=left)
        hi = min((s.x0 for s in segs if s.x0 >= g - 2), default=right)
        if hi - lo < 0.5 * body:
            continue
        beside_left = sum(
            1 for s in segs if lo - s.x1 < 2 * body and s.x1 <= lo + 0.5 and s.x1 - s.x0 > 0.4 * (lo - left)
        )
        beside_right = sum(
            1 for s in segs if s.x0 - hi < 2 * body and s.x0 >= hi - 0.5 and s.x1 - s.x0 > 0.4 * (right - hi)
        )
        if beside_left >= 3 and beside_right >= 3:
            out.append((lo, hi))
    return out


def reading_order(
    page: RawPage, rows: list[list[Segment]], gutters: list[float], body: float, band_start: int
) -> tuple[list[Line], int]:
    """The page's lines in reading order (see the module docstring); returns the next band number."""
    page_gutters = _page_gutters(rows, gutters, body)
    segs = [s for row in rows for s in row]
    if not segs:
        return [], band_start
    left, right = min(s.x0 for s in segs), max(s.x1 for s in segs)
    if not page_gutters:
        single = [Line(page.number, row, (left, right), band_start, 0) for row in rows]
        _mark_ruled(single, page.rules)
        return single, band_start + 1
    bounds = [left] + [x for lo, hi in page_gutters for x in (lo, hi)] + [right]
    columns = [(bounds[2 * k], bounds[2 * k + 1]) for k in range(len(page_gutters) + 1)]
    placed = [[_column_of(seg, columns) for seg in row] for row in rows]
    cuts = sorted(r.y for r in page.rules if any(r.x0 < lo - 2 and r.x1 > hi + 2 for lo, hi in page_gutters))
    lines: list[Line] = []
    band = band_start
    pending: list[tuple[list[Segment], list[int | None]]] = []

    def flush() -> None:
        nonlocal band
        if not pending:
            return
        per_col: list[list[list[Segment]]] = [[] for _ in columns]
        for row, where in pending:
            by_col: dict[int, list[Segment]] = defaultdict(list)
            for seg, k in zip(row, where, strict=True):
                by_col[k or 0].append(seg)
            for k, segs_k in by_col.items():
                per_col[k].append(segs_k)
        if _is_running_text(per_col, columns):
            for k, col_rows in enumerate(per_col):
                lines.extend(Line(page.number, row, columns[k], band, k) for row in col_rows)
                band += 1
        else:
            lines.extend(Line(page.number, row, (left, right), band, -1) for row, _ in pending)
            band += 1
        pending.clear()

    cut_index = 0
    wide_open = False  # consecutive lines across the columns share one band
    for i, row in enumerate(rows):
        top = min(s.top for s in row)
        while cut_index < len(cuts) and cuts[cut_index] < top:
            flush()
            if wide_open:
                band += 1
                wide_open = False
            cut_index += 1
        if None in placed[i] or _spans_columns(i, rows, placed, len(columns)):
            flush()
            lines.append(Line(page.number, row, (left, right), band, -1))
            wide_open = True
        else:
            if wide_open:
                band += 1
                wide_open = False
            pending.append((row, placed[i]))
    flush()
    if wide_open:
        band += 1
    _mark_ruled(lines, page.rules)
    return lines, band


def _mark_ruled(lines: list[Line], rules: list[Rule]) -> None:
    """Flag lines with a drawn rule across most of their column between them and the line above."""
    for prev, line in itertools.pairwise(lines):
        if prev.band != line.band:
            continue
        lo, hi = line.region
        top = min(s.top for s in line.segments)
        for rule in rules:
            if prev.baseline < rule.y < top and min(rule.x1, hi) - max(rule.x0, lo) >= 0.6 * (hi - lo):
                line.ruled = True
                break


def _column_of(seg: Segment, columns: list[tuple[float, float]]) -> int | None:
    for k, (lo, hi) in enumerate(columns):
        if seg.x0 >= lo - 2 and seg.x1 <= hi + 2:
            return k
    return None


def _spans_columns(i: int, rows: list[list[Segment]], placed: list[list[int | None]], n_columns: int) -> bool:
    """A line in one column beside blank space in every other column that has text above and below it:
    a heading or caption that belongs across the columns although it is short."""
    own = set(placed[i])
    if len(own) != 1:
        return False
    row = rows[i]
    margin = 0.8 * max(s.size for s in row)
    top, bottom = min(s.top for s in row), max(s.bottom for s in row)
    for k in range(n_columns):
        if k in own:
            continue
        above = below = False
        for other, where in zip(rows, placed, strict=True):
            for seg, col in zip(other, where, strict=True):
                if col != k:
                    continue
                if seg.bottom > top - margin and seg.top < bottom + margin:
                    return False
                above = above or seg.bottom <= top
                below = below or seg.top >= bottom
        if not (above and below):
            return False
    return True


def _is_running_text(per_col: list[list[list[Segment]]], columns: list[tuple[float, float]]) -> bool:
    """Whether a band's columns hold running text (long lines) rather than table cells."""
    filled = [k for k, rows in enumerate(per_col) if rows]
    if len(filled) < 2:
        return True
    long_rows = 0
    total = 0
    for k in filled:
        lo, hi = columns[k]
        for row in per_col[k]:
            total += 1
            if row[-1].x1 - row[0].x0 >= 0.6 * (hi - lo):
                long_rows += 1
    return long_rows >= 0.5 * total
