"""What the blocks are: headings and their levels, recommendations (`find_recommendations`), and
parts left out (`mark_excluded`).

- Headings: short blocks set apart by a bigger font or bold type than the body text (the most
  common size), or by a section number ("2.3 Opioid dosing", "Annex 1", "Box 2"), and not ending
  like a sentence. Levels rank the heading styles by size, then weight.
- Recommendations: a "Recommendation N" heading or run-in, a numbered item or paragraph carrying a
  strength statement (GRADE wording, CDC categories, ESMO [I, A] grades, ASCO strength lines), or
  a NICE-style "1.2.3 Offer ..." paragraph.
- Left out: reference lists, contents, acknowledgements, declarations of interest, contributor lists, abbreviations,
  search strategies and indexes, found by their heading (to the next heading of the same rank) and
  by the look of their lines (citations, dot leaders with page numbers, search syntax).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from ingest.chunking import MIN_NUMBERED_RECOMMENDATIONS, NUMBERED_RECOMMENDATION
from ingest.excluded import excluded_kind
from ingest.pdf.blocks import Block

_NUMBERED = re.compile(
    r"^(?:\d+(?:\.\d+)+\.?\s+\S|[A-Z]\.\d+(?:\.\d+)*\s+\S|"
    r"(?:chapter|section|part|annex|appendix|box|table|figure|recommendation|step|module)\s+[\dA-Z]+\b)",
    re.IGNORECASE,
)
_CAPTION = re.compile(r"^(?:box|table|figure|fig\.|annex|appendix)\s*[\dA-Z]*\s*[.:]", re.IGNORECASE)
_REC_HEADING = re.compile(r"^(?:\d+(?:\.\d+)*\.?\s+)?recommendations?\s+(\d+[a-z]?)\s*[:.]?\s*$", re.IGNORECASE)
_REC_RUN_IN = re.compile(r"^recommendation\s+(\d+(?:\.\d+)*[a-z]?)\s*[.:]\s+\S", re.IGNORECASE)
_STRENGTHS = [
    re.compile(
        r"recommendation category:?\s*[A-D]\s*[;,]\s*evidence type:?\s*\d",
        re.IGNORECASE,
    ),
    re.compile(
        r"(?:strong|conditional|weak|discretionary|qualified)\s+recommendation(?:\s+(?:for|against))?\s*[,;]?\s*"
        r"(?:based\s+on\s+)?(?:(?:very\s+)?(?:high|moderate|low|very\s+low)[- ]+(?:certainty|quality)"
        r"(?:\s+(?:of\s+)?evidence)?|(?:high|moderate|low|very\s+low)\s+(?:certainty|quality)\s+of\s+evidence)",
        re.IGNORECASE,
    ),
    re.compile(
        r"(?:(?:very\s+)?(?:high|moderate|low)[- ]+(?:certainty|quality)(?:\s+(?:of\s+)?evidence)?)\s*[,;]\s*"
        r"(?:strong|conditional|weak)\s+recommendation",
        re.IGNORECASE,
    ),
    re.compile(r"\[(?:I{1,3}|IV|V)\s*,\s*[A-E]\]"),
    re.compile(
        r"(?:type:\s*[^;]{3,60};\s*)?(?:evidence quality|quality of evidence|level of evidence):\s*[^;.]{2,40}"
        r"[;,]\s*(?:strength of recommendation|grade of recommendation|strength):\s*[A-Za-z0-9 ]{1,20}",
        re.IGNORECASE,
    ),
    re.compile(r"\b(?:grade|GRADE)\s+[12][A-C]\b|\((?:grade|level)\s+[A-D1-4][+-]?\)"),
]
_CITATION_FEATURES = [
    re.compile(r"\bet al\b"),
    re.compile(r"\b(?:19|20)\d{2}[a-z]?\s*[;:]\s*\d"),
    re.compile(r"\bdoi\b|doi\.org|\bPMID\b|\bPMCID\b|\bISBN\b|\(accessed|accessed \d|available (?:at|from)", re.I),
    re.compile(r"^\s*\[?\d{1,4}[.\]]?\s+[A-Z][\w'’\-]+,?\s+[A-Z]{1,3}[,.\s]"),
    re.compile(r"^[A-Z][\w'’\-]+,?\s+(?:[A-Z]\.?\s?){1,3}[,.]\s"),
    re.compile(r"\b\d{1,4}\s*\(\d{1,3}\)\s*:\s*\d"),
    re.compile(r"^\s*\[?\d{1,4}[.\]]\s+\S.*\b(?:19|20)\d{2}\b"),
    re.compile(r"https?://|www\."),
    re.compile(r"\b[A-Z][a-z]+(?:,\s*[A-Z]{2})?:\s*[A-Z][^;:]{2,80};\s*(?:19|20)\d{2}\b"),  # Geneva: WHO; 2019
]
_TOC_LINE = re.compile(r"(?:\.{3,}|[-_]{4,}|…{2,}|\s{2,}|\s)\s*([ivxlc]+|\d{1,4})\s*$", re.IGNORECASE)
_LEADER = re.compile(r"\.{4,}|-{4,}|_{4,}|…{2,}|(?:\. ){4,}")
_SEARCH_SYNTAX = re.compile(
    r"\b(?:OR|AND|NOT)\b.*\b(?:OR|AND|NOT)\b|\[(?:mh|mesh|tiab|ti|ab|tw)\]|^\s*#\d+|exp\s+\w+/|\*\s*$"
)


@dataclass
class Recommendation:
    """A recommendation found among the blocks: where it starts and what to print above it."""

    number: str
    strength: str | None
    blocks: list[int]  # indexes of the blocks forming its text
    heading_block: int | None = None  # a "Recommendation N" heading it replaces


def strength_in(text: str) -> str | None:
    """The strength / certainty / category statement in a recommendation's text, as printed."""
    for pattern in _STRENGTHS:
        m = pattern.search(text)
        if m:
            return re.sub(r"\s+", " ", m.group(0)).strip(" ()[];,.") if not m.group(0).startswith("[") else m.group(0)
    return None


