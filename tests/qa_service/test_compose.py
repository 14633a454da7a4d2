"""Answer composition: verbatim extractive sentences and resolvable citations (the LLM composer: test_llm.py)."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

from ingest import keyword_tokens
from qa_service.asked import question_parts
from qa_service.compose import ExtractiveComposer, words_for
from qa_service.composed import Candidate
from qa_service.grounding import citations_in
from qa_service.passage_text import answer_worthy, repeats
from qa_service.render import render
from qa_service.sentence_context import governing_recommendations, points_back
from qa_service.settings import AnswerSettings
from tests.qa_service.mini_corpus import (
    METHADONE_BEFORE,
    METHADONE_CONTRAST,
    METHADONE_QUESTION,
    MINI_CORPUS,
    build_mini_index,
    candidates_for,
    chunk_for,
    methadone_index,
    query_vector,
)

RT_QUESTION = "single fraction dose for painful bone metastases"


@pytest.fixture
def extractive(mini_index) -> ExtractiveComposer:
    return ExtractiveComposer(mini_index, AnswerSettings())


@pytest.fixture
def rt_and_bma(mini_index) -> list[Candidate]:
    return candidates_for(mini_index, "BM-RT-01", "BM-MM-01", "BM-DX-01")


# -- extractive ---------------------------------------------------------------------------------------


def test_extractive_sentences_are_verbatim_sentences_of_their_passages(extractive, rt_and_bma):
    composed = extractive.compose(RT_QUESTION, query_vector(RT_QUESTION), rt_and_bma, max_words=120)

    assert composed.composer == "extractive" and composed.sentences
    for sentence in composed.sentences:
        chunk = rt_and_bma[sentence.source].chunk
        assert sentence.text in chunk.text
        assert sentence.text == chunk.sentence_texts()[sentence.position]


def test_extractive_answer_keeps_doses_verbatim(extractive, rt_and_bma):
    composed = extractive.compose(RT_QUESTION, query_vector(RT_QUESTION), rt_and_bma, max_words=120)
    answer, _ = render(composed, rt_and_bma)

    assert "A single fraction of 8 Gy relieves pain as well as 20 Gy in 5 fractions" in answer


def test_extractive_sentences_are_in_reading_order_without_repeats(extractive, rt_and_bma):
    composed = extractive.compose(RT_QUESTION, query_vector(RT_QUESTION), rt_and_bma, max_words=300)

    keys = [(s.source, s.position) for s in composed.sentences]
    assert keys == sorted(keys)
    assert len({s.text for s in composed.sentences}) == len(composed.sentences)


def test_every_citation_marker_resolves_to_a_cited_passage(extractive, rt_and_bma):
    composed = extractive.compose(RT_QUESTION, query_vector(RT_QUESTION), rt_and_bma, max_words=300)

    answer, order = render(composed, rt_and_bma)

    markers = citations_in(answer)
    assert markers and set(markers) == set(range(1, len(order) + 1))
    assert sorted(order) == sorted({s.source for s in composed.sentences})
    # Each rendered sentence's marker names the passage the sentence was taken from.
    for sentence in composed.sentences:
        n = order.index(sentence.source) + 1
        assert re.search(re.escape(sentence.text[1:]) + r"\.? \[" + str(n) + r"\]", answer)


def test_render_attributes_each_run_of_sentences_to_its_guideline(extractive, rt_and_bma):
    composed = extractive.compose(RT_QUESTION, query_vector(RT_QUESTION), rt_and_bma, max_words=120)

    answer, _ = render(composed, rt_and_bma)

    # The guideline, with its level of evidence and grade as it states them ("Evidence: I, A").
    assert answer.startswith("Per ESMO 2020 (evidence I, A), ")
    assert answer.count("Per ESMO 2020") == 1  # consecutive sentences of one passage are attributed once
    assert "Per ESMO 2020 (evidence I, A), external beam radiotherapy" in answer  # an ordinary first word, lowered


def test_render_without_attribution_leaves_sentences_bare(extractive, rt_and_bma):
    composed = extractive.compose(RT_QUESTION, query_vector(RT_QUESTION), rt_and_bma, max_words=120)

    answer, _ = render(composed, rt_and_bma, attribute=False)

    assert "Per " not in answer and answer.startswith("External beam radiotherapy")


def test_render_keeps_acronyms_capitalised_after_attribution(mini_index):
    candidates = candidates_for(mini_index, "BM-DX-01")
    question = "hot spot on bone scan with a normal X-ray: CT or MRI?"
    composed = ExtractiveComposer(mini_index, AnswerSettings()).compose(
        question, query_vector(question), candidates, max_words=120
    )

    answer, _ = render(composed, candidates)

    assert "Per ESMO 2020 (evidence III, B), when a bone scan shows a hot spot" in answer
    assert "MRI is the most sensitive test" in answer or "CT or MRI" in answer


def test_a_table_row_keeps_its_first_cells_capital_after_the_attribution() -> None:
    from ingest import Chunk
    from qa_service.composed import AnswerSentence, Composed

    header = "| Drug category | Medication | Dose |"
    row = "| Atypical antipsychotics | Olanzapine | 10 mg PO daily x3 d |"
    text = f"{header}\n| --- | --- | --- |\n{row}\n"
    chunk = Chunk("c", "d", 0, text, 0, len(text), "T", (), ((0, len(text)),), issuing_body="NCI", year=2025)
    candidates = [Candidate(chunk=chunk, row=0, rank=0)]
    for carried in (True, False):
        sentence = AnswerSentence(row, 0, table_header=header, carried=carried)
        answer, _ = render(Composed(sentences=[sentence], composer="extractive"), candidates)
        assert answer.startswith("Per NCI 2025, Atypical antipsychotics; Olanzapine; 10 mg") or answer.startswith(
            "Per NCI 2025, Drug category: Atypical antipsychotics"
        )


def test_an_introduction_keeps_its_colon_with_its_items_and_is_dropped_without_them(rt_and_bma):
    from qa_service.composed import AnswerSentence, Composed
    from qa_service.sentence_context import without_dangling_introductions

    intro = AnswerSentence(text="The options are:", source=0, position=1)
    item = AnswerSentence(text="Denosumab 120 mg every 4 weeks.", source=0, position=2)
    elsewhere = AnswerSentence(text="Give 8 Gy.", source=1, position=0)

    answer, _ = render(Composed(sentences=[intro, item], composer="extractive"), rt_and_bma, attribute=False)

    assert answer == "The options are: [1] Denosumab 120 mg every 4 weeks. [1]"
    assert without_dangling_introductions([intro, item, elsewhere], rt_and_bma) == [intro, item, elsewhere]
    assert without_dangling_introductions([item, intro, elsewhere], rt_and_bma) == [item, elsewhere]
    assert without_dangling_introductions([elsewhere, intro], rt_and_bma) == [elsewhere]


def test_an_introduction_whose_only_item_was_a_dropped_introduction_goes_too():
    from ingest import Chunk
    from qa_service.composed import AnswerSentence, Candidate
    from qa_service.sentence_context import without_dangling_introductions

    lines = [
        "The following criteria define smoldering myeloma:",
        "- Clonal plasma cells 10% to 60%.",
        "- Absence of myeloma-defining events as follows:",
        "- Hypercalcemia.",
    ]
    text = "\n".join(lines)
    spans, start = [], 0
    for line in lines:
        spans.append((start, start + len(line)))
        start += len(line) + 1
    chunk = Chunk("m-0", "m", 0, text, 0, len(text), "Myeloma", (), tuple(spans))
    other = Chunk("o-0", "o", 0, "Give 8 Gy.", 0, 10, "RT", (), ((0, 10),))
    candidates = [Candidate(chunk, 0, 0), Candidate(other, 1, 1)]
    criteria, events = (AnswerSentence(text=lines[i], source=0, position=i) for i in (0, 2))
    item = AnswerSentence(text=lines[1], source=0, position=1)
    elsewhere = AnswerSentence(text="Give 8 Gy.", source=1, position=0)

    # "as follows:" has no item after it, so it goes; then "criteria ...:" introduces nothing kept.
    assert without_dangling_introductions([criteria, events, elsewhere], candidates) == [elsewhere]
    # With an item of its own kept, the first introduction stays.
    assert without_dangling_introductions([criteria, item, events, elsewhere], candidates) == [
        criteria,
        item,
        elsewhere,
    ]


LISTED = {
    "mscc.md": """---
title: "Spinal metastases"
---

# Spinal metastases

## Radiotherapy after surgery

Most patients do well after surgery alone. Patients generally require radiation if any of the following are true:

- A tumour remains in the spinal canal after surgery.
- A painful destruction of a vertebral body occurred.
- CT or MRI scans present evidence of cord compression.

Fractionation depends on the primary tumour.
""",
}


OPENER = {
    "taper.md": """---
title: "Tapering"
---

# Tapering opioids

Clinicians should discuss tapering with patients before initiating changes when

- the patient requests dosage reduction or discontinuation,
- pain improves and might indicate resolution of an underlying cause.

