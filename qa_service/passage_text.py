"""How a passage's text is read: its sentences cleaned for quoting, the ones worth quoting, its lists and tables.

A sentence is quoted without the Markdown emphasis, reference numbers ("[12]", "(3)") and list labels its page
carried (`without_emphasis`, `drop_source_references`, `without_reference_numbers`, `without_list_label`); a
heading, a citation or a glossary line is never quoted (`answer_worthy`). A list item is read with the sentence
that opens its list (`lead_in`, `opens_list`, `list_items`), and a table row under its table's header, as
"Column: value" (`table_header`, `column_names`, `row_owner`, `row_as_sentence`). The extractive composer
(`compose.py`) and the evidence gate (`abstention.py`) read passages through these.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from ingest import Chunk
from ingest.chunking import CAPTION, MAX_CAPTION_WORDS, TABLE_SEPARATOR, cells, continues_row, second_header_row

_SOURCE_REFERENCE = re.compile(r"\s?\[\d{1,3}(?:\s*[,–-]\s*\d{1,3})*\]")


# Markdown emphasis a web page or summary carries into its text ("**Acute N&V:** N&V experienced ...", "***OR:***"):
# an answer says the words, not the markup.
_EMPHASIS = re.compile(r"(\*{1,3})(?=\S)([^*\n]+?)(?<=\S)\1")
# Bold that opens in one sentence and closes in a later one ("**Given the complexities ... administration,").
_STRAY_BOLD = re.compile(r"(?<!\S)\*{2,3}(?=\S)|(?<=\S)\*{2,3}(?!\S)")


def without_emphasis(text: str) -> str:
    """The text without Markdown's bold and italic asterisks around its words (table rows stay as they are)."""
    return text if text.startswith("|") else _STRAY_BOLD.sub("", _EMPHASIS.sub(r"\2", text))


def drop_source_references(text: str) -> str:
    """Remove a source's own bibliography markers ("... in children [12, 14].") so they cannot pass for our [n]."""
    return _SOURCE_REFERENCE.sub("", text)


# A reference number in parentheses before punctuation: "... for acute low back pain (137,138)." Numbers in
# parentheses are data elsewhere ("MRD-negative (10-5)," "(42–60)"), so only a document that cites this way
# throughout loses them: at least CITING_MARKERS of them, at least one in CITING_PASSAGES passages.
_REFERENCE_NUMBER = r"(?<=[\w).%])\s\(\d{1,3}(?:\s*[,–-]\s*\d{1,3})*\)"
_PARENTHESISED_REFERENCE = re.compile(_REFERENCE_NUMBER + r"(?=[.,;:]|$)")
# The same number inside a sentence, before its next word or bracket: "... and acetaminophen (300 mg) (207) states
# that ...". Read only in a document that cites in parentheses throughout (`parenthesised_citers`).
_PARENTHESISED_REFERENCE_INSIDE = re.compile(_REFERENCE_NUMBER + r"(?=\s+[a-z(])")
CITING_MARKERS = 10
CITING_PASSAGES = 4
# An enumeration's labels: "... including (1) age, (2) renal function and (3) ..." counts 1, 2, 3 in order.
_ENUMERATION_LABEL = re.compile(r"\((\d)\)")


def _enumeration(text: str) -> frozenset[str]:
    """The labels "(1)", "(2)", ... of an enumeration counting up from 1 in the sentence (empty without one)."""
    labels, expected = [], 1
    for match in _ENUMERATION_LABEL.finditer(text):
        if int(match.group(1)) == expected:
            labels.append(match.group())
            expected += 1
    return frozenset(labels) if len(labels) >= 2 else frozenset()


