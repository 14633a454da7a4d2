"""Running headers, footers, page numbers and watermarks: text that comes back on many pages.

Candidates are the rows in the top and bottom margins (near the edge, set apart from the body by
a blank line). Their text, digits masked ("Page 3", "Page 4"), at about the same height on a
fifth of the pages makes a header or footer; a header naming the chapter counts by its first
words ("Chapter 3: ..."). Anywhere else only identical text at the same height on half the pages
counts (a notice printed on every page). A page number found among them labels the page.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from ingest.pdf.lines import Segment
from ingest.pdf.reader import RawPage

# Share of the pages a running header or footer must appear on (and at least 3 pages).
REPEAT_SHARE = 0.2
# How far from the top or bottom edge (share of the page height) headers and footers may sit.
EDGE_ZONE = 0.15
_PAGE_NUMBER = re.compile(
    r"^(?:page\s+)?(\d{1,4}|(?=[ivx])x{0,3}(?:ix|iv|v?i{0,3}))"
    r"(?:\s*(?:of|/)\s*\d{1,4})?$|^[-–—]\s*(\d{1,4})\s*[-–—]$",
    re.IGNORECASE,
)


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