Tapers of 10% per month are better tolerated.
""",
}


def chunk_holding(tmp_path, files: dict[str, str], text: str):
    """The index of `files`, and the row and chunk of the one passage holding `text`."""
    from ingest import open_index

    index = open_index(build_mini_index(tmp_path, files))
    (row,) = [r for r, c in enumerate(index.chunks) if text in c.text]
    return index, row, index.chunks[row]


def test_a_quoted_sentence_of_a_document_citing_in_parentheses_loses_its_reference_numbers(tmp_path):
    from tests.qa_service.mini_corpus import make_embedder

    sentences = " ".join(
        f"Chronic pain finding number {i} (label ({i + 20}) says so) was reported in adults ({i + 10},{i + 11})."
        for i in range(12)
    )
    index, row, chunk = chunk_holding(tmp_path, {"cdc/pain.md": f"# Chronic pain\n\n{sentences}\n"}, "number 3 (")
    question = "chronic pain finding in adults?"
    vector = np.asarray(make_embedder().embed([question])[0])

    scored = ExtractiveComposer(index, AnswerSettings()).score_sentences(
        question, vector, [Candidate(chunk=chunk, row=row, rank=0)]
    )

    assert scored and all(re.search(r"\(\d", s.text) is None for s in scored)
    assert any(s.text.endswith("(label says so) was reported in adults.") for s in scored)


SYNTHESIS = {
    "lung/screening.md": "# Lung cancer screening\n\n## Stopping screening\n\n"
    "The ACS advises that screening end when a person's health no longer allows curative lung surgery. "
    "The USPSTF advises that screening end once a person has not smoked for 15 years.\n"
}


@pytest.mark.parametrize(("body", "expected"), [("USPSTF", "15 years"), ("ACS", "curative lung surgery")])
def test_a_sentence_naming_the_body_asked_about_comes_first(tmp_path, body, expected):
    from tests.qa_service.mini_corpus import make_embedder

    index, row, chunk = chunk_holding(tmp_path, SYNTHESIS, "has not smoked")
    question = f"when does {body} say lung cancer screening should stop?"
    vector = np.asarray(make_embedder().embed([question])[0])
    composer = ExtractiveComposer(index, AnswerSettings())

    scored = composer.score_sentences(question, vector, [Candidate(chunk=chunk, row=row, rank=0)])

    assert expected in scored[0].text


def test_a_body_is_mentioned_as_the_question_names_it():
    from qa_service.retrieval import mentions_body

    assert mentions_body("The USPSTF recommends annual screening.", "uspstf")
    assert mentions_body("per uspstf", "uspstf")
    assert mentions_body("WHO recommends ...", "who")
    assert not mentions_body("patients who smoke", "who")  # an English word names the body only in capitals


def test_a_sentence_that_runs_into_a_list_reads_as_its_opener_and_never_ends_in_a_full_stop(tmp_path):
    from qa_service.composed import AnswerSentence, Composed
    from qa_service.passage_text import lead_in, opens_list

    index, row, chunk = chunk_holding(tmp_path, OPENER, "initiating changes when")
    texts = chunk.sentence_texts()
    opener = next(i for i, t in enumerate(texts) if t.endswith("changes when"))
    item = next(i for i, t in enumerate(texts) if "requests dosage reduction" in t)
    last = next(i for i, t in enumerate(texts) if t.startswith("Tapers of 10%"))
    assert opens_list(chunk, opener) and not opens_list(chunk, item) and not opens_list(chunk, last)
    assert lead_in(chunk, item) == opener

    candidates = [Candidate(chunk=chunk, row=row, rank=0)]
    both = [
        AnswerSentence(text=texts[opener], source=0, position=opener),
        AnswerSentence(text=texts[item], source=0, position=item),
    ]
    answer, _ = render(Composed(sentences=both, composer="extractive"), candidates, attribute=False)
    assert answer.startswith("Clinicians should discuss tapering with patients before initiating changes when: [1] ")

    question = "discuss tapering before initiating changes"
    composer = ExtractiveComposer(index, AnswerSettings(min_sentence_score=0.0))
    # The opener (11 words) brings its first item within half a target over (12 words): the list it announces.
    composed = composer.compose(question, query_vector(question), candidates, max_words=12)
    assert [s.position for s in composed.sentences[:2]] == [opener, opener + 1]
    # In 6 words no item fits, but the two items (16 words) are a short list: it comes whole with its opener, past
    # the allowance, rather than the opener ending the answer cut short.
    composed = composer.compose(question, query_vector(question), candidates, max_words=6)
    assert [s.position for s in composed.sentences[:3]] == [opener, opener + 1, opener + 2]
    assert all(s.unweighed for s in composed.sentences[1:3])


def single_passage_answer(index, row, chunk, question: str, max_words: int) -> str:
    """The answer composed from one passage with no score floor, rendered without attributions."""
    candidates = [Candidate(chunk=chunk, row=row, rank=0)]
    composed = ExtractiveComposer(index, AnswerSettings(min_sentence_score=0.0)).compose(
        question, query_vector(question), candidates, max_words=max_words
    )
    return render(composed, candidates, attribute=False)[0]


def test_a_list_item_in_an_answer_brings_the_sentence_that_opens_its_list(tmp_path):
    from qa_service.passage_text import is_list_item, lead_in

    index, row, chunk = chunk_holding(tmp_path, LISTED, "painful destruction")
    texts = chunk.sentence_texts()
    item = next(i for i, t in enumerate(texts) if "painful destruction" in t)
    opener = next(i for i, t in enumerate(texts) if t.endswith("are true:"))
    assert is_list_item(chunk, item) and not is_list_item(chunk, opener)
    assert lead_in(chunk, item) == opener and lead_in(chunk, opener) is None

    answer = single_passage_answer(index, row, chunk, "painful destruction of a vertebral body", 40)

    assert "require radiation if any of the following are true: [1]" in answer
    assert answer.index("are true:") < answer.index("A painful destruction of a vertebral body occurred.")


COMPARED = {
    "screening.md": "# Screening for lung cancer\n\n## Guidelines being compared\n\nGuidelines Being Compared:\n\n"
    "- American Cancer Society (ACS)\n  American Cancer Society lung cancer screening guidelines.\n  2013 Mar 01\n"
    "- Canadian Task Force on Preventive Health Care (CTFPHC)\n  Recommendations on screening for lung cancer.\n"
    "  2016 Apr 05\n"
}


def test_the_last_line_of_a_list_item_is_not_the_opening_of_the_next_item(tmp_path):
    from qa_service.passage_text import continues_item, lead_in, list_items, opens_list

    index, row, chunk = chunk_holding(tmp_path, COMPARED, "2013 Mar 01")
    texts = chunk.sentence_texts()
    opener = texts.index("Guidelines Being Compared:")
    date, canadian = texts.index("2013 Mar 01"), next(i for i, t in enumerate(texts) if t.startswith("Canadian"))
    assert continues_item(chunk, date) and not opens_list(chunk, date)
    assert lead_in(chunk, canadian) == opener  # not the ACS guideline's date
    assert date in list_items(chunk, opener) and texts.index("2016 Apr 05") in list_items(chunk, opener)

    question = "which Canadian task force recommendations on screening for lung cancer are compared?"
    answer = single_passage_answer(index, row, chunk, question, 40)
    assert "2013 Mar 01: [1] Canadian" not in answer  # the ACS date never reads as the Canadian one's


@pytest.mark.parametrize(
    ("opener", "left_out"),
    [
        ("b) Further studies are wanted in these groups, including:", ["b) Further"]),  # its own list label
        ("**Further studies are wanted** in these groups [12], including:", ["**", "[12]"]),  # emphasis, reference
    ],
    ids=["list-label", "emphasis-and-reference"],
)
def test_the_sentence_a_list_item_brings_is_quoted_as_any_other_sentence(tmp_path, opener, left_out):
    files = {
        "research.md": "# Chronic pain in children\n\n## Research priorities\n\nThe group set priorities.\n\n"
        f"{opener}\n\n"
        "- vulnerable children exposed to trauma.\n- children with chronic cancer-related pain during treatment.\n"
    }
    index, row, chunk = chunk_holding(tmp_path, files, "cancer-related pain")
    answer = single_passage_answer(index, row, chunk, "chronic cancer-related pain during treatment?", 30)

    # Brought by the item, and quoted as the sentences scored are: without a list label, emphasis or reference.
    assert "Further studies are wanted in these groups, including:" in answer
    assert not [fragment for fragment in left_out if fragment in answer]


def test_a_sentence_opening_a_list_in_an_answer_brings_its_items(tmp_path):
    from qa_service.passage_text import list_items

    index, row, chunk = chunk_holding(tmp_path, LISTED, "are true:")
    texts = chunk.sentence_texts()
    opener = next(i for i, t in enumerate(texts) if t.endswith("are true:"))
    assert list_items(chunk, opener) == [opener + 1, opener + 2, opener + 3]  # not the paragraph after the list

    def answer(question: str, max_words: int) -> str:
        return single_passage_answer(index, row, chunk, question, max_words)

    question = "when do patients generally require radiation after surgery?"
    whole = answer(question, 40)
    assert "the following are true: [1] A tumour remains in the spinal canal after surgery. [1] A painful" in whole
    assert whole.index("vertebral body occurred.") < whole.index("CT or MRI scans present evidence")
    # Items come while the answer stays within half its word target over; the last does not fit in 24 * 1.5 words.
    short = answer(question, 24)
    assert "A tumour remains" in short and "cord compression" not in short


SIGNS = {
    "amyloid.md": "# Plasma cell neoplasms\n\n## Amyloidosis\n\nPrimary amyloidosis can result in severe organ "
    "dysfunction. Clinical symptoms and signs of amyloidosis include:\n\n- Fatigue.\n- Purpura.\n- Enlarged tongue.\n"
    "- Diarrhea.\n- Edema.\n- Lower-extremity paresthesia.\n\nDiagnosis requires histological evidence of amyloid "
    "deposits.\n",
}


def test_a_list_of_a_few_words_an_item_comes_whole_with_its_opener(tmp_path):
    """realdocs_dev9: "what physical signs should make me suspect amyloid?" quoted "Clinical symptoms and signs
    include:" with one of its six items; the others ("Fatigue.", "Enlarged tongue.") were too short to be scored."""
    index, row, chunk = chunk_holding(tmp_path, SIGNS, "signs of amyloidosis include:")

    answer = single_passage_answer(index, row, chunk, "clinical symptoms and signs of amyloidosis", 12)

    items = ["Fatigue.", "Purpura.", "Enlarged tongue.", "Diarrhea.", "Edema.", "Lower-extremity paresthesia."]
    assert "include: [1] " + " [1] ".join(items) + " [1]" in answer


CAPTIONED = {
    "nausea.md": "# Nausea\n\n## Management\n\nDoses are given below.\n\nTable 6. Antiemetic Dosing for Radiation "
    "Therapy\n\n| Drug | Dose |\n| --- | --- |\n| Granisetron | 2 mg PO daily |\n| Ondansetron | 8 mg PO daily |\n\n"
    "| Drug | Dose |\n| --- | --- |\n| Aprepitant | 125 mg PO on day 1 |\n",
}


def test_a_table_row_is_scored_under_its_tables_caption(tmp_path, monkeypatch):
    """realdocs_dev14: "what antiemetic doses does the PDQ recommend for radiation nausea?" is answered by the rows
    of "Table 6. Antiemetic Dosing for Radiation Therapy", whose cells never say "antiemetic" or "radiation"."""
    from qa_service.passage_text import table_caption

    index, row, chunk = chunk_holding(tmp_path, CAPTIONED, "Granisetron")
    texts = chunk.sentence_texts()
    starts = {t: chunk.sentences[i][0] for i, t in enumerate(texts)}
    captioned = next(t for t in texts if "Granisetron" in t)
    plain = next(t for t in texts if "Aprepitant" in t)
    assert table_caption(chunk, starts[captioned]) == "Table 6. Antiemetic Dosing for Radiation Therapy"
    assert table_caption(chunk, starts[plain]) == ""  # a table of its own, without a caption

    question = "antiemetic dosing for radiation therapy"
    # The keyword share alone: no sentence vectors, so no cosine to tell the rows apart.
    monkeypatch.setattr(ExtractiveComposer, "_sentence_vectors", lambda self, candidate: None)
    scored = ExtractiveComposer(index, AnswerSettings(min_sentence_score=0.0)).score_sentences(
        question, query_vector(question), [Candidate(chunk=chunk, row=row, rank=0)]
    )
    score = {s.text: s.score for s in scored}
    granisetron = next(v for k, v in score.items() if "Granisetron" in k)
    aprepitant = next(v for k, v in score.items() if "Aprepitant" in k)
    assert granisetron > aprepitant


@pytest.mark.parametrize("max_words", [20, 30, 45])
def test_word_limit_is_respected(extractive, rt_and_bma, max_words):
    composed = extractive.compose(RT_QUESTION, query_vector(RT_QUESTION), rt_and_bma, max_words=max_words)

    words = sum(len(s.text.split()) for s in composed.sentences)
    # The single best sentence is always given, even when it alone is longer than the limit.
    assert words <= max_words or len(composed.sentences) == 1


def test_longer_limit_gives_a_longer_answer(extractive, rt_and_bma):
    short = extractive.compose(RT_QUESTION, query_vector(RT_QUESTION), rt_and_bma, max_words=20)
    long = extractive.compose(RT_QUESTION, query_vector(RT_QUESTION), rt_and_bma, max_words=300)

    assert len(long.sentences) > len(short.sentences) >= 1


def test_extractive_composer_is_deterministic(extractive, rt_and_bma):
    first = extractive.compose(RT_QUESTION, query_vector(RT_QUESTION), rt_and_bma, max_words=120)
    second = extractive.compose(RT_QUESTION, query_vector(RT_QUESTION), rt_and_bma, max_words=120)

    assert render(first, rt_and_bma) == render(second, rt_and_bma)


def test_no_candidates_means_no_sentences(extractive):
    composed = extractive.compose(RT_QUESTION, query_vector(RT_QUESTION), [], max_words=120)

    assert composed.sentences == [] and render(composed, []) == ("", [])


def test_source_bibliography_markers_are_removed_so_they_cannot_pass_for_citations():
    from qa_service.passage_text import drop_source_references

    cleaned = drop_source_references("MTCT is the main cause of infection in children [1, 2]. Give 8 Gy [12-14].")

    assert cleaned == "MTCT is the main cause of infection in children. Give 8 Gy."


def _index_of(tmp_path, name, markdown):
    """An index (hash-embedded) of one Markdown document, and its embedder."""
    from ingest import HashEmbedder, build_index, open_index

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / name).write_text(markdown)
    embedder = HashEmbedder()
    build_index([tmp_path / "docs"], tmp_path / "index", embedder=embedder)
    return open_index(tmp_path / "index"), embedder