def without_reference_numbers(text: str) -> str:
    """A sentence of a document citing by numbers in parentheses (`parenthesised_citers`) without those numbers,
    wherever they stand; an enumeration's "(1) ... (2) ..." is kept, as it is part of the sentence."""
    kept = _enumeration(text)

    def drop(match: re.Match[str]) -> str:
        return match.group() if match.group().strip() in kept else ""

    return _PARENTHESISED_REFERENCE_INSIDE.sub(drop, _PARENTHESISED_REFERENCE.sub(drop, text))


def parenthesised_citers(chunks: Sequence[Chunk]) -> frozenset[str]:
    """The documents that cite their references by numbers in parentheses (CDC's MMWR style: "... (4)."),
    judged by how often their passages hold such a number before punctuation; one (10-5) in a summary is data."""
    markers: dict[str, int] = {}
    passages: dict[str, int] = {}
    for chunk in chunks:
        passages[chunk.doc_id] = passages.get(chunk.doc_id, 0) + 1
        markers[chunk.doc_id] = markers.get(chunk.doc_id, 0) + len(_PARENTHESISED_REFERENCE.findall(chunk.text))
    return frozenset(doc for doc, n in markers.items() if n >= CITING_MARKERS and n * CITING_PASSAGES >= passages[doc])


# What a reference list entry has and a recommendation does not: a DOI or URL, "et al." (not in prose:
# "Lalouni et al. compared the intervention ... cost US$ 186" reports a study), a journal's
# "2015;6:8-13" volume and pages, or "J Pain Symptom Manage" style abbreviated titles before a year.
_REFERENCE = re.compile(
    r"\bdoi\b|https?://|www\.|\bet al\b(?!\.?,?\s+(?:\(\d{4}\)\s+)?[a-z])|"
    r"\b(?:19|20)\d{2}\s*[;:]\s*\d+|\b\d+\s*\(\d+\)\s*:\s*\d+|"
    r"\bPMID\b|\bISBN\b|"
    # an author list: "Walker J, Mertens UK, Schmidt CO," (surname, initials, comma) two or more times
    r"(?:\b[A-Z][A-Za-z'-]+ [A-Z]{1,3}[,.]\s*){2,}",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z]{2,}")


# A sentence that only points elsewhere ("For more information, see the Pain Assessment section.",
# "See Table 4."): it answers nothing, and alone in an answer it passes a near miss off as covered.
_POINTER = re.compile(
    r"^\(?(?:for (?:more |further |additional )?"
    r"(?:information|details?|discussion|a (?:discussion|description|summary))\b[^.]*?,\s*(?:see|refer to)\b"
    r"|(?:see|refer to) (?:the |also |table|figure|box|section|appendix|annex|chapter)|see also\b)",
    re.IGNORECASE,
)
_LIST_MARKER_BEFORE = re.compile(r"(?:^|\n)[ \t]*(?:[-*+•]|\d{1,3}[.)]|[a-z][.)]|[ivx]{1,4}[.)])[ \t]*$")
# "ACCP, American College of Chest Physicians." and "CT, computed tomography.": a list of abbreviations.
_ABBREVIATION_ENTRY = re.compile(r"^[A-Z][A-Za-z0-9/&-]*[A-Z0-9][A-Za-z0-9/&-]*,\s+[A-Za-z][\w ,'()/-]*\.?$")
# A table's glossary: "Abbreviations: mcg/hr = microgram per hour; mg = milligram; MME = ...".
_GLOSSARY_LABEL = re.compile(r"^(?:abbreviations?|acronyms?)\s*:", re.IGNORECASE)


# A table's glossary of one entry, in a row of its own: "| IV = intravenous. | | | |". The meaning is
# words only: "| Tapentadol = 0.4 when converting |" states a value.
_ONE_DEFINITION = re.compile(r"^[A-Za-z0-9][\w/&+-]{0,11} = [^=;\d]+\.?$")


def _glossary(text: str) -> bool:
    """A list of definitions: a glossary label, or two "term = meaning" entries separated by semicolons."""
    if _GLOSSARY_LABEL.match(text):
        return True
    return text.count(" = ") >= 2 and sum(" = " in part for part in text.split(";")) >= 2


