"""The main content rendered as Markdown-like text (`_Renderer`): headings, paragraphs, lists and data tables as
`| a | b |` rows under their header, nested tables after their row."""

from __future__ import annotations

import re

from bs4.element import NavigableString, Tag

from ingest.html_content import _BLOCKS, _HEADINGS, _attr, _cells, _is_data_table, _normal, _own_rows


def _heading_text(tag: Tag) -> str:
    return re.sub(r"\s*[#¶§]+$", "", _flat_text(tag))  # without a permalink sign after the words


def _escape(line: str) -> str:
    """A paragraph line must not read as a heading or a table row."""
    return "\\" + line if line.startswith(("#", "|")) else line


def _int(value: str, default: int, low: int = 0, high: int = 10_000) -> int:
    try:
        return min(max(int(value), low), high)
    except ValueError:
        return default


def _superscript(text: str, before: str) -> str:
    """`10<sup>9</sup>` reads 10^9; other superscripts (1st, citation marks) stay as written."""
    return "^" + text if before[-1:].isdigit() and re.fullmatch(r"[-+−]?\d+", text) else text


def _last_char(pieces: list[str]) -> str:
    for piece in reversed(pieces):
        if piece.strip():
            return piece.rstrip()[-1]
    return ""


def _flat_text(tag: Tag, hoist: list[Tag] | None = None) -> str:
    """A heading's or a cell's text on one line; data tables nested in it go to `hoist` when given."""
    pieces: list[str] = []

    def walk(element: Tag) -> None:
        for child in element.children:
            if type(child) is NavigableString:
                pieces.append(str(child))
            elif not isinstance(child, Tag):
                continue
            elif child.name == "br":
                pieces.append(" ")
            elif child.name == "sup":
                pieces.append(_superscript(_normal(child.get_text()), _last_char(pieces)))
            elif child.name == "table" and hoist is not None and _is_data_table(child):
                hoist.append(child)
            elif child.name == "li":
                pieces.append(" ")
                walk(child)
                if _last_char(pieces) not in ".,;:!?":  # "smoking; diabetes", not "smoking diabetes"
                    while not pieces[-1].strip():
                        pieces.pop()
                    pieces[-1] = pieces[-1].rstrip() + ";"
                pieces.append(" ")
            elif child.name in _BLOCKS:
                pieces.append(" ")
                walk(child)
                pieces.append(" ")
            else:
                walk(child)

    walk(tag)
    return _normal("".join(pieces)).rstrip(";")


