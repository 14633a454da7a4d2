"""Hybrid retrieval over a real (hash-embedded) index: filters, modes, abbreviations, duplicates, fusion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest import keyword_tokens
from qa_service.retrieval import Retriever
from qa_service.schemas import Filters
from qa_service.settings import RetrievalSettings
from qa_service.vocabulary import abbreviations, expand_query, query_words

try:  # tests/qa_service as a package, or as a plain folder that pytest puts on sys.path
    from tests.qa_service.mini_corpus import MINI_CORPUS, build_mini_index, make_embedder
except ModuleNotFoundError:
    from mini_corpus import MINI_CORPUS, build_mini_index, make_embedder  # type: ignore[no-redef]

RT_QUERY = "single fraction radiotherapy for painful bone metastases"


def retriever(index, **settings) -> Retriever:
    return Retriever(index, make_embedder(), RetrievalSettings(**settings))


def rec_ids(index, hits) -> list[str | None]:
    return [index.chunks[h.row].rec_id for h in hits]


def chunks_of(index, hits):
    return [index.chunks[h.row] for h in hits]


# -- filters ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (Filters(issuing_body=["ASCO"]), {"BM-MM-01", "BM-MM-02"}),
        (Filters(issuing_body=["cco/asco"]), {"BM-MM-01", "BM-MM-02"}),
        (Filters(issuing_body=["ESMO"]), {"BM-RT-01", "BM-RT-02", "BM-DX-01", "BM-DX-02"}),
        (Filters(year_min=2018), {"BM-RT-01", "BM-RT-02", "BM-DX-01", "BM-DX-02", "HCM-01", "HCM-02"}),
        (Filters(year_max=2019), {"BM-MM-01", "BM-MM-02"}),
        (Filters(year_min=2020, year_max=2020), {"BM-RT-01", "BM-RT-02", "BM-DX-01", "BM-DX-02"}),
        (Filters(topic=["related/"]), {"HCM-01", "HCM-02"}),
        (Filters(topic=["bone-metastasis/diagnosis", "related"]), {"BM-DX-01", "BM-DX-02", "HCM-01", "HCM-02"}),
        (Filters(doc_id=["bone-metastasis/radiotherapy"]), {"BM-RT-01", "BM-RT-02"}),
        (Filters(issuing_body=["ESMO"], topic=["bone-metastasis/radio"]), {"BM-RT-01", "BM-RT-02"}),
    ],
    ids=lambda v: repr(v) if isinstance(v, Filters) else "",
)
def test_filters_keep_only_matching_passages_in_every_mode(mini_index, filters, expected):
    for mode in ("hybrid", "dense", "keyword"):
        result = retriever(mini_index, mode=mode).retrieve(RT_QUERY, 8, filters)

        found = set(rec_ids(mini_index, result.hits))
        assert found <= expected, (mode, found)
        if mode != "keyword":  # the dense path ranks every allowed row; BM25 only rows sharing a word
            assert found == expected, (mode, found)


FILLER_SENTENCES = (
    "Single fraction radiotherapy relieves painful bone metastases in most patients within four weeks.",
    "Painful bone metastases respond to radiotherapy; a single fraction suits patients with short survival.",
    "Retreatment with radiotherapy is possible when pain from bone metastases returns after a single fraction.",
    "Radiotherapy for painful bone metastases of the spine may be given as a single fraction or several.",
    "Hemibody radiotherapy treats widespread painful bone metastases when single sites are too many.",
    "Pain flare after single fraction radiotherapy for bone metastases can be prevented with steroids.",
)


def _filler(n: int, sentence: str) -> str:
    return (
        f'---\ntitle: "Radiotherapy note {n}"\nissuing_body: "ESTRO"\nyear: 2022\ntopic: filler/rt\n---\n\n'
        f"# Radiotherapy note {n}\n\n### BM-FI-0{n} Radiotherapy note {n}\nGuideline: ESTRO 2022\n\n{sentence}\n"
    )


@pytest.fixture(scope="module")
def crowded_index(tmp_path_factory):
    """The mini corpus plus six radiotherapy notes that outrank the hypercalcaemia passages on both paths."""
    from ingest import open_index

    files = dict(MINI_CORPUS)
    files.update({f"filler/rt-{n}.md": _filler(n, text) for n, text in enumerate(FILLER_SENTENCES, start=1)})
    return open_index(build_mini_index(tmp_path_factory.mktemp("crowded"), files))


def test_filter_is_applied_before_ranking_so_low_ranked_allowed_passages_fill_top_k(crowded_index):
    narrow = retriever(crowded_index, candidates=1)  # each path contributes max(1, top_k * 2) = 4 candidates
    result = narrow.retrieve(RT_QUERY, 2)
    hcm_rows = {row for row, c in enumerate(crowded_index.chunks) if c.rec_id in {"HCM-01", "HCM-02"}}
    _, dense_top4 = crowded_index.dense_search(result.query_vector, 4)
    keyword_scores = crowded_index.keyword_scores(result.keyword_tokens)
    keyword_top4 = sorted(range(len(keyword_scores)), key=lambda r: -keyword_scores[r])[:4]
    # Truncating each path to its candidates first and filtering after would leave nothing.
    assert not hcm_rows & set(dense_top4.tolist()) and not hcm_rows & set(keyword_top4)

    filtered = narrow.retrieve(RT_QUERY, 2, Filters(topic=["related/hypercalcaemia"])).hits

    assert {h.row for h in filtered} == hcm_rows


def test_empty_filters_filter_nothing(mini_index):
    r = retriever(mini_index)

    assert r.allowed_rows(None) is None
    assert r.allowed_rows(Filters()) is None
    assert len(r.allowed_rows(Filters(doc_id=["unknown/doc"]))) == 0


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_hidden_rows_are_never_retrieved_and_filters_still_apply(mini_index, mode):
    r = retriever(mini_index, mode=mode)
    first = r.retrieve(RT_QUERY, 3).hits
    r.hidden = np.array([first[0].row])
    try:
        again = r.retrieve(RT_QUERY, 3).hits
        filtered = r.allowed_rows(Filters(doc_id=[mini_index.chunks[first[0].row].doc_id]))
    finally:
        r.hidden = None
    assert first[0].row not in {h.row for h in again} and len(again) == 3
    assert filtered is not None and first[0].row not in filtered.tolist()
    assert r.retrieve(RT_QUERY, 3).hits[0].row == first[0].row


# -- modes --------------------------------------------------------------------------------------------


def test_dense_mode_uses_only_the_dense_path(mini_index):
    hits = retriever(mini_index, mode="dense").retrieve(RT_QUERY, 5).hits

    assert len(hits) == 5
    assert all(h.dense_rank is not None and h.keyword_rank is None for h in hits)
    assert [h.dense_rank for h in hits] == [1, 2, 3, 4, 5]


def test_keyword_mode_uses_only_bm25_and_returns_only_matching_passages(mini_index):
    hits = retriever(mini_index, mode="keyword").retrieve("calcitonin", 5).hits

    assert rec_ids(mini_index, hits) == ["HCM-01"]
    assert hits[0].dense_rank is None and hits[0].keyword_rank == 1 and hits[0].keyword_score > 0


def test_keyword_mode_finds_nothing_for_words_the_corpus_never_uses_while_dense_always_answers(mini_index):
    assert retriever(mini_index, mode="keyword").retrieve("leukaemia", 5).hits == []
    assert len(retriever(mini_index, mode="dense").retrieve("leukaemia", 5).hits) == 5


def test_hybrid_mode_fuses_both_paths(mini_index):
    hits = retriever(mini_index, mode="hybrid").retrieve(RT_QUERY, 5).hits

    assert rec_ids(mini_index, hits)[0] == "BM-RT-01"
    assert hits[0].dense_rank is not None and hits[0].keyword_rank is not None
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_every_mode_returns_the_query_vector_and_keyword_tokens(mini_index):
    for mode in ("hybrid", "dense", "keyword"):
        result = retriever(mini_index, mode=mode).retrieve("EBRT", 3)

        assert result.query_vector.shape == (64,)
        assert keyword_tokens("external")[0] in result.keyword_tokens


# -- abbreviations ------------------------------------------------------------------------------------


def test_abbreviation_table_is_loaded_from_the_packaged_data():
    table = abbreviations()

    assert table["ebrt"] == ["external beam radiotherapy"]
    assert "zoledronic acid" in table["zol"]
    assert expand_query("EBRT for MSCC?") == (
        "EBRT for MSCC? external beam radiotherapy metastatic spinal cord compression"
    )
    assert expand_query("painful bone") == "painful bone"


def test_clinical_shorthand_is_expanded():
    assert "image-guided radiotherapy" in expand_query("IGRT for spine SBRT")
    assert "intramedullary" in expand_query("post op RT after IM nail for path fracture?")
    assert "pathological" in expand_query("path fx")
    assert "oligometastatic" in expand_query("oligomets in spine")
    assert "prescription" in expand_query("duration of opioid rx for acute pain")


def test_rx_is_known_to_a_corpus_that_writes_prescription():
    from qa_service.gate_features import unknown_terms

    # "rx" alone was a word the corpus never uses: "duration of opioid rx ..." was refused at 0.10.
    idf = dict.fromkeys(keyword_tokens("duration of opioid prescription for acute pain after surgery"), 1.0)
    assert unknown_terms("duration of opioid rx for acute pain after surgery", idf) == 0


def test_lay_terms_for_red_flag_symptoms_meet_the_guideline_wording():
    expanded = expand_query("ca pt back pain + new leg weakness, urinary retention")

    assert {"spinal", "limb", "bladder"} <= set(expanded.split())


def test_hash_is_shorthand_for_fraction_or_fracture_even_glued_to_a_number():
    words = dict(query_words("retreatment after single # vs 8 Gy/5#"))

    assert words["#"] == ("fraction", "fracture")
    assert "5" in words and "8" in words
    assert "fraction" in expand_query("1# or 5#?")


def test_a_two_word_phrase_is_one_word_with_its_expansions():
    words = dict(query_words("side effects of spine SBRT, one shot?"))

    assert "toxicity" in words["side effects"] and words["one shot"] == ("single fraction",)
    assert "side" not in words and "effects" not in words
    assert "single fraction" in expand_query("RT dose one shot")


def test_query_words_strip_edge_punctuation_and_split_on_slashes():
    assert [w for w, _ in query_words("(EBRT), f/u?")] == ["ebrt", "f", "u"]
    assert dict(query_words("EBRT?"))["ebrt"] == ("external beam radiotherapy",)


def test_every_abbreviation_line_has_a_key_and_an_expansion():
    text = (Path(__file__).resolve().parents[2] / "qa_service" / "data" / "abbreviations.tsv").read_text()
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    keys = [line.partition("\t")[0].strip().lower() for line in lines]

    assert all("\t" in line and line.partition("\t")[2].strip() for line in lines)
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)


def test_abbreviation_expansion_lets_the_keyword_path_find_the_spelled_out_passage(mini_index):
    assert not any("EBRT" in c.text for c in mini_index.chunks)

    expanded = retriever(mini_index, mode="keyword").retrieve("EBRT", 3).hits
    plain = retriever(mini_index, mode="keyword", expand_abbreviations=False).retrieve("EBRT", 3).hits

    assert rec_ids(mini_index, expanded)[0] == "BM-RT-01"
    assert "external beam radiotherapy" in chunks_of(mini_index, expanded)[0].text.lower()
    assert plain == []


def test_expansion_handles_punctuation_and_lay_terms(mini_index):
    hits = retriever(mini_index, mode="keyword").retrieve("zol (dose?)", 3).hits

    assert set(rec_ids(mini_index, hits)) >= {"BM-MM-01", "BM-MM-02"}


# -- duplicates and top_k -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def duplicated_index(tmp_path_factory):
    from ingest import open_index

    files = dict(MINI_CORPUS)
    files["copies/radiotherapy.md"] = MINI_CORPUS["bone-metastasis/radiotherapy.md"]
    return open_index(build_mini_index(tmp_path_factory.mktemp("dup"), files))


def test_near_duplicate_passages_collapse_to_one(duplicated_index):
    copies = [c for c in duplicated_index.chunks if c.rec_id == "BM-RT-01"]
    assert {c.doc_id for c in copies} == {"bone-metastasis/radiotherapy", "copies/radiotherapy"}

    for mode in ("hybrid", "dense", "keyword"):
        hits = retriever(duplicated_index, mode=mode).retrieve(RT_QUERY, 10).hits
        found = rec_ids(duplicated_index, hits)

        assert found.count("BM-RT-01") == 1, (mode, found)
        assert found.count("BM-RT-02") <= 1, (mode, found)
        texts = [c.text for c in chunks_of(duplicated_index, hits)]
        assert len(texts) == len(set(texts))


def test_collapsed_duplicates_do_not_shrink_top_k(duplicated_index):
    hits = retriever(duplicated_index, mode="dense").retrieve(RT_QUERY, 8).hits

    assert len(hits) == 8  # ten chunks, two of them copies
    assert len({duplicated_index.chunks[h.row].text for h in hits}) == 8


@pytest.mark.parametrize("top_k", [1, 3, 8])
def test_retrieve_returns_at_most_top_k_hits(mini_index, top_k):
    for mode in ("hybrid", "dense"):
        assert len(retriever(mini_index, mode=mode).retrieve(RT_QUERY, top_k).hits) == top_k


def test_top_k_larger_than_the_index_returns_every_passage_once(mini_index):
    hits = retriever(mini_index).retrieve(RT_QUERY, 50).hits

    assert sorted(h.row for h in hits) == list(range(len(mini_index.chunks)))


# -- fusion -------------------------------------------------------------------------------------------


def test_convex_fusion_adds_min_max_normalised_scores(mini_index):
    r = retriever(mini_index, fusion="convex", dense_weight=1.0, keyword_weight=2.0)
    dense = [(0, 0.9), (1, 0.8), (3, 0.5)]
    keyword = [(1, 7.0), (2, 3.0)]

    hits = r._fuse(dense, keyword)

    # dense normalised: 0 -> 1.0, 1 -> 0.75, 3 -> 0.0; keyword normalised: 1 -> 1.0, 2 -> 0.0
    assert [h.row for h in hits] == [1, 0, 2, 3]
    assert hits[0].score == pytest.approx(0.75 + 2.0)
    assert hits[1].score == pytest.approx(1.0)
    assert hits[2].score == pytest.approx(0.0) and hits[3].score == pytest.approx(0.0)


def test_reciprocal_rank_fusion_arithmetic(mini_index):
    r = retriever(mini_index, fusion="rrf", rrf_k=10, dense_weight=1.0, keyword_weight=2.0)
    dense = [(0, 0.9), (1, 0.8)]
    keyword = [(1, 7.0), (2, 3.0)]

    hits = r._fuse(dense, keyword)

    assert [h.row for h in hits] == [1, 2, 0]
    assert hits[0].score == pytest.approx(1 / 12 + 2 / 11)
    assert hits[1].score == pytest.approx(2 / 12)
    assert hits[2].score == pytest.approx(1 / 11)
    assert (hits[0].dense_rank, hits[0].keyword_rank, hits[0].keyword_score) == (2, 1, 7.0)
    assert (hits[1].dense_rank, hits[1].keyword_rank) == (None, 2)
    assert (hits[2].dense_rank, hits[2].keyword_rank, hits[2].dense_score) == (1, None, 0.9)


def test_fusion_breaks_ties_by_row(mini_index):
    hits = retriever(mini_index)._fuse([(5, 0.9)], [(3, 1.0)])

    assert [h.row for h in hits] == [3, 5]


def test_zero_keyword_weight_makes_hybrid_rank_like_dense(mini_index):
    hybrid = retriever(mini_index, keyword_weight=0.0).retrieve(RT_QUERY, 5).hits
    dense = retriever(mini_index, mode="dense").retrieve(RT_QUERY, 5).hits

    assert [h.row for h in hybrid] == [h.row for h in dense]


def test_with_settings_shares_the_index_and_changes_the_mode(mini_index):
    base = retriever(mini_index)
    keyword = base.with_settings(RetrievalSettings(mode="keyword"))

    assert keyword.index is base.index and base.settings.mode == "hybrid"
    assert all(h.dense_rank is None for h in keyword.retrieve(RT_QUERY, 3).hits)


def test_confidence_fusion_weights_each_path_by_its_margin(mini_index):
    r = retriever(mini_index, fusion="confidence")
    # Dense is unsure (best 0.60, tenth 0.54: margin 0.1); keyword is sure (best 10, tenth 1: margin 0.9).
    dense_scores = [0.60, 0.59, 0.58, 0.57, 0.56, 0.55, 0.545, 0.543, 0.541, 0.54]
    dense = list(zip(range(10), dense_scores, strict=True))
    keyword = [(row, 10.0 if i == 0 else 1.0) for i, row in enumerate([9, 8, 7, 6, 5, 4, 3, 2, 1, 0])]

    hits = r._fuse(dense, keyword)

    assert hits[0].row == 9  # keyword's confident first beats dense's hesitant first
    assert hits[0].score == pytest.approx(0.1 * 0.0 + 0.9 * 1.0)
    assert hits[1].row == 0 and hits[1].score == pytest.approx(0.1 * 1.0 + 0.9 * 0.0)


def test_margin_of_a_single_or_empty_path():
    from qa_service.retrieval import _margin

    assert _margin([]) == 0.0
    assert _margin([3.0]) == 1.0
    assert _margin([4.0, 3.0, 1.0]) == pytest.approx(0.75)


def test_bigram_weight_lifts_the_passage_holding_the_phrase(mini_index):
    # Both words occur in many passages; only the phrase order distinguishes.
    tokens = keyword_tokens("single fraction")
    plain = mini_index.keyword_scores(tokens)
    with_pairs = mini_index.keyword_scores(tokens, bigram_weight=1.0)
    pair_hits = mini_index.keyword_scores(tokens, bigram_weight=1.0) - plain

    assert (with_pairs >= plain).all()
    phrase_rows = [i for i, c in enumerate(mini_index.chunks) if "single fraction" in c.text.lower()]
    assert phrase_rows and all(pair_hits[r] > 0 for r in phrase_rows)
    assert all(pair_hits[r] == 0 for r in range(len(mini_index.chunks)) if r not in phrase_rows)


# -- a question that names a guideline's source ---------------------------------------------------------


def test_source_names_come_from_the_issuing_bodies_and_their_initials():
    from ingest import Chunk
    from qa_service.retrieval import source_names

    def chunk(body: str | None, title: str) -> Chunk:
        return Chunk(
            chunk_id="c",
            doc_id="d",
            position=0,
            text="t",
            start=0,
            end=1,
            title=title,
            section=[],
            sentences=[],
            issuing_body=body,
        )

    assert source_names(chunk("CCO/ASCO", "Bone-modifying agents")) == {"cco", "asco"}
    assert source_names(chunk("World Health Organization", "Guidelines on chronic pain")) == {"who"}
    assert source_names(chunk("Centers for Disease Control and Prevention", "CDC guideline")) == {"cdcp", "cdc"}
    assert source_names(chunk(None, "SARS-CoV-2 ORF8 and MERS")) == set()  # a title's acronyms name its subject
    assert source_names(chunk("Endocrine Society", "Hypercalcaemia")) == set()  # "es": too short to mean one body


def test_a_source_is_named_in_capitals_or_in_any_case_when_its_name_is_no_english_word():
    from qa_service.retrieval import named_in

    names = frozenset({"who", "cdc", "esmo"})
    assert named_in("per WHO, is CBT ok?", names) == {"who"}
    assert named_in("who should get CBT?", names) == set()
    assert named_in("does the cdc 2022 guideline apply? and esmo?", names) == {"cdc", "esmo"}
    # a body's name that is an English word names it only in capitals
    assert named_in("would be nice to know: zol dose?", frozenset({"nice"})) == set()
    assert named_in("per NICE, zol dose?", frozenset({"nice"})) == {"nice"}


def test_a_question_naming_a_source_lifts_that_sources_passages(mini_index):
    query = "hypercalcaemia of malignancy treatment with a bisphosphonate"

    def bodies(question: str, **settings) -> list[str | None]:
        hits = retriever(mini_index, **settings).retrieve(question, 8).hits
        return [mini_index.chunks[h.row].issuing_body for h in hits]

    plain = bodies(query).index("CCO/ASCO")
    assert plain > 0  # the hypercalcaemia guideline leads when no source is named

    assert bodies(f"{query}: what does ASCO say?", named_source_boost=1.0).index("CCO/ASCO") < plain
    assert bodies(f"{query}: what does ASCO say?", named_source_boost=0).index("CCO/ASCO") == plain
    # On by default (0.5); the pipeline asks again without the lift when the lifted passages do not answer.
    assert bodies(f"{query}: what does ASCO say?") == bodies(f"{query}: what does ASCO say?", named_source_boost=0.5)
    assert retriever(mini_index).retrieve(f"{query}: what does ASCO say?", 8).lifted == {"asco"}
    assert retriever(mini_index).retrieve(f"{query}: what does ASCO say?", 8, lift_named_sources=False).lifted == set()
    assert bodies(f"{query}: what does the ES say?", named_source_boost=1.0).index("CCO/ASCO") == plain  # no name


# -- what the reranker reads ----------------------------------------------------------------------------

LONG_PASSAGE = {
    "article.md": (
        "# Viral shedding study\n\n## Results\n\n"
        "Samples were collected from forty households over two winters. "
        "Each household kept a symptom diary and returned swabs by post. "
        "Laboratory staff were blinded to the diary entries throughout. "
        "The median incubation period was 5.2 days in children under five.\n"
    )
}


class RecordingReranker:
    """Scores every passage 0 and keeps what it was asked to read."""

    def __init__(self) -> None:
        self.read: list[str] = []

    def score(self, question: str, passages, *, max_length: int | None = None) -> np.ndarray:
        self.read.extend(passages)
        return np.zeros(len(passages), dtype=np.float32)

    def calibrate(self, logits: np.ndarray) -> np.ndarray:
        return logits


@pytest.mark.parametrize("window", [True, False])
def test_the_reranker_reads_a_long_passage_from_its_sentence_closest_to_the_question(tmp_path, window):
    from ingest import open_index

    index = open_index(build_mini_index(tmp_path, LONG_PASSAGE))
    assert len(index.chunks) == 1 and len(index.chunks[0].sentences) == 4
    reranker = RecordingReranker()
    retriever = Retriever(
        index,
        make_embedder(),
        RetrievalSettings(rerank=True, rerank_window=window),
        reranker=reranker,  # type: ignore[arg-type]
    )
    retriever.retrieve("median incubation period in children under five", 3)
    (read,) = reranker.read
    header, text = read.split("\n", 1)
    assert header == "Viral shedding study > Results"
    if window:  # the answering sentence leads; the head before it is not read
        assert text == "The median incubation period was 5.2 days in children under five."
    else:
        assert text.startswith("Samples were collected") and text.endswith("children under five.")


def test_a_question_closest_to_a_passages_first_sentence_reads_the_whole_passage(tmp_path):
    from ingest import open_index

    index = open_index(build_mini_index(tmp_path, LONG_PASSAGE))
    reranker = RecordingReranker()
    Retriever(index, make_embedder(), RetrievalSettings(rerank=True), reranker=reranker).retrieve(  # type: ignore[arg-type]
        "samples collected from forty households over two winters", 3
    )
    assert reranker.read[0].split("\n", 1)[1].startswith("Samples were collected from forty households")
    assert reranker.read[0].endswith("children under five.")