_CONTENT_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")


def heading_like(text: str) -> bool:
    """A line that names a section rather than says something: no closing punctuation, at most twelve words,
    every word of four letters or more capitalised ("Treatments for Acute Episodic Migraine", a heading the
    layout left in the text)."""
    stripped = text.strip()
    if not stripped or stripped[-1] in ".!?:;,)" or len(stripped.split()) > 12:
        return False
    words = _CONTENT_WORD.findall(stripped)
    return len(words) >= 2 and all(w[0].isupper() for w in words)


def answer_worthy(text: str, *, after: str = "") -> bool:
    """Whether a passage sentence can stand in an answer on its own (`after`: the passage text before it).

    Not: a reference-list entry, a sentence with almost no words (a citation, a stray label), an
    entry of a list of abbreviations or a table's glossary, a pointer to another section ("For more
    information, see ..."), or a fragment that begins mid-sentence (lower case, not the first word of
    a list item). Table rows pass, but for a header row (it names columns only) and a row whose one
    filled cell is the table's glossary ("| 5-HT3 = 5-hydroxytryptamine-3; bid = twice a day; ... | | |",
    "| IV = intravenous. | | | |"), an empty row and a separator row repeated inside a table ("| --- | --- |").
    """
    stripped = text.strip()
    if stripped.startswith("|"):
        if re.search(r"\n[ \t]*\|?[ \t]*:?-{2,}", stripped):
            return False
        filled = [cell for cell in cells(stripped) if cell]  # `cells` strips each
        if not any(_WORD.search(cell) or any(ch.isdigit() for ch in cell) for cell in filled):
            return False  # an empty row, or a second separator row ("| --- | --- |") inside a malformed table
        if note := table_note(stripped):  # "| aAdapted from Roila et al.[3] ... | | |": worthy as its prose is
            return answer_worthy(drop_source_references(note))
        return not (len(filled) == 1 and (_glossary(filled[0]) or _ONE_DEFINITION.match(filled[0])))
    if (
        _REFERENCE.search(stripped)
        or len(_WORD.findall(stripped)) < 3
        or _ABBREVIATION_ENTRY.match(stripped)
        or _glossary(stripped)
        or _POINTER.match(stripped)
        or heading_like(stripped)
        # a run-in heading opening its paragraph: "Treatments for Acute Episodic Migraine. The contextual ..."
        or (stripped.endswith(".") and heading_like(stripped[:-1]) and (not after.strip() or after.endswith("\n")))
    ):
        return False
    body = _LIST_LABEL.sub("", stripped, count=1)  # "b) Psychological therapy ...": a list label first
    if _closes_what_it_never_opened(body):
        return False  # "0.92-1.07]) or all-cause mortality ...": the start of the sentence is elsewhere
    return not (body[:1].islower() and not _LIST_MARKER_BEFORE.search(after))


_LIST_LABEL = re.compile(r"^\(?(?:[a-zA-Z]|\d{1,3}|[ivxIVX]{1,4})\)\s+")  # "b) Psychological ...", "(ii) ..."
# "3. Do not use the calculated dose ...", "ii. children with chronic cancer-related pain ..."
_NUMBERED = re.compile(r"^(?:\d{1,3}\.\s+(?=[A-Z])|(?:[ivx]{1,4}|[IVX]{1,4})\.\s+(?=[A-Za-z]))")


def without_list_label(text: str) -> str:
    """A list item's sentence without its label ("3) Do not use ..." -> "Do not use ..."): in an answer the
    label numbers nothing, and reads as a quantity it is not."""
    if text.startswith("|"):
        return text
    return _NUMBERED.sub("", _LIST_LABEL.sub("", text, count=1), count=1)


_PAIRS = {")": "(", "]": "["}