def _two_schedules(tmp_path):
    """An index with the same drug's schedule under two headings, and the candidates with metastases first."""
    index, embedder = _index_of(
        tmp_path,
        "bma.md",
        "# Bone-modifying agents\n\n"
        "## Bone metastases\n\n### BM-X-01 Zoledronic acid schedule\nGuideline: ESMO 2020\n\n"
        "Give zoledronic acid 4 mg every 4 weeks.\n\n"
        "## Treatment-induced bone loss\n\n### BM-X-02 Zoledronic acid schedule\nGuideline: ESMO 2020\n\n"
        "Give zoledronic acid 4 mg every 6 months.\n",
    )
    first, second = (chunk_for(index, rec) for rec in ("BM-X-01", "BM-X-02"))
    # The metastasis passage ranks first, as retrieval put it for the real question.
    candidates = [Candidate(chunk=first[1], row=first[0], rank=0), Candidate(chunk=second[1], row=second[0], rank=1)]
    return index, embedder, candidates


def test_a_sentence_is_scored_under_its_own_headings(tmp_path):
    index, embedder, candidates = _two_schedules(tmp_path)
    question = "zoledronic acid dose for treatment induced bone loss"

    scored = ExtractiveComposer(index, AnswerSettings()).score_sentences(
        question, embedder.embed([question])[0], candidates
    )

    assert candidates[1].chunk.local_headings() == ("Treatment-induced bone loss", "Zoledronic acid schedule")
    assert "every 6 months" in scored[0].text, [(s.text, round(s.score, 3)) for s in scored]


def test_the_answer_leads_with_the_passage_holding_the_best_sentence(tmp_path):
    index, embedder, candidates = _two_schedules(tmp_path)
    question = "zoledronic acid dose for treatment induced bone loss"

    composed = ExtractiveComposer(index, AnswerSettings()).compose(
        question, embedder.embed([question])[0], candidates, max_words=120
    )

    assert [s.source for s in composed.sentences] == [1, 0]  # both schedules, the one asked about first
    assert "every 6 months" in composed.sentences[0].text


def test_a_question_names_a_heading_only_when_it_holds_all_of_its_words(tmp_path):
    from qa_service.compose import _names_a_heading

    _index, _embedder, candidates = _two_schedules(tmp_path)
    metastases, bone_loss = (c.chunk for c in candidates)

    def q(text: str) -> set[str]:
        return set(keyword_tokens(text))

    assert _names_a_heading(q("zol dose for cancer treatment-induced bone loss"), bone_loss)
    assert not _names_a_heading(q("zol dose for cancer treatment-induced bone loss"), metastases)
    assert not _names_a_heading(q("bone loss"), bone_loss)  # part of a heading is not naming it


@pytest.mark.parametrize(
    "sentence",
    [
        "versus multiple fractions of palliative radiotherapy for bone metastases: a randomized clinical trial "
        "in Iranian patients. 2015;6:8-13.",
        "Dowell D, Haegerich TM, Chou R. CDC guideline for prescribing opioids. JAMA 2016;315:1624-45.",
        "Available at https://www.who.int/publications/i/item/9789240017870.",
        "[1] 2015.",
        "Smith AB, Jones C, et al. Opioid tapering in primary care.",
        "Walker J, Mertens UK, Schmidt CO, Chenot J-F. Effect on healthcare.",
        "Abbreviations: mcg/hr = microgram per hour; mg = milligram; MME = morphine milligram equivalent.",
        "ER/LA = extended-release and long-acting; IR = immediate-release; MME = morphine milligram equivalent.",
    ],
)
def test_reference_entries_and_citation_only_sentences_are_not_answer_worthy(sentence):
    assert not answer_worthy(sentence)


def test_a_dose_stated_with_an_equals_sign_is_still_answer_worthy():
    assert answer_worthy("For hydrocodone, 20 mg x 1 = 20 MME/day; keep the total below 50 MME/day.")


def test_an_empty_row_or_a_repeated_separator_row_is_not_answer_worthy():
    # NCI's pediatric antiemetic table repeats its separator row after an empty one; session 39's probe had
    # "when should palonosetron be stopped?" answered at 0.82 with "Drug Category: ---; Medication: ---; ...".
    assert not answer_worthy("| --- | --- | :---: | --- |")
    assert not answer_worthy("|  |  |  |")
    assert answer_worthy("| Ondansetron | 8 mg | PO |")
    assert answer_worthy("| 5 | | |")  # a number alone still says something


def test_a_table_row_holding_only_the_tables_glossary_is_not_answer_worthy():
    # NCI's tables end with a row of abbreviations spanning the table; it reached answers as "Drug Category: ...".
    legend = "| 5-HT3 = 5-hydroxytryptamine-3; bid = twice a day; IV = intravenously; PO = by mouth. | | | |"
    assert not answer_worthy(legend)
    assert not answer_worthy("| IV = intravenous. | | | |")
    # Rows that say something stay, an equals sign in one of several cells included.
    assert answer_worthy("| Ondansetron | 8 mg PO bid | IV = 0.15 mg/kg |")
    assert answer_worthy("| Hydrocodone | 1.0 |")
    assert answer_worthy("| Tapentadol = 0.4 when converting to MME |")


def test_a_table_note_row_is_read_as_its_note():
    # NCI's tables carry their notes as rows: "| aAdapted from Roila et al.[3] ... | | |" reached answers as
    # "Drug Category: aAdapted from Roila et al. and Hesketh et al.", a reference passed off as an answer sentence.
    from ingest import Chunk
    from qa_service.composed import AnswerSentence, Composed

    assert not answer_worthy("| aAdapted from Roila et al.[3] and Hesketh et al.[28] | | | |")
    assert not answer_worthy("| aFrom Hesketh et al. | | |")
    assert answer_worthy("| aDolasetron may be difficult to obtain from the manufacturer. | | | |")
    assert answer_worthy("| eGFR <30 | | |")  # a value, not a note: "e" is no footnote letter here

    header = "| Drug category | Antiemetic | Dose |"
    note = "| aDolasetron may be difficult to obtain from the manufacturer. | | |"
    row = "| Serotonin antagonists | Granisetron | 2 mg PO daily |"
    text = f"{header}\n| --- | --- | --- |\n{note}\n{row}\n"
    chunk = Chunk("c", "d", 0, text, 0, len(text), "T", (), ((0, len(text)),), issuing_body="NCI", year=2025)
    sentences = [AnswerSentence(note, 0, table_header=header), AnswerSentence(row, 0, table_header=header)]
    answer, _ = render(Composed(sentences=sentences, composer="extractive"), [Candidate(chunk=chunk, row=0, rank=0)])
    assert answer.startswith("Per NCI 2025, Dolasetron may be difficult to obtain from the manufacturer.")
    assert "Drug category: Serotonin antagonists; Antiemetic: Granisetron; Dose: 2 mg PO daily" in answer
    assert "aDolasetron" not in answer and "Drug category: aDolasetron" not in answer


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("**Acute N&V:** N&V experienced during the first 24 h.", "Acute N&V: N&V experienced during the first 24 h."),
        ("dexamethasone on days 2–3 ***OR:*** 5-HT3 monotherapy", "dexamethasone on days 2–3 OR: 5-HT3 monotherapy"),
        ("**Given the complexities of methadone, consult.", "Given the complexities of methadone, consult."),
        ("two FDA-approved *Cannabis* products", "two FDA-approved Cannabis products"),
        ("2 * 3 = 6; conversion factor* applies", "2 * 3 = 6; conversion factor* applies"),  # no emphasis
        ("| **Rolapitant** | 180 mg |", "| **Rolapitant** | 180 mg |"),  # rows are read cell by cell later
    ],
)
def test_an_answer_sentence_says_the_words_without_markdown_emphasis(text, said):
    from qa_service.passage_text import without_emphasis

    assert without_emphasis(text) == said


def test_a_table_cell_left_with_a_reference_separator_is_said_without_it():
    from qa_service.passage_text import row_as_sentence

    row = "| Ondansetron | 0.15 mg/kg | ;[Level of evidence: IV] | ; |"
    said = row_as_sentence(row, "| Drug | Dose | Reference | Note |")
    assert said == "Drug: Ondansetron; Dose: 0.15 mg/kg; Reference: [Level of evidence: IV]"


@pytest.mark.parametrize(
    ("sentence", "read"),
    [
        ("3) Do not use the calculated dose in MMEs to convert opioids.", "Do not use the calculated dose in MMEs"),
        ("b) Psychological therapy may be delivered remotely.", "Psychological therapy may be delivered remotely."),
        ("(ii) Offer a taper.", "Offer a taper."),
        ("12. Clinicians should offer treatment.", "Clinicians should offer treatment."),
        ("ii. children with chronic cancer-related pain.", "children with chronic cancer-related pain."),
        ("IV. Opioids must only be used for appropriate indications.", "Opioids must only be used"),
        ("i.e. the same dose.", "i.e. the same dose."),  # an abbreviation, not a label
        ("2.5 mg is the starting dose.", "2.5 mg is the starting dose."),  # a number, not a label
        ("| 1) | Oxycodone | 1.5 |", "| 1) | Oxycodone | 1.5 |"),  # table rows stay as they are
    ],
)
def test_a_list_items_label_is_not_part_of_its_answer_sentence(sentence, read):
    from qa_service.passage_text import without_list_label

    assert without_list_label(sentence).startswith(read)


def test_a_numbered_footnote_answers_without_its_number(tmp_path):
    files = {
        "opioids/table.md": """---
title: "Opioid conversion"
issuing_body: "CDC"
year: 2022
---

# Opioid conversion

## Notes on the conversion table

3) Do not use the calculated dose in MMEs to determine the doses to use when converting one opioid to another.

7) These conversion factors should not be applied to dosage decisions related to opioid use disorder.
"""
    }
    from ingest import open_index

    index = open_index(build_mini_index(tmp_path, files))
    candidates = [Candidate(chunk=c, row=i, rank=i) for i, c in enumerate(index.chunks)]
    question = "can I use the MME dose to convert one opioid to another?"
    composed = ExtractiveComposer(index, AnswerSettings()).compose(
        question, query_vector(question), candidates, max_words=150
    )
    answer, _ = render(composed, candidates)

    assert "Per CDC 2022, do not use the calculated dose in MMEs" in answer
    assert not re.search(r"(?:^|, |\] )\d\) ", answer), answer


def test_a_sentence_reporting_a_study_by_its_authors_is_answer_worthy():
    assert answer_worthy("Lalouni et al. compared the intervention to standard care and reported that it cost US$ 186.")
    assert answer_worthy("These dose reductions did not affect survival (cited Banerjee et al. as reference 94).")


def test_a_fragment_starting_mid_sentence_is_not_answer_worthy_but_a_table_row_and_a_sentence_are():
    assert not answer_worthy("of the dose when switching between opioids.", after="Reduce by 10%\n")
    assert not answer_worthy("vertebral body occurred.", after="A painful destruction of a. ")
    assert answer_worthy("| Oxycodone | 1.5 |")
    assert not answer_worthy("| Opioid | Conversion factor* |\n|---|---|")
    assert answer_worthy("Offer 8 Gy in a single fraction for painful bone metastases.")
    assert answer_worthy("denosumab 120 mg every 4 weeks is an option.", after="Options:\n- ")
    assert not answer_worthy("ACCP, American College of Chest Physicians.")
    assert not answer_worthy("CT, computed tomography.")


def test_a_sentence_that_closes_a_bracket_it_never_opened_starts_elsewhere():
    assert not answer_worthy("0.92–1.07]) or all-cause mortality (RR 0.98, 95% CI 0.96–1.00).")
    assert not answer_worthy("95% CI, 1.2 to 2.0) than with placebo in two trials.")
    assert answer_worthy("Screening reduced mortality (RR 0.80 [95% CI 0.73–0.88]) in the NLST.")
    assert answer_worthy("b) Psychological therapy may be delivered face to face or remotely.")
    assert answer_worthy("(ii) Children with chronic pain should be offered physical therapy.")