def is_heading(block: Block, body: float) -> bool:
    """Whether a block reads as a heading (see the module docstring)."""
    if block.kind == "table" or len(block.lines) > 4:
        return False
    text = block.raw_text.strip()
    words = text.split()
    if not any(c.isalpha() for c in text) or not words or text.startswith(("©", "(c)")):
        return False
    if re.fullmatch(r"(?:[A-Za-z]+\.?\s+)?(?:\d{1,2}\s+)?(?:19|20)\d{2}", text):
        return False  # a date line on a cover
    caption = bool(_CAPTION.match(text))
    numbered = bool(_NUMBERED.match(text))
    if len(text) > (400 if caption else 160) or (len(words) > 24 and not caption) or _LEADER.search(text):
        return False
    if not caption and (text.endswith((",", ";", ":")) or (text.endswith(".") and not re.search(r"\d\.$", text))):
        return False
    if block.kind == "item" and block.size < 1.12 * body and not block.bold:
        return False
    size = block.size
    if size >= 1.12 * body:
        return len(words) <= 24 or caption
    if block.bold and size >= 0.75 * body:
        return len(words) <= 16 or caption or numbered
    if text.isupper() and size >= body and len(words) <= 12:
        return True
    # A numbered section title set in body type: "2.3 Opioid dosing".
    return numbered and bool(re.match(r"^\d+\.\d+", text)) and len(words) <= 12 and size >= 0.95 * body


def heading_levels(blocks: list[Block], heads: list[int]) -> dict[int, int]:
    """Levels 1-4 by ranking heading styles: bigger first, bold before regular at one size.

    A style used only once (a cover title) takes the level of the style above it rather than
    pushing every other heading one level down.
    """
    styles: Counter[tuple[float, bool]] = Counter(_style(blocks[i]) for i in heads)
    level_of: dict[tuple[float, bool], int] = {}
    level = 0
    for style in sorted(styles, key=lambda s: (-s[0], not s[1])):
        if styles[style] > 1:
            level = min(4, level + 1)
        level_of[style] = max(level, 1)
    return {i: level_of[_style(blocks[i])] for i in heads}


def _style(block: Block) -> tuple[float, bool]:
    return round(block.size * 2) / 2, block.bold


def is_citation(text: str) -> bool:
    """Whether a paragraph looks like a bibliography entry."""
    hits = sum(1 for p in _CITATION_FEATURES if p.search(text))
    return hits >= 2


def is_contents_entry(block: Block) -> bool:
    """A table-of-contents line: a title, dot leaders and a page number."""
    lines = [ln.text for ln in block.lines]
    return sum(1 for t in lines if _LEADER.search(t) and _TOC_LINE.search(t)) >= 0.5 * len(lines)


def page_kind(lines: list[str]) -> str | None:
    """A whole page's kind judged from its lines alone: contents or search strategy pages."""
    if len(lines) < 5:
        return None
    toc = sum(1 for ln in lines if _LEADER.search(ln) and _TOC_LINE.search(ln))
    if toc >= 0.4 * len(lines):
        return "contents"
    search = sum(1 for ln in lines if _SEARCH_SYNTAX.search(ln))
    if search >= 0.4 * len(lines):
        return "search-strategy"
    return None


# --- parts left out ---