def _closes_what_it_never_opened(text: str) -> bool:
    """A bracket closed before any was opened: the text starts inside a parenthesis."""
    open_ = {"(": 0, "[": 0}
    for char in text:
        if char in open_:
            open_[char] += 1
        elif char in _PAIRS:
            if open_[_PAIRS[char]] == 0:
                return True
            open_[_PAIRS[char]] -= 1
    return False


_ITEM_START = re.compile(r"[ \t]*(?:[-*+•▪●]|\d{1,3}[.)]|\(?[a-z]\)|\(?[ivx]{1,4}[.)])[ \t]")


def is_list_item(chunk: Chunk, position: int) -> bool:
    """Whether the chunk's sentence at `position` starts a line as a list item ("- ...", "2. ...", "b) ...")."""
    start = chunk.sentences[position][0]
    line_start = chunk.text.rfind("\n", 0, start) + 1
    return _ITEM_START.match(chunk.text, line_start) is not None and line_start <= start <= line_start + 8


def continues_item(chunk: Chunk, position: int) -> bool:
    """Whether the chunk's sentence at `position` goes on with the list item above it: it starts an indented line
    right after an item or its continuation ("- Canadian Task Force ... Recommendations on screening for lung
    cancer. / 2016 Apr 05", the item's date)."""
    if position <= 0:
        return False
    start = chunk.sentences[position][0]
    line_start = chunk.text.rfind("\n", 0, start) + 1
    indented = line_start < start and not chunk.text[line_start:start].strip() and chunk.text[line_start] in " \t"
    return indented and (is_list_item(chunk, position - 1) or continues_item(chunk, position - 1))


# The word an unfinished phrase stops on: a list item ending so ("- applicable to", "- outpatients aged >=18 years
# with") opens the items after it, as a nested list whose indentation a PDF's text layer has lost. "and" and "or"
# are not among them: "- management of cancer-related pain, or" goes on with its own list.
_UNFINISHED = re.compile(
    r"\b(?:to|with|of|for|in|on|at|by|from|into|than|as|the|a|an|is|are|be|been|was|were|not"
    r"|include|includes|including|such|following|when|whether|if|that|who|which|whose)$",
    re.IGNORECASE,
)


def _cleaned(chunk: Chunk, position: int) -> str:
    """The chunk's sentence at `position` without the source's reference markers or trailing space."""
    a, b = chunk.sentences[position]
    return drop_source_references(chunk.text[a:b]).rstrip()


def _in_a_list(chunk: Chunk, position: int) -> bool:
    """Whether the sentence at `position` is a list item or a line going on with the one above."""
    return is_list_item(chunk, position) or continues_item(chunk, position)


def opens_list(chunk: Chunk, position: int) -> bool:
    """Whether the chunk's sentence at `position` introduces a list: it ends in ":", or it stops mid-sentence
    right before a list item ("... discuss these approaches with patients before initiating changes when"). A list
    item opens the items after it only when it stops on an unfinished phrase ("- applicable to")."""
    if not _stops_short(chunk, position):
        return False
    if _cleaned(chunk, position).endswith(":"):
        return True
    return position + 1 < len(chunk.sentences) and is_list_item(chunk, position + 1)


def opens_list_here_or_next(chunk: Chunk, position: int) -> bool:
    """`opens_list`, or the passage's last sentence stops short as an opening does: its list goes on in the next
    passage ("This clinical practice guideline is not" ... "- applicable to", where the chunker cut)."""
    if opens_list(chunk, position):
        return True
    if position != len(chunk.sentences) - 1 or not _stops_short(chunk, position):
        return False
    text = _cleaned(chunk, position)
    return text.endswith(":") or _UNFINISHED.search(text) is not None  # not "... 60 mg" where a PDF lost the stop


