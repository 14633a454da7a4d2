"""Joining lines into running text: line-end hyphens decided with the document's own vocabulary."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable

# First parts that usually keep their hyphen ("non-small-cell", "self-management", "well-being").
HYPHEN_PREFIXES = frozenset(
    "non self well pre post co anti multi semi cross ex half quasi ultra mid all long short low high "
    "full first second third one two three four five six ten".split()
)
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’])*")
_COMPOUND = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)+")
_TRAILING = re.compile(r"([^\W\d_]+)-$")
_LEADING = re.compile(r"^([^\W\d_]+)")


class Vocabulary:
    """How often each word, and each hyphenated compound, occurs inside lines of the document."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.words: Counter[str] = Counter()
        self.compounds: Counter[str] = Counter()
        for line in lines:
            body = line[: line.rfind(" ")] if line.endswith("-") else line
            self.words.update(w.lower() for w in _WORD.findall(body))
            for compound in _COMPOUND.findall(body):
                parts = compound.lower().split("-")
                for a, b in itertools.pairwise(parts):
                    self.compounds[f"{a}-{b}"] += 1

    def keeps_hyphen(self, first: str, second: str) -> bool:
        """Whether `first-` at a line end and `second` on the next line form a hyphenated word."""
        joined = (first + second).lower()
        hyphenated = f"{first}-{second}".lower()
        as_one, as_two = self.words[joined], self.compounds[hyphenated]
        if as_one != as_two:
            return as_two > as_one
        if second[:1].isupper() or (first.isupper() and len(first) > 1):
            return True  # "non-Hispanic", "HER2-positive", "CA-125"
        return first.lower() in HYPHEN_PREFIXES


_SPLIT = re.compile(r"\b([^\W\d_]) ([^\W\d_]{2,})\b")


def mend_split_words(text: str, vocab: Vocabulary) -> str:
    """Join a letter that a wide glyph gap split off its word ("M ultiply" -> "Multiply").

    Only where the document spells the joined word elsewhere at least as often as the fragment,
    and never after "a", "A" or "I", which are words themselves ("a way" is not "away").
    """

    def mend(m: re.Match[str]) -> str:
        head, tail = m.group(1), m.group(2)
        joined, alone = vocab.words[(head + tail).lower()], vocab.words[tail.lower()]
        if not tail[0].islower() or joined == 0:
            return m.group(0)
        return head + tail if joined >= alone and head not in "aAI" else m.group(0)

    return _SPLIT.sub(mend, text)


# A reference number printed as plain text right after a sentence's full stop: "pain-related disability.10 Among
# adolescents", "measured.6 In addition" (no superscript to tell it by). A decimal ("2.10") has a digit before its
# point, and a number after a space is the text's own.
_GLUED_REFERENCE = re.compile(r"(?<=[^\W\d_]{3})\.\d{1,3}(?:[,–-]\d{1,3})*(?=\s+[A-Z]|$)")


def drop_glued_references(text: str) -> str:
    """The line without reference numbers glued to a sentence's full stop ("disability.10 Among" becomes
    "disability. Among")."""
    return _GLUED_REFERENCE.sub(".", text)


def join_lines(texts: list[str], vocab: Vocabulary) -> tuple[str, list[int]]:
    """Lines joined into one paragraph, and where each line starts in it."""
    out = ""
    starts: list[int] = []
    for text in texts:
        text = drop_glued_references(mend_split_words(" ".join(text.split()), vocab))
        if not out:
            starts.append(0)
            out = text
            continue
        if out.endswith("-") and not out.endswith(" -") and text[:1].isalnum():
            trailing = _TRAILING.search(out)
            leading = _LEADING.match(text)
            if trailing and leading and not vocab.keeps_hyphen(trailing.group(1), leading.group(1)):
                out = out[:-1]
            starts.append(len(out))
            out += text
            continue
        out += " "
        starts.append(len(out))
        out += text
    return out, starts
