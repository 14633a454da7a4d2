"""Main-content extraction from guideline web pages, rendered to the Markdown shape the chunker reads.

A guideline page (NICE, WHO, CDC, AHRQ...) wraps a few thousand words of guidance in site chrome:
navigation, banners, search and sign-in forms, share buttons, cookie notices, sidebars, footers.
`extract_html` keeps the guidance, its lists and its tables, and drops the chrome, in four steps:

1. **Parse** with lxml (through BeautifulSoup), which closes `<p>`, `<li>`, `<td>` and `<tr>` the
   way browsers do; remove what never carries text (scripts, styles, form controls, media).
2. **Prune**, top down: `nav`/`aside` and page-level `header`/`footer` elements; landmark roles
   (navigation, banner, contentinfo, complementary, search, menus, dialogs); class or id *words*
   such as nav, menu, breadcrumb, footer, sidebar, cookie, share, skip (matched as whole words, so
   `content-header` or `aside-container` are not hints); short cookie notices; and link-dense blocks
   (most of their words are link text with short labels: a menu, not a reference list). Nothing
   holding most of the page's text, the `<main>`/`<article>` or the page's title `<h1>` is dropped
   on a hint alone. Data tables are kept whole.
3. **Find the main content**: `<main>` / `[role=main]`, else a dominant `<article>`, when it holds
   a fair share of the page's text (a readability-style score: each block counts its non-link words,
   short fragments little). Otherwise descend from `<body>` through wrappers (div, section, layout
   table cells...) into the child holding most of that score, and only while that child holds at
   least half of it, the container has no text of its own, and nothing left beside the child looks
   like content (a long paragraph, two sentences, a data table, the title `<h1>`): text lying loose in
   `<body>` or in a container is never cut off. A title `<h1>` above the chosen content (a page
   header) is put back before it.
4. **Render** headings as `#` lines, paragraphs separated by blank lines (`<br>` a line break), list
   items as `- ` / `1. ` lines (a further paragraph of an item indented under it), and data tables as
   `| a | b |` rows, header row first, one line per row, cells flattened to text (`<br>` a space,
   list items kept apart, row spans repeated in the rows they cover). A data table nested in a cell
   follows its row as a table of its own, introduced by the row's label, and the outer table resumes
   under its header. Layout tables (one row or column, headings or page-sized cells, no `<th>`) are
   read as ordinary blocks.

The title is the page `<title>` without its site part (" | NICE", " - AHRQ"), the title `<h1>` when
that is better, or `citation_title`/`DC.title`; `metadata` holds what `<meta>` tags state (title,
year, issuing_body, url). `warnings` say when the content was chosen by text density, when the title
`<h1>` was outside it, and other things a maintainer may want to check.

Why not trafilatura or readability-lxml: on the AHRQ guideline syntheses both keep the text when a
`<main>` is there, but trafilatura writes a nested table inside its outer row (the rows run together)
and drops text lying loose in a `<div>`, and readability, once the `<main>` is gone, keeps a single
section of the page (a sixth of it) and on a NICE-like page keeps the cookie banner instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from bs4 import BeautifulSoup
from bs4.element import NavigableString, PageElement, Tag

from ingest.chunking import MIN_NUMBERED_RECOMMENDATIONS, NUMBERED_RECOMMENDATION

__all__ = ["HtmlExtraction", "extract_html"]


@dataclass(frozen=True)
class HtmlExtraction:
    """The main content of a page as Markdown-like text, with what the page says about itself."""

    text: str
    title: str | None
    headings: int
    tables: int
    warnings: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    recommendations: int = 0


_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = _HEADINGS | {
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "dir",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "hr", "html", "li",
    "legend", "main", "menu", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "ul",
}  # fmt: skip
# Elements that never hold guideline text.
_JUNK = [
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "frame", "object", "embed", "video",
    "audio", "map", "input", "select", "option", "textarea", "label", "link", "meta", "dialog", "head",
]  # fmt: skip
_DROP_ROLES = {
    "navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar", "toolbar", "dialog",
    "alertdialog", "tooltip",
}  # fmt: skip
# Whole words of a class or id that mark site chrome.
_HINT_WORDS = {
    "nav", "navbar", "navigation", "menu", "menubar", "breadcrumb", "breadcrumbs", "footer", "sidebar", "aside",
    "banner", "masthead", "topbar", "toolbar", "utility", "cookie", "cookies", "consent", "gdpr", "share", "sharing",
    "social", "skip", "skiplinks", "pagination", "pager", "login", "signin", "subscribe", "newsletter", "search",
    "advert", "advertisement", "ads", "sponsor", "promo", "popup", "modal", "widget", "feedback", "comments",
    "noprint", "copyright", "sitemap", "backtotop",
}  # fmt: skip
# Joined words ("leftnav", "mainmenu", "footerlinks") that begin or end like a hint.
_HINT_ENDS = ("nav", "menu", "navigation", "navbar", "footer", "sidebar", "breadcrumb", "breadcrumbs")
_HINT_STARTS = ("navbar", "navigation", "footer", "sidebar", "breadcrumb", "cookie", "menu")
_SCREEN_READER = {"sr-only", "screen-reader-text", "visually-hidden", "visuallyhidden", "element-invisible"}
# What the search for the main content may descend into: wrappers, not lists, paragraphs or data tables.
_DESCEND_INTO = {
    "div",
    "section",
    "article",
    "main",
    "form",
    "center",
    "font",
    "span",
    "tbody",
    "tr",
    "td",
    "th",
    "table",
}
_CONTAINERS = {"div", "section", "ul", "ol", "dl", "menu", "p", "center", "header", "footer", "td", "th", "table"}
_COOKIE = re.compile(
    r"\b(?:we|site|website) uses? cookies|\bcookies? (?:policy|settings|preferences|consent|notice)"
    r"|accept (?:all )?cookies|use of cookies",
    re.I,
)
_SKIP_LINK = re.compile(r"^\s*(?:(?:skip|jump)\b|(?:back|return) to (?:the )?top\b|top\s*$)", re.I)  # in-page links
_WORD = re.compile(r"\w+")
_TITLE_SEPARATORS = re.compile(r"\s+(?:[|·•»–—]|-{1,2}|::)\s+")
_INVISIBLE = str.maketrans("", "", "\u200b\u200c\u200d\ufeff\xad")
_LONG_BLOCK = 25  # non-link words of a paragraph that is content wherever it sits
_LINK_LABEL = 12  # mean words per link at or above which links are citations or titles, not a menu
_MAX_DEPTH = 100  # deeper wrappers are unwrapped: the walks below recurse once per level
_UNWRAPPABLE = {
    "div",
    "span",
    "font",
    "section",
    "center",
    "b",
    "i",
    "em",
    "strong",
    "small",
    "big",
    "u",
    "a",
    "article",
}


def _attr(tag: Tag, name: str) -> str:
    value = tag.get(name)
    if value is None:
        return ""
    return " ".join(value) if isinstance(value, list) else str(value)


def _is_link(tag: Tag) -> bool:
    href = _attr(tag, "href").strip()
    return tag.name == "a" and href not in ("", "#") and not href.lower().startswith("javascript:")


def _texts(root: Tag) -> Iterable[NavigableString]:
    """Visible text nodes (comments, doctype and CDATA excluded)."""
    for node in root.descendants:
        if type(node) is NavigableString:
            yield node


def _inside(node: PageElement, ancestor: Tag) -> bool:
    return any(parent is ancestor for parent in node.parents)


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.translate(_INVISIBLE)).strip()


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


class _Stats:
    """Per-element word counts: all words, link words, block-weighted content score, longest block.

    A block is the nearest block element around a text; `own` is the text lying in an element itself
    (directly or in inline children), `sentences` the number of blocks of ten or more non-link words.
    """

    def __init__(self, root: Tag) -> None:
        self.words: dict[int, int] = {}
        self.links: dict[int, int] = {}
        self.score: dict[int, float] = {}
        self.longest: dict[int, int] = {}
        self.sentences: dict[int, int] = {}
        self.own: dict[int, int] = {}
        self.link_count: dict[int, int] = {}
        block_words: dict[int, tuple[Tag, int]] = {}
        for node in _texts(root):
            n = len(_WORD.findall(node))
            if not n:
                continue
            chain = list(node.parents)
            in_link = any(_is_link(p) for p in chain)
            block = next((p for p in chain if p.name in _BLOCKS), None)
            for parent in chain:
                key = id(parent)
                self.words[key] = self.words.get(key, 0) + n
                if in_link:
                    self.links[key] = self.links.get(key, 0) + n
            if block is not None and not in_link:
                tag, seen = block_words.get(id(block), (block, 0))
                block_words[id(block)] = (tag, seen + n)
        for tag, n in block_words.values():
            self.own[id(tag)] = n
            weight = n if n >= 10 else n * 0.3  # sentences count, menu-sized fragments hardly
            for parent in [tag, *tag.parents]:
                key = id(parent)
                self.score[key] = self.score.get(key, 0.0) + weight
                self.longest[key] = max(self.longest.get(key, 0), n)
                self.sentences[key] = self.sentences.get(key, 0) + (n >= 10)
        for link in root.find_all("a"):
            if _is_link(link):
                for parent in link.parents:
                    self.link_count[id(parent)] = self.link_count.get(id(parent), 0) + 1

    def nonlink(self, tag: Tag) -> int:
        return self.words.get(id(tag), 0) - self.links.get(id(tag), 0)


def _own_rows(table: Tag) -> list[Tag]:
    """The table's rows, header rows (`<thead>`) first and footer rows last; not those of nested tables."""
    rows = [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]

    def rank(tr: Tag) -> int:
        section = tr.parent.name if tr.parent is not None else ""
        return {"thead": 0, "tfoot": 2}.get(section, 1)

    return sorted(rows, key=rank)  # stable: document order within each part


