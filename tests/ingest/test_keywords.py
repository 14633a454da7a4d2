"""The keyword tokenizer shared by BM25 and the evidence gate."""

from __future__ import annotations

import pytest

from ingest.keywords import keyword_tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("8Gy x1 vs 30Gy/10", ["8", "gy", "x1", "vs", "30", "gy", "10"]),
        ("zol 4mg every 12wks", ["zol", "4", "mg", "everi", "12", "wks"]),
        ("Denosumab 120 mg", ["denosumab", "120", "mg"]),
        ("a 3D plan for T12", ["3d", "plan", "t12"]),  # not units: left whole
        ("Fractures of the femurs", ["fractur", "femur"]),
        ("continued and continuing monthly", ["continu", "continu", "month"]),
        ("Hypercalcémie", ["hypercalcemi"]),  # accents removed, then stemmed
    ],
)
def test_keyword_tokens(text: str, tokens: list[str]) -> None:
    assert keyword_tokens(text) == tokens


def test_a_glued_dose_meets_the_guideline_spelling() -> None:
    assert set(keyword_tokens("single 8Gy?")) <= set(keyword_tokens("A single fraction of 8 Gy relieves pain."))