class _Renderer:
    """Writes the main content as headings, paragraphs, list items and table rows."""

    def __init__(self) -> None:
        self.segments: list[tuple[str, str]] = []  # (kind, text); kind: heading, para, item, table
        self.inline: list[str] = []
        self.items: list[tuple[str, list[int]]] = []  # open list items: marker, [segment index] once written
        self.headings = 0
        self.tables = 0
        self.hoisted = 0
        self.layout_tables = 0
        self.level = 1  # of the last heading written
        self.prose_rows = 0

    @property
    def warnings(self) -> list[str]:
        out = []
        if self.hoisted:
            out.append(f"{self.hoisted} table(s) nested in table cells written after the row holding them")
        if self.layout_tables:
            out.append(f"{self.layout_tables} layout table(s) read as text, not as rows")
        if self.prose_rows:
            out.append(f"{self.prose_rows} table row(s) holding paragraphs written as sections under their row label")
        return out

    def text(self) -> str:
        self.flush()
        out: list[str] = []
        previous = ""
        for kind, body in self.segments:
            if out:
                out.append("\n" if kind == previous == "item" else "\n\n")
            out.append(body)
            previous = kind
        return "".join(out)

    def block(self, tag: Tag, run_in_level: int | None = None) -> None:
        """The children of `tag`; with `run_in_level`, a short all-bold paragraph is a heading of that level."""
        for child in tag.children:
            if type(child) is NavigableString:
                self.inline.append(re.sub(r"\s+", " ", str(child)))
            elif isinstance(child, Tag):
                if run_in_level is not None and _is_run_in_heading(child):
                    self.flush()
                    self.add_heading(run_in_level, _escape(_flat_text(child)))
                else:
                    self.element(child)

    def element(self, tag: Tag) -> None:
        name = tag.name
        if name == "br":
            self.inline.append("\n")
        elif name in _HEADINGS or _attr(tag, "role") == "heading":
            self.heading(tag)
        elif name == "table":
            self.flush()
            if _is_data_table(tag):
                self.table(tag)
            else:
                self.layout_tables += 1
                self.block(tag)
            self.flush()
        elif name in ("ul", "ol", "menu", "dir"):
            self.flush()
            self.list_block(tag)
        elif name == "li":
            self.item(tag, "- ")
        elif name == "pre":
            self.flush()
            self.inline.append(tag.get_text())  # keeps its line breaks
            self.flush()
        elif name == "sup":
            self.inline.append(_superscript(_normal(tag.get_text()), _last_char(self.inline)))
        elif name in _BLOCKS:
            self.flush()
            self.block(tag)
            self.flush()
        else:
            self.block(tag)

    def flush(self) -> None:
        lines = [_escape(line) for line in (_normal(raw) for raw in "".join(self.inline).split("\n")) if line]
        self.inline.clear()
        if not lines:
            return
        if self.items:
            marker, written = self.items[-1]
            if not written:
                self.segments.append(("item", marker + "\n  ".join(lines)))
                written.append(len(self.segments) - 1)
                return
            if self.segments[-1][0] == "item":  # a further paragraph of the item: indented under it
                self.segments[-1] = ("item", self.segments[-1][1] + "\n  " + "\n  ".join(lines))
                return
        self.segments.append(("para", "\n".join(lines)))

    def heading(self, tag: Tag) -> None:
        self.flush()
        text = _heading_text(tag)
        if not text:
            return
        level = int(tag.name[1]) if tag.name in _HEADINGS else _int(_attr(tag, "aria-level"), 2, 1, 6)
        self.add_heading(level, text)

    def add_heading(self, level: int, text: str) -> None:
        self.segments.append(("heading", "#" * level + " " + text))
        self.headings += 1
        self.level = level

    def list_block(self, tag: Tag) -> None:
        ordered = tag.name == "ol"
        number = _int(_attr(tag, "start"), 1)
        for child in tag.children:
            if isinstance(child, Tag) and child.name == "li":
                number = _int(_attr(child, "value"), number) if ordered else number
                self.item(child, f"{number}. " if ordered else "- ")
                number += 1
            elif isinstance(child, Tag):
                self.element(child)
            elif type(child) is NavigableString:
                self.inline.append(re.sub(r"\s+", " ", str(child)))
        self.flush()

    def item(self, tag: Tag, marker: str) -> None:
        self.flush()
        self.items.append((marker, []))
        self.block(tag)
        self.flush()
        self.items.pop()

    def table(self, table: Tag) -> None:
        """Rows of a data table, header first; nested data tables follow the row that holds them."""
        caption = table.find("caption")
        if caption is not None and caption.find_parent("table") is table and (text := _flat_text(caption)):
            self.segments.append(("para", _escape(text)))
        rows = [r for r in _own_rows(table) if _cells(r)]
        heads = [r for r in rows if r.parent is not None and r.parent.name == "thead"]
        if not heads and len(rows) > 1 and all(c.name == "th" for c in _cells(rows[0])):
            heads = rows[:1]
        head_ids = {id(r) for r in heads}
        grid = _grid(rows, len(rows), head_ids)
        head_rows = [cells for tr, cells, _ in grid if id(tr) in head_ids]
        if len(head_rows) > 1:
            # A header row with one label across every column is the table's title, not a column label.
            titles = [cells for cells in head_rows if len(cells) > 1 and len({c for c in cells if c}) == 1]
            labels = [cells for cells in head_rows if cells not in titles] or titles[-1:]
            self.segments.extend(("para", _escape(next(c for c in t if c))) for t in titles if t not in labels)
            head_rows = labels
        header = _merge_header(head_rows)
        if len(set(header)) == 1:
            header = header[:1]  # one label across the whole table
        lines = [_row(header), _delimiter(len(header))] if header else []
        written = False
        own_cells = {id(tr): _cells(tr) for tr, _, _ in grid if id(tr) not in head_ids}
        prose_cells = {key: [c for c in row if _is_prose(c)] for key, row in own_cells.items()}
        # Rows of a label-value table are all sections once one of them is, so none is read under another's label.
        label_value = max(map(len, own_cells.values()), default=0) <= 2 and any(prose_cells.values())
        for tr, cells, nested in grid:
            if id(tr) in head_ids:
                continue
            prose = prose_cells[id(tr)]
            if not prose and label_value and len(own_cells[id(tr)]) == 2:
                prose = own_cells[id(tr)][1:]  # a label-value table that holds paragraphs elsewhere: one section a row
            if prose:
                if len(lines) > (2 if header else 0):
                    self.segments.append(("table", "\n".join(lines)))
                    written = True
                self._prose_row(tr, prose, header)
                lines = [_row(header), _delimiter(len(header))] if header else []
                continue
            if any(cells):
                distinct = {c for c in cells if c}
                lines.append(_row(list(distinct) if len(distinct) == 1 and len(cells) > 1 and not cells[-1] else cells))
            if nested:
                if len(lines) > (2 if header else 0):
                    self.segments.append(("table", "\n".join(lines)))
                    written = True
                self._nested(nested, cells)
                lines = [_row(header), _delimiter(len(header))] if header else []
        if len(lines) > (2 if header else 0) or (lines and not written):
            self.segments.append(("table", "\n".join(lines)))
            written = True
        self.tables += written

    def _prose_row(self, tr: Tag, prose: list[Tag], header: list[str]) -> None:
        """A row whose cells hold paragraphs ("| ACCP (2013) | Results ... 450 words |"): each such cell becomes a
        section headed by the row's label (and its column's, when several cells hold paragraphs), so its
        sentences are read one by one under that label instead of as one 450-word row."""
        self.prose_rows += 1
        cells = _cells(tr)
        label = " ".join(t for c in cells if c not in prose and (t := _flat_text(c)))
        outer = self.level
        base = min(outer + 1, 6)
        for cell in prose:
            column = cells.index(cell)
            named = header[column] if len(prose) > 1 and column < len(header) else ""
            title = " - ".join(t for t in (label, named) if t) or (header[column] if column < len(header) else "")
            if title:
                self.add_heading(base, _escape(title))
            self.block(cell, run_in_level=min(base + 1, 6))
            self.flush()
            self.level = outer  # the next row's label is the sibling of this one's

    def _nested(self, nested: list[tuple[int, Tag]], cells: list[str]) -> None:
        """Tables found in a row's cells, each introduced by the row's label and the text just before it."""
        for column, inner in nested:
            self.hoisted += 1
            label = cells[0] if column > 0 and len(cells[0].split()) <= 12 else ""
            lead = ""
            for before in inner.find_previous_siblings(True, limit=3):
                if before.name == "table":
                    break
                if 0 < len((text := _flat_text(before)).split()) <= 20:
                    lead = text  # the table's title, as these are usually set in a short paragraph
                    break
            context = ": ".join(p for p in (label.replace("\\|", "|"), lead) if p)
            if context:
                self.segments.append(("para", _escape(context)))
            self.table(inner)