def _cells(tr: Tag) -> list[Tag]:
    return list(tr.find_all(["td", "th"], recursive=False))


def _is_data_table(table: Tag) -> bool:
    """A table of data (rendered as rows) rather than one that lays out a page (read as blocks)."""
    rows = [r for r in _own_rows(table) if _cells(r)]
    if not rows:
        return False
    own = [c for r in rows for c in _cells(r)]
    has_header = (
        table.find("thead") is not None or table.find("caption") is not None or any(c.name == "th" for c in own)
    )
    structural = table.find(["main", "article", "nav", "form", "h1", "h2"]) is not None
    if has_header:
        return not structural
    widest = max(len(_cells(r)) for r in rows)
    longest = max(len(c.get_text(" ").split()) for c in own)
    return not (structural or table.find(_HEADINGS) or len(rows) < 2 or widest < 2 or longest > 150)


def _has_hint(tag: Tag) -> bool:
    """Whether a word of the class or id names site chrome (`skip-nav`, `footerLinks`, `leftnav`)."""
    value = re.sub(r"([a-z])([A-Z])", r"\1 \2", f"{_attr(tag, 'class')} {_attr(tag, 'id')}")
    words = {w.lower() for w in re.split(r"[^A-Za-z0-9]+", value) if w}
    return bool(words & _HINT_WORDS) or any(w.endswith(_HINT_ENDS) or w.startswith(_HINT_STARTS) for w in words)


