"""Read a PDF's text layer with PDFium: styled text spans, ruling lines, page labels and information.

This is the only module that talks to pypdfium2. Characters are read one by one (box, baseline,
Unicode) but their style (effective font size, weight, rotation) is cached per text object, so a
100-page document costs a few million cheap calls. Characters become `Span`s: runs of one text
object on one baseline without a large gap. Space characters are not trusted blindly: PDFium
invents spaces where glyphs are set apart ("M ultiply"), and some PDFs draw words with no space
character at all, so a space is kept or added from the gap between the glyphs.
"""

from __future__ import annotations

import ctypes
import math
import re
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium  # type: ignore[import-untyped]  # ships no type information
import pypdfium2.raw as raw  # type: ignore[import-untyped]

from ingest.errors import LoaderError

# A gap wider than this (in ems) starts a new span: a column gutter or a table cell boundary.
SPAN_GAP_EM = 0.9
# A gap wider than this (in ems) between two glyphs is a word space even without a space character.
WORD_GAP_EM = 0.16
# Between two text objects a gap wider than this (in ems) is a word space even without a space.
OBJECT_GAP_EM = 0.08
# A space PDFium generated over a gap narrower than this (in ems) is letter spacing, not a word break.
GENERATED_SPACE_MIN_EM = 0.06

_LIGATURES = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
    "\u2010": "-",
    "\u2011": "-",
    "\u00a0": " ",
}
# Characters PDFium or the PDF mark as a hyphen that breaks a word at the end of a line.
SOFT_HYPHENS = {0x00AD, 0xFFFE, 0x0002}
_SPACES = {0x20, 0x09, 0xA0, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x202F, 0x3000}
_BREAKS = {0x0D, 0x0A}
_INVISIBLE = {0x200B, 0x200C, 0x200D, 0xFEFF, 0x0000}
_BOLD_NAME = re.compile(r"bold|black|heavy|semibold|demibold|demi\b|extrabold|ultrabold", re.IGNORECASE)
_ITALIC_NAME = re.compile(r"italic|oblique|-it\b|\bit$", re.IGNORECASE)
_SYMBOL_NAME = re.compile(r"symbol|dingbat|wingding|webding|zapf", re.IGNORECASE)
_FORCE_BOLD_FLAG = 1 << 18
_ITALIC_FLAG = 1 << 6


@dataclass(frozen=True)
class Style:
    """What a text object says about the look of its characters."""

    size: float
    bold: bool
    italic: bool
    symbol: bool
    quadrant: int | None  # reading direction: 0 left to right, 90 upwards, 180, 270 downwards; None skewed


@dataclass
class Span:
    """A run of characters of one style on one baseline, without a wide gap inside."""

    text: str
    x0: float
    x1: float
    baseline: float  # distance from the top of the page, like `top`
    size: float
    bold: bool
    italic: bool
    symbol: bool
    space_before: int = 0  # what preceded the span in the stream: 0 nothing, 1 a generated space, 2 a space
    hyphen_end: bool = False  # ends with a hyphen the PDF marked as a line-break hyphen

    @property
    def top(self) -> float:
        return self.baseline - 0.8 * self.size

    @property
    def bottom(self) -> float:
        return self.baseline + 0.2 * self.size


@dataclass(frozen=True)
class Rule:
    """A drawn horizontal line or the top/bottom edge of a drawn box (distances from the page top)."""

    x0: float
    x1: float
    y: float


@dataclass
class RawPage:
    """One page as read: its size, text spans in content-stream order, drawn horizontal rules."""

    number: int
    width: float
    height: float
    spans: list[Span]
    rules: list[Rule] = field(default_factory=list)
    label: str | None = None  # from the PDF's page-label dictionary
    rotated_chars: int = 0  # characters left out because they run in another direction


@dataclass
class RawDocument:
    """Everything read from the file before any layout analysis."""

    pages: list[RawPage]
    info: dict[str, str]