def mark_excluded(blocks: list[Block], levels: dict[int, int]) -> None:
    """Mark references, contents, acknowledgements... from their heading to the next one of equal rank."""
    kind: str | None = None
    kind_level = 0
    prose_run = 0
    for i, block in enumerate(blocks):
        if i in levels:
            found = excluded_kind(block.raw_text)
            if found:
                kind, kind_level, prose_run = found, levels[i], 0
                block.excluded = found
                continue
            if kind and levels[i] <= kind_level:
                kind = None
        if kind is None:
            if is_contents_entry(block):
                block.excluded = "contents"
            continue
        if kind == "references":
            # A reference list ends where running prose comes back without a heading.
            long_prose = len(block.raw_text.split()) > 40 and not is_citation(block.raw_text)
            prose_run = prose_run + 1 if long_prose else 0
            if prose_run >= 3:
                for j in range(i - 2, i + 1):
                    blocks[j].excluded = None
                kind = None
                continue
        block.excluded = kind
    # Pages whose remaining blocks are mostly citations, contents lines or search syntax.
    by_page: dict[int, list[Block]] = defaultdict(list)
    for block in blocks:
        if not block.excluded:
            by_page[block.page].append(block)
    for page_blocks in by_page.values():
        texts = [b.raw_text for b in page_blocks]
        cited = sum(1 for t in texts if is_citation(t))
        found = "references" if len(texts) >= 4 and cited >= 0.6 * len(texts) else None
        found = found or page_kind([ln.text for b in page_blocks for ln in b.lines])
        if found:
            for b in page_blocks:
                b.excluded = found


# --- recommendations ------------------------------------------------------------------------------


def find_recommendations(blocks: list[Block], levels: dict[int, int]) -> list[Recommendation]:
    """Find recommendations (see `ingest.pdf.structure`)."""
    recs: list[Recommendation] = []
    used: set[int] = set()
    nice = (
        sum(1 for b in blocks if b.kind != "table" and NUMBERED_RECOMMENDATION.match(b.raw_text))
        >= MIN_NUMBERED_RECOMMENDATIONS
    )
    running = 0
    last_number = ""
    for i, block in enumerate(blocks):
        if block.excluded or i in used or block.kind == "table":
            continue
        text = block.raw_text
        if i in levels:
            m = _REC_HEADING.match(text)
            if not m:
                continue
            body = _following_text(blocks, levels, i)
            if not body or _REC_RUN_IN.match(blocks[body[0]].raw_text):
                continue
            strength = next((s for j in body if (s := strength_in(blocks[j].raw_text))), None)
            exact = re.match(r"^recommendations?\s+\d+[a-z]?\s*[:.]?$", text.strip(), re.IGNORECASE)
            recs.append(Recommendation(m.group(1), strength, body, i if exact else None))
            used.update(body)
            last_number = m.group(1)
            continue
        strength = strength_in(text)
        run_in = _REC_RUN_IN.match(text)
        number: str | None = None
        if run_in:
            number = run_in.group(1)
        elif strength and block.kind == "item" and re.match(r"^\(?\d+[.)]?$", block.marker):
            number = block.marker.strip("().")
            sub = re.match(r"^\(?([a-z])\)\s", text[len(block.marker) :].strip() + " ")
            number += sub.group(1) if sub else ""
        elif strength and block.kind == "item" and re.match(r"^\(?[a-z][.)]$", block.marker) and last_number:
            number = re.sub(r"[a-z]$", "", last_number) + block.marker.strip("().")
        elif nice and block.kind != "table" and (m2 := NUMBERED_RECOMMENDATION.match(text)):
            number = m2.group(1)
        elif strength:
            if len(text.split()) < 12 and recs and recs[-1].strength is None and recs[-1].blocks[-1] == i - 1:
                recs[-1].strength = strength  # the strength line printed under a recommendation
                recs[-1].blocks.append(i)
                continue
            running += 1
            number = str(running)
        if number is None:
            continue
        body = [i]
        if strength is None and not nice:
            nxt = i + 1
            following = blocks[nxt].raw_text if nxt < len(blocks) and nxt not in levels else ""
            if (s := strength_in(following)) and len(following.split()) < 12:
                strength = s
                body.append(nxt)
        recs.append(Recommendation(number, strength, body))
        used.update(body)
        last_number = number
    return recs


def _following_text(blocks: list[Block], levels: dict[int, int], i: int) -> list[int]:
    """Paragraphs after a "Recommendation N" heading, up to the one carrying the strength (at most 3)."""
    out: list[int] = []
    j = i + 1
    while j < len(blocks) and j not in levels and len(out) < 3:
        if blocks[j].kind == "table" or blocks[j].excluded:
            break
        out.append(j)
        if strength_in(blocks[j].raw_text):
            return out
        j += 1
    return out[:1]