def test_a_table_row_is_read_under_its_header_and_said_as_named_cells():
    from ingest.chunking import Chunk
    from qa_service.passage_text import row_as_sentence, table_header

    text = "| Opioid | Conversion factor* |\n|---|---|\n| Codeine | 0.15 |\n| Methadone | 4.7 |"
    chunk = Chunk("c", "d", 0, text, 0, len(text), "T", (), ((0, 10),))
    start = text.index("| Methadone")
    header = table_header(chunk, start)
    assert header == "| Opioid | Conversion factor* |"
    assert row_as_sentence("| Methadone | 4.7 |", header) == "Opioid: Methadone; Conversion factor: 4.7"
    assert row_as_sentence("| Methadone | 4.7 |", None) == "Methadone; 4.7"
    # A header-less two-column table of labels and text (a guideline synthesis): the label leads its text.
    text = "The USPSTF found adequate evidence that tamoxifen or raloxifene reduce the risk."
    assert row_as_sentence(f"| USPSTF (2013) | {text} |", None) == f"USPSTF (2013): {text}"


def test_a_flattened_web_table_names_its_columns_as_a_reader_does():
    from ingest.chunking import Chunk
    from qa_service.passage_text import column_names, row_as_sentence, table_header

    # NCI's Table 5 as its Markdown export has it: a name over two columns, the row under the delimiter naming
    # each, footnote letters stuck to the names and the notes as rows.
    table = [
        "| Adverse Effect | Relative Prevalenceb | | Comments |",
        "| --- | --- | --- | --- |",
        "|  | Acute Usec | Chronic Used |  |",
        "| aThe reported prevalence may differ on the basis of opioid choice. | | | |",
        "| bRelative prevalence: (–) absent; (+) rare; (++) less common; (+++) common. | | | |",
        "| cAcute use defined as use for ≤2 weeks. | | | |",
        "| dChronic use defined as consistent use for >2–3 months. | | | |",
    ]
    assert column_names(table) == [
        "Adverse Effect",
        "Relative Prevalence (Acute Use)",
        "Relative Prevalence (Chronic Use)",
        "Comments",
    ]
    text = "\n".join([*table, "| Sedation | +++ | + | More common upon opioid initiation. |"])
    chunk = Chunk("c", "d", 0, text, 0, len(text), "T", (), ((0, 10),))
    header = table_header(chunk, text.index("| Sedation"))
    assert row_as_sentence("| Sedation | +++ | + | More common upon opioid initiation. |", header) == (
        "Adverse Effect: Sedation; Relative Prevalence (Acute Use): +++; Relative Prevalence (Chronic Use): +; "
        "Comments: More common upon opioid initiation."
    )
    # Without its notes a name keeps its letters ("Used" may be a word), and a plain header is read as it is.
    assert column_names(table[:3])[2] == "Relative Prevalenceb (Chronic Used)"
    assert column_names(["| Opioid | Conversion factor |", "|---|---|", "| Codeine | 0.15 |"]) == [
        "Opioid",
        "Conversion factor",
    ]


def test_a_row_short_of_a_spanned_first_cell_names_its_last_columns():
    from qa_service.passage_text import row_as_sentence

    header = "| Drug Category | Antiemetic | Dose | Comment |"
    # "Ondansetron" sits under a category cell spanning the rows: its cells are the last three columns.
    assert row_as_sentence("| Ondansetron | 8 mg PO or 0.15 mg/kg IV daily | bid–tid with TBI |", header) == (
        "Antiemetic: Ondansetron; Dose: 8 mg PO or 0.15 mg/kg IV daily; Comment: bid–tid with TBI"
    )
    # A row continuing the one above (its first cell carried down): which column each cell is, is unknown.
    carried = "| Nabilone; Age >4 y: | >30 kg: 1 mg q8-12h |"
    assert row_as_sentence(carried, header, carried=True) == "Nabilone; Age >4 y:; >30 kg: 1 mg q8-12h"
    # Half the cells or fewer: not a row short of one spanned cell; said bare.
    assert row_as_sentence("| 1 mg | bid |", header) == "1 mg; bid"


def test_a_document_citing_by_numbers_in_parentheses_loses_them_from_quoted_sentences():
    from ingest.chunking import Chunk
    from qa_service.passage_text import (
        _PARENTHESISED_REFERENCE,
        _PARENTHESISED_REFERENCE_INSIDE,
        parenthesised_citers,
        without_reference_numbers,
    )

    def chunk(doc: str, text: str) -> Chunk:
        return Chunk(f"{doc}-{hash(text)}", doc, 0, text, 0, len(text), "T", (), ((0, len(text)),))

    citing = [chunk("cdc", f"Chronic pain lasts >3 months ({i}). It is common ({i},{i + 1}).") for i in range(8)]
    # A summary where numbers in parentheses are data ("MRD-negative (10-5),"), once in many passages.
    summary = [chunk("nci", "MRD-negative (10-5), 2-year OS was 80%.")] + [chunk("nci", "Text.")] * 20

    assert parenthesised_citers([*citing, *summary]) == frozenset({"cdc"})
    assert parenthesised_citers(citing[:4]) == frozenset()  # too few to be a document's style
    said = _PARENTHESISED_REFERENCE.sub("", "It did not reduce sick leave for low back pain) (137,138).")
    assert said == "It did not reduce sick leave for low back pain)."
    # An enumeration's "(1) a" and a range inside a sentence's words are left alone.
    kept = "either (1) standard therapy or (2) the (42–60) group"
    assert _PARENTHESISED_REFERENCE.sub("", kept) == kept
    # Inside a sentence (read only in such a document): before a word or a bracket, never a dose or a percentage.
    inside = "a label for acetaminophen (300 mg) (207) states (see Box 2) that deaths rose (20) (evidence type 4)"
    assert _PARENTHESISED_REFERENCE_INSIDE.sub("", inside) == (
        "a label for acetaminophen (300 mg) states (see Box 2) that deaths rose (evidence type 4)"
    )
    assert _PARENTHESISED_REFERENCE_INSIDE.sub("", "a dose (50 mg) or (≥50) and (30%) of them") == (
        "a dose (50 mg) or (≥50) and (30%) of them"
    )
    # Both patterns at once; an enumeration counting up from (1) keeps its labels, wherever they stand.
    assert without_reference_numbers("The review (1) updated the report (7) and an update (8).") == (
        "The review updated the report and an update."
    )
    enumerating = "Weigh risks including (1) age (12), (2) renal function and (3) sedatives (14)."
    enumerated = "Weigh risks including (1) age, (2) renal function and (3) sedatives."
    assert without_reference_numbers(enumerating) == enumerated


def test_a_question_naming_a_table_row_is_answered_by_that_row_not_the_whole_table():
    from qa_service.compose import _named_rows_only
    from qa_service.composed import AnswerSentence

    header = "| Opioid | Conversion factor* |"
    rows = [
        AnswerSentence("| Codeine | 0.15 |", source=0, score=0.5, position=1, table_header=header),
        AnswerSentence("| Methadone | 4.7 |", source=0, score=0.6, position=2, table_header=header),
        AnswerSentence("Multiply the dose by the factor.", source=0, score=0.55, position=3),
    ]
    kept = _named_rows_only(rows, {"mme", "convers", "factor", "methadon"})
    assert [s.text for s in kept] == ["| Methadone | 4.7 |", "Multiply the dose by the factor."]
    assert _named_rows_only(rows, {"convers", "factor"}) == rows  # no row named: the table stays whole


def test_a_row_is_named_by_the_drug_its_first_cell_starts_with():
    from qa_service.compose import _names_the_row

    fentanyl = "| Fentanyl transdermal (in mcg/hr) | 2.4 |"
    assert _names_the_row(set(keyword_tokens("fentanyl patch 25 mcg/hr - MME conversion factor?")), fentanyl)
    assert not _names_the_row(set(keyword_tokens("transdermal buprenorphine conversion factor?")), fentanyl)
    # A first word that names no drug must be named with the rest of its cell.
    assert not _names_the_row(set(keyword_tokens("severe pain: which step?")), "| Severe pain flare | step 3 |")
    assert _names_the_row(set(keyword_tokens("severe pain flare: which step?")), "| Severe pain flare | step 3 |")


def test_a_sentence_that_points_back_brings_the_sentence_it_points_to(tmp_path):
    index, embedder = _index_of(
        tmp_path,
        "myeloma.md",
        "# Myeloma\n\n## Induction\n\n"
        "Patients with newly diagnosed myeloma who are fit receive a three-drug induction. "
        "CyBorD combines cyclophosphamide, bortezomib and dexamethasone. "
        "This regimen is preferred in significant renal dysfunction with creatinine clearance below 45. "
        "Transplant follows in responders.\n",
    )
    candidates = [Candidate(chunk=index.chunks[0], row=0, rank=0)]
    question = "regimen preferred in significant renal dysfunction creatinine clearance"
    composer = ExtractiveComposer(index, AnswerSettings(min_sentence_score=0.3))

    texts = [
        s.text for s in composer.compose(question, embedder.embed([question])[0], candidates, max_words=40).sentences
    ]

    assert texts[:2] == [
        "CyBorD combines cyclophosphamide, bortezomib and dexamethasone.",
        "This regimen is preferred in significant renal dysfunction with creatinine clearance below 45.",
    ]


def _methadone_composer(tmp_path, *, with_the_passage_before: bool = True):
    """A composer over `methadone_index`, its question's vector, and the passage opening on "In contrast, ..." as
    the candidate, followed by the passage before it (`only_before`) unless told otherwise."""
    index, embedder = methadone_index(tmp_path)
    candidates = [Candidate(chunk=index.chunks[1], row=1, rank=0)]
    if with_the_passage_before:
        candidates.append(Candidate(chunk=index.chunks[0], row=0, rank=0, only_before=True))
    composer = ExtractiveComposer(index, AnswerSettings(min_sentence_score=0.3))
    return composer, embedder.embed([METHADONE_QUESTION])[0], candidates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This regimen is preferred in renal dysfunction.", True),
        ("In contrast, enzyme inhibitors may increase methadone's activity.", True),
        ("However, patients who received single-fraction radiation therapy had a higher rate of retreatment.", True),
        ("In these patients, a baseline ECG is advised.", True),
        ("Therefore, before increasing the dosage, clinicians should pause.", True),
        ("In addition to breast cancer risk reduction, the USPSTF found fewer fractures.", False),
        ("However severe the pain, start low.", False),
        ("This guideline covers adults with cancer.", False),
        ("For example, fentanyl is not detected by opiate immunoassays.", False),  # an example stands on its own
        ("Methadone is associated with QT prolongation.", False),
    ],
)
def test_which_sentences_point_back_at_the_one_before(text, expected):
    assert points_back(text) is expected


def test_a_passage_opening_on_a_contrast_brings_the_last_sentence_of_the_passage_before(tmp_path):
    composer, vector, candidates = _methadone_composer(tmp_path)

    composed = composer.compose(METHADONE_QUESTION, vector, candidates, max_words=60)
    answer, order = render(composed, candidates)

    texts = [s.text for s in composed.sentences]
    contrast = texts.index(METHADONE_CONTRAST)
    assert texts[contrast - 1] == METHADONE_BEFORE
    assert composed.sentences[contrast - 1].source == 1  # cited to the passage that holds it
    # The passage before is read for that sentence only: its other sentences never compete.
    assert not any(t.startswith(("Methadone is metabolised", "Enzyme inducers")) for t in texts)
    assert "halves methadone levels. [1] In contrast, enzyme inhibitors" in answer and order[0] == 1


