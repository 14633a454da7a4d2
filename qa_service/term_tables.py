"""The packaged term tables (`qa_service/data/*.tsv`), read one way for every module that uses them.

A table is UTF-8 text, one entry a line: a key, a tab, then its expansions separated by commas. Lines
starting with "#" are comments, and a comment starting with "# ===" opens a section ("# === Section 2:
brand names -> generic names ==="). A key that is itself "#" is written escaped, as "\\#".
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

GENERAL_TERMS = "data/abbreviations_general.tsv"
"""General clinical shorthand, brand names (its section 2: brand -> generic name) and lay terms."""


@lru_cache(maxsize=4)
def term_table(name: str) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(section heading, key, expansions) of every entry of the packaged table `name` ("data/abbreviations.tsv");
    keys lower-cased, expansions stripped, the section "" before any heading."""
    entries: list[tuple[str, str, tuple[str, ...]]] = []
    section = ""
    for line in resources.files("qa_service").joinpath(name).read_text(encoding="utf-8").splitlines():
        if line.startswith("# ==="):
            section = line.strip("# =")
        if not line.strip() or line.startswith("#"):
            continue
        key, _, expansions = line.partition("\t")
        found = tuple(e.strip() for e in expansions.split(",") if e.strip())
        entries.append((section, key.strip().lower().replace("\\#", "#"), found))
    return tuple(entries)