def needs_space(gap: float, em: float, marker: int, *, new_object: bool = False) -> bool:
    """Whether two glyphs `gap` points apart are two words, given the space seen between them.

    `marker` is 2 for a space character in the PDF, 1 for a space PDFium generated, 0 for none.
    Glyphs of two text objects (two text-showing operators) need a smaller gap: a typesetter
    that places each word on its own leaves word gaps of a tenth of an em in tight lines.
    """
    if marker == 2:
        return gap > -0.05 * em
    if marker == 1:
        return gap > GENERATED_SPACE_MIN_EM * em
    return gap > (OBJECT_GAP_EM if new_object else WORD_GAP_EM) * em


def read_pdf(path: Path) -> RawDocument:
    """Open the PDF and read every page, translating PDFium's failures into `LoaderError`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoaderError(path, exc.strerror or str(exc)) from None
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise LoaderError(path, "not a PDF file (it does not start with %PDF)")
    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise LoaderError(path, _open_failure(str(exc), data)) from None
    try:
        info = _info(doc)
        labels = _labels(doc)
        pages = []
        for index in range(len(doc)):
            page = _read_page(doc, index)
            page.label = labels[index] if labels else None
            pages.append(page)
    except pdfium.PdfiumError as exc:
        raise LoaderError(path, f"damaged PDF: {exc}") from None
    finally:
        doc.close()
    return RawDocument(pages=pages, info=info)


def _open_failure(message: str, data: bytes) -> str:
    lowered = message.lower()
    if "password" in lowered or "security" in lowered:
        return "encrypted: decrypt it first, e.g. qpdf --decrypt in.pdf out.pdf"
    if b"%%EOF" not in data[-2048:]:
        return "truncated or damaged PDF (no end-of-file marker): download or export it again"
    return f"damaged PDF ({message}): download or export it again"


def _info(doc: pdfium.PdfDocument) -> dict[str, str]:
    try:
        meta = doc.get_metadata_dict(skip_empty=True)
    except pdfium.PdfiumError:
        return {}
    return {k: v.strip() for k, v in meta.items() if isinstance(v, str) and v.strip()}


def _labels(doc: pdfium.PdfDocument) -> list[str] | None:
    """The page-label dictionary's labels, or None when the PDF has none (PDFium then gives '')."""
    labels = []
    for index in range(len(doc)):
        try:
            labels.append(doc.get_page_label(index))
        except pdfium.PdfiumError:
            labels.append("")
    return labels if any(labels) else None


class _StyleCache:
    """Style of each text object, computed once per object (characters of one object share it)."""

    def __init__(self) -> None:
        self.fonts: dict[int, tuple[bool, bool, bool]] = {}
        self._matrix = raw.FS_MATRIX()
        self._size = ctypes.c_float()
        self._name = ctypes.create_string_buffer(256)

    def style(self, textpage: raw.FPDF_TEXTPAGE, index: int, obj: raw.FPDF_PAGEOBJECT) -> Style:
        raw.FPDFText_GetMatrix(textpage, index, self._matrix)
        m = self._matrix
        scale = math.sqrt(abs(m.a * m.d - m.b * m.c)) or 1.0
        angle = math.degrees(math.atan2(m.b, m.a)) % 360
        nearest = round(angle / 90) % 4 * 90
        quadrant = nearest if abs((angle - nearest + 180) % 360 - 180) <= 10 else None
        size = (raw.FPDFTextObj_GetFontSize(obj, self._size) and self._size.value) or 1.0
        font = raw.FPDFTextObj_GetFont(obj)
        key = ctypes.cast(font, ctypes.c_void_p).value or 0
        looks = self.fonts.get(key)
        if looks is None:
            looks = self._font_looks(font)
            self.fonts[key] = looks
        bold, italic, symbol = looks
        return Style(round(size * scale, 2), bold, italic, symbol, quadrant)

    def _font_looks(self, font: raw.FPDF_FONT) -> tuple[bool, bool, bool]:
        if not font:
            return False, False, False
        length = raw.FPDFFont_GetBaseFontName(font, self._name, len(self._name))
        name = self._name.value.decode("latin-1", "replace") if length else ""
        weight = raw.FPDFFont_GetWeight(font)
        flags = raw.FPDFFont_GetFlags(font)
        bold = weight >= 600 or bool(_BOLD_NAME.search(name)) or (flags > 0 and bool(flags & _FORCE_BOLD_FLAG))
        italic = bool(_ITALIC_NAME.search(name)) or (flags > 0 and bool(flags & _ITALIC_FLAG))
        return bold, italic, bool(_SYMBOL_NAME.search(name))


