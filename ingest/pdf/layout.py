"""Page geometry: spans -> lines -> segments, running headers and footers, columns and reading order.

- Spans on one baseline form a page line; small raised or lowered spans beside a line (citation
  marks, footnote signs) join it as superscripts. A page line is cut into segments wherever the
  gap between spans is wide: a column gutter or a table cell boundary.
- Running headers, footers, page numbers and watermarks are segments near the top or bottom of
  the page whose text, digits masked, comes back at about the same height on many pages.
- Columns: a gutter is an empty vertical strip between text lines. Candidate gutters found page
  by page are kept when the same strip recurs across the document (a layout template; a table's
  cell gaps do not recur), then confirmed on each page by text lines on both sides.
- Reading order: the page is cut into bands at lines that cross the gutter (titles, wide tables)
  and at drawn rules that cross it (box borders); a band of running text is read column by
  column, a band of short cells (a wide table) row by row.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from ingest.pdf.reader import RawPage, Rule, Span, needs_space

# Spans further apart than this (ems) on one line belong to different segments (columns, cells).
SEGMENT_GAP_EM = 1.0
# Share of the pages a running header or footer must appear on (and at least 3 pages).
REPEAT_SHARE = 0.2
# How far from the top or bottom edge (share of the page height) headers and footers may sit.
EDGE_ZONE = 0.15
_CITATION_MARK = re.compile(r"^[\d,\-–—\s]+$|^[*†‡§¶#]+$")
_PAGE_NUMBER = re.compile(
    r"^(?:page\s+)?(\d{1,4}|(?=[ivx])x{0,3}(?:ix|iv|v?i{0,3}))"
    r"(?:\s*(?:of|/)\s*\d{1,4})?$|^[-–—]\s*(\d{1,4})\s*[-–—]$",
    re.IGNORECASE,
)


@dataclass
class Segment:
    """Spans on one baseline without a wide gap: a line of a column, or one table cell's line."""

    spans: list[Span]
    text: str
    x0: float
    x1: float
    baseline: float
    size: float
    bold: bool
    italic: bool

    @property
    def top(self) -> float:
        return self.baseline - 0.8 * self.size

    @property
    def bottom(self) -> float:
        return self.baseline + 0.25 * self.size


@dataclass
class Line:
    """One line in reading order: its segments (several when it is a table row), where it sits."""

    page: int
    segments: list[Segment]
    region: tuple[float, float]  # left and right edge of the column (or page text) it belongs to
    band: int  # lines of different bands or columns never join into one paragraph
    column: int
    ruled: bool = False  # a drawn rule separates it from the line above in its column (a box edge)

    # The segments never change once the line is made: what is derived from them is kept.
    @cached_property
    def text(self) -> str:
        return " ".join(s.text for s in self.segments)

    @property
    def x0(self) -> float:
        return self.segments[0].x0

    @property
    def x1(self) -> float:
        return self.segments[-1].x1

    @cached_property
    def baseline(self) -> float:
        return max(s.baseline for s in self.segments)

    @cached_property
    def size(self) -> float:
        return max(self.segments, key=lambda s: len(s.text)).size

    @cached_property
    def bold(self) -> bool:
        return all(s.bold for s in self.segments)

    @cached_property
    def italic(self) -> bool:
        return all(s.italic for s in self.segments)


@dataclass
class PageLayout:
    """A page after layout analysis."""

    number: int
    width: float
    height: float
    lines: list[Line]
    removed: list[Segment] = field(default_factory=list)  # headers, footers, page numbers
    printed_number: str | None = None  # a page number found in the header or footer


# --- lines and segments -------------------------------------------------------------------------


def page_segments(page: RawPage) -> list[list[Segment]]:
    """The page's lines top to bottom, each as its segments left to right."""
    rows = _baseline_rows(page.spans)
    return [_segments(row) for row in rows]