class _Pruner:
    """Drops site chrome top down; see the module docstring for the rules."""

    def __init__(self, body: Tag, title_h1: Tag | None) -> None:
        self.stats = _Stats(body)
        self.total = max(self.stats.nonlink(body), 1)
        keep = [*body.find_all(["main", "article"]), *body.find_all(role="main")]
        if title_h1 is not None:
            keep.append(title_h1)
        self.guarded = {id(p) for tag in keep for p in [tag, *tag.parents]}

    def prune(self, tag: Tag) -> None:
        for child in list(tag.children):
            if not isinstance(child, Tag):
                continue
            if self._is_chrome(child):
                child.decompose()
            elif child.name == "table" and _is_data_table(child):
                continue  # kept whole
            else:
                self.prune(child)

    def _is_chrome(self, tag: Tag) -> bool:
        name = tag.name
        guarded = id(tag) in self.guarded
        big = self.stats.nonlink(tag) > self.total / 2
        if name in ("nav", "aside") and not guarded:
            return True
        if name in ("header", "footer") and not guarded and tag.find_parent(["article", "main", "section"]) is None:
            return True  # the page's banner or footer; an article's own header or footer is read like a div
        if name == "form":
            return not (guarded or big)
        if guarded or big:
            return False
        classes = set(_attr(tag, "class").lower().split())
        if _attr(tag, "role").lower() in _DROP_ROLES or classes & _SCREEN_READER or _has_hint(tag):
            return True
        words = self.stats.words.get(id(tag), 0)
        if name == "a" and _attr(tag, "href").startswith("#") and _SKIP_LINK.match(tag.get_text(" ")):
            return True
        if name in _CONTAINERS:
            if words <= 150 and _COOKIE.search(tag.get_text(" ")):
                return True
            return self._link_dense(tag)
        return False

    def _link_dense(self, tag: Tag) -> bool:
        """Mostly link text with short labels: a menu. Long links (citations, titles) are content."""
        words, links = self.stats.words.get(id(tag), 0), self.stats.links.get(id(tag), 0)
        count = self.stats.link_count.get(id(tag), 0)
        if not words or not count or links / count >= _LINK_LABEL:
            return False
        density = links / words
        if tag.name == "table":
            return density >= 0.8
        if tag.name == "p":
            return density >= 0.9
        return density >= 0.9 or (count >= 2 and density >= 0.5)


