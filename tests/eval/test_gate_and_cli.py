"""The gate (thresholds, exit codes, run_gate) and the `guideline-qa eval` commands, with the fake pipeline."""

from __future__ import annotations

import json

import pytest

from eval.errors import EvalDataError
from eval.gate import PROJECT_MAXIMUMS, PROJECT_MINIMUMS, check_gate, gate_values, parse_threshold, run_gate, thresholds
from guideline_qa import cli
from qa_service.settings import Settings
from tests.fakes.evaluation import OverlapPipeline as FakePipeline
from tests.fakes.evaluation import gold_args


def test_check_gate_names_each_failing_metric():
    values = {"recall@5": 0.9, "false_abstention_rate": 0.1, "citation_validity": 1.0}
    failures = check_gate(
        values,
        minimums={"recall@5": 0.95, "citation_validity": 1.0, "key_fact_recall": 0.5},
        maximums={"false_abstention_rate": 0.05},
    )
    assert failures == [
        "recall@5 = 0.9000 < 0.95",
        "key_fact_recall was not measured (needs >= 0.5)",
        "false_abstention_rate = 0.1000 > 0.05",
    ]
    assert check_gate(values, minimums={"recall@5": 0.9}) == []


def test_thresholds_parse_and_override_the_project_ones():
    assert parse_threshold(" recall@5 = 0.9") == ("recall@5", 0.9)
    for bad in ("recall@5", "recall@5=high", "=0.5", "x=nan"):
        with pytest.raises(EvalDataError, match="METRIC=VALUE"):
            parse_threshold(bad)
    low, high = thresholds(project=True, minimums=["key_fact_recall=0.5"], maximums=["ask.total.p95_ms=800"])
    assert low == {**PROJECT_MINIMUMS, "key_fact_recall": 0.5}
    assert high == {**PROJECT_MAXIMUMS, "ask.total.p95_ms": 800.0}
    assert thresholds(project=False) == ({}, {})


def test_gate_values_include_latency_percentiles():
    values = gate_values({"metrics": {"recall@5": 1.0}, "latency": {"ask.total": {"p50_ms": 3.0, "p95_ms": 9.0}}})
    assert values == {"recall@5": 1.0, "ask.total.p50_ms": 3.0, "ask.total.p95_ms": 9.0}


def test_run_gate_evaluates_a_spread_subset_in_process(gold_file, corpus_dir):
    settings = Settings(corpus_paths=[corpus_dir])
    quick = run_gate(pipeline=FakePipeline(), settings=settings, gold=gold_file, limit=4)  # g1..g4: all pass
    assert quick.run is not None and [q["qid"] for q in quick.run.per_question] == ["g1", "g2", "g3", "g4"]
    assert quick.passed and quick.failures == []
    full = run_gate(pipeline=FakePipeline(), settings=settings, gold=gold_file)  # g5 is answered: fails
    assert not full.passed and full.failures == ["abstention_recall = 0.5000 < 0.9"]
    assert run_gate(pipeline=FakePipeline(), settings=settings, gold=gold_file, minimums={}, maximums={}).passed


def test_answer_removed_names_a_missing_gold_file(tmp_path, capsys):
    assert cli.main(["eval", "answer-removed", "--gold", str(tmp_path / "nowhere.jsonl"), "--quiet"]) == 2
    assert "nowhere.jsonl" in capsys.readouterr().err


def test_eval_is_registered_with_its_subcommands():
    parser = cli.build_parser()
    assert parser.parse_args(["eval", "answer-removed", "--gold", "g.jsonl"]).handler.__name__ == "cmd_answer_removed"
    args = parser.parse_args(["eval", "compare", "a.json", "b.json"])
    assert args.handler.__name__ == "cmd_compare"
    assert parser.parse_args(["eval", "gold"]).handler.__name__ == "cmd_gold"
    args = parser.parse_args(["eval", "benchmark", "--corpus", "c", "--questions", "q", "--answers"])
    assert args.handler.__name__ == "cmd_benchmark" and args.answers


