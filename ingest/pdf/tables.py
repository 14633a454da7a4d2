"""Tables: runs of lines cut into cells at aligned x-positions, grouped into rows.

A table starts at a line of two or more segments whose next lines line up with it; it ends at a
line that crosses its column boundaries (running text again), except a short spanning line that
more rows follow (a group label such as "African Region"). Columns are the gaps left empty by
every multi-cell line; each word goes to the column it starts in, so cells the line builder
merged are split again. Rows come from drawn rules when the table rules most rows off, else
each line that has text in the first column opens a row and the other lines add to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.pdf.lines import Line, Segment, segment_of
from ingest.pdf.reader import Rule, Span


@dataclass
class TableRow:
    """One table row: the page it starts on and each cell's lines of text."""

    page: int
    cells: list[list[str]]


def table_end(lines: list[Line], start: int, is_marked: bool) -> int | None:
    """Index after the last line of a table starting at `start`, or None when no table starts there."""
    first = lines[start]
    if len(first.segments) < 2 or is_marked:
        return None
    em = first.size
    anchors = _cluster([s.x0 for s in first.segments], em)
    end = start + 1
    multi = 1
    while end < len(lines):
        line, prev = lines[end], lines[end - 1]
        if line.page != first.page or line.band != first.band:
            break
        if line.baseline - prev.baseline > 3.0 * max(em, line.size):
            break
        if len(line.segments) >= 2:
            fitting = sum(1 for s in line.segments if any(abs(s.x0 - a) < 1.2 * em for a in anchors))
            if fitting < len(line.segments) - 1 and multi >= 2:
                break
            anchors = _cluster([*anchors, *(s.x0 for s in line.segments)], em)
            multi += 1
        elif not _cell_line(line.segments[0], anchors, em) and not _spanning_row(lines, end, anchors, em):
            break
        end += 1
    while end - 1 > start and len(lines[end - 1].segments) < 2 and abs(lines[end - 1].x0 - anchors[0]) < em:
        end -= 1  # a one-cell line at the first column after the last row is text after the table
    if multi < 2 or end - start < 3 or len(anchors) < 2:
        return None
    return end


def _cell_line(seg: Segment, anchors: list[float], em: float) -> bool:
    """A one-segment line that stays inside one column: more text of a cell above it."""
    later = [a for a in anchors if a > seg.x0 + em]
    if later and seg.x1 > later[0] - 0.3 * em:
        return False
    return any(abs(seg.x0 - a) < em for a in anchors)


def _spanning_row(lines: list[Line], i: int, anchors: list[float], em: float) -> bool:
    """A short line across columns that table rows follow: a group label inside the table."""
    line = lines[i]
    if i + 1 >= len(lines) or abs(line.x0 - anchors[0]) > em or len(line.text) > 80:
        return False
    nxt = lines[i + 1]
    return nxt.page == line.page and len(nxt.segments) >= 2 and _fits(nxt.segments, anchors, em)


def _fits(segments: list[Segment], anchors: list[float], em: float) -> bool:
    return all(any(abs(s.x0 - a) < 1.2 * em for a in anchors) for s in segments)


def _cluster(xs: list[float], em: float) -> list[float]:
    out: list[list[float]] = []
    for x in sorted(xs):
        if out and x - out[-1][-1] < em:
            out[-1].append(x)
        else:
            out.append([x])
    return [min(c) for c in out]


def column_edges(lines: list[Line]) -> list[float]:
    """Column separators: x-ranges that (almost) no multi-cell line covers."""
    em = min(ln.size for ln in lines)
    multi = [ln for ln in lines if len(ln.segments) >= 2]
    left = int(min(ln.x0 for ln in multi))
    right = int(max(ln.x1 for ln in multi)) + 1
    cover = [0] * (right - left + 1)
    for ln in multi:
        for s in ln.segments:
            for x in range(int(s.x0) - left, int(s.x1) - left + 1):
                cover[x] += 1
    allowed = int(0.15 * len(multi))
    edges: list[float] = []
    run_start: int | None = None
    for x, count in enumerate(cover):
        if count <= allowed:
            if run_start is None:
                run_start = x
        elif run_start is not None:
            if x - run_start >= 0.4 * em and run_start > 0:
                edges.append(left + (run_start + x) / 2)
            run_start = None
    return edges


def table_rows(lines: list[Line], edges: list[float], rules: list[Rule]) -> list[TableRow]:
    """Cells of every row (see the module docstring)."""
    per_line = [_cells(line, edges) for line in lines]
    by_rules = _rows_by_rules(lines, rules)
    by_first: list[list[int]] = []
    for i, line_cells in enumerate(per_line):
        if not by_first or line_cells[0] or sum(1 for c in line_cells if c) > len(line_cells) // 2:
            by_first.append([i])
        else:
            by_first[-1].append(i)
    # Rules decide when they part most rows, not just the header and the body (booktabs style).
    groups = by_rules if len(by_rules) >= max(3, 0.5 * len(by_first)) else by_first
    rows = []
    for group in groups:
        row_cells: list[list[str]] = [[] for _ in range(len(edges) + 1)]
        for i in group:
            for k, text in enumerate(per_line[i]):
                if text:
                    row_cells[k].append(text)
        rows.append(TableRow(lines[group[0]].page, row_cells))
    return rows


def _cells(line: Line, edges: list[float]) -> list[str]:
    columns: list[list[Span]] = [[] for _ in range(len(edges) + 1)]
    for seg in line.segments:
        for span in seg.spans:
            columns[sum(1 for e in edges if e < span.x0 + 0.1)].append(span)
    return [segment_of(spans).text if spans else "" for spans in columns]


def _rows_by_rules(lines: list[Line], rules: list[Rule]) -> list[list[int]]:
    """Rows between drawn horizontal rules that cross most of the table."""
    left, right = min(ln.x0 for ln in lines), max(ln.x1 for ln in lines)
    top, bottom = lines[0].baseline - lines[0].size, lines[-1].baseline + 0.3 * lines[-1].size
    covered: dict[int, float] = {}
    for r in rules:
        if top < r.y < bottom:
            key = round(r.y)
            covered[key] = covered.get(key, 0.0) + max(0.0, min(r.x1, right) - max(r.x0, left))
    cuts = sorted(y for y, length in covered.items() if length >= 0.5 * (right - left))
    groups: list[list[int]] = []
    previous = -1
    for i, line in enumerate(lines):
        slot = sum(1 for c in cuts if c < line.baseline - 0.6 * line.size)
        if groups and slot == previous:
            groups[-1].append(i)
        else:
            groups.append([i])
        previous = slot
    return groups
