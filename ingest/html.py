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
from dataclasses import dataclass, field

from bs4 import BeautifulSoup
from bs4.element import Tag

from ingest.chunking import MIN_NUMBERED_RECOMMENDATIONS, NUMBERED_RECOMMENDATION
from ingest.html_content import (
    _HEADINGS,
    _JUNK,
    _MAX_DEPTH,
    _TITLE_SEPARATORS,
    _attr,
    _flatten_deep,
    _inside,
    _main_root,
    _normal,
    _Pruner,
    _Stats,
    _title_h1,
    _words,
)
from ingest.html_render import _escape, _heading_text, _Renderer

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