PROSE_CELL_WORDS = 60
"""A cell longer than this, in more than one paragraph, holds text to read, not a value."""


def _is_prose(cell: Tag) -> bool:
    """A table cell that holds paragraphs of text rather than a value."""
    blocks = [c for c in cell.find_all(["p", "ul", "ol", "div", *_HEADINGS], recursive=False) if c.get_text(strip=True)]
    return len(blocks) >= 2 and len(cell.get_text(" ").split()) > PROSE_CELL_WORDS


def _is_run_in_heading(tag: Tag) -> bool:
    """A short paragraph wholly in bold ("<p><strong>Screening with LDCT</strong></p>"): a heading in all but name."""
    if tag.name in _HEADINGS:
        return True
    text = _flat_text(tag)
    if tag.name != "p" or not text or len(text.split()) > 12 or text.endswith((".", ":", ";")):
        return False
    bold = "".join(b.get_text() for b in tag.find_all(["strong", "b"]) if b.find_parent(["strong", "b"]) is None)
    return _normal(bold) == text


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _delimiter(columns: int) -> str:
    """The row under a header that makes it one (as in GitHub's Markdown tables)."""
    return "|" + " --- |" * columns


def _merge_header(rows: list[list[str]]) -> list[str]:
    """Several header rows as one: each column's labels joined (the chunker repeats one header line)."""
    if not rows:
        return []
    width = max(len(r) for r in rows)
    merged = []
    for col in range(width):
        labels: list[str] = []
        for row in rows:
            if col < len(row) and row[col] and (not labels or labels[-1] != row[col]):
                labels.append(row[col])
        merged.append(" ".join(labels))
    return merged if any(merged) else []


def _grid(rows: list[Tag], count: int, heads: set[int]) -> list[tuple[Tag, list[str], list[tuple[int, Tag]]]]:
    """Each row's cell texts with row spans repeated below and column spans padded (repeated in headers)."""
    spans: dict[int, tuple[str, int]] = {}  # column -> (text, rows still covered)
    out = []
    for tr in rows:
        cells: list[str] = []
        nested: list[tuple[int, Tag]] = []  # (column, table)
        for cell in [*_cells(tr), None]:
            # Cells spanning down from rows above come first; after the last cell, all that remain.
            while len(cells) in spans or (cell is None and any(c > len(cells) for c in spans)):
                text, left = spans.pop(len(cells), ("", 0))
                if left > 1:
                    spans[len(cells)] = (text, left - 1)
                cells.append(text)
            if cell is None:
                break
            found: list[Tag] = []
            text = _flat_text(cell, found).replace("|", "\\|")
            nested.extend((len(cells), t) for t in found)
            width = _int(_attr(cell, "colspan"), 1, 1, 50)
            height = _int(_attr(cell, "rowspan"), 1, 0, count) or count
            for k in range(width):
                value = text if k == 0 or id(tr) in heads else ""
                if height > 1:
                    spans[len(cells)] = (value, height - 1)
                cells.append(value)
        out.append((tr, cells, nested))
    return out
