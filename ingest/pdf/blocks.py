"""Lines in reading order -> blocks: paragraphs, list items, heading candidates and tables.

A paragraph ends where the next line is set apart: more space above it than the document's usual
line pitch for that size, another font size or weight, a list marker, a first-line indent, or a
previous line that stopped short although the next line's first word would have fitted. A
paragraph that runs on from the bottom of a column or page to the top of the next one is kept
whole when the first part does not end a sentence.

A table is a run of lines cut into cells at aligned x-positions (at least two lines with two or
more cells); each line that starts in the first column opens a row, other lines add to the cells
of the row above. Drawn rules between rows, when the table has them, decide the rows instead.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field

from ingest.pdf.layout import Line
from ingest.pdf.reader import Rule
from ingest.pdf.tables import TableRow, column_edges, table_end, table_rows

_MARKER = re.compile(r"^(?:[•●▪■□◦○‣⁃∙·►▶➢✓✔\-–—*]|\(?\d{1,3}[.)]|\(?[a-z][.)]|\(?[ivx]{1,4}[.)])$")
_LEADING_MARKER = re.compile(
    r"^(?:([•●▪■□◦○‣⁃∙►▶➢✓✔])\s*|(\(?\d{1,3}[.)]|\(?[a-z]\)|\([ivx]{1,4}\)|[ivx]{1,4}\.)\s+)(?=\S)"
)
_SENTENCE_END = re.compile(r"[.!?:;][\"'”’)\]]*$")


@dataclass
class Block:
    """A paragraph, list item, heading candidate or table, with the lines it came from."""

    kind: str  # paragraph | item | table
    lines: list[Line]
    marker: str = ""  # a list item's bullet or number as printed
    rows: list[TableRow] = field(default_factory=list)  # a table's rows
    edges: list[float] = field(default_factory=list)  # a table's column separators
    level: int = 0  # heading level once decided (0: not a heading)
    excluded: str | None = None  # why the block is left out (references, contents...)

    @property
    def page(self) -> int:
        return self.lines[0].page

    @property
    def size(self) -> float:
        return Counter(round(ln.size, 1) for ln in self.lines).most_common(1)[0][0]

    @property
    def bold(self) -> bool:
        return all(ln.bold for ln in self.lines)

    @property
    def raw_text(self) -> str:
        """The block's words joined with spaces (line-end hyphens kept): for classification."""
        return " ".join(ln.text for ln in self.lines)


def line_pitches(lines: list[Line]) -> dict[float, float]:
    """The usual baseline-to-baseline distance of consecutive lines, per font size."""
    seen: dict[float, Counter[float]] = {}
    for prev, line in itertools.pairwise(lines):
        if prev.page != line.page or prev.band != line.band or round(prev.size) != round(line.size):
            continue
        pitch = line.baseline - prev.baseline
        if 0.9 * line.size < pitch < 2.5 * line.size:
            seen.setdefault(round(line.size, 1), Counter())[round(pitch, 1)] += 1
    return {size: counts.most_common(1)[0][0] for size, counts in seen.items()}


def marker_of(line: Line) -> tuple[str, str] | None:
    """(marker, rest) when the line opens a list item: a bullet or an enumerator before text."""
    first = line.segments[0]
    lead = first.spans[0]
    if lead.symbol and len(lead.text.strip()) == 1 and len(line.text) > 2:
        return lead.text.strip(), line.text[1:].lstrip()
    if len(line.segments) > 1 and (
        _MARKER.match(first.text) or (len(first.text) == 1 and all(s.symbol for s in first.spans))
    ):
        return first.text, " ".join(s.text for s in line.segments[1:])
    m = _LEADING_MARKER.match(line.text)
    if m:
        return (m.group(1) or m.group(2)), line.text[m.end() :]
    return None


def build_blocks(lines: list[Line], rules: dict[int, list[Rule]], body: float) -> list[Block]:
    """Cut the reading-ordered lines into blocks."""
    pitches = line_pitches(lines)
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        end = table_end(lines, i, marker_of(lines[i]) is not None)
        if end is not None:
            _add_table(blocks, lines[i:end], rules.get(lines[i].page, []))
            i = end
            continue
        line = lines[i]
        host = _host_block(blocks, line, pitches, body)
        if host is not None:
            host.lines.append(line)
        else:
            marked = marker_of(line)
            blocks.append(Block("item" if marked else "paragraph", [line], marker=marked[0] if marked else ""))
        i += 1
    return blocks


