"""`extract_pdf`: read, lay out, cut into blocks, decide their roles, write Markdown-like text."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ingest.errors import LoaderError
from ingest.pdf import layout, margins
from ingest.pdf.blocks import SECTION_NUMBER, Block, build_blocks
from ingest.pdf.lines import Line, Segment, page_segments
from ingest.pdf.reader import RawDocument, RawPage, Rule, read_pdf
from ingest.pdf.structure import (
    Recommendation,
    find_recommendations,
    heading_levels,
    is_heading,
    mark_excluded,
)
from ingest.pdf.words import Vocabulary, join_lines


@dataclass(frozen=True)
class PdfPage:
    """Where a page's text starts in `PdfExtraction.text`, and the page's printed label."""

    number: int  # 1-based position in the file
    label: str  # the printed page label ("13", "iv")
    start: int  # offset in PdfExtraction.text where this page's text begins


@dataclass
class PdfExtraction:
    """A PDF turned into Markdown-like text, with page offsets and what was found on the way."""

    text: str
    pages: list[PdfPage]
    title: str | None
    author: str | None
    year: int | None
    page_count: int
    headings: int
    tables: int
    recommendations: int
    excluded: list[tuple[int, str, str]] = field(default_factory=list)  # (page number, label, kind)
    warnings: list[str] = field(default_factory=list)


def extract_pdf(path: Path) -> PdfExtraction:
    """Extract a guideline PDF's text in reading order, with its structure (see `ingest.pdf`)."""
    path = Path(path)
    try:
        raw = read_pdf(path)
        return _extract(path, raw)
    except LoaderError:
        raise
    except Exception as exc:  # a damaged file can make any layer fail: the user gets a LoaderError
        raise LoaderError(path, f"could not read the PDF ({type(exc).__name__}: {exc})") from None


def _extract(path: Path, raw: RawDocument) -> PdfExtraction:
    warnings: list[str] = []
    if not any(p.spans for p in raw.pages):
        raise LoaderError(path, "scanned images without a text layer: run OCR first, e.g. ocrmypdf")
    clean, printed = _without_margins(raw)
    body = _body_size(clean)
    lines = _reading_order(clean, body)
    rules: dict[int, list[Rule]] = {p.number: p.rules for p in raw.pages}
    blocks = build_blocks(lines, rules, body)
    vocab = Vocabulary(ln.text for ln in lines)

    heads = [i for i, b in enumerate(blocks) if is_heading(b, body)]
    levels = heading_levels(blocks, heads)
    mark_excluded(blocks, levels)
    recs = find_recommendations(blocks, levels)
    text, starts = _render(blocks, levels, recs, vocab)

    labels = _labels(raw, printed)
    pages = [PdfPage(n, labels[n], starts[n]) for n in sorted(starts)]
    excluded = _excluded_pages(clean, blocks, starts, labels)
    rotated = sum(p.rotated_chars for p in raw.pages)
    if rotated:
        warnings.append(f"{rotated} rotated characters skipped (side notes, watermarks or turned tables)")
    empty = [p.number for p, r in clean if not r and p.number not in printed]
    if empty and len(empty) >= 0.5 * len(raw.pages):
        warnings.append(f"{len(empty)} of {len(raw.pages)} pages have no text layer: scanned pages need OCR")
    private = sum(ch >= "\ue000" and ch <= "\uf8ff" for ch in text)
    if private > 0.01 * max(len(text), 1):
        warnings.append("many characters have no Unicode mapping: the PDF's fonts hide the text, check the output")
    front = _front_pages(clean)
    return PdfExtraction(
        text=text,
        pages=pages,
        title=_title(raw, clean),
        author=raw.info.get("Author") or copyright_holder(front),
        year=_year(raw, front),
        page_count=len(raw.pages),
        headings=sum(1 for i in levels if not blocks[i].excluded),
        tables=sum(1 for b in blocks if b.kind == "table" and not b.excluded),
        recommendations=len(recs),
        excluded=excluded,
        warnings=warnings,
    )