def test_the_sentence_pointed_to_may_take_the_answer_over_its_word_target(tmp_path):
    import math

    from qa_service.compose import POINTED_TO_ALLOWANCE

    composer, vector, candidates = _methadone_composer(tmp_path)
    both = len(METHADONE_CONTRAST.split()) + len(METHADONE_BEFORE.split())
    target = math.ceil(both / (1 + POINTED_TO_ALLOWANCE))  # the pair is over the target, within the allowance

    composed = composer.compose(METHADONE_QUESTION, vector, candidates, max_words=target)

    assert both > target
    assert [s.text for s in composed.sentences] == [METHADONE_BEFORE, METHADONE_CONTRAST]


def test_without_the_passage_before_a_contrast_is_quoted_as_it_stands(tmp_path):
    composer, vector, candidates = _methadone_composer(tmp_path, with_the_passage_before=False)

    composed = composer.compose(METHADONE_QUESTION, vector, candidates, max_words=60)

    assert composed.sentences[0].text == METHADONE_CONTRAST
    assert {s.source for s in composed.sentences} == {0}


def test_render_names_a_guideline_once_for_its_consecutive_passages(extractive, rt_and_bma):
    from qa_service.composed import AnswerSentence, Composed

    first, second = rt_and_bma[0], rt_and_bma[1]
    same = [first, replace(second, chunk=replace(second.chunk, guideline=first.chunk.guideline))]
    composed = Composed(
        sentences=[AnswerSentence("One.", source=0, position=0), AnswerSentence("Two.", source=1, position=0)],
        composer="extractive",
    )

    answer, order = render(composed, same)

    label = first.chunk.guideline
    assert answer.count(f"Per {label}") == 1 and order == [0, 1]
    assert answer.endswith("Two. [2]")


# -- sentences rescored by the cross-encoder ------------------------------------------------------------


class _WordReranker:
    """A stand-in cross-encoder: a passage's logit is how often it says one word; it records what it read."""

    def __init__(self, word: str) -> None:
        self.word = word
        self.read: list[list[str]] = []

    def score(self, question, passages, *, max_length=None):
        import numpy as np

        self.read.append(list(passages))
        self.max_length = max_length
        return np.array([p.lower().count(self.word) for p in passages], dtype=np.float32)


def test_rescoring_lifts_the_sentence_the_cross_encoder_prefers_among_the_best_only(mini_index, rt_and_bma):
    settings = AnswerSettings(sentence_rerank=True, sentence_rerank_depth=4, sentence_rerank_weight=1.0)
    plain = ExtractiveComposer(mini_index, AnswerSettings()).score_sentences(
        RT_QUESTION, query_vector(RT_QUESTION), rt_and_bma
    )
    target = next(s for s in plain[1:4] if "multiple" not in s.text.lower() and s.source != plain[0].source)
    word = next(w for w in re.findall(r"[a-z]{6,}", target.text.lower()) if w not in plain[0].text.lower())
    reranker = _WordReranker(word)
    composer = ExtractiveComposer(mini_index, settings, reranker=reranker)

    rescored = composer.rescore(RT_QUESTION, [*plain], rt_and_bma)

    assert rescored[0].text == target.text  # one of the best four, lifted to the top
    assert len(reranker.read[0]) == 4  # only the best four were read
    assert reranker.max_length == settings.sentence_rerank_max_length
    assert all(p.startswith(rt_and_bma[s.source].chunk.title) for p, s in zip(reranker.read[0], plain, strict=False))
    assert [s.text for s in rescored[4:]] == [s.text for s in plain[4:]]  # the rest keep their order


def test_rescoring_runs_only_when_switched_on(mini_index, rt_and_bma):
    reranker = _WordReranker("fraction")
    composer = ExtractiveComposer(mini_index, AnswerSettings(), reranker=reranker)

    composer.compose(RT_QUESTION, query_vector(RT_QUESTION), rt_and_bma, max_words=120)

    assert reranker.read == []


def test_the_gate_reads_the_best_sentences_own_score_not_the_cross_encoders_share(mini_index, rt_and_bma):
    vector = query_vector(RT_QUESTION)
    plain = ExtractiveComposer(mini_index, AnswerSettings()).compose(RT_QUESTION, vector, rt_and_bma, max_words=120)
    settings = AnswerSettings(sentence_rerank=True, sentence_rerank_weight=1.0)
    rescored = ExtractiveComposer(mini_index, settings, reranker=_WordReranker("denosumab")).compose(
        RT_QUESTION, vector, rt_and_bma, max_words=120
    )

    assert rescored.best_sentence_score == plain.best_sentence_score
    assert [s.text for s in rescored.sentences] != [s.text for s in plain.sentences]


def test_a_recommendation_s_strength_is_said_once_beside_its_attribution_or_in_its_own_words():
    from ingest import Chunk
    from qa_service.composed import AnswerSentence, Composed

    def candidate(text: str) -> Candidate:
        chunk = Chunk(
            chunk_id="c",
            doc_id="cdc",
            position=0,
            text=text,
            start=0,
            end=len(text),
            title="CDC 2022",
            section=("Recommendation 3",),
            sentences=((0, len(text)),),
            rec_id="cdc-3",
            issuing_body="CDC",
            year=2022,
            metadata={"strength": "recommendation category: A; evidence type: 4"},
        )
        return Candidate(chunk=chunk, row=0, rank=0)

    plain = [candidate("Prescribe immediate-release opioids.")]
    stated = [candidate("Prescribe immediate-release opioids (recommendation category: A; evidence type: 4).")]
    sentence = [AnswerSentence(text=c.chunk.text, source=0) for c in (plain[0], stated[0])]

    first, _ = render(Composed(sentences=sentence[:1], composer="extractive"), plain)
    second, _ = render(Composed(sentences=sentence[1:], composer="extractive"), stated)

    assert first == (
        "Per CDC 2022 (recommendation category: A; evidence type: 4), prescribe immediate-release opioids. [1]"
    )
    assert (
        second
        == "Per CDC 2022, prescribe immediate-release opioids (recommendation category: A; evidence type: 4). [1]"
    )


def test_a_line_that_only_repeats_the_title_or_a_heading_is_never_an_answer_sentence(tmp_path):
    from ingest import open_index

    files = {
        "who.md": "# Guidelines on the management of chronic pain in children\n\n"
        "Guidelines on the management of chronic pain in children\n\n"
        "Morphine may be used for chronic pain in children with life-limiting conditions.\n"
    }
    index = open_index(build_mini_index(tmp_path, files))
    candidates = [Candidate(chunk=c, row=r, rank=r) for r, c in enumerate(index.chunks)]
    question = "guidelines on the management of chronic pain in children: morphine?"

    scored = ExtractiveComposer(index, AnswerSettings()).score_sentences(question, query_vector(question), candidates)

    assert [s.text for s in scored] == [
        "Morphine may be used for chronic pain in children with life-limiting conditions."
    ]


def test_asked_kinds_are_read_from_how_the_question_asks():
    from qa_service.asked import asked_kinds

    assert asked_kinds("how often should I check the PDMP?") == {"interval", "cycle"}
    assert asked_kinds("8 Gy x1 - how many wks before the pain improves?") == {"time", "interval"}  # "wks": weeks
    assert asked_kinds("how many mg?") == frozenset()
    assert "time" in asked_kinds("how long after the last dose before buprenorphine?")
    assert asked_kinds("5-year risk cut-off before offering tamoxifen?") == {"percentage"}
    assert asked_kinds("zoledronic acid dose?") == frozenset()  # doses are never lifted (see ASKED_KINDS)
    assert asked_kinds("uds before long term opioids - cdc rec category and evidence type?") == {"strength"}
    assert asked_kinds("how strong is the WHO rec on CBT for kids?") == {"strength"}
    assert asked_kinds("Lung-RADS 3 nodule - f/u interval?") == {"interval", "cycle"}
    # A statistical interval is no interval of time.
    assert asked_kinds("Spain's mean percentage [95% credible interval] infected?") == {"percentage"}
    assert "interval" not in asked_kinds("NNT with its 95% confidence interval?")
    # Which drug: a sentence naming one states the kind asked; never in a dose question (see `asked_kinds`).
    assert asked_kinds("which FDA-approved cessation meds do the guidelines list?") == {"drug"}
    assert asked_kinds("started morphine, what bowel regimen?") == {"drug"}
    assert asked_kinds("what antiemetic regimen and dose for cisplatin?") == frozenset()
    assert asked_kinds("which patients should be offered naloxone?") == frozenset()
    assert asked_kinds("65M prostate ca rising PSA new back pain - which imaging first") == {"test"}
    assert asked_kinds("big lytic lesion humeral shaft - who should assess") == {"role"}
    assert asked_kinds("Who decides whether it is operable?") == {"role"}
    assert asked_kinds("what does WHO recommend for kids?") == frozenset()  # the organisation, in capitals
    assert asked_kinds("olanzapine for HEC - main side effect?") == {"harm"}
    assert asked_kinds("per CDC whats the downside of giving her oxycodone?") == {"harm"}
    assert asked_kinds("why isn't buprenorphine in the CDC MME conversion table?") == {"reason"}
    # A maximum or limit asked (session 40), in a dose question too: the dose check keeps another drug's out.
    assert asked_kinds("maximum daily dose of metoclopramide?") == {"maximum"}
    assert asked_kinds("84yo w cancer pain - max tylenol per day?") == {"maximum"}
    assert asked_kinds("what's the ceiling for ketorolac?") == {"maximum"}
    assert asked_kinds("maxillary sinus involvement?") == frozenset()  # a word of its own
    assert asked_kinds("fentora starting dose and time to max concentration?") == frozenset()  # pharmacokinetics


def test_a_sentence_stating_a_maximum_or_limit_states_the_maximum_kind():
    from qa_service.asked import stated_kinds

    assert "maximum" in stated_kinds("Prochlorperazine; Dose: 9–13 kg: 2.5 mg PO qd–bid; maximum dose: 7.5 mg/d.")
    assert "maximum" in stated_kinds("The total daily dosage should not exceed eight tablets.")
    assert "maximum" in stated_kinds("Dronabinol 5 mg/m2, up to 4–6 doses/d.")
    assert "maximum" in stated_kinds("Parenteral (IV, IM) ketorolac is used ≤5 days because of GI adverse events.")
    assert "maximum" not in stated_kinds("Ondansetron 8 mg PO or 0.15 mg/kg IV daily.")
    assert "maximum" not in stated_kinds("Evidence on the limits of screening is low quality.")


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        # How often an event happens: a rate.
        ("68M current smoker asks how often screening LDCT gives a false positive", {"percentage"}),
        ("cilta-cel: how often was grade 3+ CRS in the randomized trial?", {"percentage", "strength"}),
        ("how often do patients develop ONJ on dmab?", {"percentage"}),
        ("how often does the pain come back after 8 Gy?", {"percentage"}),
        # How often to do something: an interval.
        ("how often do I need to check the PDMP for someone on long term opioids?", {"interval", "cycle"}),
        ("how often do patients need a DXA on an AI?", {"interval", "cycle"}),
        ("how often should I see him in the 1st week?", {"interval", "cycle"}),
        ("how often to give IV bisphosphonates in myeloma and for how long", {"interval", "cycle", "time"}),
        ("teclistamab pt keeps getting infections - what prophylaxis and how often?", {"interval", "cycle"}),
    ],
)
def test_how_often_an_event_happens_asks_a_rate_not_an_interval(question, kinds):
    from qa_service.asked import asked_kinds
    from qa_service.dose_checks import time_unanswered

    assert asked_kinds(question) == kinds
    # A rate answers it; a question wanting an interval is still not answered by one.
    assert time_unanswered(question, "351 of 1000 screened would have a false-positive result (35%).") == (
        "interval" in kinds
    )


