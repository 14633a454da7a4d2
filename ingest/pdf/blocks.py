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

from ingest.pdf.lines import Line
from ingest.pdf.reader import Rule
from ingest.pdf.tables import TableRow, column_edges, table_end, table_rows

# "1.1.1" set apart from its text (NICE recommendations): a numbered paragraph, not a table column.
SECTION_NUMBER = r"\d{1,2}(?:\.\d{1,3}){1,3}\.?"
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
    glyph = lead.text.strip()
    if len(glyph) == 1 and len(line.text) > 2 and (lead.symbol or lead.size < 0.8 * line.size):
        return glyph, line.text[1:].lstrip()  # a bullet from a symbol font, or one small glyph
    rest = " ".join(s.text for s in line.segments[1:])
    if len(line.segments) > 1 and (
        _MARKER.match(first.text) or (len(first.text) == 1 and all(s.symbol for s in first.spans))
    ):
        return first.text, rest
    if len(line.segments) == 2 and re.fullmatch(SECTION_NUMBER, first.text) and re.match(r"[A-Z]\S*(?: \S+){2}", rest):
        return first.text, rest  # "1.1.1   Offer ...", not a cell of numbers
    m = _LEADING_MARKER.match(line.text)
    if m:
        return (m.group(1) or m.group(2)), line.text[m.end() :]
    return None


def _markers(lines: list[Line]) -> list[str | None]:
    """Each line's list marker, leaving out numbers that only enumerate inside running text."""
    out: list[str | None] = []
    for i, line in enumerate(lines):
        marked = marker_of(line)
        out.append(marked[0] if marked and not _inline_enumeration(lines, i, *marked) else None)
    return out


def _inline_enumeration(lines: list[Line], i: int, marker: str, rest: str) -> bool:
    """ "... the following four areas: / 1) determining ... / 2) selecting": numbers in running text.

    The line before is full, the marked line starts where it starts, and so does the next one: no
    hanging indent, which a real list item has. A reference number in parentheses opening a line inside a
    sentence is running text too, wherever the line sits. `rest` is the line's text after the marker.
    """
    if not re.match(r"^\(?\w{1,3}[.)]$", marker) or i == 0:
        return False
    prev, line = lines[i - 1], lines[i]
    # "... buprenorphine should be initiated / (96) and titrated upward ...": a reference number in parentheses
    # that opens a line inside a sentence (the line before ends none, the text after it runs on in lower case).
    if re.fullmatch(r"\(\d{1,3}\)", marker) and not _SENTENCE_END.search(prev.text) and rest.lstrip()[:1].islower():
        return True
    if prev.page != line.page or prev.band != line.band:
        return False
    em = line.size
    if prev.x1 < prev.region[1] - 1.5 * em or abs(line.x0 - prev.x0) > 0.5 * em or re.search(r"[.!?]\W*$", prev.text):
        return False
    if i + 1 < len(lines) and lines[i + 1].band == line.band:
        return abs(lines[i + 1].x0 - line.x0) < 0.5 * em
    return True


def build_blocks(lines: list[Line], rules: dict[int, list[Rule]], body: float) -> list[Block]:
    """Cut the reading-ordered lines into blocks."""
    pitches = line_pitches(lines)
    markers = _markers(lines)
    band_ends = {id(a) for a, b in itertools.pairwise(lines) if b.band != a.band}
    band_ends.update(id(ln) for ln in lines[-1:])
    blocks: list[Block] = []
    current: Block | None = None  # the block the previous line went to
    i = 0
    while i < len(lines):
        end = table_end(lines, i, markers[i] is not None)
        if end is not None:
            _add_table(blocks, lines[i:end], rules.get(lines[i].page, []))
            current = None
            i = end
            continue
        line = lines[i]
        host = None
        if not markers[i]:
            if current is not None and current is not blocks[-1] and _continues(current, line, pitches, body):
                host = current
            else:
                host = _host_block(blocks, line, pitches, body)
        after_float = bool(blocks) and (blocks[-1].kind == "table" or blocks[-1].size < 0.92 * line.size)
        if host is None and not markers[i] and (i == 0 or lines[i - 1].band != line.band or line.ruled or after_float):
            host = _interrupted_block(blocks, line, band_ends)
        if host is not None:
            host.lines.append(line)
        else:
            marker = markers[i]
            host = Block("item" if marker else "paragraph", [line], marker=marker or "")
            blocks.append(host)
        current = host
        i += 1
    return blocks