def _without_margins(raw: RawDocument) -> tuple[list[tuple[RawPage, list[list[Segment]]]], dict[int, str]]:
    """Every page's rows without running headers, footers and page numbers; the page numbers found."""
    rows = [(page, page_segments(page)) for page in raw.pages]
    repeated = margins.find_repeated(rows)
    clean: list[tuple[RawPage, list[list[Segment]]]] = []
    printed: dict[int, str] = {}
    for i, (page, page_rows) in enumerate(rows):
        number = margins.printed_number(s for row in page_rows for s in row if (i, id(s)) in repeated)
        if number:
            printed[page.number] = number
        kept = [[s for s in row if (i, id(s)) not in repeated] for row in page_rows]
        clean.append((page, [row for row in kept if row]))
    return clean, printed


def _reading_order(clean: list[tuple[RawPage, list[list[Segment]]]], body: float) -> list[Line]:
    """All the document's lines in reading order, columns found from the whole document."""
    with_text = sum(1 for _, r in clean if r)
    gutters = layout.document_gutters([layout.gutter_candidates(r, body) for _, r in clean], with_text)
    lines: list[Line] = []
    band = 0
    for page, page_rows in clean:
        page_lines, band = layout.reading_order(page, page_rows, gutters, body, band)
        lines.extend(page_lines)
    return lines


def _body_size(pages: list[tuple[RawPage, list[list[Segment]]]]) -> float:
    """The body text's font size: the most common size of running-text lines (table cells left out)."""
    sizes: Counter[float] = Counter()
    short: Counter[float] = Counter()
    for _, page_rows in pages:
        for row in page_rows:
            for seg in row:
                (sizes if len(seg.text) >= 40 else short)[round(seg.size * 2) / 2] += len(seg.text)
    return (sizes or short).most_common(1)[0][0] if sizes or short else 10.0


# --- pages left out ------------------------------------------------------------------------------


def _excluded_pages(
    clean: list[tuple[RawPage, list[list[Segment]]]],
    blocks: list[Block],
    starts: dict[int, int],
    labels: dict[int, str],
) -> list[tuple[int, str, str]]:
    kinds: dict[int, Counter[str]] = defaultdict(Counter)
    for block in blocks:
        if block.excluded:
            for ln in block.lines:
                kinds[ln.page][block.excluded] += 1
    out = []
    for page, page_rows in clean:
        if page.number in starts:
            continue
        if not page_rows:
            out.append((page.number, labels[page.number], "blank"))
        elif kinds[page.number]:
            out.append((page.number, labels[page.number], kinds[page.number].most_common(1)[0][0]))
    return out


# --- writing the text -----------------------------------------------------------------------------


def _render(
    blocks: list[Block], levels: dict[int, int], recs: list[Recommendation], vocab: Vocabulary
) -> tuple[str, dict[int, int]]:
    """The Markdown-like text, and where each page's text starts in it."""
    rec_at = {r.blocks[0]: r for r in recs}
    replaced = {r.heading_block for r in recs if r.heading_block is not None}
    out: list[str] = []
    pos = 0
    positions: dict[int, list[int]] = defaultdict(list)
    section_level = 0
    previous_kind = ""

    def emit(text: str, pages: list[tuple[int, int]], separator: str) -> None:
        nonlocal pos
        if out:
            out.append(separator)
            pos += len(separator)
        for page, offset in pages:
            positions[page].append(pos + offset)
        out.append(text)
        pos += len(text)

    for i, block in enumerate(blocks):
        if block.excluded:
            continue
        if i in replaced:
            continue
        if i in rec_at:
            rec = rec_at[i]
            # A "Recommendation N" heading keeps its rank; an inserted one goes under the current section.
            level = levels[rec.heading_block] if rec.heading_block is not None else min(6, section_level + 1)
            head = "#" * level + f" Recommendation {rec.number}"
            if rec.strength:
                head += f"\nStrength: {rec.strength}"
            emit(head, [(block.page, 0)], "\n\n")
            previous_kind = "heading"
            if rec.heading_block is not None:
                section_level = level
        if i in levels:
            level = levels[i]
            section_level = level
            text, _ = join_lines([ln.text for ln in block.lines], vocab)
            emit("#" * level + " " + _clean(text), [(block.page, 0)], "\n\n")
            previous_kind = "heading"
            continue
        if block.kind == "table":
            rendered, pages = _table(block, vocab)
            emit(rendered, pages, "\n\n")
            previous_kind = "table"
            continue
        text, line_starts = join_lines([ln.text for ln in block.lines], vocab)
        prefix = ""
        if block.kind == "item":
            text, line_starts, prefix = _item(block, text, line_starts)
        if not prefix and text[:1] in "#|":
            prefix = "\\"  # text from the PDF that would read as a Markdown heading or table row
        pages = [(ln.page, len(prefix) + s) for ln, s in zip(block.lines, line_starts, strict=True)]
        separator = "\n" if block.kind == "item" and previous_kind == "item" else "\n\n"
        emit(prefix + text, pages, separator)
        previous_kind = block.kind
    return "".join(out).strip() + "\n", _page_starts(positions)


