"""The speller reads a misspelt question word as the index word it most likely means, and nothing else."""

from __future__ import annotations

from collections import Counter

import pytest

from qa_service.vocabulary import Speller, generic_names, query_words

PASSAGES = [
    "Denosumab 120 mg every 4 weeks or zoledronic acid 4 mg every 3 to 4 weeks.",
    "Dexamethasone 16 mg daily for metastatic spinal cord compression.",
    "A single fraction of 8 Gy relieves pain as well as multiple fractions.",
    "Hypercalcaemia of malignancy: hydration, then a bisphosphonate. Denosumab if refractory.",
    "Palonosetron with dexamethasone prevents nausea. Nausea that persists needs olanzapine.",
    "Avoid benzodiazepines with opioids; taper benzodiazepines gradually. Benzodiazepine use.",
    "Chronic low back pain: exercise first.",
]


@pytest.fixture(scope="module")
def speller() -> Speller:
    return Speller.from_texts(PASSAGES)


@pytest.mark.parametrize(
    ("question", "read_as"),
    [
        ("denosumb dose?", "denosumab dose?"),
        ("Zoledronik acid interval", "zoledronic acid interval"),
        ("dexametasone in MSCC", "dexamethasone in MSCC"),
        ("single fracion 8Gy", "single fraction 8Gy"),
        ("spinal cord compresion", "spinal cord compression"),
        ("persistent nasuea", "persistent nausea"),  # two letters swapped: one edit, not two
        ("nuasea at night", "nausea at night"),
    ],
)
def test_a_misspelt_word_is_read_as_the_index_word_within_an_edit_or_two(speller, question, read_as):
    assert speller.correct(question) == read_as


def test_words_the_index_uses_short_words_and_far_words_are_left_alone(speller):
    for question in ["denosumab 120 mg", "zol q4w", "teriparatide dose", "radium223 schedule"]:
        assert speller.correct(question) == question


def test_an_everyday_word_the_caller_knows_is_never_corrected(speller):
    assert speller.correct("fractions", is_known=lambda w: w == "fractions") == "fractions"
    assert Speller(Counter({"worsened": 3})).correct("worried", is_known=lambda w: w == "worried") == "worried"


def test_the_most_frequent_of_equally_close_words_wins():
    speller = Speller(Counter({"fracture": 10, "fractures": 2, "fraction": 5}))
    assert speller.correction("fractue") == "fracture"


@pytest.mark.parametrize(
    ("question", "read_as"),
    [
        ("still nauseous on palono", "still nauseous on palonosetron"),  # clipped
        ("on a benzo, can I start opioids?", "on a benzodiazepine, can I start opioids?"),  # general table
        ("still nauseated", "still nausea"),  # another form of an index word
    ],
)
def test_a_clipped_word_or_another_form_is_read_as_the_index_word(speller, question, read_as):
    assert speller.correct(question) == read_as


def test_a_word_is_never_read_as_an_index_word_that_starts_with_another_letter():
    # Two edits apart, but another drug: a misspelling seldom changes the first letter.
    speller = Speller(Counter({"lorazepam": 9, "pretreatment": 4, "clonidine": 1}))
    assert speller.correct("on clonazepam 1mg bid") == "on clonazepam 1mg bid"
    assert speller.correct("retreatment after 8 Gy") == "retreatment after 8 Gy"
    assert speller.correct("clonazepan dose") == "clonazepan dose"  # clonidine is further than two edits
    assert Speller(Counter({"clonazepam": 2})).correct("clonazepan dose") == "clonazepam dose"


def test_a_clipped_word_that_starts_several_index_words_without_a_clear_majority_is_left_alone():
    speller = Speller(Counter({"physiological": 8, "physiotherapy": 3, "physiologic": 2, "chemotherapy": 9}))
    assert speller.correct("starting physio") == "starting physio"
    speller = Speller(Counter({"chemotherapy": 216, "chemotherapeutic": 5, "chemoreceptor": 4}))
    assert speller.correct("before chemo starts") == "before chemotherapy starts"


def test_acronyms_and_words_far_from_every_index_word_are_left_alone(speller):
    # "CLBP" is not guessed from "chronic low back pain" (no table reads it); "lasofoxifene" starts and
    # extends no index word; "nauseatingly" is more than three letters longer than "nausea".
    for question in ["61M w CLBP", "lasofoxifene dose", "nauseatingly long"]:
        assert speller.correct(question) == question