@pytest.mark.parametrize(
    ("sentence", "grades"),
    [
        ("(Weak recommendation, low-quality evidence)", True),
        ("Clinicians should use urine drug testing (recommendation category: B; evidence type: 4).", True),
        ("The USPSTF gives this a B recommendation.", True),
        ("Strong recommendation; very low certainty evidence.", True),
        ("Clinicians should use urine drug testing before starting opioids.", False),
        ("The strongest predictor of overdose was the daily dosage.", False),
    ],
)
def test_a_sentence_grading_a_recommendation_states_its_strength(sentence, grades):
    from qa_service.asked import stated_kinds

    assert ("strength" in stated_kinds(sentence)) is grades


def test_a_sentence_naming_a_drug_states_the_drug_kind():
    from qa_service.asked import stated_kinds

    assert "drug" in stated_kinds("The FDA has approved bupropion and varenicline for smoking cessation.")
    assert "drug" not in stated_kinds("Quit lines provide telephone-based counselling to tobacco users.")
    assert "test" in stated_kinds("Begin with a radionuclide bone scan; MRI if it is negative.")
    assert "test" not in stated_kinds("Begin with a single fraction of 8 Gy.")
    assert "role" in stated_kinds("An orthopaedic surgeon should assess the lesion.")
    assert "role" not in stated_kinds("The lesion should be assessed before weight bearing.")
    assert "harm" in stated_kinds("Sedation was the most common adverse effect of olanzapine.")
    assert "harm" not in stated_kinds("Olanzapine 10 mg is given on days 1 through 4.")
    assert "reason" in stated_kinds("Buprenorphine is not counted because of its partial agonist properties.")
    assert "reason" not in stated_kinds("Buprenorphine is not counted in the total MME.")


def test_a_sentence_naming_a_drug_is_lifted_above_others_for_a_question_asking_which_drug(tmp_path):
    from qa_service.compose import _favour_the_kind_asked

    index, embedder, candidates = _one_passage(
        tmp_path,
        "cessation.md",
        "# Lung cancer screening\n\n## Smoking cessation\n\n"
        "Smokers at their screening visit should be helped to quit smoking. "
        "Quit lines give smokers telephone counselling to help them quit smoking. "
        "Medication for smokers who want to quit includes bupropion and varenicline.\n",
        "varenicline",
    )
    composer = ExtractiveComposer(index, AnswerSettings())

    def order(question: str) -> list[str]:
        scored = composer.score_sentences(question, embedder.embed([question])[0], candidates)
        assert [s.text.split()[0] for s in scored] == ["Smokers", "Quit", "Medication"]  # by their words alone
        return [s.text.split()[0] for s in _favour_the_kind_asked(question, scored, 0.3)]

    assert order("smoker at her screening visit wants help to quit smoking - which medication?")[1] == "Medication"
    assert order("smoker at her screening visit wants help to quit smoking - how?")[1] == "Quit"  # no kind asked


def test_a_sentence_stating_each_kind_a_question_asks_is_lifted_above_one_stating_one():
    from qa_service.asked import stated_kinds
    from qa_service.compose import _favour_the_kind_asked
    from qa_service.composed import AnswerSentence

    trial = AnswerSentence(text="With a median follow-up of 3.7 years, survival improved.", source=0, score=0.80)
    practice = AnswerSentence(text="It is usually given monthly for 2 years.", source=1, score=0.74)
    assert stated_kinds(trial.text) & {"time"} and stated_kinds(practice.text) >= {"interval", "time"}

    lifted = _favour_the_kind_asked("zoledronic acid in myeloma: how often and for how long?", [trial, practice], 0.3)
    assert [s.source for s in lifted] == [1, 0]  # both asks answered beat one
    once = _favour_the_kind_asked(
        "zoledronic acid in myeloma: for how long?", [replace(trial, score=0.80), replace(practice, score=0.74)], 0.3
    )
    assert [s.source for s in once] == [0, 1]  # one ask: the same lift for both


def test_a_question_asking_what_a_term_means_asks_for_a_definition():
    from qa_service.asked import asked_kinds, stated_kinds

    assert "definition" in asked_kinds("WHO kids chronic pain guideline: how does it define 'adolescents'?")
    assert "definition" in asked_kinds("what counts as an SRE in the zol trials?")
    assert "definition" in asked_kinds("what does 'conditional' mean for my practice?")
    assert "definition" in asked_kinds("definition of breakthrough N&V after chemo")
    assert "definition" not in asked_kinds("zoledronic acid dose?")
    # A glossary entry and a definition in words state one; a table row of "label: value" pairs does not.
    assert "definition" in stated_kinds("Adolescents: Young people between the ages of 10 and 19 years.")
    assert "definition" in stated_kinds("Chronic pain is defined as pain lasting longer than 3 months.")
    assert "definition" not in stated_kinds("Opioid: Hydromorphone; Conversion factor: 5.0.")
    assert "definition" not in stated_kinds("The review found twelve trials: none in children.")
    assert "definition" not in stated_kinds("Clinicians should refer to Recommendation 2 for initiation.")


def test_a_glossary_entry_is_lifted_for_a_question_asking_what_its_term_means_and_no_other():
    from qa_service.compose import _favour_the_kind_asked
    from qa_service.composed import AnswerSentence

    def lifted(question: str) -> list[int]:
        scope = AnswerSentence(text="These guidelines cover children 0 to 19 years of age.", source=0, score=0.80)
        entry = AnswerSentence(
            text="Adolescents: Young people between the ages of 10 and 19 years.", source=1, score=0.74
        )
        other = AnswerSentence(text="Biopsychosocial model of pain: A model of pain as a whole.", source=2, score=0.76)
        return [s.source for s in _favour_the_kind_asked(question, [scope, other, entry], 0.3)]

    assert lifted("WHO chronic pain in kids: how does it define adolescents?") == [1, 0, 2]
    assert lifted("WHO chronic pain in kids: what ages does it cover?") == [0, 2, 1]  # no definition asked
    assert lifted("WHO chronic pain in kids: how does it define chronic pain?") == [0, 2, 1]  # neither term asked


def _one_passage(tmp_path, name, markdown, holding):
    """An index of one Markdown document, its embedder, and the passage holding `holding` as the only candidate."""
    index, embedder = _index_of(tmp_path, name, markdown)
    ((row, chunk),) = [(i, c) for i, c in enumerate(index.chunks) if holding in c.text]
    return index, embedder, [Candidate(chunk=chunk, row=row, rank=0)]


def _pdmp(tmp_path):
    return _one_passage(
        tmp_path,
        "pdmp.md",
        "# Opioid prescribing\n\n## Prescription drug monitoring programs\n\n"
        "Clinicians should check the PDMP for patients on long-term opioid therapy, as it finds dangerous "
        "combinations of drugs. "
        "Clinicians should review the PDMP for patients on long-term opioid therapy at least every 3 months.\n",
        "every 3 months",
    )


@pytest.mark.parametrize(("bonus", "found"), [(None, True), (0.0, False)])
def test_a_sentence_stating_the_kind_of_quantity_asked_for_is_lifted_into_the_answer(
    tmp_path, monkeypatch, bonus, found
):
    import qa_service.compose as compose

    if bonus is not None:
        monkeypatch.setattr(compose, "KIND_BONUS", bonus)  # without the lift, to show it is what finds it
    index, embedder, candidates = _pdmp(tmp_path)
    question = "how often should I check the PDMP for patients on long-term opioid therapy?"

    composed = ExtractiveComposer(index, AnswerSettings()).compose(
        question, embedder.embed([question])[0], candidates, max_words=25
    )

    assert any("every 3 months" in s.text for s in composed.sentences) is found, [s.text for s in composed.sentences]


@pytest.mark.parametrize(
    "sentence",
    [
        "For more information, see the Pain Assessment section.",
        "For information about IgM monoclonal antibody-associated lymphoma, see the Lymphoplasmacytic Lymphoma "
        "section in Indolent B-Cell Non-Hodgkin Lymphoma Treatment.",
        "For more information about preventing acute or delayed CINV, see Table 5.",
        "See the Limitations and Harms section in the original guideline document for more information.",
        "See also the summary on Cannabis and Cannabinoids.",
    ],
)
def test_a_sentence_that_only_points_elsewhere_is_not_answer_worthy(sentence):
    assert not answer_worthy(sentence)


def test_a_sentence_that_says_something_and_then_points_elsewhere_is_answer_worthy():
    assert answer_worthy("Offer 8 Gy in a single fraction; see Table 2 for other schedules.")
    assert answer_worthy("For most patients, a single 8 Gy fraction is enough (see Section 4).")
    assert answer_worthy("Seeing a physiotherapist within 2 weeks is recommended.")


def test_a_row_continuing_a_spanned_row_is_quoted_with_the_drug_it_belongs_to(tmp_path):
    from qa_service.passage_text import row_owner

    index, _ = _index_of(
        tmp_path,
        "antiemetics.md",
        "# Antiemetics\n\n## Children\n\n| Drug | Dose | Route | Comment |\n| --- | --- | --- | --- |\n"
        "| Nabilone | Age >4 y: | PO | May be continued up to 48 h |\n| <18 kg: 0.5 mg q12h |\n"
        "| >30 kg: 1 mg q8-12h |\n",
    )
    (chunk,) = [c for c in index.chunks if "30 kg" in c.text]
    starts = {chunk.text[a:b]: a for a, b in chunk.sentences}

    assert row_owner(chunk, starts["| >30 kg: 1 mg q8-12h |"]) == "Nabilone; Age >4 y:"
    assert row_owner(chunk, starts["| Nabilone | Age >4 y: | PO | May be continued up to 48 h |"]) == ""
    # A one-cell row with no row of data above it in the passage belongs to nothing that can be named.
    orphan = replace(chunk, text="| Drug | Dose | Route | Comment |\n| --- | --- | --- | --- |\n| >30 kg: 1 mg q8h |")
    assert row_owner(orphan, orphan.text.index("| >30 kg")) is None


def test_a_two_cell_row_of_a_six_column_table_is_quoted_with_its_drug(tmp_path):
    from qa_service.passage_text import row_owner

    index, _ = _index_of(
        tmp_path,
        "antiemetics.md",
        "# Antiemetics\n\n## Children\n\n| Class | Drug | Dose | Route | Comment | Ref |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        "| NK-1 antagonists | Aprepitant | Capsule: Age >12 y: 125 mg day 1 | PO | CYP3A4 inhibitor | [12] |\n"
        "| Suspension: Age 6 mo-12 y: 3 mg/kg day 1 | Maximum dose day 1: 125 mg |\n",
    )
    (chunk,) = [c for c in index.chunks if "3 mg/kg" in c.text]
    starts = {chunk.text[a:b]: a for a, b in chunk.sentences}

    short = "| Suspension: Age 6 mo-12 y: 3 mg/kg day 1 | Maximum dose day 1: 125 mg |"
    assert row_owner(chunk, starts[short]) == "NK-1 antagonists; Aprepitant"
    candidates = [Candidate(chunk=chunk, row=0, rank=0)]
    question = "aprepitant dose in mg/kg for a child?"
    scored = ExtractiveComposer(index, AnswerSettings()).score_sentences(question, query_vector(question), candidates)
    quoted = [s.text for s in scored if "3 mg/kg" in s.text]
    assert quoted == [f"| NK-1 antagonists; Aprepitant | {short.strip('| ')} |"]


# -- a recommendation read beside the passages under it ---------------------------------------------

RATIONALE_GUIDELINE = """---
title: "Opioids for pain"
issuing_body: "CDC"
year: 2022
---

# Opioids for pain

## Tapering

### Recommendation 5
Strength: recommendation category: B; evidence type: 4

Clinicians should taper opioids gradually when the risks of continuing outweigh the benefits.

#### Implementation considerations

Clinicians should follow up at least monthly with patients engaging in opioid tapering.
A decrease of 10% per month is a reasonable starting point.

## Toxicology testing

### Recommendation 10
Strength: recommendation category: B; evidence type: 4

Clinicians should consider toxicology testing when prescribing opioids for chronic pain.

## Summary of the recommendations

### Recommendation 5
Strength: recommendation category: B; evidence type: 4

Taper opioids gradually.
"""