def _page_starts(positions: dict[int, list[int]]) -> dict[int, int]:
    """Each page's first offset, kept in page order so that offsets can be bisected.

    A paragraph joined across a page break, a box or a footnote puts some of a later page's text
    before an earlier page's: that text counts for the earlier page.
    """
    starts: dict[int, int] = {}
    floor = 0
    for page in sorted(positions):
        later = [p for p in positions[page] if p >= floor]
        floor = min(later) if later else floor
        starts[page] = floor
    return starts


def _item(block: Block, text: str, line_starts: list[int]) -> tuple[str, list[int], str]:
    """A list item written as `- text` (bullets) or `3. text` (numbers), its marker taken off."""
    marker = block.marker
    if re.fullmatch(SECTION_NUMBER, marker):
        return text, line_starts, ""  # a numbered paragraph keeps its number: "1.1.1 Offer ..."
    cut = text.find(marker) + len(marker) if text.startswith(marker) else 0
    rest = text[cut:].lstrip()
    shift = len(text) - len(rest)
    starts = [max(0, s - shift) for s in line_starts]
    if re.match(r"^\d{1,3}[.)]$", marker):
        return rest, starts, f"{marker[:-1]}. "
    if re.match(r"^\(?[a-z]{1,4}[.)]$", marker):
        return rest, starts, f"- {marker} "
    return rest, starts, "- "


def _table(block: Block, vocab: Vocabulary) -> tuple[str, list[tuple[int, int]]]:
    """Markdown rows, header first, and where each row's page starts in them."""
    lines = []
    pages = []
    pos = 0
    for n, row in enumerate(block.rows):
        cells = [_clean(join_lines(texts, vocab)[0]).replace("|", "\\|") for texts in row.cells]
        rendered = "| " + " | ".join(cells) + " |"
        pages.append((row.page, pos))
        lines.append(rendered)
        pos += len(rendered) + 1
        if n == 0 and len(block.rows) > 1:
            separator = "|" + "---|" * len(cells)
            lines.append(separator)
            pos += len(separator) + 1
    return "\n".join(lines), pages


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- labels, title, year --------------------------------------------------------------------------


def _labels(raw: RawDocument, printed: dict[int, str]) -> dict[int, str]:
    """The number printed in the page's header or footer (what a reader looks for), else the page-label
    dictionary, else the page's position. A printed number counts when it follows the document's usual
    offset from the position (so a stray number in a footer is not taken for the page number)."""
    offsets = Counter(int(v) - n for n, v in printed.items() if v.isdigit())
    usual = offsets.most_common(1)[0][0] if offsets else None
    out = {}
    for page in raw.pages:
        n = page.number
        if n in printed and (not printed[n].isdigit() or int(printed[n]) - n == usual):
            out[n] = printed[n]
        elif page.label:
            out[n] = page.label
        else:
            out[n] = str(n)
    return out