def test_a_hanging_hyphen_is_dropped_and_a_spelled_number_also_reads_as_digits():
    from qa_service.vocabulary import query_words

    words = dict(query_words("dmab for ADT- or AI-related bone loss, six months ago, which one?"))

    assert "adt" in words and "adt-" not in words
    assert "ai-related" in words  # a hyphen inside a word stays
    assert "6" in words["six"]
    assert "1" not in words["one"]  # "which one" is not a number
    assert dict(query_words("T-score -2.5"))["-2.5"] == ()  # a leading minus is a sign


def test_a_possessive_reads_as_its_word_and_a_contraction_on_the_phrasing_list_stays_whole():
    from qa_service.vocabulary import query_words

    words = [w for w, _ in query_words("my mum's scan, the patient’s dose - what's next? he's fine, it's ok")]

    assert words[:4] == ["my", "mum", "scan", "the"]
    assert "patient" in words and "patient’s" not in words
    assert {"what's", "he's", "it's"} <= set(words)  # phrasing, kept as the list writes them


def test_a_code_the_index_writes_with_a_hyphen_is_read_in_the_index_s_spelling():
    from qa_service.vocabulary import Speller

    speller = Speller.from_texts(
        ["Give an NK-1 receptor antagonist with a 5-HT3 antagonist.", "The NK-1 antagonist; CA-125; T5 level."]
    )

    assert speller.correct("IV NK1 option with a 5HT3 RA?") == "IV nk-1 option with a 5-ht3 RA?"
    assert speller.correct("CA125 rising") == "ca-125 rising"
    assert speller.correct("T5 met, NK-1 ok") == "T5 met, NK-1 ok"  # written as the index writes it: unchanged
    assert speller.correct("IL6 level") == "IL6 level"  # the index never writes it: left alone


def test_general_shorthand_and_brand_names_read_as_the_terms_the_index_uses():
    speller = Speller.from_texts(
        [
            "Acetaminophen up to 3 g per day; venous thromboembolism risk with tamoxifen.",
            "Zofran is not named here, but ondansetron 8 mg is. Prostate-specific antigen rises.",
        ]
    )
    assert speller.correct("84yo, max tylenol per day?") == "84yo, max acetaminophen per day?"
    assert speller.correct("vte risk on tamoxifen") == "venous thromboembolism risk on tamoxifen"
    assert speller.correct("shld I stop") == "should I stop"
    # The index uses the word itself: it stays ("zofran" is in the passages).
    assert speller.correct("zofran dose") == "zofran dose"
    # The index lacks the term the word stands for ("membrane"): it stays, and still reads as a subject the
    # corpus does not cover.
    assert speller.correct("psma pet for staging") == "psma pet for staging"
    # Inside a hyphenated word, or a key of the project's own table, nothing is replaced.
    assert speller.correct("non-vte EBRT") == "non-vte EBRT"


def test_general_terms_of_several_words_or_with_punctuation_are_read_too():
    # Keys such as "blood thinner", "post-op" and "w/o" were never matched: only plain single words were.
    speller = Speller.from_texts(
        [
            "Anticoagulant therapy raises the risk. Treat hypercalcaemia of malignancy with hydration.",
            "Postoperative radiotherapy follows fixation. Without delay. A blood clot is a thrombosis.",
        ]
    )
    assert speller.correct("on a Blood Thinner, ok?") == "on a anticoagulant, ok?"
    assert speller.correct("high calcium - what first?") == "hypercalcaemia - what first?"
    assert speller.correct("post-op RT after nailing w/o surgery?") == "postoperative RT after nailing without surgery?"
    # The index holds the phrase itself: it stays ("blood clot" is in the passages).
    assert speller.correct("blood clot risk") == "blood clot risk"
    # The index lacks every term it stands for: it stays, a subject the corpus does not cover.
    assert speller.correct("HER2+ breast ca, heart attack last year") == "HER2+ breast ca, heart attack last year"
    # Never inside a longer word or phrase.
    assert speller.correct("high calciumlike") == "high calciumlike"


def test_a_brand_has_its_one_word_generic_among_its_expansions():
    from qa_service.vocabulary import query_words

    words = dict(query_words("compazine dose for a 4yo? paracetamol max?"))
    assert words["compazine"] == ("prochlorperazine",)  # mentioned once by the documents, which dose the generic
    assert words["paracetamol"] == ("acetaminophen",)
    # A generic of several words may share a word with another drug: "melphalan flufenamide" is not melphalan.
    assert dict(query_words("melflufen + dex: ORR?"))["melflufen"] == ()
    assert dict(query_words("ondansetron dose"))["ondansetron"] == ()  # a generic is no brand of itself