@pytest.fixture(scope="module")
def rationale_index(tmp_path_factory: pytest.TempPathFactory):
    from ingest import open_index

    files = {**MINI_CORPUS, "opioids/cdc.md": RATIONALE_GUIDELINE}
    return open_index(build_mini_index(tmp_path_factory.mktemp("rationale"), files))


def _row(index, predicate) -> int:
    rows = [row for row, chunk in enumerate(index.chunks) if predicate(chunk)]
    assert len(rows) == 1, rows
    return rows[0]


def test_a_passage_under_a_recommendation_heading_is_governed_by_that_recommendation(rationale_index):
    governed = governing_recommendations(rationale_index.chunks)
    notes = _row(rationale_index, lambda c: c.section[-1:] == ("Implementation considerations",))
    rec = governed[notes]

    chunk = rationale_index.chunks[rec]
    assert chunk.rec_id == "opioids/cdc#rec-5" and chunk.metadata["strength"].startswith("recommendation category: B")
    # The body's recommendation, which shares the notes' headings, not the summary's repeat of it.
    assert "Tapering" in chunk.section and "when the risks of continuing" in chunk.text
    # Recommendations govern nothing themselves, and a corpus of recommendations only has nothing governed.
    assert not any(rationale_index.chunks[row].rec_id for row in governed)
    assert governing_recommendations(rationale_index.chunks[:0]) == {}


def test_an_attached_recommendation_is_read_beside_the_top_passages_not_instead_of_one(rationale_index):
    composer = ExtractiveComposer(rationale_index, AnswerSettings())
    notes = _row(rationale_index, lambda c: c.section[-1:] == ("Implementation considerations",))
    rec = governing_recommendations(rationale_index.chunks)[notes]
    others = candidates_for(rationale_index, "BM-RT-01", "BM-MM-01", "BM-DX-01", "HCM-01")
    question = "how often to follow up during opioid tapering, and what is the recommendation category?"
    candidates = [
        Candidate(chunk=rationale_index.chunks[notes], row=notes, rank=0),
        Candidate(chunk=rationale_index.chunks[rec], row=rec, rank=0, attached=True),
        *(replace(c, rank=i + 1) for i, c in enumerate(others)),
    ]

    scored = composer.score_sentences(question, query_vector(question), candidates)

    # Six candidates, five passages: the attached recommendation takes no top passage's place.
    assert {s.source for s in scored} == set(range(6))
    composed = composer.compose(question, query_vector(question), candidates, max_words=150)
    answer, order = render(composed, candidates)
    assert "at least monthly" in answer and "recommendation category: B; evidence type: 4" in answer
    assert 1 in order  # the recommendation is cited as the passage it is


def _follow_up(tmp_path):
    return _one_passage(
        tmp_path,
        "follow-up.md",
        "# Opioid prescribing\n\n## Follow-up of patients on opioids\n\n"
        "Clinicians should reassess patients on long-term opioid therapy every 3 months or more frequently. "
        "Long-term opioid therapy should be reassessed every month when the dosage of opioid therapy is increased. "
        "Patients with acute pain who still take opioids should be seen at least every 2 weeks.\n",
        "every 2 weeks",
    )


QUESTION_IN_TWO_PARTS = (
    "how often should pts on long-term opioid therapy be reassessed, and how often for acute pain pts still on opioids?"
)


def test_a_part_of_the_question_the_chosen_sentences_leave_out_gets_its_best_sentence(tmp_path):
    from qa_service.compose import sentences_for_left_out_parts
    from qa_service.composed import AnswerSentence

    _, _, candidates = _follow_up(tmp_path)
    texts = candidates[0].chunk.sentence_texts()
    # As the embedding model scored them for this question: both sentences on long-term therapy first.
    scores = {0: 0.62, 1: 0.60, 2: 0.40}
    scored = sorted(
        (AnswerSentence(text=t, source=0, score=scores[i], position=i) for i, t in enumerate(texts)),
        key=lambda s: -s.score,
    )
    chosen = scored[:2]

    extra = sentences_for_left_out_parts(QUESTION_IN_TWO_PARTS, scored, chosen, candidates)
    assert [s.text for s in extra] == [texts[2]]  # "... acute pain ... every 2 weeks"
    # A part answered already, or a question in one part, adds nothing.
    assert sentences_for_left_out_parts(QUESTION_IN_TWO_PARTS, scored, scored, candidates) == []
    assert (
        sentences_for_left_out_parts("how often to reassess long-term opioid therapy?", scored, chosen, candidates)
        == []
    )
    # Nor does a sentence scored under half the best one's.
    scored[2].score = 0.25
    assert sentences_for_left_out_parts(QUESTION_IN_TWO_PARTS, scored, chosen, candidates) == []


def _compose_follow_up(tmp_path, monkeypatch, settings: AnswerSettings, max_words: int):
    """The follow-up passage's sentences as composed for `QUESTION_IN_TWO_PARTS`, scored as the embedding model
    scored them (both sentences on long-term therapy first), and the passage's sentence texts."""
    import qa_service.compose as compose

    index, embedder, candidates = _follow_up(tmp_path)
    original = compose.ExtractiveComposer.score_sentences

    def scored_as_the_model_did(self, question, query_vector, candidates, **kwargs):
        scored = original(self, question, query_vector, candidates, **kwargs)
        for s in scored:
            s.score = {0: 0.62, 1: 0.60, 2: 0.40}[s.position]
        return sorted(scored, key=lambda s: -s.score)

    monkeypatch.setattr(compose.ExtractiveComposer, "score_sentences", scored_as_the_model_did)
    composed = ExtractiveComposer(index, settings).compose(
        QUESTION_IN_TWO_PARTS, embedder.embed([QUESTION_IN_TWO_PARTS])[0], candidates, max_words=max_words
    )
    return composed, candidates[0].chunk.sentence_texts()


@pytest.mark.parametrize("every_part", [True, False])
def test_the_composer_answers_the_left_out_part_only_when_switched_on(tmp_path, monkeypatch, every_part):
    composed, texts = _compose_follow_up(
        tmp_path, monkeypatch, AnswerSettings(answer_every_part=every_part, part_words_share=0.0), 40
    )
    quoted = [s.text for s in composed.sentences]

    assert texts[0] in quoted
    assert (texts[2] in quoted) is every_part, quoted
    # The first two fill the 40 words; the third may go up to a quarter over, and the gate weighs it.
    assert sum(len(t.split()) for t in quoted) == (46 if every_part else 30)
    assert not any(s.unweighed for s in composed.sentences)


@pytest.mark.parametrize(("max_words", "shown"), [(32, True), (30, False)])
def test_a_left_out_parts_sentence_past_a_quarter_over_is_shown_not_weighed(tmp_path, monkeypatch, max_words, shown):
    composed, texts = _compose_follow_up(tmp_path, monkeypatch, AnswerSettings(part_words_share=0.0), max_words)

    # 30 words chosen, the part's 16 more: 46 is past a quarter over 32 words (40), within half over (48); past
    # half over 30 (45), it is left out.
    assert [s.unweighed for s in composed.sentences if s.text == texts[2]] == ([True] if shown else [])
    assert [s.unweighed for s in composed.sentences if s.text != texts[2]] == [False, False]


def test_a_question_is_split_into_parts_where_its_clauses_meet():
    from qa_service.asked import question_parts

    parts = question_parts(
        "starting xr naltrexone for OUD: dose, dosing interval, and how many opioid-free days first?"
    )

    assert len(parts) == 4  # "starting xr naltrexone for OUD", "dose", "dosing interval", "how many ... first"
    assert "naltrexon" in parts[0].keywords
    assert parts[2].kinds == {"interval", "cycle"}  # "dosing interval" asks for an interval
    assert question_parts("zoledronic acid dose in myeloma?") == question_parts("zoledronic acid dose in myeloma")
    assert len(question_parts("zoledronic acid dose in myeloma?")) == 1


@pytest.mark.parametrize(
    ("question", "dose"),
    [
        ("which imaging for suspected bone metastases?", False),
        ("zoledronic acid dose for bone metastases?", True),  # names a dose: a dose further down is often another use's
        ("how many mg of denosumab?", True),
    ],
)
def test_the_composer_reads_max_passages_and_fewer_for_a_dose_question(mini_index, question, dose):
    # By default nine passages, five for a dose question; the mini index has eight, so the test narrows both.
    assert (AnswerSettings().max_passages, AnswerSettings().dose_max_passages) == (9, 5)
    candidates = [Candidate(chunk=c, row=i, rank=i) for i, c in enumerate(mini_index.chunks)]
    vector = np.zeros(mini_index.vectors.shape[1], dtype=np.float32)
    for most, for_doses in [(6, 4), (3, 2)]:
        composer = ExtractiveComposer(mini_index, AnswerSettings(max_passages=most, dose_max_passages=for_doses))

        scored = composer.score_sentences(question, vector, candidates)

        assert max(s.source for s in scored) == (for_doses if dose else most) - 1


@pytest.mark.parametrize(
    ("sentence", "context", "expected"),
    [
        ("External beam radiotherapy relieves pain.", "", "external beam radiotherapy relieves pain."),
        ("Lalouni et al. compared the intervention.", "", "Lalouni et al. compared the intervention."),
        ("Smith and Jones et al. found no effect.", "", "Smith and Jones et al. found no effect."),
        ("Canada screens annually.", "Programmes in Canada differ.", "Canada screens annually."),
        ("Screening is annual.", "Screening in Canada differs.", "screening is annual."),
        ("NICE recommends it.", "", "NICE recommends it."),
        ("A clinical guideline has been published.", "", "a clinical guideline has been published."),
        ("Specifically, the guideline outlines how.", "", "specifically, the guideline outlines how."),
        ("A 2022 update to a Cochrane review.", "", "a 2022 update to a Cochrane review."),
        ("A: the first option.", "", "A: the first option."),
        # a table row said with its column names keeps its first label's capital
        ("Adverse Effect: Sedation; Comments: More common.", "", "Adverse Effect: Sedation; Comments: More common."),
        ("Drug: Methadone; Conversion factor: 4.7", "", "Drug: Methadone; Conversion factor: 4.7"),
        ("Evidence (cilta-cel):", "", "Evidence (cilta-cel):"),
        ("The options are:", "", "the options are:"),
    ],
)
def test_only_an_ordinary_first_word_is_lower_cased_after_an_attribution(sentence, context, expected):
    from qa_service.render import _lower_first

    assert _lower_first(sentence, context) == expected


@pytest.mark.parametrize(
    ("sentence", "after", "worthy"),
    [
        ("Routes of Fentanyl Administration", "", False),  # a heading left in the text
        ("The International Staging System (ISS) for Multiple Myeloma", "Table 2.\n", False),  # a caption
        ("Treatments for Acute Episodic Migraine.", "the referral rates.\n\n", False),  # a run-in heading
        ("Treatments for Acute Episodic Migraine.", "As the review put it, ", True),  # inside a paragraph
        ("Give Zoledronic Acid 4 mg every 12 Weeks.", "", True),  # a number: says something
        ("Opioids are not first-line therapy for Episodic Migraine.", "", True),
    ],
)
def test_a_heading_is_no_answer_sentence(sentence, after, worthy):
    assert answer_worthy(sentence, after=after) is worthy


def test_a_heading_left_above_a_list_does_not_open_it(tmp_path):
    from qa_service.passage_text import lead_in, opens_list

    files = {
        "migraine.md": LISTED["mscc.md"].replace(
            "Patients generally require radiation if any of the following are true:", "Routes of Radiation Delivery"
        )
    }
    _, _, chunk = chunk_holding(tmp_path, files, "painful destruction")
    texts = chunk.sentence_texts()
    heading = next(i for i, t in enumerate(texts) if t.startswith("Routes of Radiation"))
    item = next(i for i, t in enumerate(texts) if "painful destruction" in t)
    assert not opens_list(chunk, heading) and lead_in(chunk, item) is None