def _title_h1(soup: Tag, page_title: str | None) -> Tag | None:
    """The `<h1>` naming the document: the one sharing most words with `<title>`, else the first in the
    `<main>` or `<article>`, else the first; never a site logo (an `<h1>` that is a link or in one)."""
    h1s = [
        h
        for h in soup.find_all("h1")
        if _normal(h.get_text(" ")) and h.find_parent("a") is None and len(h.find_all("a")) == 0
    ]
    if not h1s:
        return None
    title_words = _words(page_title or "")

    def overlap(h: Tag) -> float:
        words = _words(h.get_text(" "))
        return len(words & title_words) / max(len(words), 1)

    best = max(h1s, key=overlap)
    if overlap(best) >= 0.5:
        return best
    in_content = [h for h in h1s if h.find_parent(["main", "article"]) is not None]
    return (in_content or h1s)[0]


def _main_root(body: Tag, stats: _Stats, title_h1: Tag | None) -> tuple[Tag, str]:
    """The element holding the main content, and how it was found."""
    total = stats.score.get(id(body), 0.0)

    def score(tag: Tag) -> float:
        return stats.score.get(id(tag), 0.0)

    for how, found in (
        ("<main>", [*body.find_all("main"), *body.find_all(role="main")]),
        ("<article>", body.find_all("article")),
    ):
        if found:
            best = max(found, key=score)
            share = 0.3 if how == "<main>" else 0.5
            if score(best) >= share * total and score(best) > 0:
                return best, how
    node = body
    while True:
        kids = [c for c in node.children if isinstance(c, Tag)]
        if not kids:
            break
        best = max(kids, key=score)
        if best.name not in _DESCEND_INTO or (best.name == "table" and _is_data_table(best)):
            break
        if score(best) <= 0 or score(best) < 0.5 * score(node):
            break  # the text is spread over several children: this element is the content
        if stats.own.get(id(node), 0) >= 5:
            break  # text lying in the container itself is content: keep it
        if any(_holds_content(k, stats) for k in kids if k is not best):
            break
        if title_h1 is not None and _inside(title_h1, node) and not _inside(title_h1, best):
            break
        node = best
    return node, "text density"


