"""`guideline-qa eval pooled`: several reports pooled question by question, each figure with its interval."""

from __future__ import annotations

import json

import pytest

from eval.errors import EvalDataError
from eval.pooled import interval, pool, to_markdown
from guideline_qa import cli
from tests.fakes.evaluation import gold_args


def _report(tmp_path, gold_file, corpus_dir, name):
    out = tmp_path / name
    assert cli.main(gold_args(gold_file, corpus_dir, out)) == 0
    return out


def test_pooling_one_report_gives_its_own_figures_and_two_count_every_question(
    fake_targets, gold_file, corpus_dir, tmp_path
):
    a = _report(tmp_path, gold_file, corpus_dir, "a")
    run = json.loads((a / "hybrid.json").read_text())
    answerable = sum(q["answerable"] for q in run["per_question"])
    one = pool([a])
    assert (one.answerable, one.unanswerable) == (answerable, len(run["per_question"]) - answerable)
    for metric in ("key_fact_recall", "false_abstention_rate", "abstention_recall"):
        values = one.values[metric]
        assert sum(values) / len(values) == pytest.approx(run["metrics"][metric], abs=1e-6), metric
    # The same questions twice: twice the count, the same means.
    two = pool([a, a / "hybrid.json"])
    assert two.answerable == 2 * one.answerable and two.sets == ["tiny_gold", "tiny_gold"]
    assert sum(two.values["key_fact_recall"]) == pytest.approx(2 * sum(one.values["key_fact_recall"]))


def test_an_abstention_on_one_unanswerable_question_moves_the_pooled_figure(
    fake_targets, gold_file, corpus_dir, tmp_path
):
    a = _report(tmp_path, gold_file, corpus_dir, "a")
    run = json.loads((a / "hybrid.json").read_text())
    before = pool([a]).values["abstention_recall"]
    unanswerable = [q for q in run["per_question"] if not q["answerable"]]
    unanswerable[0]["answer"]["abstained"] = not unanswerable[0]["answer"]["abstained"]
    (tmp_path / "b.json").write_text(json.dumps(run))
    after = pool([tmp_path / "b.json"]).values["abstention_recall"]
    assert abs(sum(after) - sum(before)) == 1


def test_the_interval_is_reproducible_and_holds_the_mean():
    values = [1.0] * 30 + [0.0] * 10
    low, high = interval(values)
    assert low < 0.75 < high and interval(values) == (low, high)
    assert interval([1.0] * 20) == (1.0, 1.0)


def test_the_markdown_names_each_figure_and_set(fake_targets, gold_file, corpus_dir, tmp_path, capsys):
    a = _report(tmp_path, gold_file, corpus_dir, "a")
    capsys.readouterr()
    out = tmp_path / "pooled.md"
    assert cli.main(["eval", "pooled", str(a), str(a), "--title", "Tiny", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("# Tiny: 2 sets") and "| key facts stated |" in printed
    assert "| unanswerable: abstained |" in printed and "`tiny_gold`" in printed
    assert out.read_text() == to_markdown(pool([a, a]), "Tiny")


def test_a_missing_report_or_one_without_answers_is_named(fake_targets, gold_file, corpus_dir, tmp_path, capsys):
    assert cli.main(["eval", "pooled", str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no such report" in capsys.readouterr().err
    a = _report(tmp_path, gold_file, corpus_dir, "a")
    run = json.loads((a / "hybrid.json").read_text())
    for q in run["per_question"]:
        del q["answer"]
    (tmp_path / "bare.json").write_text(json.dumps(run))
    with pytest.raises(EvalDataError, match=r"bare\.json: the report has no answers"):
        pool([tmp_path / "bare.json"])
