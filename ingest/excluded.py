"""Parts of a guideline that are never answer text: references, contents, acknowledgements, licence notes...

`excluded_kind` names the part a heading opens (or None). PDFs use it with the look of their lines
(ingest/pdf/structure.py); Markdown and web pages drop such a section by its heading alone
(`drop_excluded_sections`), from the heading to the next one of the same or a higher level, so a
page's reference lists never take a place among a question's passages.
"""

from __future__ import annotations

import re
from collections import Counter

from ingest.markdown import heading_lines

EXCLUDED_HEADINGS = [
    (
        "references",
        re.compile(
            r"^(?:(?:selected |key |cited )?references?(?: and notes| cited| list)?(?: (?:for|on|to|in) .+)?|"
            r"bibliography|literature cited|works cited|sources|further reading)$"
        ),
    ),
    ("contents", re.compile(r"^(?:table of contents|contents)$")),
    ("acknowledgements", re.compile(r"^acknowledge?ments?\b")),
    (
        "declarations",
        re.compile(
            r"^(?:.{0,40}\b(?:conflicts? of interests?|declarations? of (?:competing )?interests?|competing interests?|"
            r"disclosures? of (?:potential )?(?:conflicts|interests))|(?:financial |author |authors’ |authors' )?"
            r"disclosures?(?: statements?)?|declaration and management of interests?)\b"
        ),
    ),
    ("search-strategy", re.compile(r"^(?:.*\bsearch strateg(?:y|ies)|literature search(?:es)?|search terms)\b")),
    (
        "abbreviations",
        re.compile(r"^(?:(?:list|glossary) of )?(?:abbreviations?|acronyms)(?: and (?:abbreviations|acronyms))?$"),
    ),
    ("index", re.compile(r"^(?:subject )?index$")),
    (
        # About the publication rather than the care: its licence, disclaimer, how to cite or contact it, its
        # funding and its change log ("About This PDQ Summary", NICE's "Update information", WHO's "Copyright").
        "administrative",
        re.compile(
            r"^(?:about this (?:pdq |cancer\.gov )?(?:summary|guideline|document|publication|report)|"
            r"permissions?(?: to (?:use|reproduce|reuse)\b.*)?|copyright(?: notice| information| and permissions)?|"
            r"disclaimers?|contact(?: us| information| details)?|(?:how to cite|citing)\b.*|(?:suggested )?citation|"
            r"funding(?: sources?| statement| information)?|sources? of funding|update information|"
            r"(?:latest |recent )?(?:updates|changes) to this (?:summary|guideline|document)\b.*)$"
        ),
    ),
    (
        "contributors",
        re.compile(
            r"^(?:guideline |list of |the )?(?:contributors|authors|participants|committee members|panel members|"
            r"members of the (?:guideline |expert )?(?:panel|committee|group)|guideline development group members?)$"
        ),
    ),
]


def excluded_kind(heading: str) -> str | None:
    """The kind of part a heading opens, when that part is left out (references, contents...)."""
    text = re.sub(
        r"^(?:\d+(?:\.\d+)*\.?|[A-Z]\.|annex(?:\s+\w+)?[.:]?|appendix\s+\w+[.:]?|chapter\s+\w+[.:]?)\s*",
        "",
        heading.strip(),
        flags=re.I,
    )
    text = re.sub(r"\s*\(?(?:continued|cont\.?|cont'd)\)?[\s:.]*$", "", text, flags=re.I)
    text = re.sub(r"[\s:.]+$", "", text).lower()
    text = re.sub(r"\s+", " ", text)
    for kind, pattern in EXCLUDED_HEADINGS:
        if pattern.match(text):
            return kind
    return None


def drop_excluded_sections(text: str) -> tuple[str, list[str]]:
    """Markdown without its excluded sections, and what was left out as ['2 sections "References" (references)'].

    A section runs from its `#` heading to the next heading of the same or a higher level; headings
    inside fenced code are text.
    """
    kept: list[str] = []
    dropped: Counter[tuple[str, str]] = Counter()
    level = 0  # level of the excluded section being skipped (0: none)
    for start, end, match in heading_lines(text):
        if match:
            depth = len(match.group(1))
            if level and depth <= level:
                level = 0
            if not level:
                kind = excluded_kind(match.group(2))
                if kind:
                    level = depth
                    dropped[(match.group(2).strip(), kind)] += 1
        if not level:
            kept.append(text[start : end + 1])  # the line and its newline
    report = [f'{n} section{"s" if n > 1 else ""} "{heading}" ({kind})' for (heading, kind), n in dropped.items()]
    return "".join(kept), report
