"""Split documents into chunks along their structure, within the embedding model's token limit.

Structured documents (Markdown, HTML) are cut at headings: every chunk carries the heading path
above it (`Bone metastasis > Therapeutic procedures > External beam radiotherapy`). Inside a
section the units are sentences, whole list items and table rows; a chunk never splits one of
them (a single unit longer than the limit is the only exception, cut at word boundaries), and a
chunk that starts inside a table repeats the table's header row. Records without headings are
packed sentence by sentence with a small overlap.

A chunk's `text` is always the exact slice `document.text[start:end]`.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ingest.loaders import Document, PageMark
from ingest.markdown import heading_lines
from ingest.sentences import split_sentences

TokenCounter = Callable[[Sequence[str]], list[int]]
"""Counts word pieces of each text, without the model's special tokens."""

SPECIAL_TOKENS = 2  # [CLS] and [SEP]: the model's limit includes them.

# Recorded in the manifest. Bump it when the same document and settings would give other chunks
# (a new splitting rule, a new heading pattern): ingest then re-chunks every document once, rather
# than keeping chunks cut by the old rules for documents that did not change.
# ch13: a second header row under a table's delimiter row belongs to its header; ch14: Markdown front matter
# written for other tools gives the issuing body and year (unchanged files are read again); ch15: a sentence ends after
# a bracketed tag of a few words following its full stop ("...[Level of evidence C3] Because ..."); ch16: a table's
# caption goes into the passage its table starts in and heads the passages the table runs on into
CHUNKER_VERSION = "ch16"


def _source_url(doc: Document, guideline: str | None) -> str | None:
    """The URL a passage cites: its own guideline's, when the document names its sources.

    A document summarising several guidelines lists them in `sources`; a recommendation whose label
    is not listed gets no URL rather than the document's, which belongs to another guideline.
    """
    if doc.sources and guideline:
        return doc.sources.get(guideline)
    return doc.url


class ChunkingSettings(BaseModel):
    """How documents are cut. Recorded in the manifest: a change forces a rebuild."""

    model_config = ConfigDict(extra="forbid")

    max_tokens: int = Field(
        256,
        ge=32,
        le=8192,
        description="Hard cap on word pieces per chunk, "
        "header and special tokens included; clipped to the model's own limit.",
    )
    record_target_tokens: int = Field(
        200, ge=16, le=8192, description="Target size of chunks cut from records without headings."
    )
    overlap_sentences: int = Field(1, ge=0, le=5, description="Sentences repeated between neighbouring record chunks.")
    section_separator: str = Field(" > ", description="Joins the heading path in the text given to the embedder.")


@dataclass(frozen=True)
class Chunk:
    """A passage of a document with everything needed to cite it."""

    chunk_id: str
    doc_id: str
    position: int
    text: str
    start: int
    end: int
    title: str
    section: tuple[str, ...]
    sentences: tuple[tuple[int, int], ...]
    """Sentence spans relative to `text` (metadata lines excluded)."""
    prefix: str = ""
    """Context repeated before `text` (a table's header row), not part of the source slice."""
    rec_id: str | None = None
    guideline: str | None = None
    issuing_body: str | None = None
    year: int | None = None
    topic: str | None = None
    url: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    page_start: int | None = None
    """First page (1-based position in the file) of a paginated source; None elsewhere."""
    page_end: int | None = None
    page_label: str | None = None
    """The printed page number(s) as a reader finds them: "13", or "13-14" for a passage across pages."""
    page_marks: tuple[tuple[int, int, str], ...] = ()
    """(offset in `text`, page number, printed label) of each page the passage touches, the first at 0."""

    def sentence_texts(self) -> list[str]:
        """The chunk's sentences as strings."""
        return [self.text[a:b] for a, b in self.sentences]

    def header(self, separator: str = " > ") -> str:
        """Title and heading path as one line (the title is not repeated if it heads the path)."""
        parts = list(self.section)
        if not parts or parts[0] != self.title:
            parts.insert(0, self.title)
        return separator.join(parts)

    def local_headings(self) -> tuple[str, ...]:
        """The heading path below the document title: what sets this passage apart from its siblings."""
        parts = self.section
        return parts[1:] if parts and parts[0] == self.title else parts

    def embedding_text(self, separator: str = " > ") -> str:
        """What the embedder and the keyword index see: header, table header, text."""
        return f"{self.header(separator)}\n{self.prefix}{self.text}"


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    kind: str  # sentence | item | row | meta
    sentences: tuple[tuple[int, int], ...]  # absolute spans
    table_header: tuple[int, int] | None = None
    keep_with_next: bool = False  # a table's caption: it opens the passage its table starts in