def test_a_list_item_taken_alone_ends_without_its_trailing_conjunction(rt_and_bma):
    from qa_service.composed import AnswerSentence, Composed

    first = AnswerSentence(text="children with chronic cancer-related pain; and", source=0, position=5)
    second = AnswerSentence(text="Give 8 Gy, or", source=1, position=0)
    third = AnswerSentence(text="pain at rest, in bed and", source=1, position=1)
    fourth = AnswerSentence(text="focus on the needs of the child and their families;", source=1, position=2)

    composed = Composed(sentences=[first, second, third, fourth], composer="extractive")
    answer, _ = render(composed, rt_and_bma, attribute=False)

    assert answer == (
        "children with chronic cancer-related pain. [1] Give 8 Gy. [2] pain at rest, in bed. [2] "
        "focus on the needs of the child and their families. [2]"
    )


@pytest.mark.parametrize(
    ("metadata", "shown"),
    [
        ({"evidence": "III, B"}, "evidence III, B"),  # ESMO: level of evidence, grade of recommendation
        ({"strength": "strong", "evidence": "high"}, "strong recommendation, high-quality evidence"),
        ({"strength": "strong", "evidence": "high quality"}, "strong recommendation, high-quality evidence"),
        ({"strength": "weak", "evidence": "very low"}, "weak recommendation, very low-quality evidence"),
        ({"strength": "conditional recommendation, low certainty evidence"}, None),  # the guideline's own words
        ({}, None),
    ],
)
def test_a_recommendation_shows_its_strength_and_evidence_as_stated(metadata, shown):
    from ingest import Chunk
    from qa_service.render import strength_text

    chunk = Chunk("c", "d", 0, "Give 8 Gy.", 0, 10, "T", (), ((0, 10),), rec_id="BM-RT-01", metadata=metadata)

    assert strength_text(chunk) == (shown or metadata.get("strength"))
    assert strength_text(replace(chunk, rec_id=None)) is None  # a passage that is no recommendation grades nothing


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Centers for Disease Control and Prevention", "CDC 2022"),
        ("world  health\norganization", "WHO 2022"),  # any case and spacing, as a PDF's cover writes it
        ("Ministry of Health of Atlantis", "Ministry of Health of Atlantis 2022"),  # no known initials: as named
    ],
)
def test_a_body_named_in_full_is_attributed_by_its_initials(body: str, expected: str) -> None:
    from ingest import Chunk
    from qa_service.render import attribution

    chunk = Chunk("c", "d", 0, "Offer naloxone.", 0, 15, "T", (), ((0, 15),), issuing_body=body, year=2022)
    assert attribution(chunk) == expected
    assert attribution(replace(chunk, guideline="ESMO 2020")) == "ESMO 2020"  # a recommendation's own label wins
    assert attribution(replace(chunk, year=None)) is None


def test_answers_citations_and_passages_name_a_body_stated_in_full_by_its_initials(tmp_path) -> None:
    from qa_service.schemas import AskRequest, SearchRequest, source_label
    from tests.qa_service.mini_corpus import pipeline_over

    pipeline = pipeline_over(
        tmp_path,
        {
            "ng.txt": "Offer naloxone to patients taking opioids at 50 MME per day or more.\n",
            "ng.txt.meta.yaml": "title: Opioid prescribing\n"
            "issuing_body: National Institute for Health and Care Excellence\nyear: 2019\n",
        },
    )
    reply = pipeline.ask(AskRequest(question="when to offer naloxone with opioids?"))
    assert not reply.abstained and reply.answer.startswith("Per NICE 2019, offer naloxone")
    assert reply.citations[0].guideline == "NICE 2019" and reply.citations[0].issuing_body.startswith("National")
    (passage,) = pipeline.search(SearchRequest(query="naloxone opioids")).passages
    assert passage.guideline == "NICE 2019" and source_label(passage).startswith("NICE 2019 — Opioid prescribing")


RENAL_CHECKS = {
    "bma/renal.md": "# Bone-modifying agents\n\n## Renal safety\n\n"
    "Zoledronic acid 4 mg every 12 weeks is an accepted alternative to the schedule of every 3 to 4 weeks. "
    "Check serum creatinine before every intravenous bisphosphonate dose. "
    "Reduce the bisphosphonate dose of pamidronate when creatinine clearance falls. "
    "Opioids need no renal check of this kind.\n"
}


def test_a_sentence_naming_the_class_of_the_drug_asked_about_is_about_that_drug(tmp_path):
    from qa_service.compose import class_credit

    index, row, chunk = chunk_holding(tmp_path, RENAL_CHECKS, "serum creatinine")
    question = "need creatinine before each zometa?"  # the brand name reads as zoledronic acid, a bisphosphonate
    bisphosphonate = (frozenset(keyword_tokens("bisphosphonate")), frozenset(keyword_tokens("zoledronic acid")))
    assert bisphosphonate in class_credit(question)
    assert bisphosphonate in class_credit("creatinine before each zoledronic acid dose?")  # a name of two words too
    assert not class_credit("creatinine before each dose?")
    candidates = [Candidate(chunk=chunk, row=row, rank=0)]
    composer = ExtractiveComposer(index, AnswerSettings())

    scored = {s.text.split()[0]: s for s in composer.score_sentences(question, query_vector(question), candidates)}

    assert scored["Check"].class_share > 0  # names the class: credited as naming zoledronic acid
    assert scored["Zoledronic"].class_share == 0  # names the drug itself: nothing more to credit
    assert scored["Opioids"].class_share == 0  # another class
    assert scored["Reduce"].class_share == 0  # the class, but said of another drug of it
    # The evidence gate reads the best score without the credit, as it was fitted.
    composed = composer.compose(question, query_vector(question), candidates, max_words=60)
    assert composed.best_sentence_score == pytest.approx(max(s.score - s.class_share for s in scored.values()))


CESSATION = {
    "lung/cessation.md": "# Lung cancer screening\n\n## Smoking cessation\n\n"
    "Refer smokers to the national quit line for telephone counselling. "
    "The U.S. Food and Drug Administration has approved bupropion and varenicline for smoking cessation. "
    "Counselling and medication together work better than either alone.\n\n"
    "## Screening devices\n\nThe devices the Food and Drug Administration (FDA) cleared are listed elsewhere.\n"
}


def test_a_sentence_spelling_out_an_abbreviation_the_index_defines_is_credited_with_it(tmp_path):
    index, row, chunk = chunk_holding(tmp_path, CESSATION, "bupropion")
    question = "which FDA-approved cessation meds?"
    candidates = [Candidate(chunk=chunk, row=row, rank=0)]
    composer = ExtractiveComposer(index, AnswerSettings())
    assert composer._long_forms["fda"] == frozenset(keyword_tokens("food and drug administration"))

    vector = query_vector(question)
    with_definitions = {s.text.split()[0]: s.score for s in composer.score_sentences(question, vector, candidates)}
    composer._long_forms = {}  # the same composer without the index's definitions
    without = {s.text.split()[0]: s.score for s in composer.score_sentences(question, vector, candidates)}

    assert with_definitions["The"] > without["The"]  # "Food and Drug Administration" says "FDA"
    assert with_definitions["Refer"] == without["Refer"]  # no long form, no credit


# -- a question in several parts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("single fraction dose for painful bone metastases", 100),
        ("painful rib met: single fraction dose?", 125),
        ("painful rib met, 8 Gy given: dose for retreatment, and how soon?", 150),  # four parts: two more at most
    ],
)
def test_each_part_of_a_question_past_the_first_adds_a_share_of_the_words(question, expected):
    assert len(question_parts(question)) >= (1 if expected == 100 else 2)
    assert words_for(question, 100, 0.25) == expected
    assert words_for(question, 100, 0.0) == 100


MULTI_PART = "painful bone metastases: single fraction dose, and which imaging first?"


def test_a_question_in_several_parts_is_shown_more_but_weighed_at_the_usual_length(mini_index, rt_and_bma):
    vector = query_vector(MULTI_PART)
    wide = ExtractiveComposer(mini_index, AnswerSettings(part_words_share=1.0)).compose(
        MULTI_PART, vector, rt_and_bma, max_words=30
    )
    usual = ExtractiveComposer(mini_index, AnswerSettings(part_words_share=0.0)).compose(
        MULTI_PART, vector, rt_and_bma, max_words=30
    )

    shown = sum(len(s.text.split()) for s in wide.sentences)
    assert len(wide.sentences) > len(usual.sentences) and shown > 30
    # The gate weighs exactly the answer the usual length gives, not the longer one shown.
    assert usual.weighed is None and wide.weighed == usual.sentences
    assert wide.gate_sentences() == usual.gate_sentences() == [s for s in usual.sentences if not s.unweighed]


_OPIOIDS = (
    "If patients already receiving long-term {} require additional opioids for superimposed severe acute pain, "
    "opioids should be continued only for the duration of pain severe enough to require additional opioids."
)


@pytest.mark.parametrize(
    ("later", "earlier", "repeated"),
    [
        (_OPIOIDS.format("opioids"), _OPIOIDS.format("opioid therapy"), True),  # one word more, one plural
        (_OPIOIDS.format("opioid therapy"), _OPIOIDS.format("opioids"), True),
        (
            "At this cutoff, however, many women would not have a net benefit from risk-reducing medications.",
            "At this cutoff, however, USPSTF states, many women would not have a net benefit from risk-reducing "
            "medications.",
            True,
        ),
        (  # another word in the same place: another statement
            "The costs of physical therapy interventions are likely to vary across countries and settings.",
            "The costs of pharmacological therapy interventions are likely to vary across countries and settings.",
            False,
        ),
        (  # the same words in another order: the converse
            "If aprepitant cannot be used, dexamethasone should be continued in the delayed phase.",
            "If dexamethasone cannot be used, aprepitant should be continued in the delayed phase.",
            False,
        ),
        (  # other numbers
            "Raloxifene (60 mg per day orally for 5 years) should be discussed as an option to reduce the risk.",
            "Tamoxifen (20 mg per day orally for 5 years) should be discussed as an option to reduce the risk.",
            False,
        ),
        ("Management of cancer-related pain.", "This does not imply that management of cancer-related pain.", False),
        (  # a short statement of a longer one's start: the longer says more, the shorter is no repeat of it
            "Tamoxifen is not recommended in combination with hormone therapy.",
            "Tamoxifen is not recommended for use in combination with hormone therapy or hormonal contraception or in "
            "women who are pregnant, may become pregnant, or are breastfeeding.",
            False,
        ),
    ],
)
def test_a_sentence_repeating_one_in_other_words_is_told_apart(later: str, earlier: str, repeated: bool) -> None:
    assert repeats(later, earlier) is repeated


def test_the_answer_quotes_a_sentence_once_when_two_passages_say_it_in_other_words(tmp_path) -> None:
    """CDC 2022 states its recommendation in the summary and again in the chapter, one word apart: answers quoted it
    twice ("... long-term opioid therapy require ..." and "... long-term opioids require ...")."""
    from qa_service.schemas import AskRequest
    from tests.qa_service.mini_corpus import pipeline_over
    from tests.qa_service.test_pipeline import answering

    files = {
        "summary.md": "# Summary\n\n## Acute pain\n\n" + _OPIOIDS.format("opioid therapy") + "\n",
        "chapter.md": "# Recommendation 6\n\n## Acute pain on long-term opioids\n\n"
        + _OPIOIDS.format("opioids")
        + " Taper to the baseline dosage when additional opioids were used around the clock for more than a few "
        "days.\n",
    }
    answer = (
        answering(pipeline_over(tmp_path, files))
        .ask(AskRequest(question="pt on long-term opioids needs additional opioids after major surgery - how long?"))
        .answer
    )

    assert answer.count("require additional opioids for superimposed severe acute pain") == 1
