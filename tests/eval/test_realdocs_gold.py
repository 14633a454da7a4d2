"""Keep the real-document gold sets (every eval/gold/realdocs_*.jsonl) well formed and grounded.

The questions were written by reading the documents in ../shared/realdocs/, never by running the
service. These tests check the record schema and, where the documents are present, that every key
fact really occurs in the text of its document (for a PDF: on one of the listed pages, as pypdf
extracts it) and that each printed page label is the one printed on that PDF page. The documents
are not part of the repository: the tests that read them skip with a message where they are absent.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
GOLD_DIR = REPO_ROOT / "eval" / "gold"
REALDOCS = Path(__file__).resolve().parents[3] / "shared" / "realdocs"

# file name -> (qid pattern, minimum questions, minimum unanswerable)
GOLD_FILES = {
    "realdocs_dev.jsonl": (re.compile(r"^rd-\d{3}$"), 50, 12),
    "realdocs_dev3.jsonl": (re.compile(r"^rd3-\d{3}$"), 40, 10),
    "realdocs_dev4.jsonl": (re.compile(r"^rdv4-\d{3}$"), 60, 15),
    "realdocs_dev5.jsonl": (re.compile(r"^rdv5-\d{3}$"), 60, 15),
    "realdocs_heldout.jsonl": (re.compile(r"^rdh-\d{3}$"), 30, 8),
    "realdocs_heldout2.jsonl": (re.compile(r"^rh2-\d{3}$"), 40, 10),
    "realdocs_heldout3.jsonl": (re.compile(r"^rd4-\d{3}$"), 60, 15),
    "realdocs_heldout4.jsonl": (re.compile(r"^rh4-\d{3}$"), 60, 15),
    "realdocs_dev6.jsonl": (re.compile(r"^rdv6-\d{3}$"), 60, 14),
    "realdocs_heldout5.jsonl": (re.compile(r"^rh5-\d{3}$"), 60, 15),
    "realdocs_dev7.jsonl": (re.compile(r"^rdv7-\d{3}$"), 60, 14),  # rdv7-015 relabelled answerable (session 11)
    "realdocs_heldout6.jsonl": (re.compile(r"^rh6-\d{3}$"), 60, 15),
    "realdocs_dev8.jsonl": (re.compile(r"^rdv8-\d{3}$"), 60, 30),
    "realdocs_dev9.jsonl": (re.compile(r"^rdv9-\d{3}$"), 60, 15),
    "realdocs_dev10.jsonl": (re.compile(r"^rdv10-\d{3}$"), 60, 15),
    "realdocs_dev11.jsonl": (re.compile(r"^rdv11-\d{3}$"), 60, 20),
    "realdocs_dev12.jsonl": (re.compile(r"^rdv12-\d{3}$"), 60, 20),
    "realdocs_dev13.jsonl": (re.compile(r"^rdv13-\d{3}$"), 60, 20),
    "realdocs_dev14.jsonl": (re.compile(r"^rdv14-\d{3}$"), 60, 20),
    "realdocs_dev15.jsonl": (re.compile(r"^rdv15-\d{3}$"), 60, 20),
    "realdocs_dev16.jsonl": (re.compile(r"^rdv16-\d{3}$"), 60, 20),
    "realdocs_heldout7.jsonl": (re.compile(r"^rh7-\d{3}$"), 60, 15),
    "realdocs_heldout8.jsonl": (re.compile(r"^rh8-\d{3}$"), 60, 15),
    "realdocs_heldout9.jsonl": (re.compile(r"^rh9-\d{3}$"), 60, 15),
    "realdocs_heldout10.jsonl": (re.compile(r"^rh10-\d{3}$"), 60, 15),
    "realdocs_heldout11.jsonl": (re.compile(r"^rh11-\d{3}$"), 60, 15),
    "realdocs_heldout12.jsonl": (re.compile(r"^rh12-\d{3}$"), 60, 15),
    "realdocs_heldout13.jsonl": (re.compile(r"^rh13-\d{3}$"), 60, 15),
    "realdocs_heldout14.jsonl": (re.compile(r"^rh14-\d{3}$"), 60, 15),
    "realdocs_heldout15.jsonl": (re.compile(r"^rh15-\d{3}$"), 60, 15),
    "realdocs_heldout16.jsonl": (re.compile(r"^rh16-\d{3}$"), 60, 15),
    "realdocs_heldout17.jsonl": (re.compile(r"^rh17-\d{3}$"), 60, 15),
    "realdocs_heldout18.jsonl": (re.compile(r"^rh18-\d{3}$"), 60, 15),
    "realdocs_heldout19.jsonl": (re.compile(r"^rh19-\d{3}$"), 60, 15),
    "realdocs_heldout20.jsonl": (re.compile(r"^rh20-\d{3}$"), 60, 15),
    "realdocs_heldout21.jsonl": (re.compile(r"^rh21-\d{3}$"), 60, 15),
    "realdocs_heldout22.jsonl": (re.compile(r"^rh22-\d{3}$"), 60, 15),
    "realdocs_heldout23.jsonl": (re.compile(r"^rh23-\d{3}$"), 60, 15),
    "realdocs_heldout24.jsonl": (re.compile(r"^rh24-\d{3}$"), 60, 15),
    "realdocs_heldout25.jsonl": (re.compile(r"^rh25-\d{3}$"), 60, 15),
    "realdocs_heldout26.jsonl": (re.compile(r"^rh26-\d{3}$"), 60, 15),
    "realdocs_heldout27.jsonl": (re.compile(r"^rh27-\d{3}$"), 60, 15),
    "realdocs_heldout28.jsonl": (re.compile(r"^rh28-\d{3}$"), 60, 15),
    "realdocs_heldout29.jsonl": (re.compile(r"^rh29-\d{3}$"), 60, 15),
    "realdocs_heldout30.jsonl": (re.compile(r"^rh30-\d{3}$"), 60, 15),
    "realdocs_heldout31.jsonl": (re.compile(r"^rh31-\d{3}$"), 60, 15),
    "realdocs_heldout32.jsonl": (re.compile(r"^rh32-\d{3}$"), 60, 15),
    "realdocs_heldout33.jsonl": (re.compile(r"^rh33-\d{3}$"), 60, 15),
    "realdocs_heldout34.jsonl": (re.compile(r"^rh34-\d{3}$"), 60, 15),
    "realdocs_heldout35.jsonl": (re.compile(r"^rh35-\d{3}$"), 60, 15),
    "realdocs_heldout36.jsonl": (re.compile(r"^rh36-\d{3}$"), 60, 15),
    "realdocs_heldout37.jsonl": (re.compile(r"^rh37-\d{3}$"), 60, 15),
    "realdocs_heldout38.jsonl": (re.compile(r"^rh38-\d{3}$"), 60, 15),
    "realdocs_heldout39.jsonl": (re.compile(r"^rh39-\d{3}$"), 60, 15),
    "realdocs_heldout40.jsonl": (re.compile(r"^rh40-\d{3}$"), 60, 15),
    "realdocs_heldout41.jsonl": (re.compile(r"^rh41-\d{3}$"), 60, 15),
    "realdocs_heldout42.jsonl": (re.compile(r"^rh42-\d{3}$"), 60, 15),
    "realdocs_heldout43.jsonl": (re.compile(r"^rh43-\d{3}$"), 60, 15),
}
FIELDS = {"qid", "question", "answerable", "doc_ids", "pages", "pdf_pages", "key_facts", "topic"}
# document id (path under realdocs without suffix) -> the topic its questions carry
DOC_TOPICS = {
    "pdf/cdc_opioids_for_pain_2022_rr7103a1": "opioids",
    "pdf/who_chronic_pain_children_2020": "chronic-pain-children",
    "html/ngc_synthesis_50489": "lung-screening",
    "html/ngc_synthesis_48012": "breast-risk-reduction",
    "md/nci_pdq_about-cancer-treatment-side-effects-pain-pain-hp-pdq": "cancer-pain",
    "md/nci_pdq_types-myeloma-hp-myeloma-treatment-pdq": "myeloma",
    "md/nci_pdq_about-cancer-treatment-side-effects-nausea-nausea-hp-pdq": "nausea",
}
TOPICS = {*DOC_TOPICS.values(), "out-of-scope"}
SUFFIXES = {"pdf": ".pdf", "html": ".htm", "md": ".md"}
MIN_PER_PDF = 20  # answerable questions per PDF, both files together
MAX_FACT_WORDS = 14  # a fact is a phrase or one short sentence to find verbatim
ROMAN_RE = re.compile(r"^[ivxlc]+$")

# A word broken across a line end: "immedi-\nate" or "long-\nterm". Both readings are tried.
_LINE_END_HYPHEN = re.compile(r"(\w)-[ \t]*\n\s*(\w)")


def _load(name: str) -> list[dict[str, Any]]:
    path = GOLD_DIR / name
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


ALL = {name: _load(name) for name in GOLD_FILES}
RECORDS = [(name, rec) for name, recs in ALL.items() for rec in recs]
ANSWERABLE = [(name, rec) for name, rec in RECORDS if rec.get("answerable") is True]


def _rid(item: tuple[str, dict[str, Any]]) -> str:
    return str(item[1].get("qid"))


def _normalize(text: str) -> str:
    return " ".join(text.split()).casefold()


def _variants(text: str) -> tuple[str, str]:
    """The text with line-end hyphens rejoined (dropped, then kept), whitespace collapsed."""
    return (
        _normalize(_LINE_END_HYPHEN.sub(r"\1\2", text)),
        _normalize(_LINE_END_HYPHEN.sub(r"\1-\2", text)),
    )


def _require_realdocs() -> None:
    if not REALDOCS.is_dir():
        pytest.skip(f"real guideline documents not found at {REALDOCS}; document checks skipped")


def _doc_path(doc_id: str) -> Path:
    kind = doc_id.split("/", 1)[0]
    return REALDOCS / f"{doc_id}{SUFFIXES[kind]}"


@cache
def _pdf_pages(doc_id: str) -> tuple[str, ...]:
    from pypdf import PdfReader

    reader = PdfReader(_doc_path(doc_id))
    return tuple(page.extract_text() or "" for page in reader.pages)


@cache
def _html_text(doc_id: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_doc_path(doc_id).read_text(encoding="utf-8"), "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    # The space put between tags must not open a bracket: "(<strong>Grade 2B</strong>)" reads "(Grade 2B)".
    return re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", soup.get_text(" ")))


@cache
def _md_text(doc_id: str) -> str:
    return _doc_path(doc_id).read_text(encoding="utf-8")


def _texts_for(rec: dict[str, Any]) -> list[str]:
    """The text(s) a record's key facts must be found in."""
    texts: list[str] = []
    for doc_id in rec["doc_ids"]:
        if doc_id.startswith("pdf/"):
            pages = _pdf_pages(doc_id)
            texts.extend(pages[n - 1] for n in rec["pdf_pages"])
        elif doc_id.startswith("html/"):
            texts.append(_html_text(doc_id))
        else:
            texts.append(_md_text(doc_id))
    return texts


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize("name", sorted(GOLD_FILES))
def test_file_sizes(name: str) -> None:
    _, min_total, min_unanswerable = GOLD_FILES[name]
    recs = ALL[name]
    unanswerable = sum(1 for r in recs if r.get("answerable") is False)
    assert len(recs) >= min_total, f"{name}: {len(recs)} questions, want >= {min_total}"
    assert unanswerable >= min_unanswerable, f"{name}: {unanswerable} unanswerable, want >= {min_unanswerable}"


