"""The drug dictionary (`qa_service/data/drug_names.tsv`, from a maintained drug dictionary) and the question
words a hyphen joins to another ("dose-dense", "second-rate"), as the dose checks read them."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from qa_service.asked import asks_a_dose
from qa_service.dose_checks import ASKS_QUANTITY, doses_only_for_other_drugs, drugs_asked
from qa_service.grounding import check_sentence
from qa_service.quantities import dictionary_drug_names, drugs_in, shorthand_drugs
from train.drug_names import drug_names, main


def test_drugs_the_packaged_lexicon_lacks_are_found_in_the_dictionary() -> None:
    assert drugs_in("Clonidine 0.1 mg twice daily; selinexor 80 mg weekly.") == {"clonidine", "selinexor"}


def test_a_brand_or_another_name_reads_as_the_drug_it_names() -> None:
    assert drugs_in("Xgeva 120 mg") == {"denosumab"}
    assert drugs_in("delta-9-THC") == drugs_in("dronabinol") == {"dronabinol"}


def test_everyday_words_and_drug_classes_are_not_drugs() -> None:
    assert drugs_in("he came with caps of ginger and sits; opioids and antiemetics") == set()
    names = dictionary_drug_names()
    assert "caps" not in names and "opioids" not in names and "antiemetics" not in names


def test_the_packaged_lexicon_keeps_its_own_names() -> None:
    assert drugs_in("zoledronic acid 4 mg") == {"zoledronic acid"}


@pytest.mark.parametrize("written", ["radium-223", "radium 223", "Radium223", "RADIUM 223"])
def test_a_radionuclide_is_found_however_its_number_is_joined(written: str) -> None:
    # "radium 223 dose" named no drug, so the bone-metastasis answer quoting denosumab's, pamidronate's and
    # zoledronic acid's doses passed for radium-223's (evidence 0.82, no caution); "radium-223 dose" was refused.
    assert drugs_in(f"{written} 55 kBq/kg") == {"radium-223"}
    assert doses_only_for_other_drugs(f"{written.lower()} dose", "Denosumab 120 mg every 4 weeks. [1]")
    assert drugs_in("radium 2 doses, samarium 153") == {"samarium-153"}  # another number is not the drug's


def test_a_dose_question_on_a_dictionary_drug_answered_with_another_drugs_dose_fails_the_check() -> None:
    answer = "Lofexidine 0.18 mg tablets can be given four times daily during withdrawal. [1]"
    assert doses_only_for_other_drugs("clonidine dose for opioid withdrawal?", answer)
    assert not doses_only_for_other_drugs("clonidine dose?", "Clonidine 0.1 mg twice daily. [1]")


def test_a_generated_sentence_naming_a_dictionary_drug_its_passage_lacks_is_not_grounded() -> None:
    passage = ["Lofexidine 0.18 mg can be given four times daily during opioid withdrawal."]
    assert check_sentence("Lofexidine 0.18 mg can be given four times daily. [1]", passage, 1).ok
    assert not check_sentence("Clonidine 0.18 mg can be given four times daily. [1]", passage, 1).ok


@pytest.mark.parametrize(
    "question",
    [
        "48F on dose-dense AC with pegfilgrastim: when does the bone pain start?",
        "who should have annual low-dose CT screening?",
        "is pamidronate second-rate compared with zoledronic acid?",
    ],
)
def test_a_word_a_hyphen_joins_to_another_asks_no_dose_or_quantity(question: str) -> None:
    assert not asks_a_dose(question)
    assert not ASKS_QUANTITY.search(question)


@pytest.mark.parametrize("question", ["zol dose for bone mets?", "max dose of dex?", "cut-off for eGFR?"])
def test_a_dose_or_quantity_word_standing_alone_still_asks_one(question: str) -> None:
    assert ASKS_QUANTITY.search(question)


def test_the_list_keeps_one_word_substances_and_maps_them_to_their_drug() -> None:
    dictionary = {
        "drug_variant_to_canonical": {
            "xgeva": ["denosumab"],
            "denosumab": ["denosumab"],
            "opioids": ["analgesics, opioid"],  # a MeSH class: no DrugBank or MedlinePlus id
            "caps": ["capsaicin"],  # everyday English
            "zoledronic acid": ["zoledronic acid"],  # two words: the packaged lexicon's business
            "abc": ["abc"],  # too short
        },
        "drug_canonical_to_data": {
            "denosumab": {"drugbank_id": "DB06643"},
            "analgesics, opioid": {"mesh_id": "D009293"},
            "capsaicin": {"drugbank_id": "DB06774"},
            "zoledronic acid": {"drugbank_id": "DB00399"},
            "abc": {"drugbank_id": "DB0"},
        },
    }
    assert drug_names(dictionary, everyday={"caps"}) == {"xgeva": "denosumab", "denosumab": "denosumab"}


def test_the_shipped_list_is_what_the_dictionary_package_rebuilds(tmp_path: Path) -> None:
    pytest.importorskip("drug_named_entity_recognition", reason="make drug-names needs the dev extras")
    out = tmp_path / "drug_names.tsv"
    assert main(["--out", str(out)]) == 0
    shipped = resources.files("qa_service").joinpath("data/drug_names.tsv").read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == shipped


def test_clinicians_shorthand_for_a_drug_names_it_and_a_measure_named_after_a_drug_does_not():
    table = shorthand_drugs()
    assert table["thc"] == {"dronabinol"}  # "tetrahydrocannabinol" is dronabinol in the drug dictionary
    assert table["apap"] == {"acetaminophen", "paracetamol"}
    assert table["folfox"] == {"fluorouracil", "leucovorin", "oxaliplatin"}
    assert "mme" not in table  # "morphine milligram equivalent" is a measure, not morphine
    assert drugs_asked("What THC dose for cancer pain?") == {"dronabinol"}
    assert drugs_asked("opioid naive adult: lowest starting dose in MME?") == frozenset()