def test_a_general_term_of_one_word_is_read_in_the_number_the_index_uses():
    # The table reads "painkillers" as "analgesics"; a corpus saying only "analgesic" left it a word it never uses.
    speller = Speller.from_texts(["Offer a simple analgesic first. Stool softeners are not needed."])
    assert speller.correct("can she cut down her painkillers now?") == "can she cut down her analgesic now?"
    assert speller.correct("which painkiller first?") == "which analgesic first?"
    # A term of several words is read only as the index writes it.
    assert speller.correct("on a blood thinner?") == "on a blood thinner?"


def test_a_brand_the_drug_dictionary_knows_reads_as_its_generic_where_the_index_spells_it():
    # "Blenrep" is in no hand-written table: the maintained dictionary names it "belantamab mafodotin-blmf", and
    # the index writes the drug without the biologic's suffix.
    speller = Speller.from_texts(
        ["Belantamab mafodotin is an antibody-drug conjugate; ocular toxicity was noted in 79% of patients."]
    )
    assert generic_names("blenrep") == ("belantamab mafodotin-blmf", "belantamab mafodotin")
    assert speller.correct("Blenrep - eye side effects?") == "belantamab mafodotin - eye side effects?"
    # A drug the index does not name: the brand stays, a subject the corpus does not cover.
    assert speller.correct("Kyprolis dose?") == "Kyprolis dose?"
    # A generic name is no brand of itself.
    assert generic_names("ondansetron") == ()


def test_shorthand_added_in_session_18_reads_as_the_guideline_words():
    speller = Speller.from_texts(["Shortness of breath and quality of life. Radiation oncology review."])
    assert (
        speller.correct("new sob, qol poor - rad onc?")
        == "new shortness of breath, quality of life poor - radiation oncology?"
    )


def test_every_general_term_line_has_a_key_and_an_expansion():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "qa_service" / "data" / "abbreviations_general.tsv").read_text(
        encoding="utf-8"
    )
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    keys = [line.partition("\t")[0].strip() for line in lines]

    assert len(lines) > 500
    assert all("\t" in line and line.partition("\t")[2].strip() for line in lines)
    assert all(key == key.lower() for key in keys)
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


def test_every_drug_has_one_to_three_classes_none_of_them_itself():
    from qa_service.vocabulary import drug_classes

    table = drug_classes()

    assert len(table) > 300
    assert all(1 <= len(classes) <= 3 for classes in table.values())
    assert all(drug not in classes and drug == drug.lower() for drug, classes in table.items())
    assert "bisphosphonate" in table["zoledronic acid"] and "stool softener" in table["docusate"]


def test_back_reads_as_the_spine_only_in_back_pain():
    from qa_service.vocabulary import expand_query

    assert "spine" in expand_query("65M prostate ca, new back pain - which imaging first?")
    # "back" as a verb or an adverb names no body part: "spine" would send these to spine passages.
    for question in (
        "does WHO back CBT for a 12yo?",
        "pain came back at the same spot after 8 Gy",
        "xr came back normal",
    ):
        assert "spine" not in expand_query(question), question


def test_the_abbreviations_a_text_defines_are_read_with_their_long_forms():
    from qa_service.vocabulary import defined_abbreviations, long_form

    texts = [
        "In children with chronic pain, psychological management through cognitive behavioural therapy (CBT) helps.",
        "Avoid nonsteroidal anti-inflammatory drugs (NSAIDs) in renal failure. Opioid use disorder (OUD) is common.",
        "See the dose table (Table 2) and the note (see above); serum creatinine (sCr) is checked.",
        "Patients with opioid use disorder (OUD) should be offered treatment.",
    ]
    found = defined_abbreviations(texts)

    assert found["cbt"] == "cognitive behavioural therapy"
    assert found["nsaid"] == "nonsteroidal anti-inflammatory drugs"  # a plural short form is read as the singular
    assert found["oud"] == "opioid use disorder"
    assert "table" not in found and "see" not in found and "scr" not in found  # not definitions
    assert long_form("CBT", "a walk in the park") is None  # the letters are not there
    assert long_form("WHO", "the world health organization") == "world health organization"


def test_the_general_table_reads_shorthand_and_brands_as_the_index_words_and_only_brands_as_drugs():
    from qa_service.quantities import drug_lexicon

    speller = Speller(Counter({"reaction": 3, "rolapitant": 2, "infusion": 4, "pack": 2, "year": 5}))
    assert speller.correct("infusion rxn after varubi") == "infusion reaction after rolapitant"
    # A section of brand names gives the lexicon its generic names; shorthand and lay terms give none.
    assert "rolapitant" in drug_lexicon()
    assert "reaction" not in drug_lexicon() and "pack year" not in drug_lexicon()