_FILE_TITLE = re.compile(
    r"^(?:microsoft (?:word|powerpoint) - |untitled)|\.(?:docx?|pdf|indd|qxd|rtf|pptx?|tex)$", re.I
)


def _title(raw: RawDocument, clean: list[tuple[RawPage, list[list[Segment]]]]) -> str | None:
    """The information dictionary's title when it is a real one, else the cover's biggest text."""
    info = raw.info.get("Title", "").strip()
    if info and not _FILE_TITLE.search(info) and sum(c.isalpha() for c in info) >= 4:
        return re.sub(r"\s+", " ", info)
    # A cover title stands out from the body text; a page of body-size text has none (the file name serves).
    sizes = Counter(round(s.size, 1) for _, rows in clean for row in rows for s in row for _ in s.text)
    body = sizes.most_common(1)[0][0] if sizes else 0.0
    best: tuple[float, str] | None = None
    for _page, page_rows in clean[:3]:
        segs = [s for row in page_rows for s in row if sum(c.isalpha() for c in s.text) >= 2]
        if not segs:
            continue
        top = max(s.size for s in segs)
        if top < 1.2 * body:
            continue
        words = [s.text for s in sorted(segs, key=lambda s: (s.baseline, s.x0)) if s.size >= 0.85 * top]
        candidate = re.sub(r"\s+", " ", " ".join(words)).strip()[:200]
        if best is None or top > best[0]:
            best = (top, candidate)
    return best[1] if best else None


_COPYRIGHT = re.compile(
    r"(?:©|\([cC]\)|(?i:copyright))\s*(?:©\s*)?(?:(?:19|20)\d{2}[,.]?\s+)?"
    r"(?P<holder>[A-Z][\w&'’().,-]*(?:\s+(?:[A-Z][\w&'’().-]*|of|for|and|the|de|du|in|on)){0,11})"
)
_NOT_A_HOLDER = re.compile(r"^(?:the\s+)?(?:authors?|author\(s\)|all rights|individual|this|see)\b", re.IGNORECASE)


def copyright_holder(texts: Iterable[str]) -> str | None:
    """Who holds the copyright, from the first "© World Health Organization 2020" line of the first pages.

    Publishers state it on a guideline's imprint page more reliably than in the PDF's information
    ("© NICE 2023", "© 2020 European Society for Medical Oncology"); "© The Author(s)" names nobody.
    """
    for text in texts:
        for match in _COPYRIGHT.finditer(text):
            holder = re.sub(
                r"[\s,.;]+(?:(?:19|20)\d{2}|all|some|published|isbn)\b.*$", "", match.group("holder"), flags=re.I
            )
            holder = holder.strip(" ,.;")
            if len(holder) >= 3 and not _NOT_A_HOLDER.match(holder) and not holder[0].isdigit():
                return holder
    return None


def _front_pages(clean: list[tuple[RawPage, list[list[Segment]]]]) -> list[str]:
    """The text of the first six pages, one string a page: where covers and imprint pages say who and when."""
    return [" ".join(s.text for row in rows for s in row) for _, rows in clean[:6]]


def _year(raw: RawDocument, texts: list[str]) -> int | None:
    """A publication year from the first pages (a copyright line first), else the creation date."""
    latest = date.today().year + 1
    for text in texts:
        m = re.search(r"(?:©|\(c\)|copyright)\D{0,80}?((?:19|20)\d{2})", text, re.IGNORECASE)
        if m and 1950 <= int(m.group(1)) <= latest:
            return int(m.group(1))
    for text in texts[:2]:
        years = [int(y) for y in re.findall(r"(?<!\d)((?:19|20)\d{2})(?!\d)", text) if 1950 <= int(y) <= latest]
        if years:
            return max(years)
    created = re.match(r"D:((?:19|20)\d{2})", raw.info.get("CreationDate", ""))
    return int(created.group(1)) if created else None