@pytest.mark.parametrize("item", RECORDS, ids=_rid)
def test_record_schema(item: tuple[str, dict[str, Any]]) -> None:
    name, rec = item
    assert set(rec) == FIELDS, f"fields {sorted(rec)}"
    qid_re = GOLD_FILES[name][0]
    assert isinstance(rec["qid"], str) and qid_re.match(rec["qid"]), rec["qid"]
    assert isinstance(rec["question"], str) and rec["question"].strip()
    assert isinstance(rec["answerable"], bool)
    for field in ("doc_ids", "pages", "pdf_pages", "key_facts"):
        assert isinstance(rec[field], list), field
    assert all(isinstance(d, str) for d in rec["doc_ids"])
    assert all(isinstance(p, str) and p for p in rec["pages"])
    assert all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in rec["pdf_pages"])
    assert rec["topic"] in TOPICS, rec["topic"]
    for fact in rec["key_facts"]:
        assert isinstance(fact, list) and fact, f"empty fact in {rec['key_facts']}"
        for alt in fact:
            assert isinstance(alt, str) and alt.strip(), f"empty alternative in {fact}"
            assert len(alt.split()) <= MAX_FACT_WORDS, f"alternative too long: {alt!r}"


@pytest.mark.parametrize("item", RECORDS, ids=_rid)
def test_answerable_consistency(item: tuple[str, dict[str, Any]]) -> None:
    _, rec = item
    if rec["answerable"]:
        # One answering document; a question in two parts may take each from another web page or summary.
        docs = rec["doc_ids"]
        assert docs and len(set(docs)) == len(docs), "an answerable question names its answering documents"
        assert all(d in DOC_TOPICS for d in docs), docs
        pdfs = [d for d in docs if d.startswith("pdf/")]
        assert len(pdfs) <= 1 and (not pdfs or len(docs) == 1), "a PDF answers alone (its pages are its own)"
        assert rec["topic"] in {DOC_TOPICS[d] for d in docs}, f"topic {rec['topic']} for {docs}"
        assert 1 <= len(rec["key_facts"]) <= 3
        if pdfs:
            assert rec["pdf_pages"], "a PDF answer lists its pages"
            assert len(rec["pages"]) == len(rec["pdf_pages"])
            assert len(set(rec["pdf_pages"])) == len(rec["pdf_pages"])
        else:
            assert rec["pages"] == [] and rec["pdf_pages"] == [], "pages are for PDFs only"
    else:
        assert rec["doc_ids"] == [] and rec["key_facts"] == []
        assert rec["pages"] == [] and rec["pdf_pages"] == []
        assert rec["topic"] == "out-of-scope"