def test_everyday_and_clinical_words_the_index_never_uses_read_as_its_own():
    """Session 42: "how many extra clots?" over documents saying "thromboembolic events", "on haemodialysis" over a
    corpus saying "on dialysis"."""
    speller = Speller(Counter({"thrombosis": 3, "dialysis": 2, "jaw": 5, "blood": 4, "tests": 2, "radiograph": 2}))
    assert speller.correct("how many extra clots with tamoxifen?") == "how many extra thrombosis with tamoxifen?"
    assert speller.correct("on haemodialysis 3x/wk") == "on dialysis 3x/wk"
    assert speller.correct("exposed bone in the mandible") == "exposed bone in the jaw"
    # Where the index uses the word itself, it is left alone.
    assert Speller(Counter({"clots": 2, "thrombosis": 3})).correct("clots on tamoxifen") == "clots on tamoxifen"


@pytest.mark.parametrize(
    ("question", "word", "expected"),
    [
        ("when should screening stop?", "stop", "discontinue"),
        ("he wants to come off oxycodone", "come off", "taper"),
        ("how fast can we wean him?", "wean", "taper"),
        ("cancer that's spread to his spine", "spread", "metastases"),
        ("my brother's upper arm bone snapped", "snapped", "fracture"),
        ("he broke his hip last week", "broke", "fracture"),
        ("the zometa drip every 4 weeks", "drip", "infusion"),
        ("his kidneys are not working well", "kidneys", "renal"),
        ("a sore spot over the sternum", "sore", "pain"),
        ("a hard lump on her rib", "lump", "mass"),
        ("she's been feeling sick since the chemo", "feeling sick", "nausea"),
        ("he's all bunged up on the morphine", "bunged up", "constipation"),
        ("his legs feel weak and numb", "numb", "sensory change"),
        ("a cancer deposit in the thigh bone", "deposit", "metastasis"),
        ("a handful of rib and spine deposits", "deposits", "metastases"),
        ("can the bone-strengthening injection replace his painkillers?", "bone-strengthening", "bone-modifying agent"),
        ("the isotope scan came back clean", "isotope scan", "bone scan"),
        ("painful lytic lesion mid-shaft of the humerus", "mid-shaft", "diaphyseal"),
        ("plain films of the femur were normal", "plain films", "x-ray"),
        ("a cancer spot in her upper arm bone", "arm bone", "humerus"),
        ("should a bone surgeon see her?", "bone surgeon", "orthopaedic surgeon"),
        ("a painful met in the shin bone", "shin bone", "tibia"),
    ],
)
def test_everyday_words_read_as_the_guidelines_words(question: str, word: str, expected: str) -> None:
    assert expected in dict(query_words(question))[word]


def test_a_part_asking_when_to_stop_is_answered_by_the_sentence_saying_discontinued(tmp_path) -> None:
    """ "uspstf LDCT criteria: age range, pack-years, and when to stop screening?" left out USPSTF's "Screening should
    be discontinued once a person has not smoked for 15 years ...": the part shared no word with it."""
    from qa_service.schemas import AskRequest
    from qa_service.settings import AnswerSettings
    from tests.qa_service.mini_corpus import pipeline_over

    files = {
        "uspstf.md": "# Lung cancer screening\n\n## Recommendation\n\nThe USPSTF recommends annual screening for "
        "lung cancer with LDCT in adults aged 55 to 80 years who have a 30 pack-year smoking history and currently "
        "smoke or have quit within the past 15 years. Screening should be discontinued once a person has not smoked "
        "for 15 years or develops a health problem that substantially limits life expectancy.\n\n## Evidence\n\n"
        "The NLST enrolled adults aged 55 to 74 years who had at least a 30 pack-year smoking history. Annual "
        "screening with LDCT reduced lung cancer deaths by 20% against chest radiography in the NLST.\n",
    }
    short = AnswerSettings(abstain_threshold=0.0, max_words=40)  # room for one sentence and a part's answer
    answer = (
        pipeline_over(tmp_path, files)
        .with_settings(answer=short)
        .ask(AskRequest(question="uspstf LDCT criteria: age range, pack-years, and when to stop screening?"))
        .answer
    )

    assert "Screening should be discontinued once a person has not smoked for 15 years" in answer