def _host_block(blocks: list[Block], line: Line, pitches: dict[float, float], body: float) -> Block | None:
    """The block `line` carries on: the last one, or across footnotes at the foot of a column or page."""
    for back, block in enumerate(reversed(blocks[-4:])):
        if block.kind == "table":
            return None
        if back == 0:
            if _continues(block, line, pitches, body):
                return block
            if block.lines[-1].page == line.page and block.lines[-1].band == line.band:
                return None
            continue
        # Skipped blocks must be small print (footnotes) between the two parts.
        skipped = blocks[len(blocks) - back :]
        if any(b.size >= 0.92 * line.size for b in skipped):
            return None
        if block.lines[-1].band != line.band and _continues(block, line, pitches, body):
            return block
    return None


def _continues(block: Block, line: Line, pitches: dict[float, float], body: float) -> bool:
    """Whether `line` carries on the paragraph or item `block` ends with."""
    prev = block.lines[-1]
    marked = marker_of(line)
    if marked and not _inline_enumeration(block, line, marked[0]):
        return False
    if abs(prev.size - line.size) > 0.6 or prev.bold != line.bold:
        return False
    first_word = line.text.split(" ", 1)[0]
    em = line.size
    if prev.page != line.page or prev.band != line.band:
        # The top of a new column or page: carry on only an unfinished sentence from a full line.
        if prev.x1 - prev.x0 < 0.6 * (prev.region[1] - prev.region[0]):
            return False
        ended = _SENTENCE_END.search(prev.text) is not None
        short = prev.x1 < prev.region[1] - max(2 * em, len(first_word) * 0.5 * em)
        indented = line.x0 > line.region[0] + 0.8 * em
        return not (ended and (short or indented or line.text[:1].isupper()))
    pitch = line.baseline - prev.baseline
    usual = pitches.get(round(line.size, 1), 1.2 * line.size)
    if pitch > usual + 0.3 * em or pitch < 0:
        return False
    if (line.size >= 1.12 * body or line.bold) and len(block.lines) < 4 and pitch < 1.6 * em:
        return True  # a heading set on several lines, centred or not
    # A line that stopped short although the next word would have fitted ends the paragraph.
    room = prev.region[1] - prev.x1
    if room > (len(first_word) + 2) * 0.5 * em and _SENTENCE_END.search(prev.text):
        return False
    # A first-line indent opens a new paragraph (a list item's hanging lines are indented too).
    text_left = _text_left(block)
    if block.kind == "paragraph" and line.x0 > text_left + 0.8 * em:
        return abs(line.x0 - prev.x0) < 0.5 * em and len(block.lines) > 1
    return not (block.kind == "item" and line.x0 < text_left - 0.8 * em)


def _inline_enumeration(block: Block, line: Line, marker: str) -> bool:
    """ "... the following four areas: / 1) determining ...": a number inside running text, not a list."""
    if not re.match(r"^\(?\w{1,3}[.)]$", marker):
        return False
    prev = block.lines[-1]
    if prev.page != line.page or prev.band != line.band:
        return False
    full = prev.x1 > prev.region[1] - 1.5 * line.size
    return full and abs(line.x0 - prev.x0) < 0.5 * line.size and block.kind == "paragraph"


def _text_left(block: Block) -> float:
    """Where a block's text starts: after a list marker, at the continuation lines' indent."""
    if block.kind == "item" and len(block.lines) > 1:
        return min(ln.x0 for ln in block.lines[1:])
    first = block.lines[0]
    if block.kind == "item" and len(first.segments) > 1:
        return first.segments[1].x0
    if len(block.lines) > 1:
        return min(ln.x0 for ln in block.lines[1:])
    return first.x0


def _add_table(blocks: list[Block], lines: list[Line], rules: list[Rule]) -> None:
    """A new table block, or more rows of the table that ended the previous page with the same columns."""
    edges = column_edges(lines)
    rows = table_rows(lines, edges, rules)
    last = blocks[-1] if blocks else None
    if (
        last is not None
        and last.kind == "table"
        and last.lines[-1].page == lines[0].page - 1
        and len(last.edges) == len(edges)
        and all(abs(a - b) < 2 * lines[0].size for a, b in zip(last.edges, edges, strict=True))
    ):
        if rows and last.rows and rows[0].cells == last.rows[0].cells:
            rows = rows[1:]  # the header row repeated on the new page
        last.lines.extend(lines)
        last.rows.extend(rows)
        return
    blocks.append(Block("table", lines, rows=rows, edges=edges))