def _stops_short(chunk: Chunk, position: int) -> bool:
    """Whether the sentence at `position` ends as a list's opening does: on ":", or mid-sentence (on a word, and,
    for a list item, on an unfinished phrase), and is neither a heading nor the last line of an item."""
    if not 0 <= position < len(chunk.sentences):
        return False
    text = _cleaned(chunk, position)
    if text.endswith(":"):
        return True
    if not text or not text[-1].isalnum() or heading_like(text):
        return False  # "- the patient requests dosage reduction," continues its own list; a heading names it
    if is_list_item(chunk, position) and not _UNFINISHED.search(text):
        return False  # "- management of cancer-related pain" is an item, "- applicable to" opens the next ones
    # the last line of the item above ("2016 Apr 05") is not the opening of the next one
    return not continues_item(chunk, position)


def _opener_back_from(chunk: Chunk, start: int, opens: Callable[[Chunk, int], bool]) -> int | None:
    """Walking back from `start` over a list's items: the first sentence that `opens` its list, or None once the
    list ends without one."""
    for position in range(start, -1, -1):
        if opens(chunk, position):
            return position  # the list's opening sentence, or the item that opens a nested list
        if not _in_a_list(chunk, position):
            return None
    return None


def lead_in(chunk: Chunk, position: int) -> int | None:
    """For a list item: the position of the sentence ending in ":" that opens its list (or the item opening its
    nested list), if the chunk holds it."""
    if not is_list_item(chunk, position):
        return None
    return _opener_back_from(chunk, position - 1, opens_list)


def opens_its_passage_in_a_list(chunk: Chunk, position: int) -> bool:
    """Whether the list item at `position` belongs to a list that runs from the passage's first sentence with no
    sentence opening it: the chunker cut the list from its opening, which ends the passage before."""
    if not is_list_item(chunk, position) or lead_in(chunk, position) is not None:
        return False
    return all(_in_a_list(chunk, p) for p in range(position + 1))


def opener_at_end(chunk: Chunk) -> int | None:
    """The sentence opening the list the passage ends in (the nearest before its closing items), if the passage
    holds it: where a list the chunker cut goes on in the next passage."""
    return _opener_back_from(chunk, len(chunk.sentences) - 1, opens_list_here_or_next)


def list_items(chunk: Chunk, opener: int) -> list[int]:
    """The positions of the items of the list the sentence at `opener` introduces, in order (nested items too)."""
    items = []
    for position in range(opener + 1, len(chunk.sentences)):
        if not _in_a_list(chunk, position):
            break
        items.append(position)  # an item, or a line going on with the one above
    return items


def rows_above(chunk: Chunk, start: int) -> list[str]:
    """The lines of the table holding the row that starts at `start` in the chunk's text, above that row, in
    order (the header repeated in the chunk's prefix included)."""
    lines = (chunk.prefix + chunk.text[:start]).splitlines()
    table: list[str] = []
    for line in reversed(lines):
        if not line.strip().startswith("|"):
            break
        table.append(line)
    table.reverse()
    return table


def table_caption(chunk: Chunk, start: int) -> str:
    """The caption of the table holding the row that starts at `start` in the chunk's text ("Table 6. Antiemetic
    Dosing for Radiation Therapy"): the paragraph right above the table, in the passage or repeated in its prefix
    (`ingest.chunking`); empty when the table has none."""
    lines = (chunk.prefix + chunk.text[:start]).splitlines()
    at = len(lines)
    while at and lines[at - 1].strip().startswith("|"):
        at -= 1  # the table's rows above, its header included
    paragraph: list[str] = []
    while at and not lines[at - 1].strip():
        at -= 1
    while at and lines[at - 1].strip() and not lines[at - 1].strip().startswith("|"):
        paragraph.insert(0, lines[at - 1].strip())
        at -= 1
    caption = " ".join(paragraph)
    return caption if CAPTION.match(caption) and len(caption.split()) <= MAX_CAPTION_WORDS else ""


