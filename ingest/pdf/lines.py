"""Spans -> page lines -> segments, the units the rest of the layout analysis works with.

Spans on one baseline form a page line; small raised or lowered spans beside a bigger one
(citation marks, footnote signs, bullets set off-centre) join its line. A page line is cut into
segments wherever the gap between spans is wide: a column gutter or a table cell boundary. A
segment's text gets its spaces from the glyph gaps; citation marks are left out of it.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from ingest.pdf.reader import RawPage, Span, needs_space

# Spans further apart than this (ems) on one line belong to different segments (columns, cells).
SEGMENT_GAP_EM = 1.0
_CITATION_MARK = re.compile(r"^[\d,\-–—\s]+$|^[*†‡§¶#]+$")
# Words a sentence cannot pause on for a citation: a raised number list after one ("aged 15 to ¹⁹'³⁵'⁴⁷ further",
# the typesetter having raised the range's end with its reference numbers) opens with a number of the text.
_NO_MARK_AFTER = frozenset(
    "to of and or than from between aged at the a an was were is are about approximately".split()
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
            after_number = parts and parts[-1][-1:].isdigit() and not re.search(r"\b(?:19|20)\d\d$", parts[-1])
            opening = re.match(r"\d+", text.strip())
            if prev is not None and after_number and s.baseline < baseline:
                parts.append("^" + text.strip())
            else:
                if prev is not None and opening and _last_word(parts) in _NO_MARK_AFTER:
                    parts.append(" " + opening.group())  # the text's number; the rest are its reference numbers
                dropped_at = s.x1
            continue  # a citation or footnote mark: not part of the sentence
        if prev is not None:
            gap = s.x0 - (prev.x1 if dropped_at is None else dropped_at)
            dropped_at = None
            em = min(s.size, prev.size)
            size_jump = max(s.size, prev.size) > 1.5 * em and gap > -0.1 * em
            if needs_space(gap, em, s.space_before, new_object=True) or size_jump:
                parts.append(" ")
        parts.append(text)
        prev = s
    text = "".join(parts).strip()
    return Segment(spans, text, spans[0].x0, max(s.x1 for s in spans), baseline, main_size, bold, italic)


def _last_word(parts: list[str]) -> str:
    """The last word of the text so far, in lower case ("" when it ends in punctuation or a space)."""
    found = re.search(r"([A-Za-z]+)$", "".join(parts[-2:]))
    return found.group(1).lower() if found else ""
