"""Every metric against values computed by hand."""

from __future__ import annotations

import math

import pytest

from eval.metrics import (
    CitedAnswer,
    abstained_or_cautioned,
    abstention_recall,
    answer_sentences,
    best_span,
    broken_words,
    cautioned_rate,
    citation_precision,
    citation_precision_one,
    citation_valid,
    citation_validity,
    citations_with_page,
    coverage,
    coverage_at_k,
    dedupe,
    doc_in_first_citations,
    exact_match,
    false_abstention_rate,
    first_relevant_rank,
    grounding,
    grounding_one,
    key_fact_losses,
    key_fact_recall,
    key_fact_share,
    latency_summary,
    markers,
    mean_score,
    mrr_at_k,
    ndcg,
    ndcg_at_k,
    normalize_answer,
    numbers,
    page_hit,
    recall_at_k,
    rouge_l,
    rouge_l_score,
    span_scores,
    strip_markers,
    token_f1,
)

INV_LOG3 = 1 / math.log2(3)  # discount at rank 2

RUNS = {"q1": ["a", "b", "c"], "q2": ["x", "y"], "q3": []}
QRELS = {"q1": {"b"}, "q2": {"z"}, "q3": {"a"}, "q4": set()}


# -- retrieval -----------------------------------------------------------------------------------


def test_recall_at_k_is_the_share_of_questions_with_a_hit_and_skips_questions_without_gold():
    assert recall_at_k(RUNS, QRELS, 1).value == 0.0
    two = recall_at_k(RUNS, QRELS, 2)
    assert two.value == pytest.approx(1 / 3)
    assert two.per_question == {"q1": 1.0, "q2": 0.0, "q3": 0.0}  # q4 has no gold


def test_a_question_missing_from_the_run_scores_zero():
    assert recall_at_k({}, {"q1": {"a"}}, 10).per_question == {"q1": 0.0}


def test_mrr_uses_the_first_relevant_rank_within_k():
    assert mrr_at_k(RUNS, QRELS, 10).value == pytest.approx(0.5 / 3)
    assert mrr_at_k({"q": ["a", "b", "c"]}, {"q": {"c", "b"}}, 10).value == 0.5
    assert mrr_at_k({"q": ["a", "b", "c"]}, {"q": {"c"}}, 2).value == 0.0


def test_ndcg_binary_gains():
    assert ndcg_at_k(["a", "b", "c"], {"b"}) == pytest.approx(INV_LOG3)
    # relevant at ranks 1 and 3; ideal at ranks 1 and 2
    assert ndcg_at_k(["a", "b", "c"], {"a", "c"}) == pytest.approx((1 + 0.5) / (1 + INV_LOG3))
    assert ndcg_at_k(["a", "b"], {"a", "b"}) == pytest.approx(1.0)
    assert ndcg_at_k([], {"a"}) == 0.0
    assert ndcg(RUNS, QRELS, 10).per_question == pytest.approx({"q1": INV_LOG3, "q2": 0.0, "q3": 0.0})


def test_lenient_ndcg_counts_only_as_many_hits_as_strict_gold_documents():
    # strict gold {b}; lenient adds its near-duplicate c: one hit is ideal, the second gains nothing
    assert ndcg_at_k(["a", "b", "c"], {"b", "c"}, needed=1) == pytest.approx(INV_LOG3)
    assert ndcg_at_k(["b", "c"], {"b", "c"}, needed=1) == 1.0
    assert ndcg_at_k(["a", "b", "c"], {"b", "c"}) == pytest.approx((INV_LOG3 + 0.5) / (1 + INV_LOG3))
    assert ndcg(RUNS, {"q1": {"b", "c"}}, 10, needed={"q1": 1}).value == pytest.approx(INV_LOG3)


def test_coverage_is_the_share_of_gold_found():
    assert coverage_at_k(["a", "b", "c"], {"a", "d"}, 10) == 0.5
    assert coverage_at_k(["a", "b", "c"], {"a", "d"}, 10, needed=1) == 1.0
    assert coverage_at_k(["a"], set(), 10) == 0.0
    assert coverage({"q": ["a", "d"]}, {"q": {"a", "d", "e", "f"}}, 1).value == 0.25


