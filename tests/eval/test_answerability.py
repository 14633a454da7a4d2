"""Answerability across sources: near-miss sets, AUROC, source-balanced fits and leave-one-source-out."""

from __future__ import annotations

import json

import numpy as np
import pytest

from eval.answerability import auroc, fit_sources, leave_one_source_out, near_miss_benchmark, restated_answers
from eval.errors import EvalDataError
from eval.fit_gate import GateSamples
from qa_service.gate_model import FEATURES, packaged_gate


def samples(n_pos: int, n_neg: int, *, shift: float = 0.0, seed: int = 0) -> GateSamples:
    """Answerable rows score high on every feature, unanswerable ones low; `shift` moves a whole source."""
    rng = np.random.default_rng(seed)
    d = len(FEATURES)
    x = np.vstack([rng.normal(0.7 + shift, 0.12, (n_pos, d)), rng.normal(0.3 + shift, 0.12, (n_neg, d))])
    n = n_pos + n_neg
    return GateSamples(x, np.array([True] * n_pos + [False] * n_neg), np.zeros(n, dtype=bool), np.ones(n, dtype=bool))


def test_auroc_is_the_chance_a_positive_outscores_a_negative():
    values = np.array([0.9, 0.8, 0.4, 0.3, 0.8])
    positive = np.array([True, True, False, False, False])
    # 0.9 beats all three negatives; 0.8 beats 0.4 and 0.3 and ties with 0.8 (half): 5.5 of 6 pairs.
    assert auroc(values, positive) == pytest.approx(5.5 / 6)
    assert auroc(values[:2], positive[:2]) is None