def table_header(chunk: Chunk, start: int, above: list[str] | None = None) -> str | None:
    """The header row of the table holding the row that starts at `start` in the chunk's text (`above`: its
    `rows_above`, when already read), its column names as `column_names` reads them."""
    table = rows_above(chunk, start) if above is None else above
    # A header is the first row with the delimiter row under it; a table without one has no header.
    if len(table) < 2 or not TABLE_SEPARATOR.match(table[1]) or re.fullmatch(r"[\s|:-]*", table[0]):
        return None
    names = column_names(table)
    if names == cells(table[0]):
        return table[0].strip()
    return "| " + " | ".join(names) + " |"


# A table's note row: a footnote letter against the note's first word ("bRelative prevalence: ...").
_FOOTNOTE_ROW = re.compile(r"^([a-z])[A-Z(]")


def column_names(table: list[str]) -> list[str]:
    """The names of a table's columns: its header row (`table[0]`, the delimiter row under it) as a reader takes it.

    Tables from web pages reach Markdown flattened:
    - a name over two columns leaves the second one empty, and a second header row under the delimiter
      names each ("| Effect | Prevalence | | Comments |" over "| | Acute use | Chronic use | |"): the columns
      are "Prevalence (Acute use)" and "Prevalence (Chronic use)";
    - footnote letters stick to the names ("Prevalenceb") where the table's note rows begin with them
      ("bRelative prevalence: ..."): the letters go.
    """
    names = cells(table[0])
    rows = [cells(line) for line in table[2:] if not TABLE_SEPARATOR.match(line)]
    notes = {m.group(1) for row in rows if row and (m := _FOOTNOTE_ROW.match(row[0])) and not any(row[1:])}
    if notes and "a" in notes and len(notes) == ord(max(notes)) - ord("a") + 1:  # lettered a, b, c ... in turn
        names = [_without_footnote(name, notes) for name in names]
    if rows and second_header_row(names, rows[0]):
        sub = [_without_footnote(v, notes) for v in rows[0]]
        group = ""
        for i, name in enumerate(names):
            group = name or group
            if sub[i]:
                names[i] = f"{group} ({sub[i]})" if group else sub[i]
    return names


def _without_footnote(name: str, notes: set[str]) -> str:
    """A column name without the footnote letter at its end ("Prevalenceb" -> "Prevalence", with note b)."""
    if len(name) > 3 and name[-1] in notes and name[-2].isalpha() and name[-2].islower():
        return name[:-1]
    return name


def row_owner(chunk: Chunk, start: int, above: list[str] | None = None) -> str | None:
    """For a row that continues the one above it, what the rows are about; "" for a row that stands alone.

    A table whose cells spanned several rows reaches Markdown as a full row followed by rows of one
    cell ("| Nabilone | Age >4 y: | PO | ... |" then "| >30 kg: 1 mg q8-12h |"): the dose in the short
    row belongs to the drug named at the start of the last full row ("Nabilone; Age >4 y:"). None where
    that row is not in the passage: the short row alone states a dose for no drug, and is never quoted.
    `above`: the row's `rows_above`, when already read.
    """
    table = rows_above(chunk, start) if above is None else above
    row = chunk.text[start:].split("\n", 1)[0]
    width = max((len(cells(line)) for line in table), default=0)
    if not continues_row(len(cells(row)), width):
        return ""
    for line in reversed(table):  # nearest first
        if TABLE_SEPARATOR.match(line):
            return None  # the header row is next: no row of data above this one in the passage
        values = cells(line)
        if not continues_row(len(values), width):  # a row of its own (itself perhaps short of a spanned first cell)
            return "; ".join(v for v in values[:2] if v) or None
    return None


# A table's note in a row of its own: a footnote letter against the note's first word, a capitalised word
# ("| aAdapted from Roila et al. | | |", "| bOrder of listed antiemetics ... | | |"; not "| eGFR <30 | | |").
_NOTE_ROW = re.compile(r"^[a-z](?=[A-Z][a-z]+\b)")