def _baseline_rows(spans: list[Span]) -> list[list[Span]]:
    """Cluster spans by baseline, small raised/lowered spans (and off-centre bullets) with their host."""
    line_of = {id(s): s.baseline for s in spans}
    by_baseline = sorted(spans, key=lambda s: s.baseline)
    baselines = [s.baseline for s in by_baseline]
    for span in spans:
        host = _host_span(span, by_baseline, baselines)
        if host is not None:
            line_of[id(span)] = host.baseline
    rows: list[list[Span]] = []
    row_at = 0.0
    for span in sorted(spans, key=lambda s: line_of[id(s)]):
        at = line_of[id(span)]
        if rows and abs(at - row_at) <= 0.2 * max(span.size, rows[-1][0].size):
            rows[-1].append(span)
        else:
            rows.append([span])
            row_at = at
    return [sorted(row, key=lambda s: s.x0) for row in rows]


def _host_span(span: Span, by_baseline: list[Span], baselines: list[float]) -> Span | None:
    """The bigger span a small one sits beside: a citation mark after a word, a bullet before text."""
    reach = 0.55 * span.size / 0.85
    lo = bisect_left(baselines, span.baseline - reach)
    hi = bisect_right(baselines, span.baseline + reach)
    # A raised mark follows its word; a lone small glyph before text is a bullet set off-centre.
    lead = 1.2 if len(span.text) == 1 else 0.2
    for other in by_baseline[lo:hi]:
        big = other.size
        if span.size > 0.85 * big or abs(other.baseline - span.baseline) > 0.55 * big:
            continue
        if abs(other.baseline - span.baseline) < 0.05 * big:
            continue  # same baseline: it already shares the row
        after = -0.3 * big < span.x0 - other.x1 < 0.4 * big
        before = -0.3 * big < other.x0 - span.x1 < lead * big
        if after or before:
            return other
    return None


def _segments(row: list[Span]) -> list[Segment]:
    main = max(s.size for s in row)
    groups: list[list[Span]] = [[row[0]]]
    for span in row[1:]:
        prev = groups[-1][-1]
        if span.x0 - prev.x1 > SEGMENT_GAP_EM * max(main * 0.8, min(span.size, prev.size)):
            groups.append([span])
        else:
            groups[-1].append(span)
    return [segment_of(g) for g in groups]


def segment_of(spans: list[Span]) -> Segment:
    """A segment of these spans (left to right): its text with spaces from the gaps, its style."""
    weights: Counter[float] = Counter()
    for s in spans:
        weights[s.size] += len(s.text.strip())
    main_size = weights.most_common(1)[0][0]
    normal = [s for s in spans if s.size >= 0.85 * main_size]
    baseline = Counter(round(s.baseline, 1) for s in normal if s.size == main_size).most_common(1)[0][0]
    letters = [s for s in normal if any(c.isalnum() for c in s.text)] or normal
    bold = all(s.bold for s in letters)
    italic = all(s.italic for s in letters)
    parts: list[str] = []
    prev: Span | None = None
    dropped_at: float | None = None  # right edge of a citation mark just left out
    for s in spans:
        text = s.text
        small = s.size < 0.85 * main_size and abs(s.baseline - baseline) > 0.1 * main_size
        if small and _CITATION_MARK.match(text.strip()):
            if prev is not None and parts and parts[-1][-1:].isdigit() and s.baseline < baseline:
                parts.append("^" + text.strip())
            else:
                dropped_at = s.x1
            continue  # a citation or footnote mark: not part of the sentence
        if prev is not None:
            gap = s.x0 - (prev.x1 if dropped_at is None else dropped_at)
            dropped_at = None
            em = min(s.size, prev.size)
            if needs_space(gap, em, s.space_before) or (max(s.size, prev.size) > 1.3 * em and gap > 0.05 * em):
                parts.append(" ")
        parts.append(text)
        prev = s
    text = "".join(parts).strip()
    return Segment(spans, text, spans[0].x0, max(s.x1 for s in spans), baseline, main_size, bold, italic)


# --- running headers and footers ----------------------------------------------------------------


def _mask(text: str) -> str:
    """Text with digits (and a lone page number, roman or not) masked: page-varying parts made equal."""
    if _PAGE_NUMBER.match(text.strip()):
        return "#"
    return re.sub(r"\s+", "", re.sub(r"\d+", "#", text.lower()))


