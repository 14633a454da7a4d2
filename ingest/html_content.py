"""Finding a page's main content: site chrome (navigation, banners, cookie notices, footers) recognised by element,
role, class and id hints and by link density (`_Pruner`), and the main element chosen by its text (`_main_root`)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bs4.element import NavigableString, PageElement, Tag

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
