"""Gold-set and benchmark loaders: BEIR-shaped views, validation, the shared benchmarks when present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.errors import EvalDataError
from eval.gold import DEFAULT_GOLD, load_benchmark, load_gold, rec_doc_map

REPO_ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO_ROOT.parent / "shared" / "benchmarks"


def test_gold_set_maps_recommendations_to_their_documents(gold_file, corpus_dir):
    data = load_gold(gold_file, corpus_paths=[corpus_dir])
    assert data.kind == "gold" and data.name == "tiny_gold" and data.primary_level == "passage"
    assert data.queries["g1"] == "single fraction dose painful bone mets"
    assert data.passage_qrels["g3"] == {"BM-DX-03": 1}
    assert data.qrels["g1"] == {"bm/rt": 1}
    assert data.qrels["g4"] == {}
    assert data.questions[0].key_facts == (("8 Gy",), ("single fraction", "one fraction"))
    assert data.warnings == ()
    assert data.describe()["unanswerable"] == 2


def test_gold_set_without_a_corpus_has_no_document_gold_and_says_so(gold_file):
    data = load_gold(gold_file)
    assert all(not q.doc_ids for q in data.questions)
    assert "document-level" in data.warnings[0]


def test_unknown_rec_ids_are_reported(gold_file, corpus_dir):
    data = load_gold(gold_file, rec_to_doc={"BM-RT-02": "bm/rt"})
    assert "2 rec_ids not found" in data.warnings[0]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not JSON"),
        ('{"qid": "x"}', "missing"),
        (
            '{"qid": "x", "question": "q", "answerable": "yes", "rec_ids": [], "key_facts": [], "topic": "t"}',
            "answerable",
        ),
        (
            '{"qid": "x", "question": "q", "answerable": true, "rec_ids": "R-1", "key_facts": [], "topic": "t"}',
            "rec_ids",
        ),
    ],
)
def test_malformed_gold_lines_fail_with_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n" + line + "\n", encoding="utf-8")
    with pytest.raises(EvalDataError, match=rf"bad.jsonl:2: .*{message}"):
        load_gold(path)


def test_duplicate_qids_are_refused(tmp_path):
    record = {"qid": "x", "question": "q", "answerable": False, "rec_ids": [], "key_facts": [], "topic": "t"}
    path = tmp_path / "dup.jsonl"
    path.write_text(json.dumps(record) + "\n" + json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(EvalDataError, match="duplicate qid"):
        load_gold(path)


def test_limited_takes_the_first_n_or_spreads_them(gold_file):
    data = load_gold(gold_file)
    assert [q.qid for q in data.limited(2).questions] == ["g1", "g2"]
    assert [q.qid for q in data.limited(2, spread=True).questions] == ["g1", "g3"]
    assert data.limited(None) is data and data.limited(99) is data
    with pytest.raises(EvalDataError):
        data.limited(0)


def test_default_gold_set_loads_against_the_default_corpus():
    data = load_gold(DEFAULT_GOLD, corpus_paths=[REPO_ROOT / "corpus"])
    assert data.warnings == ()
    answerable = [q for q in data.questions if q.answerable]
    assert answerable and all(q.doc_ids for q in answerable)
    recs, titles = rec_doc_map([REPO_ROOT / "corpus"])
    assert recs["BM-OV-05"] in titles


def test_benchmark_schema_loads_strict_and_lenient_gold(benchmark_files):
    corpus, questions = benchmark_files
    data = load_benchmark(questions, corpus)
    assert data.kind == "benchmark" and data.name == "tinybench" and data.primary_level == "doc"
    assert data.qrels["b1"] == {"bm/rt": 1}
    assert data.lenient_qrels["b1"] == {"bm/rt": 1, "bm/dx": 1}
    assert data.questions[0].references == ("8 Gy",) and data.questions[0].topic == "treatment"
    assert set(data.corpus) == {"bm/rt", "bm/dx", "mscc"}
    assert data.describe()["corpus_sha256"]


def test_benchmark_without_lenient_gold_has_no_lenient_qrels(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"qid": "1", "question": "q", "gold_doc_ids": ["d"], "answers": []}) + "\n")
    data = load_benchmark(path)
    assert data.lenient_qrels == {"1": {}} and data.questions[0].answerable and data.name == "q"


@pytest.mark.parametrize("name", ["covidqa", "medquad_cancergov"])
def test_shared_benchmarks_load(name):
    folder = BENCHMARKS / name
    if not (folder / "questions.jsonl").exists():
        pytest.skip(f"shared benchmark {name} not found at {folder} (it lives outside the repository)")
    data = load_benchmark(folder / "questions.jsonl", folder / "corpus.jsonl")
    assert len(data.questions) > 100
    assert all(q.doc_ids and set(q.doc_ids) <= set(q.lenient_doc_ids) for q in data.questions)
    assert all(d in data.corpus for q in data.questions for d in q.doc_ids)


def test_gold_over_real_documents_is_graded_by_document_and_pdf_page(tmp_path):
    path = tmp_path / "realdocs_x.jsonl"
    rows = [
        '{"qid": "r1", "question": "MME factor oxycodone?", "answerable": true, "doc_ids": ["pdf/cdc"], '
        '"pages": ["41"], "pdf_pages": [43], "key_facts": [["1.5"]], "topic": "opioids"}',
        '{"qid": "r2", "question": "neonatal paracetamol IV max?", "answerable": false, "doc_ids": [], '
        '"pages": [], "pdf_pages": [], "key_facts": [], "topic": "out-of-scope"}',
    ]
    path.write_text("\n".join(rows) + "\n")
    dataset = load_gold(path)
    first, second = dataset.questions
    assert (first.doc_ids, first.pdf_pages, first.key_facts) == (("pdf/cdc",), (43,), (("1.5",),))
    assert dataset.primary_level == "doc" and dataset.qrels["r1"] == {"pdf/cdc": 1}
    assert not second.answerable and dataset.warnings == ()


def test_gold_over_real_documents_refuses_bad_pages(tmp_path):
    path = tmp_path / "realdocs_bad.jsonl"
    path.write_text(
        '{"qid": "r1", "question": "q?", "answerable": true, "doc_ids": ["d"], "pages": ["1"], '
        '"pdf_pages": ["one"], "key_facts": [["x"]], "topic": "t"}\n'
    )
    with pytest.raises(EvalDataError, match="pdf_pages"):
        load_gold(path)