def table_note(row: str) -> str:
    """The text of a table's note row without its footnote letter ("Adapted from Roila et al."), or "" for any
    other row: a row of two cells or more whose one filled cell, the first, opens with a footnote letter."""
    values = cells(row)
    if len(values) < 2 or any(values[1:]) or not _NOTE_ROW.match(values[0]):
        return ""
    return values[0][1:]


def row_as_sentence(row: str, header: str | None, *, carried: bool = False) -> str:
    """A table row as the answer says it: "Opioid: Methadone; Conversion factor: 4.7" (bare cells without a header,
    or `carried`: its first cell carried down from the row above, so which column each cell holds is unknown).
    A note row says its note (`table_note`), under no column's name."""
    if note := table_note(row):
        return note.strip(" ;,")
    # A cell left with only the separator of the reference numbers dropped from it (";[Level of evidence: IV]")
    values = [v.strip(" ;,") for v in cells(row)]
    names = cells(header) if header else []
    filled = [v for v in values if v]
    if carried:
        return "; ".join(filled)
    if not header and len(filled) == 2 and word_count(filled[0]) <= 6 and word_count(filled[1]) >= 10:
        return f"{filled[0]}: {filled[1]}"  # a label and its text: "USPSTF (2013): The USPSTF found ..."
    if len(values) > len(names) or row.strip() == (header or "").strip() or 2 * len(values) <= len(names):
        return "; ".join(filled)
    # A row short of cells lost the first ones to a cell spanning the rows above it: the rest are the last
    # columns ("| Ondansetron | 8 mg PO | ... |" under "| Drug category | Antiemetic | Dose | ... |").
    names = names[len(names) - len(values) :]
    return "; ".join(
        f"{n.rstrip('*').strip()}: {v}" if n.strip("* ") else v for n, v in zip(names, values, strict=True) if v
    )


def word_count(text: str) -> int:
    """Words in a text, as the answer's length counts them."""
    return len(text.split())


def normalised(text: str) -> str:
    """A text as sentences are compared for repeats: lower case, letters, digits and "%" only."""
    return re.sub(r"[^a-z0-9%]+", " ", text.lower()).strip()


REPEAT_MIN_WORDS = 8
"""A sentence shorter than this is never read as a repeat: a list item ("Chronic primary pain.") says its own thing."""
REPEAT_MIN_SHARE = 0.6
"""A sentence repeating a longer one holds at least this share of its words ("... management of cancer-related
pain." is no repeat of the sentence whose list it ends)."""
_STEM = 5


@lru_cache(maxsize=4096)
def _stems(text: str) -> tuple[str, ...]:
    """A sentence's words and numbers, each word cut to its first `_STEM` letters (read once per sentence)."""
    return tuple(w[:_STEM] for w in re.findall(r"[a-zµ]+|\d+(?:\.\d+)?", text.lower()))


def _in_order(part: tuple[str, ...], whole: tuple[str, ...]) -> bool:
    rest = iter(whole)
    return all(word in rest for word in part)


def repeats(text: str, earlier: str) -> bool:
    """Whether a sentence says again what an earlier one says, in other words: the same numbers, and its word stems
    in order among the earlier one's, or the earlier one's among its with one word more. "If patients already
    receiving long-term opioids require additional opioids ..." repeats "... long-term opioid therapy require
    additional opioids ..." (two passages of one document, one summarising the other); "The costs of physical therapy
    interventions ..." does not repeat "The costs of pharmacological therapy interventions ...", nor "If
    dexamethasone cannot be used, aprepitant should be continued." its converse."""
    later, before = _stems(text), _stems(earlier)
    if len(later) < REPEAT_MIN_WORDS or len(later) < REPEAT_MIN_SHARE * len(before):
        return False
    if sorted(w for w in later if w[0].isdigit()) != sorted(w for w in before if w[0].isdigit()):
        return False
    return _in_order(later, before) or (len(later) - len(before) <= 1 and _in_order(before, later))