_LIST_ITEM = re.compile(r"^[ \t]{0,3}(?:[-*+]|\d{1,3}[.)])[ \t]+")
_TABLE_ROW = re.compile(r"^[ \t]*\|")
# The delimiter row under a table's header ("|---|---|"); without one a table has no header.
TABLE_SEPARATOR = re.compile(r"^[ \t]*\|?[ \t]*:?-{2,}:?[ \t]*(\|[ \t]*:?-{2,}:?[ \t]*)*\|?[ \t]*$")
_REC_ID = re.compile(r"^([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-\d+[a-z]?)\b[\s:·.\-–—]*(.*)$")
_META_LINE = re.compile(r"^(?:Guideline|Source|Strength):\s*(.+)$", re.IGNORECASE)
# A heading that opens a numbered recommendation in a real guideline ("Recommendation 4", "Recommendation 1.2").
_REC_HEADING = re.compile(r"^Recommendation\s+(\d{1,3}(?:\.\d{1,3}){0,3}[a-z]?)\b[\s:.\-–—]*(.*)$", re.IGNORECASE)
_GUIDELINE = re.compile(r"^(?P<body>.+?)\s+(?P<year>(?:19|20)\d{2})$")
# NICE numbers each recommendation "1.2.3" at the start of its paragraph. A PDF or a web page with at
# least MIN_NUMBERED_RECOMMENDATIONS such paragraphs has each one written under a "Recommendation 1.2.3"
# heading (fewer are more likely numbered sections or a list).
NUMBERED_RECOMMENDATION = re.compile(r"^(\d{1,2}\.\d{1,2}\.\d{1,3})\s+(?=[A-Z])")
MIN_NUMBERED_RECOMMENDATIONS = 3


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of each line in text[start:end], newline excluded."""
    out = []
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl == -1 else nl
        out.append((pos, stop))
        pos = stop + 1
    return out


def _strip_span(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _units(text: str, start: int, end: int, *, allow_meta: bool) -> tuple[list[_Unit], dict[str, str]]:
    """Cut a section body into sentences, list items and table rows; parse a leading meta line."""
    units: list[_Unit] = []
    meta: dict[str, str] = {}
    para: list[tuple[int, int]] = []
    table_header: tuple[int, int] | None = None
    in_table = False
    first_content = True

    def flush_para() -> None:
        if not para:
            return
        a, b = para[0][0], para[-1][1]
        for s in split_sentences(text, a, b):
            units.append(_Unit(s[0], s[1], "sentence", (s,)))
        para.clear()

    lines = _lines(text, start, end)
    i = 0
    while i < len(lines):
        a, b = lines[i]
        line = text[a:b]
        if not line.strip():
            flush_para()
            table_header = None
            in_table = False
            i += 1
            continue
        if first_content and allow_meta and (m := _META_LINE.match(line.strip())):
            meta = _parse_meta(m.group(0))
            sa, sb = _strip_span(text, a, b)
            units.append(_Unit(sa, sb, "meta", ()))
            first_content = False
            i += 1
            continue
        first_content = False
        if _TABLE_ROW.match(line):
            flush_para()
            if not in_table:
                in_table = True
                # A header row is one with the delimiter row under it (GitHub's tables); without one,
                # the first row is data like the rest ("| USPSTF (2013) | The USPSTF found ... |").
                if i + 1 < len(lines) and TABLE_SEPARATOR.match(text[lines[i + 1][0] : lines[i + 1][1]]):
                    # A second header row naming the columns a header cell spans belongs to the header.
                    end = (
                        i + 2
                        if i + 2 < len(lines)
                        and second_header_row(cells(line), cells(text[lines[i + 2][0] : lines[i + 2][1]]))
                        else i + 1
                    )
                    table_header = (a, lines[end][1])
                    sa, sb = _strip_span(text, a, lines[end][1])
                    units.append(_Unit(sa, sb, "row", ((sa, sb),), None))
                    i = end + 1
                    continue
            sa, sb = _strip_span(text, a, b)
            last = units[-1] if units else None
            if last is not None and last.kind == "row" and _continues(text[sa:sb], text[last.start : last.end]):
                # A cell that spanned rows ("| >30 kg: 1 mg q8-12h |" under "| Nabilone | Age >4 y: | PO | ... |")
                # stays in one unit with the row it continues, so no passage holds a dose without its drug.
                units[-1] = replace(last, end=sb, sentences=(*last.sentences, (sa, sb)))
            else:
                units.append(_Unit(sa, sb, "row", ((sa, sb),), table_header))
            i += 1
            continue
        table_header = None
        in_table = False
        if item := _LIST_ITEM.match(line):
            flush_para()
            item_start = a
            item_end = b
            # Continuation lines: any non-blank line that starts no new item or table row. Indented, or
            # not (CommonMark's lazy continuation: "2. A painful destruction of a\nvertebral body
            # occurred." in a summary wrapped at 80 columns is one item, not two fragments).
            while i + 1 < len(lines):
                na, nb = lines[i + 1]
                nxt = text[na:nb]
                if nxt.strip() and not _LIST_ITEM.match(nxt) and not _TABLE_ROW.match(nxt):
                    item_end = nb
                    i += 1
                else:
                    break
            body_start = a + item.end()
            sents = tuple(split_sentences(text, body_start, item_end))
            sa, sb = _strip_span(text, item_start, item_end)
            units.append(_Unit(sa, sb, "item", sents))
            i += 1
            continue
        para.append((a, b))
        i += 1
    flush_para()
    return _captions_kept_with_tables(text, units), meta


# A table's caption: "Table 6. Antiemetic Dosing for Radiation Therapy", "TABLE 2:", "Exhibit 3 -".
CAPTION = re.compile(r"(?:table|exhibit)\s*(?:[a-z]?\d+(?:[.-]\d+)*[a-z]?)?\s*[.:—–-]", re.IGNORECASE)
MAX_CAPTION_WORDS = 40
"""Words a caption paragraph may have; a longer one is a paragraph about the table, not its title."""


def _captions_kept_with_tables(text: str, units: list[_Unit]) -> list[_Unit]:
    """Units where the paragraph right above a table that names it ("Table 6. Antiemetic Dosing for Radiation
    Therapy") is its caption: the caption opens the passage the table starts in (`keep_with_next`), and is
    repeated with the header row above the rows of a passage the table runs on into.

    Packed on its own, a caption can end one passage while its table starts the next: the table's rows then
    lose the words that say what they are ("antiemetic dosing", "radiation therapy") and the question asking
    them does not find them.
    """
    out = list(units)
    i = 0
    while i < len(out):
        unit = out[i]
        if unit.kind != "row" or i == 0 or out[i - 1].kind == "row":
            i += 1
            continue
        # The paragraph above: the sentences back to a blank line.
        first = i - 1
        while (
            first > 0
            and out[first - 1].kind == "sentence"
            and "\n\n" not in text[out[first - 1].end : out[first].start]
        ):
            first -= 1
        caption = text[out[first].start : out[i - 1].end]
        between = text[out[i - 1].end : unit.start]
        if (
            any(out[j].kind != "sentence" for j in range(first, i))
            or between.strip()
            or not CAPTION.match(caption)
            or len(caption.split()) > MAX_CAPTION_WORDS
        ):
            i += 1
            continue
        for j in range(first, i):
            out[j] = replace(out[j], keep_with_next=True)
        j = i
        while j < len(out) and out[j].kind == "row":
            row = out[j]
            if row.table_header is not None:
                out[j] = replace(row, table_header=(out[first].start, row.table_header[1]))
            j += 1
        i = j
    return out


def cells(row: str) -> list[str]:
    """The cells of a Markdown table row."""
    return [c.strip() for c in row.strip().strip("|").split("|")]


SUBHEADER_WORDS = 5
"""Words a cell of a second header row may have: it names a column, it holds no data."""


def second_header_row(names: list[str], row: list[str]) -> bool:
    """Whether `row`, the first under a header's delimiter row, names the columns that a header cell spans.

    A web page's name over two columns ("| Effect | Prevalence | | Comments |") leaves the second cell
    empty, and the row under it names both ("| | Acute use | Chronic use | |"): short cells without
    numbers, the first one empty, one of them under an empty header cell.
    """
    if len(row) != len(names) or row[0] or not any(not names[i] and row[i] for i in range(1, len(names))):
        return False
    return all(len(v.split()) <= SUBHEADER_WORDS and not re.search(r"\d", v) for v in row if v)


def continues_row(row_cells: int, table_cells: int) -> bool:
    """Whether a row of `row_cells` cells continues the row above it, in a table `table_cells` wide.

    A cell that spanned several rows reaches Markdown as a full row followed by short rows holding the
    rest ("| >30 kg: 1 mg q8-12h |" under "| Nabilone | Age >4 y: | PO | ... |"): a row of at most half
    the cells of a table of three columns or more.
    """
    return table_cells >= 3 and 2 * row_cells <= table_cells


def _continues(row: str, previous: str) -> bool:
    """Whether a short row continues the row unit before it (`continues_row`)."""
    first = previous.split("\n", 1)[0]
    return continues_row(len(cells(row)), len(cells(first))) and not TABLE_SEPARATOR.match(previous.split("\n")[-1])


def _parse_meta(line: str) -> dict[str, str]:
    """`Guideline: ESMO 2020 · Strength: strong · Evidence: I, A` -> lower-cased key/value pairs.

    A line that starts with `Strength:` is a real guideline's own wording, kept whole
    ("Strength: Strong recommendation; low-certainty evidence").
    """
    out: dict[str, str] = {}
    if line.lower().startswith("strength:"):
        return {"strength": line.partition(":")[2].strip()}
    for part in re.split(r"\s+[·|;]\s+", line):
        key, sep, value = part.partition(":")
        if sep and value.strip():
            out[key.strip().lower()] = value.strip()
    if "source" in out and "guideline" not in out:
        out["guideline"] = out.pop("source")
    return out


@dataclass
class _Section:
    path: tuple[str, ...]
    start: int
    end: int
    rec_id: str | None


def _sections(doc: Document) -> list[_Section]:
    """Bodies between headings, each with the path of headings above it."""
    text = doc.text
    sections: list[_Section] = []
    stack: list[tuple[int, str]] = []
    rec_id: str | None = None
    body_start = 0
    path: tuple[str, ...] = ()
    for a, b, match in heading_lines(text):
        if not match:
            continue
        sections.append(_Section(path, body_start, a, rec_id))
        level = len(match.group(1))
        heading = match.group(2).strip()
        rec_id = None
        if (rid := _REC_ID.match(heading)) and _is_recommendation(rid.group(1), text, b):
            rec_id = rid.group(1)
            heading = rid.group(2).strip() or rec_id
        elif numbered := _REC_HEADING.match(heading):
            # Numbered only within its guideline: the document id makes it unique in the index.
            rec_id = f"{doc.doc_id}#rec-{numbered.group(1)}"
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
        path = tuple(h for _, h in stack)
        body_start = b + 1 if b < len(text) else b
    sections.append(_Section(path, body_start, len(text), rec_id))
    return [s for s in sections if text[s.start : s.end].strip()]


def _is_recommendation(candidate: str, text: str, heading_end: int) -> bool:
    """Whether an id-like heading opens a recommendation rather than an ordinary section.

    "COVID-19 in children", "IL-6 inhibitors" or "ICD-10 codes" look like "PAIN-03 Assessment". An
    id counts when it has several segments (BM-RT-10), a zero-padded number (PAIN-03, HYP-01a), or
    a `Guideline:` / `Source:` line right after its heading.
    """
    segments = candidate.split("-")
    if len(segments) > 2 or segments[-1].startswith("0"):
        return True
    for line in text[heading_end : heading_end + 2000].splitlines():
        if line.strip():
            return bool(_META_LINE.match(line.strip()))
    return False


def page_span(pages: tuple[PageMark, ...], start: int, end: int) -> tuple[int, int, str] | None:
    """(first page, last page, printed label) of the text between two offsets, for a paginated source."""
    if not pages:
        return None
    starts = [p.start for p in pages]
    first = pages[max(bisect_right(starts, start) - 1, 0)]
    last = pages[max(bisect_right(starts, max(end - 1, start)) - 1, 0)]
    label = first.label if first.number == last.number else f"{first.label}-{last.label}"
    return first.number, last.number, label


def _page_marks(pages: tuple[PageMark, ...], start: int, end: int) -> tuple[tuple[int, int, str], ...]:
    """Where each page the span [start, end) touches begins, relative to `start` (the first page at 0)."""
    if not pages:
        return ()
    starts = [p.start for p in pages]
    first = max(bisect_right(starts, start) - 1, 0)
    marks = [(0, pages[first].number, pages[first].label)]
    marks += [(p.start - start, p.number, p.label) for p in pages[first + 1 :] if p.start < end]
    return tuple(marks)


def pages_of(chunk: Chunk, spans: Sequence[tuple[int, int]]) -> tuple[int, int, str] | None:
    """(first page, last page, printed label) of the given spans of a chunk's text (its quoted sentences)."""
    if not chunk.page_marks or not spans:
        return None
    offsets = [m[0] for m in chunk.page_marks]
    first = chunk.page_marks[max(bisect_right(offsets, min(a for a, _ in spans)) - 1, 0)]
    last = chunk.page_marks[max(bisect_right(offsets, max(b for _, b in spans) - 1) - 1, 0)]
    label = first[2] if first[1] == last[1] else f"{first[2]}-{last[2]}"
    return first[1], last[1], label


def chunk_id_for(doc_id: str, position: int, text: str) -> str:
    """Content-hash id: same document, place and text give the same id."""
    return hashlib.sha256(f"{doc_id}\x00{position}\x00{text}".encode()).hexdigest()[:20]


class Chunker:
    """Cuts documents into chunks whose embedding text fits the model's token limit."""

    def __init__(self, settings: ChunkingSettings, count_tokens: TokenCounter, model_max_tokens: int) -> None:
        self.settings = settings
        self.count_tokens = count_tokens
        self.max_tokens = min(settings.max_tokens, model_max_tokens)

    def chunk(self, doc: Document) -> list[Chunk]:
        """All chunks of one document, in reading order."""
        pieces: list[tuple[tuple[str, ...], str | None, dict[str, str], list[_Unit]]] = []
        if doc.structured:
            for section in _sections(doc):
                units, meta = _units(doc.text, section.start, section.end, allow_meta=True)
                for group in self._pack(doc, section.path, units, overlap=0, target=self.max_tokens):
                    pieces.append((section.path, section.rec_id, meta, group))
        else:
            units, meta = _units(doc.text, 0, len(doc.text), allow_meta=False)
            target = min(self.settings.record_target_tokens, self.max_tokens)
            for group in self._pack(doc, (), units, overlap=self.settings.overlap_sentences, target=target):
                pieces.append(((), None, meta, group))
        return [
            self._make_chunk(doc, position, path, rec_id, meta, group)
            for position, (path, rec_id, meta, group) in enumerate(pieces)
        ]

    def _budget(self, doc: Document, path: tuple[str, ...]) -> int:
        parts = list(path)
        if not parts or parts[0] != doc.title:
            parts.insert(0, doc.title)
        header = self.settings.section_separator.join(parts) + "\n"
        return self.max_tokens - SPECIAL_TOKENS - self.count_tokens([header])[0]

    def _pack(
        self, doc: Document, path: tuple[str, ...], units: list[_Unit], *, overlap: int, target: int
    ) -> list[list[_Unit]]:
        """Greedy packing of whole units under the budget; oversized units are cut at words."""
        if not units:
            return []
        hard = self._budget(doc, path)
        soft = min(hard, target - (self.max_tokens - hard))
        soft = min(max(soft, 16), hard)  # a floor for tiny targets, never above the hard limit
        units = self._split_oversized(doc.text, units, hard)
        costs = self.count_tokens([doc.text[u.start : u.end] for u in units])
        header_costs: dict[tuple[int, int] | None, int] = {
            u.table_header: self.count_tokens([doc.text[u.table_header[0] : u.table_header[1]]])[0]
            for u in units
            if u.table_header
        }
        groups: list[list[_Unit]] = []
        current: list[int] = []
        total = 0
        i = 0
        while i < len(units):
            unit, cost = units[i], costs[i]
            extra = (
                header_costs.get(units[current[0]].table_header, 0)
                if current
                else header_costs.get(unit.table_header, 0)
            )
            if current and total + cost + extra > soft:
                # A caption goes on with its table (`keep_with_next`), unless it is all the passage holds.
                moved = 0
                while moved < len(current) - 1 and units[current[-1 - moved]].keep_with_next:
                    moved += 1
                if moved:
                    carried = current[-moved:]
                    groups.append([units[j] for j in current[:-moved]])
                    current = carried
                    total = sum(costs[j] for j in current)
                    continue
                groups.append([units[j] for j in current])
                keep = [j for j in current[-overlap:] if units[j].kind == "sentence"] if overlap else []
                # Overlap only when it leaves room for the next unit.
                if keep and sum(costs[j] for j in keep) + cost > soft // 2:
                    keep = []
                current = keep
                total = sum(costs[j] for j in current)
                continue
            current.append(i)
            total += cost
            i += 1
        if current:
            groups.append([units[j] for j in current])
        return groups

    def _split_oversized(self, text: str, units: list[_Unit], hard: int) -> list[_Unit]:
        """Cut any unit longer than the budget at word boundaries (the one allowed exception)."""
        costs = self.count_tokens([text[u.start : u.end] for u in units])
        headers = sorted({u.table_header for u in units if u.table_header})
        # A row chunk repeats its table's header row, so the row itself gets what the header leaves.
        header_costs = dict(zip(headers, self.count_tokens([text[a:b] for a, b in headers]), strict=True))
        out: list[_Unit] = []
        for unit, cost in zip(units, costs, strict=True):
            header_cost = header_costs.get(unit.table_header, 0) if unit.table_header else 0
            if header_cost > (hard - 8) // 2:
                # A header row too long to repeat: the row goes without it rather than past the limit.
                unit, header_cost = replace(unit, table_header=None), 0
            limit = hard - 8 - header_cost
            if cost <= limit:
                out.append(unit)
                continue
            if len(unit.sentences) > 1:
                # A long list item (a table's footnote: "* Multiply the dose ... 1) ... 2) ...") is cut between
                # its sentences, which stay sentences; only a sentence longer than the budget is cut at words.
                parts = [_Unit(a, b, unit.kind, ((a, b),), unit.table_header) for a, b in unit.sentences]
                parts[0] = replace(parts[0], start=unit.start)  # the item's marker ("* ", "3.") stays with it
                out.extend(self._pack_sentences(text, self._split_oversized(text, parts, hard), limit))
                continue
            words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text[unit.start : unit.end])]
            word_costs = self.count_tokens([text[unit.start + a : unit.start + b] for a, b in words])
            piece_start = 0
            total = 0
            for idx in range(len(words)):
                if total and total + word_costs[idx] > limit:
                    s = (unit.start + words[piece_start][0], unit.start + words[idx - 1][1])
                    out.append(_Unit(s[0], s[1], unit.kind, (s,), unit.table_header))
                    piece_start, total = idx, 0
                total += word_costs[idx]
            s = (unit.start + words[piece_start][0], unit.start + words[-1][1])
            out.append(_Unit(s[0], s[1], unit.kind, (s,), unit.table_header))
        return out

    def _pack_sentences(self, text: str, parts: list[_Unit], limit: int) -> list[_Unit]:
        """Consecutive sentences of one unit joined into pieces of at most `limit` tokens, keeping their spans."""
        pieces: list[_Unit] = []
        for part in parts:
            if pieces:
                last = pieces[-1]
                joined = replace(last, end=part.end, sentences=last.sentences + part.sentences)
                if self.count_tokens([text[joined.start : joined.end]])[0] <= limit:
                    pieces[-1] = joined
                    continue
            pieces.append(part)
        return pieces

    def _make_chunk(
        self,
        doc: Document,
        position: int,
        path: tuple[str, ...],
        rec_id: str | None,
        meta: dict[str, str],
        group: list[_Unit],
    ) -> Chunk:
        start, end = group[0].start, group[-1].end
        text = doc.text[start:end]
        prefix = ""
        header = group[0].table_header
        if header is not None:
            prefix = doc.text[header[0] : header[1]].strip() + "\n"
        sentences: list[tuple[int, int]] = []
        for unit in group:
            for a, b in unit.sentences:
                span = (a - start, b - start)
                if span not in sentences:
                    sentences.append(span)
        guideline = meta.get("guideline")
        body, year = doc.issuing_body, doc.year
        if guideline and (g := _GUIDELINE.match(guideline)):
            body, year = g.group("body").strip(), int(g.group("year"))
        extra = dict(doc.metadata)
        for key in ("strength", "evidence"):
            if key in meta:
                extra[key] = meta[key]
        pages = page_span(doc.pages, start, end)
        marks = _page_marks(doc.pages, start, end)
        return Chunk(
            chunk_id=chunk_id_for(doc.doc_id, position, text),
            doc_id=doc.doc_id,
            position=position,
            text=text,
            start=start,
            end=end,
            title=doc.title,
            section=path,
            sentences=tuple(sentences),
            prefix=prefix,
            rec_id=rec_id,
            guideline=guideline,
            issuing_body=body,
            year=year,
            topic=doc.topic,
            url=_source_url(doc, guideline),
            metadata=extra,
            page_start=pages[0] if pages else None,
            page_end=pages[1] if pages else None,
            page_label=pages[2] if pages else None,
            page_marks=marks,
        )
