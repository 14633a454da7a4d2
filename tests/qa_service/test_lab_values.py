"""Laboratory values read as the condition they name (qa_service/lab_values.py), with the packaged ranges."""

from __future__ import annotations

import pytest

from qa_service.lab_values import condition_of, lab_conditions
from qa_service.schemas import AskRequest
from qa_service.vocabulary import query_words
from tests.qa_service.mini_corpus import pipeline_over
from tests.qa_service.test_pipeline import answering


def words(text: str) -> list[str]:
    return [w for w, _ in query_words(text)]


@pytest.mark.parametrize(
    ("question", "word", "condition"),
    [
        ("My mum's calcium came back at 3.0 and she's confused", "calcium", "hypercalcaemia"),
        ("59M lung ca, corrected Ca 3.1 mmol/L, drowsy", "ca", "hypercalcaemia"),
        ("Ca 15 mg/dL in a cancer patient", "ca", "hypercalcaemia"),
        ("calcium 3.1mmol/L", "calcium", "hypercalcaemia"),
        ("on Xgeva, Ca 1.85, tingling lips", "ca", "hypocalcaemia"),
        ("sodium 128 and confused", "sodium", "hyponatraemia"),
        ("potassium of 6.1", "potassium", "hyperkalaemia"),
        ("Hb 8.5 g/dL after chemo", "hb", "anaemia"),
        ("Hb 85 g/L after chemo", "hb", "anaemia"),
        ("platelets 40 on day 10", "platelets", "thrombocytopenia"),
        ("ANC 800, febrile", "anc", "neutropenia"),
    ],
)
def test_a_value_outside_its_range_reads_as_the_condition(question: str, word: str, condition: str) -> None:
    expansions = dict(query_words(question))[word]
    assert condition in expansions
    assert expansions[0] in ("calcium", "sodium", "potassium", "haemoglobin", "platelets", "neutrophils")


@pytest.mark.parametrize(
    "question",
    [
        "calcium 2.4 mmol/L, on denosumab",  # within the range
        "calcium 9.8",  # within the range, in mg/dL
        "breast ca 3 years ago, new back pain",  # "ca" is cancer: no value follows at once with a decimal or unit
        "lung ca 3.5 cm mass in the right upper lobe",  # a size, not a calcium
        "calcium 12 mg daily with vitamin D",  # a dose, not a level
        "calcium and vitamin D 3 times a week",  # the number belongs to nothing measured
    ],
)
def test_no_condition_where_no_value_lies_outside_its_range(question: str) -> None:
    assert lab_conditions(words(question)) == {}


def test_the_unit_decides_before_the_plausible_values() -> None:
    assert "hypercalcaemia" in condition_of("calcium", 12.0, "mg/dl")
    assert condition_of("calcium", 12.0, "mmol/l") == ()  # no calcium anyone lives with: read as nothing
    assert condition_of("calcium", 12.0, None)[1:] == ("hypercalcaemia", "hypercalcemia")  # plausible in mg/dL only
    assert condition_of("calcium", 40.0, None) == ()  # plausible in no unit


def test_a_ca_with_a_value_is_calcium_not_cancer() -> None:
    expansions = dict(query_words("corrected Ca 3.1 mmol/L"))["ca"]
    assert "cancer" not in expansions and "calcium" in expansions
    assert "cancer" in dict(query_words("breast ca with bone mets"))["ca"]


def test_a_lay_story_with_a_calcium_value_is_answered_from_the_hypercalcaemia_passage(tmp_path) -> None:
    """ "My mum's calcium came back at 3.0 and she's confused and very thirsty ... What treatment will the hospital
    give?" was answered, without caution, with the bone-modifying agents' doses for bone metastases (bone dev16)."""
    files = {
        "hcm.md": "# Hypercalcaemia of malignancy\n\n## Treatment\n\nTreat adults with hypercalcaemia of malignancy "
        "with intravenous hydration and an antiresorptive drug.\n",
        "bma.md": "# Bone-modifying agents\n\n## Breast cancer\n\nPatients with breast cancer and bone metastases "
        "should receive a bone-modifying agent: denosumab 120 mg every 4 weeks.\n",
    }
    pipeline = answering(pipeline_over(tmp_path, files))
    story = "My mum's calcium came back at {} and she's confused and very thirsty. She has breast cancer in her bones. "
    asked = "What treatment will the hospital give?"

    high = pipeline.ask(AskRequest(question=story.format("3.0") + asked))
    normal = pipeline.ask(AskRequest(question=story.format("2.4") + asked))

    assert "Treat adults with hypercalcaemia of malignancy with intravenous hydration" in high.answer
    assert "hypercalcaemia" not in normal.answer  # a calcium within the range names no condition
