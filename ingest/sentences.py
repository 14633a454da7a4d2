"""Sentence spans of a text: where a full stop, question or exclamation mark ends a sentence, and where it does not
(an abbreviation, initials, "min." after a number). The chunker packs these spans; the composer quotes them."""

from __future__ import annotations

import re

# Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS = {
    "e.g",
    "i.e",
    "vs",
    "dr",
    "fig",
    "al",
    "approx",
    "no",
    "nos",
    "st",
    "mr",
    "ms",
    "mrs",
    "cf",
    "ca",
    "resp",
    "min",
    "max",
    "incl",
    "dept",
    "univ",
    "vol",
    "p",
    "pp",
    "ref",
    "refs",
    "sr",
    "jr",
    "b.i.d",
    "t.i.d",
    "q.d",
    "i.v",
    "s.c",
    "p.o",
}
# A single letter ("J. Smith") or dotted initials ("U.S. Food and Drug Administration", "U.K.") before the stop.
_INITIALISM = re.compile(r"[a-z](?:\.[a-z])*")
_UNIT_AFTER_NUMBER = re.compile(r"\d\s*(?:min|max)\.$", re.IGNORECASE)
# A full stop may carry the source's own citation markers and tags ("... cancer.[99] Patients", "... 80%.[79,80][Level
# of evidence C3] Because ..."): they end with it.
_SENTENCE_END = re.compile(
    r"[.!?][\"')\]]*(?:\[\d{1,3}(?:\s*[,–-]\s*\d{1,3})*\]|\[[A-Z][A-Za-z]*(?: [\w:.-]+){0,5}\])*"
    r"(?=\s+[\"'(\[]?[A-Z0-9])"
)


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans (absolute offsets) of `text[start:end]`, whitespace trimmed."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        stop = match.end()
        word = re.search(r"(\S+)$", text[cursor : match.start() + 1])
        token = word.group(1).rstrip(".!?").lower() if word else ""
        if _UNIT_AFTER_NUMBER.search(text, cursor, match.start() + 1) and text[stop:].lstrip()[:1].isalpha():
            pass  # "over 15 min. Then ...": a unit after a number, then a word: the sentence ends
        elif token.lstrip("([\"'") in _ABBREVIATIONS or _INITIALISM.fullmatch(token.lstrip("([\"'")):
            continue
        spans.append((cursor, stop))
        cursor = stop
    spans.append((cursor, end))
    trimmed = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            trimmed.append((a, b))
    return _with_trailing_parentheticals(text, trimmed)


_PARENTHETICAL = re.compile(r"^[(\[][^()\[\]]*[)\]][.;,]?$")


def _with_trailing_parentheticals(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """A sentence that is only a parenthesis ("(Weak recommendation, low-quality evidence).", "(Grade 1A).") joins
    the sentence before it in the same paragraph: alone it says nothing, after it it qualifies it."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and _PARENTHETICAL.match(text[a:b]) and "\n" not in text[out[-1][1] : a]:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out