@dataclass(frozen=True)
class _Frame:
    """Page coordinates turned so that text of one reading direction runs left to right, top down.

    A landscape table printed sideways on a portrait page (or a page whose content is drawn
    turned and shown with /Rotate) reads like any other page in its own frame.
    """

    quadrant: int
    left: float
    bottom: float
    right: float
    top: float

    @property
    def size(self) -> tuple[float, float]:
        w, h = self.right - self.left, self.top - self.bottom
        return (h, w) if self.quadrant in (90, 270) else (w, h)

    def rect(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        """A box (left, bottom, right, top in page space) as (x0, x1, top depth, bottom depth) here."""
        if self.quadrant == 90:
            return y0 - self.bottom, y1 - self.bottom, x0 - self.left, x1 - self.left
        if self.quadrant == 180:
            return self.right - x1, self.right - x0, y0 - self.bottom, y1 - self.bottom
        if self.quadrant == 270:
            return self.top - y1, self.top - y0, self.right - x1, self.right - x0
        return x0 - self.left, x1 - self.left, self.top - y1, self.top - y0

    def depth(self, x: float, y: float) -> float:
        """A point's distance from the top of the frame (where a baseline sits)."""
        if self.quadrant == 90:
            return x - self.left
        if self.quadrant == 180:
            return y - self.bottom
        if self.quadrant == 270:
            return self.right - x
        return self.top - y


def _read_page(doc: pdfium.PdfDocument, index: int) -> RawPage:
    page = doc[index]
    try:
        box = page.get_cropbox()
        textpage = page.get_textpage()
        try:
            frame = _Frame(0, *box)
            spans, directions = _read_spans(textpage.raw, frame)
            turned = max(directions, key=lambda q: directions[q]) if directions else 0
            if turned and directions[turned] > 2 * len(spans) and directions[turned] > 20:
                frame = _Frame(turned, *box)
                spans, directions = _read_spans(textpage.raw, frame)
        finally:
            textpage.close()
        rules = _read_rules(page, frame)
    finally:
        page.close()
    width, height = frame.size
    skipped = sum(directions.values())
    return RawPage(number=index + 1, width=width, height=height, spans=spans, rules=rules, rotated_chars=skipped)


_ObjectOfChar = Callable[[Any, int], int | None]
_object_of_char: list[_ObjectOfChar] = []


def _text_object_getter() -> _ObjectOfChar:
    """FPDFText_GetTextObject returning a plain address: the per-character call stays cheap."""
    if not _object_of_char:
        address = ctypes.cast(raw.FPDFText_GetTextObject, ctypes.c_void_p).value or 0
        prototype = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)
        _object_of_char.append(prototype(address))
    return _object_of_char[0]


def _char_codes(textpage: raw.FPDF_TEXTPAGE, count: int) -> list[int]:
    """Every character's code with one call; characters outside the BMP asked one by one."""
    buffer = ctypes.create_string_buffer((count + 1) * 2)
    raw.FPDFText_GetText(textpage, 0, count, ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort)))
    codes = array("H", buffer.raw[: count * 2]).tolist()
    for i, code in enumerate(codes):
        if 0xD800 <= code <= 0xDFFF:
            codes[i] = raw.FPDFText_GetUnicode(textpage, i)
    return codes


