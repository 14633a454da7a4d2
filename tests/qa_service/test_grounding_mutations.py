"""`guideline-qa eval grounding`: the service's own answer sentences, changed as a model could get them wrong, must
fail the LLM composer's grounding check, and unchanged they must pass it."""

from __future__ import annotations

import json

import pytest

from eval.grounding_mutations import (
    change_number,
    change_unit,
    flip_polarity,
    mutate_answers,
    swap_drug,
    without_lead,
)
from guideline_qa import cli
from qa_service.grounding import check_sentence

BMA = "Denosumab 120 mg every 4 weeks or zoledronic acid 4 mg every 12 weeks is recommended for breast cancer."
HCM = (
    "Treat hypercalcaemia of malignancy with intravenous fluids and a bisphosphonate or denosumab. "
    "Calcitonin can be added for a rapid effect."
)


@pytest.mark.parametrize(
    ("sentence", "flipped"),
    [
        ("Radiotherapy should not be delayed.", "Radiotherapy should be delayed."),
        ("Radiotherapy should be given.", "Radiotherapy should not be given."),
        ("Give radiotherapy for pain.", "Do not give radiotherapy for pain."),
        ("Surgery cannot stabilise the spine.", "Surgery can stabilise the spine."),
        ("Opioids must only be used for pain.", None),  # "must not only" is no opposite
        ("The task force recommends against screening.", None),
    ],
)
def test_polarity_is_flipped_by_one_edit_or_not_at_all(sentence, flipped):
    assert flip_polarity(sentence) == flipped


def test_a_changed_number_is_one_the_passages_never_state_and_never_a_citation_marker():
    assert change_number("Give 4 mg every 12 weeks [1].", {4.0, 8.0, 12.0}) == "Give 5 mg every 12 weeks [1]."
    assert change_number("Survival differs by tumour [1].", set()) is None


def test_units_and_drugs_are_swapped_for_ones_that_make_the_sentence_wrong():
    assert change_unit("Give 4 mg every 12 weeks.") == "Give 4 g every 12 weeks."
    assert change_unit("Continue for 2 years.") is None  # no unit it changes
    assert (
        swap_drug("Calcitonin can be added for a rapid effect.", HCM)
        == "bisphosphonate can be added for a rapid effect."
    )
    assert swap_drug("Fluids come first.", HCM) is None


def test_the_services_label_is_not_read_as_the_passages_words():
    assert without_lead("Per ESMO 2020 (evidence I, A), give 8 Gy [1].") == "Give 8 Gy [1]."
    assert without_lead("Give 8 Gy [1].") == "Give 8 Gy [1]."


def test_originals_pass_and_each_kind_of_change_is_caught_by_the_served_check():
    answer = "Per CCO/ASCO 2017, denosumab 120 mg every 4 weeks is recommended for breast cancer. [1] " + (
        "Calcitonin can be added for a rapid effect. [2]"
    )
    summary = mutate_answers([(answer, {1: BMA, 2: HCM})])

    assert summary.originals == 2 and summary.originals_rejected == 0
    assert summary.mutants["negation"] == 2 and summary.caught["negation"] == 2
    assert summary.caught["number"] == summary.mutants["number"] == 1
    assert summary.caught["unit"] == summary.mutants["unit"] == 1
    assert summary.caught["drug"] == summary.mutants["drug"] == 2


def test_a_check_reading_only_quantities_lets_the_opposite_advice_through():
    # The measure can fail: the numbers-and-drugs check alone passes every flipped sentence.
    def quantities_only(sentence, passages, n):
        result = check_sentence(sentence, passages, n)
        return None if result.ok else result.reason

    summary = mutate_answers([("Calcitonin can be added for a rapid effect. [1]", {1: HCM})], check=quantities_only)

    assert summary.mutants["negation"] == 1 and summary.caught["negation"] == 0
    assert summary.missed["negation"][0]["mutant"] == "Calcitonin can not be added for a rapid effect. [1]"


def test_the_cli_asks_a_gold_set_and_reports_each_kind(mini_pipeline, mini_index_dir, tmp_path, capsys, monkeypatch):
    from qa_service.pipeline import QAPipeline

    # the mini index is built with the test embedder: the CLI gets the pipeline over it
    monkeypatch.setattr(QAPipeline, "from_settings", classmethod(lambda cls, settings: mini_pipeline))
    gold = tmp_path / "gold.jsonl"
    questions = [
        {"qid": "g-1", "question": "single fraction dose for painful bone metastases", "answerable": True},
        {"qid": "g-2", "question": "denosumab dose for breast cancer with bone metastases", "answerable": True},
    ]
    gold.write_text(
        "".join(
            json.dumps({**q, "rec_ids": ["BM-RT-01"], "key_facts": [["8 Gy"]], "topic": "radiotherapy"}) + "\n"
            for q in questions
        ),
        encoding="utf-8",
    )
    out, missed = tmp_path / "grounding.md", tmp_path / "missed.json"

    args = ["eval", "grounding", "--gold", str(gold), "--index", str(mini_index_dir), "--out", str(out)]
    code = cli.main([*args, "--json", str(missed), "--quiet"])

    assert code == 0
    report = out.read_text(encoding="utf-8")
    assert report in capsys.readouterr().out
    row = report.splitlines()[2]
    assert "(2 answers)" in row and "| 0.000 |" in row  # originals rejected
    assert "negation caught" in report and "1.000" in row
    assert set(json.loads(missed.read_text(encoding="utf-8"))) == {"missed", "originals_rejected"}


def test_the_cli_names_a_missing_gold_file(tmp_path, capsys):
    assert cli.main(["eval", "grounding", "--gold", str(tmp_path / "nowhere.jsonl"), "--quiet"]) == 2
    assert "nowhere.jsonl" in capsys.readouterr().err