def test_documents_rank_by_their_first_passage_and_ties_keep_service_order():
    passages_docs = ["d1", "d1", None, "d2", "d1", "d3"]
    ranked = dedupe(passages_docs)
    assert ranked == ["d1", "d2", "d3"]
    assert first_relevant_rank(ranked, {"d3"}) == 3
    # two passages with the same score: the list order decides, never the id
    assert first_relevant_rank(dedupe(["z", "a"]), {"a"}) == 2


def test_mean_score_drops_nones_and_is_none_when_nothing_scored():
    assert mean_score({"a": None, "b": 1.0, "c": 0.0}).value == 0.5
    empty = mean_score({"a": None})
    assert empty.value is None and empty.per_question == {}
    assert recall_at_k({}, {"q": set()}, 5).value is None


# -- answers ---------------------------------------------------------------------------------------


def test_markers_are_found_and_stripped():
    text = "Give 8 Gy [1]. Or [2, 3] fractions [12]."
    assert markers(text) == [1, 2, 3, 12]
    assert strip_markers(text) == "Give 8 Gy. Or fractions."


def test_answer_sentences_keep_their_trailing_markers():
    text = "Per ESMO 2020, give 8 Gy. [1] Check creatinine first. [2] Done [3]."
    assert answer_sentences(text) == ["Per ESMO 2020, give 8 Gy. [1]", "Check creatinine first. [2]", "Done [3]."]
    assert answer_sentences("") == []


def test_key_fact_recall_any_alternative_case_insensitive_markers_ignored():
    facts = [["8 Gy"], ["single fraction", "one fraction"], ["denosumab"]]
    assert key_fact_share("Give 8 GY in a single [2] fraction.", facts) == pytest.approx(2 / 3)
    assert key_fact_share("", facts) == 0.0
    assert key_fact_share("anything", []) is None
    score = key_fact_recall({"q1": "8 gy once", "q3": "x"}, {"q1": [["8 Gy"], ["once"]], "q2": [["x"]], "q4": []})
    assert score.per_question == {"q1": 1.0, "q2": 0.0}  # q2 has no answer: states nothing; q4 has no facts
    assert score.value == 0.5


def test_key_fact_losses_say_where_each_unstated_fact_was_lost():
    facts = {
        "q1": [["8 Gy"], ["single fraction"], ["denosumab"]],
        "q2": [["zoledronic acid"], ["creatinine"]],
        "q3": [["MRI"]],
        "q4": [],
    }
    passages = ["Give 8 Gy in a single fraction.", "Denosumab 120 mg every 4 weeks."]
    replies = {
        # "8 Gy" stated; "single fraction" in a passage the answer left out; "denosumab" in the other passage
        "q1": ("Give 8 Gy. [1]", False, passages),
        # refused: both facts count as lost to the refusal, whatever the passages hold
        "q2": ("", True, ["Check creatinine before zoledronic acid."]),
        # neither stated nor in any passage
        "q3": ("Obtain a bone scan. [1]", False, ["Obtain a bone scan."]),
    }
    losses = key_fact_losses(replies, facts)
    assert losses.refused.per_question == {"q1": 0.0, "q2": 1.0, "q3": 0.0}
    assert losses.unquoted.per_question == pytest.approx({"q1": 2 / 3, "q2": 0.0, "q3": 0.0})
    assert losses.unretrieved.per_question == {"q1": 0.0, "q2": 0.0, "q3": 1.0}
    answers = {qid: "" if abstained else text for qid, (text, abstained, _) in replies.items()}
    stated = key_fact_recall(answers, {q: f for q, f in facts.items() if f}).per_question
    for qid in replies:  # with the facts stated, the losses add up to every fact
        total = stated[qid] + losses.refused.per_question[qid] + losses.unquoted.per_question[qid]
        assert total + losses.unretrieved.per_question[qid] == pytest.approx(1.0)


