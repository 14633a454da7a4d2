"""The grounding check: a generated sentence must cite a passage that states its numbers and drug names."""

from __future__ import annotations

import pytest

from qa_service.grounding import (
    check_sentence,
    citations_in,
    drug_unbound,
    drugs_in,
    generated_unsupported,
    numbers_in,
    polarity_unsupported,
    strip_citations,
)

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


# -- what a generated sentence must pass besides its numbers: its sense and its drugs ----------------------------

LIST_PASSAGE = (
    "Diagnose MRONJ only when all three criteria are met:\n"
    "- Current or previous treatment with a bone-modifying agent or an angiogenic inhibitor.\n"
    "- Exposed bone in the maxillofacial region that has persisted for longer than 8 weeks.\n"
    "- No history of radiation therapy to the jaws and no obvious metastatic disease to the jaws."
)
TABLE_PASSAGE = (
    "| Opioid | Conversion factor |\n|---|---|\n| Codeine | 0.15 |\n| Methadone | 4.7 |\n| Oxycodone | 1.5 |"
)


@pytest.mark.parametrize(
    ("sentence", "passage", "unsupported"),
    [
        ("A single fraction of 8 Gy does not relieve pain [1].", RT_PASSAGE, True),
        ("A single fraction of 8 Gy relieves pain [1].", RT_PASSAGE, False),
        ("Avoid a single fraction of 8 Gy for pain relief [1].", RT_PASSAGE, True),
        (
            "They are indicated for extraskeletal metastases without bone involvement [1].",
            "They are not indicated for extraskeletal metastases without bone involvement.",
            True,
        ),
        (
            "They are not indicated for extraskeletal metastases without bone involvement [1].",
            "They are not indicated for extraskeletal metastases without bone involvement.",
            False,
        ),
        # "with or without" and "not only" turn nothing
        (
            "Give radiotherapy with or without surgery for painful metastases [1].",
            "Give radiotherapy for painful metastases, with surgery where the bone is unstable.",
            False,
        ),
        # a list item is its own statement: the third item's "No history" is not the first item's
        (
            "Current or previous treatment with a bone-modifying agent or an angiogenic inhibitor [1].",
            LIST_PASSAGE,
            False,
        ),
        ("There is no current or previous treatment with a bone-modifying agent [1].", LIST_PASSAGE, True),
        # a sentence no statement restates is left to the wording check
        ("Hydration matters [1].", RT_PASSAGE, False),
    ],
)
def test_a_sentence_negating_differently_from_the_statement_it_restates_is_unsupported(sentence, passage, unsupported):
    reason = polarity_unsupported(sentence, [passage])

    assert (reason is not None) == unsupported


@pytest.mark.parametrize(
    ("sentence", "unsupported"),
    [
        ("The conversion factor of oxycodone is 1.5 [1].", False),
        ("The conversion factor of codeine is 1.5 [1].", True),  # another row's factor, though codeine is in the table
        ("The opioid conversion factor of methadone is 4.7 [1].", False),
    ],
)
def test_a_drug_must_be_named_by_the_table_row_it_restates(sentence, unsupported):
    assert (drug_unbound(sentence, [TABLE_PASSAGE]) is not None) == unsupported


def test_a_drug_must_be_named_by_the_statement_it_restates_not_anywhere_in_the_passage():
    passage = "Ondansetron is given before chemotherapy. Granisetron is an alternative in QT prolongation."
    swapped = "Granisetron is given before chemotherapy [1]."

    assert check_sentence(swapped, [passage], 1).ok  # its drug is in the passage, and it states no number
    assert drug_unbound(swapped, [passage]) == "drug granisetron not in the cited passage's statement it restates"
    assert drug_unbound("Ondansetron is given before chemotherapy [1].", [passage]) is None


def test_a_drug_the_passage_names_by_its_abbreviation_is_in_the_passage():
    # "LHRH" reads as the drug it abbreviates, which the passage's words never spell out
    passage = "Give radium-223 while LHRH analogue therapy continues."
    sentence = "Radium-223 is given while LHRH analogue therapy continues [1]."

    assert "gonadotropin-releasing hormone" in drugs_in(sentence)
    assert check_sentence(sentence, [passage], 1).ok


def test_generated_sentences_pass_every_check_in_order():
    assert generated_unsupported("A single fraction of 8 Gy relieves pain [1].", [RT_PASSAGE], 1) is None
    assert generated_unsupported("A single fraction of 6 Gy relieves pain [1].", [RT_PASSAGE], 1) == (
        "number 6 not in the cited passage"
    )
    assert generated_unsupported("No [1].", [RT_PASSAGE], 1).startswith("states too little")
    assert generated_unsupported("A single fraction of 8 Gy never relieves pain [1].", [RT_PASSAGE], 1).startswith(
        "negates differently"
    )


def test_paraphrases_written_apart_from_the_check_keep_their_sense_or_are_dropped():
    # data/paraphrase_pairs.jsonl: 62 pairs a helper wrote from the project's corpus without seeing this check
    # (session 36; 44 faithful summaries, 13 with the opposite sense, 5 giving a statement to another drug). The
    # check was tuned on a larger set they are part of; docs/grounding.md gives the figures on one it never saw.
    import json
    from pathlib import Path

    path = Path(__file__).parent / "data" / "paraphrase_pairs.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    faithful = [r for r in rows if r["supported"]]
    wrong = [r for r in rows if not r["supported"]]
    kept = sum(generated_unsupported(r["sentence"], [r["passage"]], 1) is None for r in faithful)
    caught = sum(generated_unsupported(r["sentence"], [r["passage"]], 1) is not None for r in wrong)
    caught_before = sum(not check_sentence(r["sentence"], [r["passage"]], 1).ok for r in wrong)

    assert (len(faithful), len(wrong)) == (44, 18)
    assert kept / len(faithful) >= 0.85
    assert caught / len(wrong) >= 0.6
    assert caught >= caught_before + 6  # numbers and drug names alone catch a few (the swapped drug is absent)