def test_qids_unique_across_files() -> None:
    counts = Counter(rec["qid"] for _, rec in RECORDS)
    assert not [q for q, n in counts.items() if n > 1]


def test_every_real_document_set_is_checked() -> None:
    assert {p.name for p in GOLD_DIR.glob("realdocs_*.jsonl")} == set(GOLD_FILES)


def test_qids_unique_across_every_gold_set() -> None:
    """A qid names one question in any report, whichever set it comes from (a development set and a
    held-out set once shared the prefix "rd4-")."""
    lines = [line for p in GOLD_DIR.glob("*.jsonl") for line in p.read_text(encoding="utf-8").splitlines()]
    counts = Counter(json.loads(line)["qid"] for line in lines if line.strip())
    assert not [q for q, n in counts.items() if n > 1]


def test_questions_unique_across_files() -> None:
    """A failure names the repeated questions' qids, never their text: the author of a new held-out
    set must not read another set's questions."""
    qids: dict[str, list[str]] = {}
    for _, rec in RECORDS:
        qids.setdefault(_normalize(rec["question"]), []).append(rec["qid"])
    repeated = [ids for ids in qids.values() if len(ids) > 1]
    assert not repeated, f"the same question under qids {repeated}"


def test_every_document_is_covered() -> None:
    answered = Counter(rec["doc_ids"][0] for _, rec in ANSWERABLE)
    assert set(answered) == set(DOC_TOPICS), f"uncovered: {set(DOC_TOPICS) - set(answered)}"
    for doc_id in DOC_TOPICS:
        if doc_id.startswith("pdf/"):
            assert answered[doc_id] >= MIN_PER_PDF, f"{doc_id}: {answered[doc_id]} questions"


