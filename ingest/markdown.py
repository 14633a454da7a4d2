"""Markdown headings as the chunker and the loaders read them: ATX `#` lines outside fenced code."""

from __future__ import annotations

import re
from collections.abc import Iterator

HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
"""An ATX heading line: group 1 the `#`s (its level), group 2 its text."""


def heading_lines(text: str) -> Iterator[tuple[int, int, re.Match[str] | None]]:
    """Each line's (start, end), newline excluded, with its heading match: None for other lines and for
    every line inside fenced code (``` or ~~~)."""
    in_fence = False
    pos = 0
    while pos < len(text):
        newline = text.find("\n", pos)
        end = len(text) if newline == -1 else newline
        line = text[pos:end]
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        yield pos, end, None if in_fence else HEADING.match(line)
        pos = end + 1