def test_squad_normalisation_f1_and_exact_match():
    assert normalize_answer("The  Cat, sat!") == "cat sat"
    assert token_f1("the cat sat", "a cat sat down") == pytest.approx(0.8)  # P 1, R 2/3
    assert token_f1("", "cat") == 0.0
    assert token_f1("", "") == 1.0
    assert token_f1("dog", "cat") == 0.0
    assert exact_match("The Cat!", "cat") == 1.0


def test_best_span_takes_the_best_sentence_or_the_whole_answer_and_the_best_reference():
    answer = "Alpha beta gamma. [1] The dog barked loudly. [2]"
    assert best_span(answer, ["dog barked loudly"]) == (1.0, 1.0)
    f1, em = best_span(answer, ["cat", "alpha beta"])
    assert f1 == pytest.approx(0.8) and em == 0.0  # "alpha beta gamma" vs "alpha beta"
    assert best_span("", ["x"]) == (0.0, 0.0)
    f1s, ems = span_scores({"q1": answer, "q2": ""}, {"q1": ["dog barked loudly"], "q2": ["x"], "q3": []})
    assert f1s.per_question == {"q1": 1.0, "q2": 0.0} and ems.value == 0.5


def test_rouge_l_is_the_lcs_f_measure():
    assert rouge_l("a b c d", "a c d e") == pytest.approx(0.75)  # LCS a c d
    assert rouge_l("x y [1]", "w x z y") == pytest.approx(2 * (1.0 * 0.5) / 1.5)  # LCS 2: P 2/2, R 2/4
    assert rouge_l("", "a") == 0.0
    assert rouge_l_score({"q": "a b"}, {"q": ["a b", "c"]}).value == 1.0


# -- citations ---------------------------------------------------------------------------------------


def test_citation_validity_requires_every_marker_to_resolve():
    good = CitedAnswer("X. [1] Y. [2]", {1: ("d1", "X"), 2: ("d2", "Y")})
    bad = CitedAnswer("X. [1] Y. [3]", {1: ("d1", "X"), 2: ("d2", "Y")})
    assert citation_valid(good) == 1.0 and citation_valid(bad) == 0.0
    assert citation_valid(CitedAnswer("No markers.", {})) == 1.0
    outside = CitedAnswer("X. [1]", {1: ("d1", "X")}, passage_chunks={"c2"}, cited_chunks={1: "c1"})
    assert citation_valid(outside) == 0.0
    assert citation_validity({"a": good, "b": bad}).value == 0.5


def test_citation_precision_counts_gold_documents_or_quotes_stating_a_key_fact():
    reply = CitedAnswer("A [1] B [2] C [3]", {1: ("d1", "q"), 2: ("d9", "give 8 Gy once"), 3: ("d9", "nothing")})
    assert citation_precision_one(reply, {"d1"}, [["8 Gy"]]) == pytest.approx(2 / 3)
    assert citation_precision_one(CitedAnswer("A", {}), {"d1"}, []) is None
    score = citation_precision({"q": reply, "u": reply}, {"q": {"d1"}}, {"q": [["8 Gy"]]})
    assert score.per_question == {"q": pytest.approx(2 / 3)}  # u has no gold to judge by


def test_grounding_needs_numbers_and_half_the_content_words_in_the_cited_quote():
    quote = "Give 8 Gy in one single fraction for pain."
    reply = CitedAnswer(
        "Give 8 Gy in one fraction. [1] Use 20 Gy in five fractions. [1] Unrelated claim here.",
        {1: ("d", quote)},
    )
    assert grounding_one(reply) == pytest.approx(1 / 3)  # 2nd: 20 not in quote; 3rd: no citation
    half = CitedAnswer("Pain relief with fraction alone [1].", {1: ("d", quote)})  # pain, fraction of 4 words
    assert grounding_one(half) == 1.0
    assert grounding_one(CitedAnswer("", {})) is None
    assert numbers("1,000 mg, 2.5 or 8 Gy in 2020.") == {"1000", "2.5", "8", "2020"}
    assert grounding({"a": reply, "b": half}).value == pytest.approx((1 / 3 + 1) / 2)


# -- abstention, latency ---------------------------------------------------------------------------


