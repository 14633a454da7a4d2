"""Reports are reproducible; compare names what improved and what regressed."""

from __future__ import annotations

import json

import pytest

from eval.compare import compare_files, compare_runs, render_comparison
from eval.errors import EvalDataError
from eval.gold import load_gold
from eval.report import (
    combined_document,
    dumps,
    html_report,
    recall_curve,
    summary_markdown,
    topic_table,
    worst_questions,
    write_reports,
)
from eval.runner import RunResult, evaluate_all
from eval.targets import PipelineTarget
from tests.fakes.evaluation import OverlapPipeline as FakePipeline


@pytest.fixture
def gold(gold_file, corpus_dir):
    return load_gold(gold_file, corpus_paths=[corpus_dir])


def _runs(gold, modes=("hybrid", "dense"), **fake):
    return evaluate_all([PipelineTarget(FakePipeline(m, **fake), m) for m in modes], gold)


def test_same_inputs_give_identical_json_and_html(gold, tmp_path):
    first, second = _runs(gold), _runs(gold)
    assert dumps(first[0].to_json()) == dumps(second[0].to_json())
    assert dumps(combined_document(first, gold, with_seconds=False)) == dumps(
        combined_document(second, gold, with_seconds=False)
    )
    write_reports(first, gold, tmp_path / "a")
    write_reports(second, gold, tmp_path / "b")
    for name in ("hybrid.json", "dense.json", "report.html"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_report_files_and_shapes(gold, tmp_path):
    runs = _runs(gold)
    written = write_reports(runs, gold, tmp_path)
    assert sorted(p.name for p in written) == [
        "combined.json",
        "dense.json",
        "hybrid.json",
        "report.html",
        "summary.md",
    ]
    doc = json.loads((tmp_path / "hybrid.json").read_text())
    assert list(doc) == ["config", "metrics", "latency", "per_question"]
    for key in ("recall@5", "mrr@10", "ndcg@10", "key_fact_recall", "citation_precision", "abstention_recall"):
        assert key in doc["metrics"]
    assert "created_at" not in json.dumps(doc)  # no timestamps
    combined = json.loads((tmp_path / "combined.json").read_text())
    assert combined["configs"] == ["hybrid", "dense"] and set(combined["run_seconds"]) == {"hybrid", "dense"}
    assert RunResult.from_json(doc).metrics == runs[0].metrics


def test_markdown_summary_has_a_column_per_configuration(gold):
    text = summary_markdown(_runs(gold), gold)
    assert "| metric | hybrid | dense |" in text
    assert "| passage_recall@5 | 1.000 | 1.000 |" in text
    assert "| stage | hybrid | dense |" in text and "| ask.total | 10.0 / 10.0 | 10.0 / 10.0 |" in text


def test_html_report_is_self_contained_with_plots_and_worst_questions(gold):
    page = html_report(_runs(gold), gold)
    assert page.count("data:image/png;base64,") == 3  # recall@k, evidence scores, topics
    assert "<script" not in page and "http" not in page.split("<body>")[1].replace("http-equiv", "")
    assert "Worst questions: hybrid" in page and "g5" in page  # answered an unanswerable question


def test_recall_curve_topics_and_worst_questions(gold):
    run = _runs(gold, modes=("hybrid",))[0]
    assert recall_curve(run, "passage", 3) == [1.0, 1.0, 1.0]
    topics = topic_table(run)
    assert list(topics) == ["diagnosis", "out-of-scope", "radiotherapy"]
    assert topics["out-of-scope"] == {"n": 2.0, "abstained": 0.5}
    assert [q["qid"] for q in worst_questions(run)] == ["g5"]


def test_compare_reports_improvements_and_regressions_per_metric_and_question(gold, tmp_path):
    before = _runs(gold, modes=("hybrid",), min_overlap=2)[0]
    after = _runs(gold, modes=("hybrid",), min_overlap=6)[0]  # now abstains on g5 (right) and g1, g2 (wrong)
    comparison = compare_runs(before.to_json(), after.to_json())
    verdicts = {m.metric: m.verdict for m in comparison.metrics}
    assert verdicts["abstention_recall"] == "improved"
    assert verdicts["false_abstention_rate"] == "regressed"
    assert verdicts["key_fact_recall"] == "regressed"
    assert verdicts["passage_recall@5"] == "unchanged" and "recall@5" not in verdicts  # aliases compared once
    assert [(q.qid, q.verdict) for q in comparison.questions] == [
        ("g1", "regressed"),
        ("g2", "regressed"),
        ("g5", "improved"),
    ]
    assert comparison.questions[2].changes["abstention_recall"] == (0.0, 1.0)
    assert comparison.questions[2].changes["citation_validity"] == (1.0, None)  # no answer, no citations
    back = compare_runs(after.to_json(), before.to_json())
    assert {m.metric: m.verdict for m in back.metrics}["abstention_recall"] == "regressed"
    text = render_comparison([comparison])
    assert "| abstention_recall | 0.500 | 1.000 | +0.500 | improved |" in text
    assert "Questions regressed (2):" in text
    assert "- g5 (whole spine MRI urgent for compression?): " in text and "abstention_recall 0.000→1.000" in text


def test_lower_is_better_for_error_rates_and_latency():
    a = {"config": {}, "metrics": {"false_abstention_rate": 0.2}, "latency": {"ask.total": {"p50_ms": 5, "p95_ms": 9}}}
    b = {"config": {}, "metrics": {"false_abstention_rate": 0.1}, "latency": {"ask.total": {"p50_ms": 7, "p95_ms": 8}}}
    verdicts = {m.metric: m.verdict for m in compare_runs(a, b, latency=True).metrics}
    assert verdicts == {
        "false_abstention_rate": "improved",
        "ask.total.p50_ms": "regressed",
        "ask.total.p95_ms": "improved",
    }
    assert [m.metric for m in compare_runs(a, b).metrics] == ["false_abstention_rate"]


def test_compare_files_matches_combined_reports_by_configuration(gold, tmp_path):
    write_reports(_runs(gold), gold, tmp_path / "a")
    write_reports(_runs(gold, modes=("dense", "keyword")), gold, tmp_path / "b")
    comparisons = compare_files(tmp_path / "a" / "combined.json", tmp_path / "b" / "combined.json")
    assert [c.name for c in comparisons] == ["dense"]
    single = compare_files(tmp_path / "a" / "hybrid.json", tmp_path / "b" / "keyword.json")
    assert single[0].name == "hybrid -> keyword"
    (tmp_path / "junk.json").write_text("[1]")
    with pytest.raises(EvalDataError, match="not an evaluation report"):
        compare_files(tmp_path / "junk.json", tmp_path / "a" / "hybrid.json")