def test_the_near_miss_set_removes_a_share_of_answering_pages_and_their_duplicates(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    questions = tmp_path / "questions.jsonl"
    docs = [f"D{i}" for i in range(20)]
    corpus.write_text("".join(json.dumps({"doc_id": d, "title": d, "text": f"text {d}"}) + "\n" for d in docs))
    rows = [
        {"qid": f"q{i}", "question": f"about {d}?", "gold_doc_ids": [d], "meta": {"lenient_gold_doc_ids": [d, "D19"]}}
        for i, d in enumerate(docs[:10])
    ]
    questions.write_text("".join(json.dumps(r) + "\n" for r in rows))

    q_out, c_out = near_miss_benchmark(questions, corpus, tmp_path / "out", fraction=0.2, seed=1)

    kept = {json.loads(line)["doc_id"] for line in c_out.read_text().splitlines()}
    derived = [json.loads(line) for line in q_out.read_text().splitlines()]
    unanswerable = [q for q in derived if not q["answerable"]]
    assert len(unanswerable) == 2  # a fifth of the ten answering pages
    for q in unanswerable:
        assert q["gold_doc_ids"] == [] and q["meta"]["removed_gold_doc_ids"][0] not in kept
    assert "D19" not in kept  # the near-duplicate went with them
    assert near_miss_benchmark(questions, corpus, tmp_path / "again", fraction=0.2, seed=1)  # deterministic:
    assert (tmp_path / "again" / "questions.jsonl").read_text() == q_out.read_text()


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_page_goes_with_all_its_sections_and_a_doubtful_label_is_left_out(tmp_path):
    pages = [f"P{i}" for i in range(10)]
    corpus = _write(
        tmp_path / "corpus.jsonl",
        [{"doc_id": f"{p}_Sec{s}", "title": p, "text": f"{p} section {s}"} for p in pages for s in (1, 2, 3)],
    )
    rows = [
        {"qid": f"{p}-{s}", "question": f"{p} {s}?", "gold_doc_ids": [f"{p}_Sec{s}"], "meta": {}}
        for p in pages
        for s in (1, 2)
    ]
    # Already unanswerable in the input (its section removed before): kept only if its page goes now.
    rows += [
        {
            "qid": f"{p}-gone",
            "question": f"{p} 4?",
            "gold_doc_ids": [],
            "answerable": False,
            "meta": {"removed_gold_doc_ids": [f"{p}_Sec4"]},
        }
        for p in pages
    ]
    questions = _write(tmp_path / "questions.jsonl", rows)

    q_out, c_out = near_miss_benchmark(questions, corpus, tmp_path / "out", fraction=0.2, seed=3)

    kept = [json.loads(line)["doc_id"] for line in c_out.read_text().splitlines()]
    removed_pages = set(pages) - {d.split("_Sec")[0] for d in kept}
    assert len(removed_pages) == 2 and len(kept) == 24  # two whole pages, every section of them
    derived = {q["qid"]: q for q in map(json.loads, q_out.read_text().splitlines())}
    for p in pages:
        gone = p in removed_pages
        assert derived[f"{p}-1"]["answerable"] is not gone and derived[f"{p}-2"]["answerable"] is not gone
        assert (f"{p}-gone" in derived) is gone  # its page kept, its label in doubt: left out


def test_an_unanswerable_question_whose_answer_another_document_restates_is_counted(tmp_path):
    said = "Bisphosphonates reduce skeletal events in patients with bone metastases from breast cancer"
    corpus = _write(
        tmp_path / "corpus.jsonl",
        [{"doc_id": "A", "text": f"Overview. {said}. More text here."}, {"doc_id": "B", "text": "Other topic."}],
    )
    questions = _write(
        tmp_path / "questions.jsonl",
        [
            {"qid": "1", "question": "x?", "gold_doc_ids": [], "answerable": False, "answers": [f"{said}."]},
            {
                "qid": "2",
                "question": "y?",
                "gold_doc_ids": [],
                "answerable": False,
                "answers": ["Radiotherapy relieves pain from a single painful bone lesion in most patients."],
            },
            {"qid": "3", "question": "z?", "gold_doc_ids": ["A"], "answers": [f"{said}."]},
        ],
    )

    assert restated_answers(questions, corpus) == (2, 1)


def test_each_source_weighs_the_same_whatever_its_size():
    big, small = samples(300, 300, seed=1), samples(10, 10, shift=0.2, seed=2)
    features = ["dense", "coverage"]
    balanced = fit_sources({"big": big, "small": small}, features, l2=0.1)
    pooled_as_one = fit_sources(
        {
            "all": GateSamples(
                np.vstack([big.features, small.features]),
                np.concatenate([big.answerable, small.answerable]),
                np.zeros(620, dtype=bool),
                np.ones(620, dtype=bool),
            )
        },
        features,
        l2=0.1,
    )
    # The small shifted source pulls the balanced fit's decision boundary more than the pooled one's.
    assert balanced.bias != pytest.approx(pooled_as_one.bias, abs=1e-3)


def test_leave_one_source_out_measures_each_source_with_a_gate_that_never_saw_it():
    data = {"a": samples(40, 10, seed=1), "b": samples(40, 10, seed=2), "c": samples(30, 0, seed=3)}
    report = leave_one_source_out(data, ["dense", "coverage"], l2=1.0, threshold=0.5, current=packaged_gate())

    by_source = {r.source: r for r in report.held_out}
    assert set(by_source) == {"a", "b", "c"}
    assert by_source["a"].abstained is not None and by_source["a"].abstained >= 0.8
    assert by_source["a"].wrongly_abstained is not None and by_source["a"].wrongly_abstained <= 0.2
    assert by_source["c"].abstained is None and by_source["c"].auroc is None  # no unanswerable questions
    assert report.model.threshold == 0.5 and report.model.features == ("dense", "coverage")
    assert "Leave-one-source-out" in report.to_markdown() and "Label audit" not in report.to_markdown()
    report.audits["a"] = (10, 3)
    assert "Label audit: unanswerable questions with most of their reference answer restated" in report.to_markdown()
    assert "a 3 of 10." in report.to_markdown()


def test_leave_one_source_out_needs_two_sources():
    with pytest.raises(EvalDataError, match="two sources"):
        leave_one_source_out({"a": samples(5, 5)}, ["dense"], l2=1.0, threshold=0.5, current=packaged_gate())


def test_the_threshold_sweep_trades_abstention_for_wrong_refusals_and_averages_sources_alike():
    from eval.answerability import threshold_sweep

    data = {"a": samples(40, 10, seed=1), "b": samples(40, 10, shift=-0.1, seed=2), "c": samples(30, 0, seed=3)}
    model = packaged_gate()
    rows = threshold_sweep(data, model, thresholds=(0.1, 0.5, 0.9))

    low, _, high = rows
    a_low, a_high = low.per_source[0], high.per_source[0]
    assert a_low.abstained <= a_high.abstained and a_low.wrongly_abstained <= a_high.wrongly_abstained
    # "c" has no unanswerable question: it has no balanced accuracy and does not enter the mean.
    both = [f for f in low.per_source if f.abstained is not None]
    expected = sum((f.abstained + 1 - f.wrongly_abstained) / 2 for f in both) / len(both)
    assert low.balanced_accuracy == pytest.approx(expected)
    report = leave_one_source_out(data, ["dense", "coverage"], l2=1.0, threshold=0.5, current=model)
    assert "at other thresholds" in report.to_markdown() and len(report.sweep) == 7


def test_on_the_shared_niddk_set_removing_whole_pages_leaves_far_fewer_answers_in_the_corpus(tmp_path):
    from eval.answerability import SHARED

    niddk = SHARED / "benchmarks" / "medquad_niddk_nearmiss"
    if not (niddk / "questions.jsonl").is_file():
        pytest.skip(f"{niddk} is absent (the shared benchmarks are not part of the project)")
    questions, corpus = niddk / "questions.jsonl", niddk / "corpus.jsonl"
    sections_removed = restated_answers(questions, corpus)

    pages_removed = restated_answers(*near_miss_benchmark(questions, corpus, tmp_path / "pages"))

    # Removing one section leaves its page's summaries: a good share of the answers is still there.
    assert sections_removed[0] == 121 and sections_removed[1] / sections_removed[0] > 0.15
    assert pages_removed[0] > 200 and pages_removed[1] / pages_removed[0] < 0.10