def _holds_content(tag: Tag, stats: _Stats) -> bool:
    """A long paragraph, several sentences or a data table: not a menu or a banner's line."""
    if stats.longest.get(id(tag), 0) >= _LONG_BLOCK or stats.sentences.get(id(tag), 0) >= 2:
        return True
    tables = [tag] if tag.name == "table" else tag.find_all("table")
    return any(_is_data_table(t) for t in tables)


def _clean_title(title: str, h1: str | None, site: str | None) -> str:
    """`<title>` without its site part; the `<h1>` when the title is only a site name or says less."""
    parts = [p for p in _TITLE_SEPARATORS.split(title) if p.strip()] or [title]
    chosen = parts[0]
    if len(parts) > 1:
        if h1 and (matches := [p for p in parts if _words(p) and _words(p) <= _words(h1)]):
            chosen = max(matches, key=len)
        elif len(chosen.split()) <= 2 or (site and _normal(chosen).lower() == _normal(site).lower()):
            chosen = max(parts[1:], key=len)
    if h1 and (len(chosen.split()) <= 1 or _words(chosen) < _words(h1)):
        return h1
    return chosen


_META_KEYS = {
    "title": ("citation_title", "dc.title", "dcterms.title"),
    "date": (
        "citation_publication_date", "citation_date", "citation_online_date", "dc.date", "dc.date.issued", "dc.issued",
        "dcterms.issued", "dcterms.date", "dcterms.created", "article:published_time", "date",
    ),
    "issuing_body": (
        "citation_author", "dc.creator", "dcterms.creator", "citation_publisher", "dc.publisher", "dcterms.publisher",
        "og:site_name",
    ),
    "url": ("og:url",),
}  # fmt: skip


def _flatten_deep(body: Tag) -> int:
    """Unwrap plain wrappers nested deeper than `_MAX_DEPTH` (their text stays); return how many."""
    depth: dict[int, int] = {id(body): 0}
    deep = []
    for tag in body.find_all(True):
        parent = tag.parent
        depth[id(tag)] = depth.get(id(parent), 0) + 1
        if depth[id(tag)] > _MAX_DEPTH and tag.name in _UNWRAPPABLE:
            deep.append(tag)
    for tag in reversed(deep):  # innermost first: each move then carries a small subtree
        tag.unwrap()
    return len(deep)


def _metadata(soup: BeautifulSoup) -> dict[str, str]:
    """title, year, date, issuing_body (one author or the publisher), url: as the page's tags state them."""
    found: dict[str, list[str]] = {}
    for meta in soup.find_all("meta"):
        key = (_attr(meta, "name") or _attr(meta, "property")).strip().lower()
        content = _normal(_attr(meta, "content"))
        if key and content:
            found.setdefault(key, []).append(content)
    out: dict[str, str] = {}
    for field_name, keys in _META_KEYS.items():
        for key in keys:
            values = found.get(key, [])
            if key == "citation_author" and len(values) != 1:
                continue  # several authors are people, not an issuing body
            if values:
                out[field_name] = values[0]
                break
    canonical = next((_attr(link, "href") for link in soup.find_all("link") if "canonical" in _attr(link, "rel")), "")
    if canonical.startswith("http"):
        out["url"] = canonical.strip()
    if year := re.search(r"\b(1[89]\d\d|20\d\d)\b", out.get("date", "")):
        out["year"] = year.group(1)
    return out


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


_HEADING_LINE = re.compile(r"^(#{1,6})\s")


def numbered_recommendations(text: str) -> tuple[str, int]:
    """Each NICE-style "1.2.3 Offer ..." paragraph under a "Recommendation 1.2.3" heading of its own.

    The heading sits one level under the section it is in, so the chunker makes the paragraph a
    recommendation unit with an id (`doc#rec-1.2.3`), as it does for a PDF's numbered recommendations.
    A page with fewer than three such paragraphs is left as it is.
    """
    lines = text.split("\n")
    if sum(1 for line in lines if NUMBERED_RECOMMENDATION.match(line)) < MIN_NUMBERED_RECOMMENDATIONS:
        return text, 0
    out: list[str] = []
    level, found = 1, 0
    for line in lines:
        if heading := _HEADING_LINE.match(line):
            level = len(heading.group(1))
        elif number := NUMBERED_RECOMMENDATION.match(line):
            if out and out[-1].strip():
                out.append("")
            out += [f"{'#' * min(level + 1, 6)} Recommendation {number.group(1)}", ""]
            found += 1
        out.append(line)
    return "\n".join(out), found