def _read_spans(textpage: raw.FPDF_TEXTPAGE, frame: _Frame) -> tuple[list[Span], Counter[int]]:
    """Group the page's characters read in `frame` into spans (see the module docstring).

    Also counts the characters left out because they run in another direction, per direction.
    """
    get_box = raw.FPDFText_GetLooseCharBox
    object_of = _text_object_getter()
    box = raw.FS_RECTF()
    ox, oy = ctypes.c_double(), ctypes.c_double()
    styles = _StyleCache()
    style_of: dict[int, Style] = {}

    spans: list[Span] = []
    chars: list[str] = []
    cur: Span | None = None
    cur_key = -1
    pending = 0  # 0 no space seen, 1 generated space, 2 real space
    elsewhere: Counter[int] = Counter()
    quadrant = frame.quadrant
    upright = quadrant == 0
    # The baseline is read once per text object (one text-showing operator: one baseline).
    obj_key = -1
    style = Style(0.0, False, False, False, 0)
    baseline = reference = 0.0
    count = raw.FPDFText_CountChars(textpage)
    for i, code in enumerate(_char_codes(textpage, count)):
        if code in _SPACES:
            if pending < 2:
                pending = 1 if raw.FPDFText_IsGenerated(textpage, i) else 2
            continue
        if code in _BREAKS:
            pending = max(pending, 1)
            if cur is not None:
                cur.text = "".join(chars)
                cur = None
            continue
        if code in _INVISIBLE:
            continue
        key = object_of(textpage, i) or 0
        if key != obj_key:
            obj_key = key
            cached = style_of.get(key)
            if cached is None:
                obj = raw.FPDFText_GetTextObject(textpage, i)
                cached = styles.style(textpage, i, obj) if key else Style(0.0, False, False, False, 0)
                style_of[key] = cached
            style = cached
            reference = -1e9
        if style.quadrant != quadrant:
            elsewhere[-1 if style.quadrant is None else style.quadrant] += 1
            continue
        get_box(textpage, i, box)
        if upright:
            left, right, lower = box.left - frame.left, box.right - frame.left, frame.top - box.bottom
        else:
            left, right, _, lower = frame.rect(box.left, box.bottom, box.right, box.top)
        size = style.size or max(box.top - box.bottom, 1.0)
        if abs(lower - reference) > 0.3 * size:
            raw.FPDFText_GetCharOrigin(textpage, i, ox, oy)
            baseline, reference = frame.depth(ox.value, oy.value), lower
        if code in SOFT_HYPHENS:
            char = "-"
        else:
            char = chr(code)
            char = _LIGATURES.get(char, char)
        if cur is not None and key == cur_key and abs(baseline - cur.baseline) < 0.25 * size:
            gap = left - cur.x1
            if -0.5 * size < gap < SPAN_GAP_EM * size:
                if chars and needs_space(gap, size, pending):
                    chars.append(" ")
                chars.append(char)
                if right > cur.x1:
                    cur.x1 = right
                cur.hyphen_end = code in SOFT_HYPHENS
                pending = 0
                continue
        if cur is not None:
            cur.text = "".join(chars)
        chars = [char]
        cur = Span(
            text="",
            x0=left,
            x1=right,
            baseline=baseline,
            size=size,
            bold=style.bold,
            italic=style.italic,
            symbol=style.symbol,
            space_before=pending,
            hyphen_end=code in SOFT_HYPHENS,
        )
        cur_key = key
        spans.append(cur)
        pending = 0
    if cur is not None:
        cur.text = "".join(chars)
    return [s for s in spans if s.text.strip()], elsewhere


def _read_rules(page: pdfium.PdfPage, frame: _Frame) -> list[Rule]:
    """Horizontal lines and box edges drawn on the page: they separate boxes, tables and rows."""
    rules: list[Rule] = []
    left, bottom, right, top = ctypes.c_float(), ctypes.c_float(), ctypes.c_float(), ctypes.c_float()
    for obj in page.get_objects(filter=(raw.FPDF_PAGEOBJ_PATH,), max_depth=2):
        if not raw.FPDFPageObj_GetBounds(obj.raw, left, bottom, right, top):
            continue
        x0, x1, upper, lower = frame.rect(left.value, bottom.value, right.value, top.value)
        if x1 - x0 < 20:
            continue
        if lower - upper <= 3:
            rules.append(Rule(x0, x1, (upper + lower) / 2))
        else:
            rules.append(Rule(x0, x1, upper))
            rules.append(Rule(x0, x1, lower))
    return rules