def test_eval_gold_writes_reports_for_each_mode(fake_targets, gold_file, corpus_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(gold_args(gold_file, corpus_dir, out, "--modes", "hybrid,dense")) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "combined.json",
        "dense.json",
        "hybrid.json",
        "report.html",
        "summary.md",
    ]
    printed = capsys.readouterr().out
    assert "| metric | hybrid | dense |" in printed and f"reports written to {out}/" in printed


def test_gate_exit_codes(fake_targets, gold_file, corpus_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(gold_args(gold_file, corpus_dir, out, "--gate")) == 1
    err = capsys.readouterr().err
    assert "gate FAILED for hybrid" in err and "abstention_recall = 0.5000 < 0.9" in err
    assert "key_fact_recall" not in err  # the fake states every key fact
    assert cli.main(gold_args(gold_file, corpus_dir, out, "--min", "recall@5=0.9", "--max", "ask.total.p95_ms=50")) == 0
    assert "gate passed for hybrid (2 thresholds)" in capsys.readouterr().out
    assert cli.main(gold_args(gold_file, corpus_dir, out, "--min", "mrr@10=1.01")) == 1
    assert cli.main(gold_args(gold_file, corpus_dir, out, "--min", "mrr@10")) == 2
    assert "METRIC=VALUE" in capsys.readouterr().err


def test_bad_modes_and_modes_with_url_are_refused(fake_targets, gold_file, corpus_dir, tmp_path, capsys):
    assert cli.main(gold_args(gold_file, corpus_dir, tmp_path, "--modes", "hybrid,bm42")) == 2
    assert "unknown retrieval mode bm42" in capsys.readouterr().err
    assert cli.main(gold_args(gold_file, corpus_dir, tmp_path, "--modes", "dense", "--url", "http://x")) == 2
    assert cli.main(gold_args(gold_file, tmp_path / "nowhere", tmp_path)) == 2
    assert "nowhere: no such file or folder" in capsys.readouterr().err


def test_eval_benchmark_builds_a_retrieval_only_index_unless_answers_are_asked(
    fake_targets, benchmark_files, tmp_path, monkeypatch
):
    import eval.runner

    seen = []

    def fake_index(corpus, *, embedding, **kwargs):
        seen.append(embedding.sentence_vectors)
        return tmp_path / "index", embedding

    monkeypatch.setattr(eval.runner, "benchmark_index", fake_index)
    corpus, questions = benchmark_files
    base = ["eval", "benchmark", "--corpus", str(corpus), "--questions", str(questions), "--quiet"]
    assert cli.main([*base, "--out", str(tmp_path / "r"), "--modes", "keyword", "--limit", "1"]) == 0
    doc = json.loads((tmp_path / "r" / "keyword.json").read_text())
    assert len(doc["per_question"]) == 1 and "span_f1" not in doc["metrics"]
    assert cli.main([*base, "--out", str(tmp_path / "r2"), "--answers"]) == 0
    assert "span_f1" in json.loads((tmp_path / "r2" / "hybrid.json").read_text())["metrics"]
    assert seen == ["none", "pooled"]


def test_eval_compare_prints_changes_and_can_fail_on_regression(fake_targets, gold_file, corpus_dir, tmp_path, capsys):
    cli.main(gold_args(gold_file, corpus_dir, tmp_path / "a", "--modes", "hybrid,dense"))
    a = json.loads((tmp_path / "a" / "hybrid.json").read_text())
    a["metrics"]["passage_mrr@10"] = 0.5
    (tmp_path / "a" / "worse.json").write_text(json.dumps(a))
    capsys.readouterr()
    new, old = str(tmp_path / "a" / "hybrid.json"), str(tmp_path / "a" / "worse.json")
    assert cli.main(["eval", "compare", old, new]) == 0
    assert "| passage_mrr@10 | 0.500 | 1.000 | +0.500 | improved |" in capsys.readouterr().out
    assert cli.main(["eval", "compare", new, old, "--fail-on-regression"]) == 1
    capsys.readouterr()
    assert cli.main(["eval", "compare", new, old, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "hybrid"
    assert cli.main(["eval", "compare", new, str(tmp_path / "missing.json")]) == 2
