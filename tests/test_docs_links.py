"""Every relative link in README.md, docs/**/*.md and the folder READMEs leads somewhere.

A link's file must exist, and a `#anchor` must name a heading of that file, slugged the way GitHub
does it (lower case, spaces to '-', punctuation other than '-' and '_' dropped, repeats numbered).
Links to http(s) and mailto addresses are not fetched. Links inside code blocks and inline code
are not links.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(
    [ROOT / "README.md", ROOT / "corpus" / "README.md", ROOT / "eval" / "README.md", *(ROOT / "docs").rglob("*.md")]
)

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"(`+).+?\1")
# [text](target) or ![alt](target), with an optional "title"; the text may hold one level of brackets.
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")
_EXTERNAL = ("http://", "https://", "mailto:")


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, inline code blanked out."""
    lines = []
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, _INLINE_CODE.sub("", line)))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading's text: links read as their text, then lower case, '-' for spaces."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # [text](url) -> text
    # Inline HTML tags are not text, but `<file>` inside a code span is.
    parts = re.split(r"(`+[^`]*`+)", text)
    text = "".join(part if part.startswith("`") else re.sub(r"<[^>]+>", "", part) for part in parts)
    text = text.strip().lower()
    text = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    """Every anchor a Markdown file offers: its headings' slugs (repeats get -1, -2...) and <a name/id>."""
    found: set[str] = set()
    seen: Counter[str] = Counter()
    text = path.read_text(encoding="utf-8")
    for _, line in _prose_lines(text):
        found.update(_HTML_ANCHOR.findall(line))
    fenced = False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match:
            base = slug(match.group(2))
            found.add(base if seen[base] == 0 else f"{base}-{seen[base]}")
            seen[base] += 1
    return frozenset(found)


def links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every link in a Markdown file, outside code."""
    found = []
    for number, line in _prose_lines(path.read_text(encoding="utf-8")):
        found += [(number, target) for target in _LINK.findall(line)]
        reference = _REFERENCE.match(line)
        if reference:
            found.append((number, reference.group(1)))
    return found


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def broken(page: Path, target: str) -> str | None:
    """Why a link of `page` is broken, or None when it resolves."""
    if target.startswith(_EXTERNAL):
        return None
    file_part, _, anchor = target.partition("#")
    file_part = unquote(file_part)
    if file_part.startswith("/"):
        resolved = ROOT / file_part.lstrip("/")
    elif file_part:
        resolved = (page.parent / file_part).resolve()
    else:
        resolved = page
    if not resolved.exists():
        return f"{target}: no such file ({_shown(resolved)})"
    if anchor and resolved.is_file() and resolved.suffix.lower() == ".md" and unquote(anchor) not in anchors(resolved):
        return f"{target}: no heading with the anchor #{anchor} in {_shown(resolved)}"
    return None


def test_there_are_pages_to_check() -> None:
    assert ROOT / "README.md" in PAGES
    assert len(PAGES) > 1, "docs/ has no Markdown pages"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    problems = [f"line {n}: {why}" for n, target in links(page) if (why := broken(page, target))]
    assert not problems, f"{_shown(page)} has broken links:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Quality to expect on new questions", "quality-to-expect-on-new-questions"),
        ("HTTP API (OpenAPI at `/docs`)", "http-api-openapi-at-docs"),
        ("`POST /v1/ask`", "post-v1ask"),
        ("Sidecars: `<file>.meta.yaml`", "sidecars-filemetayaml"),
        ("Bring your own [guidelines](docs/x.md)", "bring-your-own-guidelines"),
        ("snake_case and kebab-case", "snake_case-and-kebab-case"),
    ],
)
def test_slugs_follow_githubs_rules(heading: str, expected: str) -> None:
    assert slug(heading) == expected


def test_a_repeated_heading_gets_a_numbered_anchor(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Errors\n\n## Errors\n\n```\n# not a heading\n```\n", encoding="utf-8")
    assert anchors(page) == {"errors", "errors-1"}


def test_links_in_code_are_not_checked_and_broken_ones_are_named(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\nSee [there](missing.md), [here](#title), [nowhere](#nope) and [web](https://example.org).\n"
        "`[code](also-missing.md)`\n\n```\n[fenced](missing-too.md)\n```\n",
        encoding="utf-8",
    )
    targets = [target for _, target in links(page)]
    assert targets == ["missing.md", "#title", "#nope", "https://example.org"]
    assert [t for t in targets if broken(page, t)] == ["missing.md", "#nope"]
