"""The grounding check: a generated sentence must cite a passage that states its numbers and drug names."""

from __future__ import annotations

import pytest

from qa_service.grounding import check_sentence, citations_in, drugs_in, numbers_in, strip_citations

RT_PASSAGE = (
    "Guideline: ESMO 2020 · Evidence: I, A\n\nA single fraction of 8 Gy relieves pain as well as 20 Gy in 5 fractions "
    "or 30 Gy in 10 fractions."
)
BMA_PASSAGE = "Denosumab 120 mg every 4 weeks or zoledronic acid 4 mg every 12 weeks reduces skeletal-related events."


def test_sentence_whose_numbers_and_drugs_occur_in_the_cited_passage_passes():
    result = check_sentence("Per ESMO 2020, a single fraction of 8 Gy relieves pain [1].", [RT_PASSAGE], 2)

    assert result.ok and result.reason is None


def test_sentence_may_draw_on_every_passage_it_cites():
    sentence = "A single 8 Gy fraction relieves pain, and denosumab 120 mg reduces events [1][2]."

    assert check_sentence(sentence, [RT_PASSAGE, BMA_PASSAGE], 2).ok


@pytest.mark.parametrize(
    ("sentence", "missing"),
    [
        ("A single fraction of 6 Gy relieves pain [1].", "6"),
        ("Give 0.8 Gy in a single fraction [1].", "0.8"),
        ("A single fraction of 8 Gy relieves pain in 80% of patients [1].", "80%"),
    ],
)
def test_number_not_in_the_cited_passage_fails(sentence, missing):
    result = check_sentence(sentence, [RT_PASSAGE], 1)

    assert not result.ok
    assert result.reason == f"number {missing} not in the cited passage"


def test_number_from_another_passage_than_the_cited_one_fails():
    result = check_sentence("Denosumab 120 mg every 4 weeks is recommended [1].", [RT_PASSAGE], 2)

    assert not result.ok and "120" in (result.reason or "")


@pytest.mark.parametrize(
    ("sentence", "drug"),
    [
        ("Pamidronate every 4 weeks reduces skeletal-related events [1].", "pamidronate"),
        ("Romosozumab every 4 weeks reduces skeletal-related events [1].", "romosozumab"),
    ],
)
def test_drug_name_not_in_the_cited_passage_fails(sentence, drug):
    result = check_sentence(sentence, [BMA_PASSAGE], 1)

    assert not result.ok
    assert result.reason == f"drug {drug} not in the cited passage"


def test_citation_of_an_unknown_passage_fails():
    result = check_sentence("A single fraction of 8 Gy relieves pain [9].", [], 2)

    assert not result.ok and result.reason == "cites unknown passage [9]"


def test_citation_zero_is_unknown_too():
    assert not check_sentence("A single fraction of 8 Gy relieves pain [0].", [], 2).ok


def test_sentence_without_citation_fails():
    result = check_sentence("A single fraction of 8 Gy relieves pain.", [RT_PASSAGE], 1)

    assert not result.ok and result.reason == "no citation"


def test_helpers_find_numbers_drugs_and_markers():
    text = "Zoledronic acid 4 mg over 15 min, 1,000 IU vitamin D and 0.5 g calcium [2][10]."

    assert numbers_in(strip_citations(text)) == ["4", "15", "1000", "0.5"]
    assert drugs_in(text) >= {"zoledronic acid"}
    assert citations_in(text) == [2, 10]
    assert strip_citations(text).endswith("calcium.")