def extract_html(html: str) -> HtmlExtraction:
    """The main content of an HTML page as headings, paragraphs, list items and table rows."""
    soup = BeautifulSoup(html, "lxml")
    metadata = _metadata(soup)
    page_title = _normal(soup.title.get_text(" ")) if soup.title else ""
    for tag in soup.find_all(_JUNK):
        if not tag.decomposed:
            tag.decompose()
    for button in soup.find_all("button"):
        # Accordions title their sections with a button in the heading; elsewhere a button is a control.
        if button.find_parent([*_HEADINGS, "summary"]) is not None:
            button.unwrap()
        else:
            button.decompose()
    body = soup.body or soup
    warnings: list[str] = []
    if unwrapped := _flatten_deep(body):
        warnings.append(f"{unwrapped} wrapper elements nested over {_MAX_DEPTH} deep were unwrapped")
    title_h1 = _title_h1(body, page_title)
    h1_text = _heading_text(title_h1) if title_h1 else None
    page_words = len(body.get_text(" ").split())
    pruner = _Pruner(body, title_h1)
    try:
        pruner.prune(body)
    except RecursionError:
        warnings.append("page nested too deeply to prune: the whole page is kept")
    stats = _Stats(body)
    root, how = _main_root(body, stats, title_h1)
    if how == "text density" and root is not body:
        semantic = body.find(["main", "article"]) or body.find(role="main")
        reason = f"the <{semantic.name}> holds little of the text" if semantic else "no <main> or <article>"
        warnings.append(f"{reason}: main content chosen by text density ({_describe(root)})")
    rendered = _Renderer()
    try:
        rendered.block(root)
    except RecursionError:
        warnings.append("page nested too deeply to read its structure: text kept as plain paragraphs")
        rendered = _Renderer()
        rendered.segments = [("para", _escape(line)) for line in map(_normal, root.get_text("\n").split("\n")) if line]
    text = rendered.text()
    if title_h1 is not None and h1_text and not re.search(rf"^# {re.escape(h1_text)}$", text, re.MULTILINE):
        # The page's title sits above the content (a page header): bring it, with its block when that is small.
        lead = _Renderer()
        holder = title_h1.parent
        small = holder is not None and holder is not body and len(holder.get_text(" ").split()) <= 80
        if holder is not None and small and not title_h1.decomposed and not _inside(root, holder):
            lead.element(holder)
        else:
            lead.segments.append(("heading", f"# {h1_text}"))
            lead.headings = 1
        text = lead.text() + "\n\n" + text
        rendered.headings += lead.headings
        warnings.append("the title <h1> was outside the main content: added before it")
    warnings.extend(rendered.warnings)
    kept = len(text.split())
    if page_words and kept < 0.2 * page_words:
        warnings.append(f"kept {kept} of the page's {page_words} words: check the main content was found")
    if kept < 50:
        warnings.append(f"very little text in the main content ({kept} words)")
    title = metadata.get("title") or (
        _clean_title(page_title, h1_text, metadata.get("issuing_body")) if page_title else h1_text
    )
    text, recommendations = numbered_recommendations(text)
    return HtmlExtraction(
        text=text.strip() + "\n" if text.strip() else "",
        title=title or None,
        headings=rendered.headings,
        tables=rendered.tables,
        warnings=warnings,
        metadata=metadata,
        recommendations=recommendations,
    )


def _describe(tag: Tag) -> str:
    ident = _attr(tag, "id")
    classes = _attr(tag, "class").split()
    return tag.name + (f"#{ident}" if ident else "") + "".join(f".{c}" for c in classes[:2])