# --------------------------------------------------------------------------- documents


@pytest.mark.parametrize("item", ANSWERABLE, ids=_rid)
def test_key_facts_occur_in_document(item: tuple[str, dict[str, Any]]) -> None:
    _require_realdocs()
    _, rec = item
    doc_id = rec["doc_ids"][0]
    assert all(_doc_path(d).is_file() for d in rec["doc_ids"]), f"no document for one of {rec['doc_ids']}"
    if doc_id.startswith("pdf/"):
        assert max(rec["pdf_pages"]) <= len(_pdf_pages(doc_id)), "pdf page out of range"
    variants = [v for text in _texts_for(rec) for v in _variants(text)]
    for fact in rec["key_facts"]:
        assert any(_normalize(alt) in v for alt in fact for v in variants), f"{fact} not found in {rec['doc_ids']}"
    if len(rec["doc_ids"]) > 1:  # each document named answers a part
        for one in rec["doc_ids"]:
            texts = [v for text in _texts_for({**rec, "doc_ids": [one]}) for v in _variants(text)]
            assert any(_normalize(alt) in v for fact in rec["key_facts"] for alt in fact for v in texts), one


@pytest.mark.parametrize("item", [i for i in ANSWERABLE if i[1]["pdf_pages"]], ids=_rid)
def test_printed_page_labels(item: tuple[str, dict[str, Any]]) -> None:
    """Each label is printed in the running header or footer of its PDF page."""
    _require_realdocs()
    _, rec = item
    pages = _pdf_pages(rec["doc_ids"][0])
    for label, number in zip(rec["pages"], rec["pdf_pages"], strict=True):
        assert label.isdigit() or ROMAN_RE.match(label), f"label {label!r}"
        lines = [line for line in pages[number - 1].splitlines() if line.strip()]
        tokens = {tok.casefold() for line in lines[:3] + lines[-3:] for tok in line.split()}
        assert label.casefold() in tokens, f"label {label!r} not printed on pdf page {number}"