def test_abstention_recall_and_false_abstention_rate():
    answerable = {"q1": True, "q2": True, "q3": False, "q4": False, "q5": False}
    abstained = {"q1": False, "q2": True, "q3": True, "q4": False}  # q5 not asked
    assert abstention_recall(abstained, answerable).per_question == {"q3": 1.0, "q4": 0.0}
    assert false_abstention_rate(abstained, answerable).value == 0.5
    assert abstention_recall({"q1": True}, {"q1": True}).value is None


def test_a_cautioned_answer_counts_as_not_confident_on_unanswerable_and_as_cautioned_on_answerable():
    answerable = {"q1": True, "q2": True, "q3": False, "q4": False, "q5": False}
    abstained = {"q1": False, "q2": True, "q3": False, "q4": False, "q5": True}
    caution = {"q1": True, "q2": True, "q3": True, "q4": False, "q5": False}  # q2's flag is moot: it abstained
    assert abstained_or_cautioned(abstained, caution, answerable).per_question == {"q3": 1.0, "q4": 0.0, "q5": 1.0}
    assert cautioned_rate(abstained, caution, answerable).per_question == {"q1": 1.0, "q2": 0.0}


def test_latency_summary_gives_each_stage_its_median_and_95th_percentile():
    summary = latency_summary([{"embed": 4.0, "total": 10.0}, {"embed": 1.0}, {"embed": 3.0}, {"embed": 2.0}])
    assert summary["embed"] == {"p50_ms": 2.5, "p95_ms": pytest.approx(3.85), "n": 4.0}
    assert summary["total"]["n"] == 1.0


def test_latency_summary_per_stage_sorted():
    summary = latency_summary([{"total": 10, "retrieve": 2}, {"total": 20, "retrieve": 4}, {"total": 30}])
    assert list(summary) == ["retrieve", "total"]
    assert summary["total"] == {"p50_ms": 20.0, "p95_ms": pytest.approx(29.0), "n": 3.0}
    assert summary["retrieve"]["p50_ms"] == 3.0


def test_right_document_among_the_first_three_citations_and_abstentions_score_zero():
    cited = {"a": ["x", "y", "gold"], "b": ["x", "y", "z", "gold"]}
    score = doc_in_first_citations(cited, {"a": {"gold"}, "b": {"gold"}, "c": {"gold"}})
    assert score.per_question == {"a": 1.0, "b": 0.0, "c": 0.0}


def test_page_hit_counts_a_cited_page_span_that_holds_the_gold_page_of_a_gold_document():
    cited = {"a": [("doc", 12, 14)], "b": [("other", 13, 13)], "c": [("doc", None, None)]}
    gold = {"a": ({"doc"}, [13]), "b": ({"doc"}, [13]), "c": ({"doc"}, [13]), "d": ({"doc"}, [])}
    assert page_hit(cited, gold).per_question == {"a": 1.0, "b": 0.0, "c": 0.0}


def test_citations_with_page_looks_only_at_paginated_documents():
    cited = {"a": [("pdf", 3, 3), ("pdf", None, None), ("html", None, None)], "b": [("html", None, None)]}
    assert citations_with_page(cited, {"pdf"}).per_question == {"a": 0.5}


def test_broken_words_finds_line_end_hyphens_left_in_answers():
    answers = {
        "a": "Offer pal- liative radiotherapy [1].",
        "b": "Non-small-cell and CA-125 stay [1].",
        "c": "In the second- or third-line setting, short- and long-acting opioids [1].",  # suspended hyphens
    }
    assert broken_words(answers).per_question == {"a": 1.0, "b": 0.0, "c": 0.0}


def test_the_service_s_attribution_is_not_a_fact_to_ground():
    from eval.metrics import sentence_grounded

    quote = "Offer naloxone when factors increase the risk for overdose."
    assert sentence_grounded(
        "Per CDC 2022 (strong recommendation), offer naloxone when factors increase risk [1].", [quote]
    )
    assert not sentence_grounded("Offer naloxone 4 mg when factors increase the risk [1].", [quote])