def _host_block(blocks: list[Block], line: Line, pitches: dict[float, float], body: float) -> Block | None:
    """The block `line` carries on: the last one, or one before footnotes at the foot of a column or page."""
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
        if any(b.size >= 0.92 * min(line.size, body) for b in blocks[len(blocks) - back :]):
            return None
        if _continues(block, line, pitches, body):
            return block
    return None


def _interrupted_block(blocks: list[Block], line: Line, band_ends: set[int]) -> Block | None:
    """The paragraph a box or figure cut in two: `line` starts lower case at the top of a column,
    and a recent paragraph of the same type ends unfinished on a full line at the foot of its column."""
    if not line.text[:1].islower():
        return None
    for block in reversed(blocks[-60:]):
        last = block.lines[-1]
        if last.page < line.page - 3:
            return None
        if (
            block.kind != "table"
            and (id(last) in band_ends or last.page != line.page)
            and last.band != line.band
            and abs(last.size - line.size) <= 0.6
            and last.bold == line.bold
            and not _SENTENCE_END.search(last.text)
            and last.x1 - last.x0 >= 0.85 * (last.region[1] - last.region[0])
        ):
            return block
    return None


def _continues(block: Block, line: Line, pitches: dict[float, float], body: float) -> bool:
    """Whether `line` (not a list item) carries on the paragraph or item `block` ends with."""
    prev = block.lines[-1]
    if abs(prev.size - line.size) > max(0.6, 0.1 * line.size) or prev.bold != line.bold or line.ruled:
        return False
    em = line.size
    ended = _SENTENCE_END.search(prev.text) is not None
    if prev.page != line.page or prev.band != line.band:
        # The top of a new column or page: carry on an unfinished sentence from a full line.
        if prev.x1 - prev.x0 < 0.6 * (prev.region[1] - prev.region[0]):
            return False
        return line.text[:1].islower() or not ended
    pitch = line.baseline - prev.baseline
    usual = pitches.get(round(line.size, 1), 1.2 * line.size)
    broken_word = re.search(r"[^\W\d_]-$", prev.text) is not None and line.text[:1].islower()
    if pitch < 0 or pitch > (2.5 * usual if broken_word else usual + 0.3 * em):
        return False
    if (line.size >= 1.12 * body or line.bold) and len(block.lines) < 4 and pitch < 1.6 * em:
        # A heading set on several lines: wrapped (the next word did not fit) or centred.
        return _wrapped(prev, line) or (_centred(prev) and _centred(line))
    # A line that stopped short although the next word would have fitted ends the paragraph.
    first_word = line.text.split(" ", 1)[0]
    if prev.region[1] - prev.x1 > (0.55 * len(first_word) + 1.0) * em and not re.search(r"\w-$", prev.text):
        return False
    if block.kind == "item":
        if len(block.lines) == 1 and line.x0 < prev.x0 + 0.5 * em and not line.text[:1].islower():
            return False  # back at the marker's edge with a new sentence: the item has ended
        return line.x0 > _text_left(block) - 0.8 * em
    indent = line.x0 - prev.x0
    if indent > 0.8 * em:
        return not ended  # a first-line indent after a finished sentence opens a paragraph
    hanging = len(block.lines) >= 2 and block.lines[1].x0 > block.lines[0].x0 + 0.8 * em
    return not (indent < -0.8 * em and hanging)


def _wrapped(prev: Line, line: Line) -> bool:
    """Whether `line`'s first word would not have fitted at the end of `prev`."""
    first_word = line.text.split(" ", 1)[0]
    return prev.region[1] - prev.x1 < (0.55 * len(first_word) + 1.0) * line.size or bool(re.search(r"\w-$", prev.text))


def _centred(line: Line) -> bool:
    lo, hi = line.region
    return abs((line.x0 + line.x1) / 2 - (lo + hi) / 2) < line.size and line.x0 > lo + 2 * line.size


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
