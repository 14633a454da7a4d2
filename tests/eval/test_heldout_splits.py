"""The Makefile's held-out splits: every held-out set in `eval/gold` is in exactly one of them, in both corpora.

`make eval-heldout` pools the validation and test splits as the README's quality table shows them; a new set left
out of the lists, or listed twice, would change those rows without anyone noticing. Only file names are read here.
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPLITS = ("HELDOUT_VALIDATION", "HELDOUT_TEST", "HELDOUT_NEWEST")


def makefile_splits(text: str) -> dict[str, list[int]]:
    """Each split's set numbers, as the Makefile assigns them (`NAME = 2 3 4`)."""
    out = {}
    for name in SPLITS:
        match = re.search(rf"^{name}[ \t]*=[ \t]*(.*)$", text, re.MULTILINE)
        assert match, f"the Makefile does not define {name}"
        out[name] = [int(n) for n in match.group(1).split()]
    return out


def set_numbers(prefix: str) -> set[int]:
    """The numbers of the held-out sets in eval/gold named `<prefix><n>.jsonl` (the unnumbered first set is 1)."""
    numbers = set()
    for path in (ROOT / "eval" / "gold").glob(f"{prefix}*.jsonl"):
        suffix = path.stem[len(prefix) :]
        if suffix.isdigit():
            numbers.add(int(suffix))
        elif suffix == "":
            numbers.add(1)
    return numbers


def split_problems(splits: dict[str, list[int]], bone: set[int], real: set[int]) -> list[str]:
    """What is wrong with the splits against the sets on disk (empty when nothing is)."""
    listed = [n for numbers in splits.values() for n in numbers]
    problems = [f"set {n} is in two splits" for n in sorted(set(listed)) if listed.count(n) > 1]
    # The first bone set (bone_metastasis_heldout.jsonl) is no longer clean and is pooled nowhere; the first
    # real-document set (realdocs_heldout.jsonl) is always in the validation split.
    for corpus, numbers in (("bone", bone - {1}), ("real documents", real - {1})):
        problems += [f"{corpus} set {n} is in no split" for n in sorted(numbers - set(listed))]
        problems += [f"{corpus} set {n} is listed but not on disk" for n in sorted(set(listed) - numbers)]
    order = [splits[name] for name in SPLITS if splits[name]]
    if any(max(a) >= min(b) for a, b in pairwise(order)):
        problems.append("the splits are not in order: validation, then test, then the newest")
    return problems


def test_every_held_out_set_is_in_exactly_one_split():
    splits = makefile_splits((ROOT / "Makefile").read_text(encoding="utf-8"))
    assert split_problems(splits, set_numbers("bone_metastasis_heldout"), set_numbers("realdocs_heldout")) == []
    assert splits["HELDOUT_NEWEST"], "the newest sets are shown alone in the README"


def test_a_set_left_out_or_listed_twice_is_named():
    splits = {"HELDOUT_VALIDATION": [2, 3], "HELDOUT_TEST": [4, 5], "HELDOUT_NEWEST": [6]}
    assert split_problems(splits, {1, 2, 3, 4, 5, 6}, {1, 2, 3, 4, 5, 6}) == []
    assert split_problems({**splits, "HELDOUT_NEWEST": []}, {2, 3, 4, 5, 6}, {1, 2, 3, 4, 5, 6}) == [
        "bone set 6 is in no split",
        "real documents set 6 is in no split",
    ]
    assert "set 5 is in two splits" in split_problems({**splits, "HELDOUT_NEWEST": [5, 6]}, {2, 3, 4, 5, 6}, {1, 6})
    assert split_problems({**splits, "HELDOUT_TEST": [3, 4, 5]}, {2, 3, 4, 5, 6}, {1, 2, 3, 4, 5, 6}) == [
        "set 3 is in two splits",
        "the splits are not in order: validation, then test, then the newest",
    ]