def _margin_rows(rows: list[list[Segment]], height: float) -> set[int]:
    """Indexes of the rows in the top and bottom margins: near the edge and set apart from the body.

    At most three rows from each edge, ending where a blank line separates them from the text below
    (or above): the first body line at the top of a page is not a header, however close to the edge.
    """
    out: set[int] = set()
    bounds = [(min(s.top for s in row), max(s.bottom for s in row), max(s.size for s in row)) for row in rows]
    for order in (range(len(rows)), range(len(rows) - 1, -1, -1)):
        run = []
        for k in list(order)[:3]:
            top, bottom, size = bounds[k]
            if not (bottom < EDGE_ZONE * height or top > (1 - EDGE_ZONE) * height):
                break
            run.append(k)
            step = 1 if order.step == 1 else -1
            nxt = k + step
            if not 0 <= nxt < len(rows):
                out.update(run)
                break
            gap = bounds[nxt][0] - bottom if step == 1 else top - bounds[nxt][1]
            if gap >= 0.7 * size:
                out.update(run)
                break
    return out


def _running_lead(text: str) -> str | None:
    """The first two words of a short line, digits masked, when they hold a word: "chapter # ~"."""
    words = text.lower().split()
    if len(words) < 3 or len(words) > 12:
        return None
    lead = " ".join(re.sub(r"\d+", "#", w) for w in words[:2])
    return "~" + lead if re.search(r"[a-z]{3}", lead) and "#" in lead else None


def find_repeated(pages: list[tuple[RawPage, list[list[Segment]]]]) -> set[tuple[int, int]]:
    """(page index, id of segment) of headers, footers and watermarks: text repeated at one height.

    Near the top and bottom edges digits are masked ("Page 3", "Page 4"); elsewhere only the same
    text at the same height on half the pages counts (a notice printed on every page).
    """
    with_text = [i for i, (_, rows) in enumerate(pages) if rows]
    need = max(2 if len(with_text) <= 6 else 3, round(REPEAT_SHARE * len(with_text)))
    seen: dict[tuple[str, int], set[int]] = defaultdict(set)
    candidates: list[tuple[int, Segment, tuple[str, int], bool]] = []
    for i, (page, rows) in enumerate(pages):
        margins = _margin_rows(rows, page.height)
        for k, row in enumerate(rows):
            for seg in row:
                in_edge = k in margins
                text = _mask(seg.text) if in_edge else "=" + re.sub(r"\s+", " ", seg.text.strip().lower())
                key = (text, round(seg.baseline / 6))
                candidates.append((i, seg, key, in_edge))
                seen[key].add(i)
                # A running header naming the chapter changes with it: "Chapter 3: Methods".
                lead = _running_lead(seg.text) if in_edge else None
                if lead:
                    lead_key = (lead, key[1])
                    candidates.append((i, seg, lead_key, in_edge))
                    seen[lead_key].add(i)
    # Heights drift by a point or two between pages: count a key with its neighbouring bucket.
    removed: set[tuple[int, int]] = set()
    for i, seg, key, in_edge in candidates:
        if key[0] in ("", "="):
            continue
        pages_with = seen[key] | seen.get((key[0], key[1] - 1), set()) | seen.get((key[0], key[1] + 1), set())
        everywhere = len(pages_with) >= max(need, len(with_text) // 2) and len(with_text) >= 4
        if (in_edge and len(pages_with) >= need) or everywhere:
            removed.add((i, id(seg)))
    return removed


def printed_number(segments: Iterable[Segment]) -> str | None:
    """The page number printed in the removed header/footer segments, if one is there.

    A segment that is only a number ("12", "iv", "Page 3 of 20") wins over a number ending or
    starting a running header ("... Vol. 71 / No. 3   31").
    """
    segments = list(segments)
    for seg in segments:
        m = _PAGE_NUMBER.match(seg.text.strip())
        if m:
            return (m.group(1) or m.group(2)).lower()
    for seg in segments:
        m = re.search(r"\bpage\s+(\d{1,4})(?:\s*(?:of|/)\s*\d{1,4})?\b", seg.text, re.IGNORECASE)
        if m:
            return m.group(1)
    for seg in segments:
        m = re.search(r"(?:^|\s)(\d{1,4})$|^(\d{1,4})\s", seg.text.strip())
        if m:
            return m.group(1) or m.group(2)
    return None


# --- columns ------------------------------------------------------------------------------------


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
