"""Keep the default corpus and the gold question sets consistent with each other.

Self-contained on purpose: it parses the Markdown corpus and the JSONL gold sets itself, so it
runs before (and independently of) the ingest and eval packages.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS_DIR = REPO_ROOT / "corpus"
GOLD_DIR = REPO_ROOT / "eval" / "gold"
DEFAULT_GOLD = GOLD_DIR / "bone_metastasis.jsonl"

KNOWN_BODIES = {
    "ESTRO",
    "AAOS",
    "AAOS/MSTS",
    "ESMO",
    "CCO/ASCO",
    "ASTRO",
    "NICE",
    "MASCC/ISOO/ASCO",
    "Endocrine Society",
}
REQUIRED_FRONT_MATTER = ("title", "issuing_body", "year", "topic")
GOLD_FIELDS = {"qid", "question", "answerable", "rec_ids", "key_facts", "topic"}
GOLD_TOPICS = {
    "prognosis",
    "diagnosis",
    "biopsy",
    "medical-management",
    "bone-modifying-agents",
    "radium-223",
    "ctibl",
    "radiotherapy",
    "surgery",
    "elderly",
    "spine",
    "femur",
    "humerus",
    "prevention",
    "follow-up",
    "mscc",
    "hypercalcaemia",
    "onj",
    "pain",
    "out-of-scope",
}

REC_ID_RE = re.compile(r"^(?:BM-[A-Z]+-\d{2}|MSCC-\d{2}|HCM-\d{2}|ONJ-\d{2}|PAIN-\d{2})$")
# "Guideline: ESMO 2020", optionally "· Strength: ..." and/or "· Evidence: ..." in that order.
GUIDELINE_RE = re.compile(
    r"^Guideline: (?P<body>.+?) (?P<year>\d{4})"
    r"(?: · Strength: (?P<strength>[^·]+?))?"
    r"(?: · Evidence: (?P<evidence>[^·]+?))?$"
)
HEADING_RE = re.compile(r"^(#{1,6}) +(.*)$")


@dataclass(frozen=True)
class Recommendation:
    rec_id: str
    title: str
    lines: tuple[str, ...]
    path: Path

    @property
    def text(self) -> str:
        """Heading title plus every line of the block, as retrieval would see it."""
        return "\n".join((self.title, *self.lines))


@dataclass(frozen=True)
class Document:
    path: Path
    front_matter: dict
    recommendations: tuple[Recommendation, ...]


def _split_front_matter(raw: str, path: Path) -> tuple[dict, list[str]]:
    lines = raw.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, lines
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise AssertionError(f"{path}: front matter is never closed") from None
    meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    return meta, lines[end + 1 :]


def _parse_document(path: Path) -> Document:
    meta, body = _split_front_matter(path.read_text(encoding="utf-8"), path)
    recs: list[Recommendation] = []
    current: tuple[str, str] | None = None
    block: list[str] = []

    def flush() -> None:
        if current is not None:
            rec_id, title = current
            recs.append(Recommendation(rec_id, title, tuple(block), path))

    for line in body:
        match = HEADING_RE.match(line)
        if match:
            flush()
            current, block = None, []
            if len(match.group(1)) == 3:
                heading = match.group(2).strip()
                current = (heading.split()[0], heading)
            continue
        if current is not None:
            block.append(line)
    flush()
    return Document(path, meta, tuple(recs))


def _corpus_documents() -> list[Document]:
    paths = sorted(p for p in CORPUS_DIR.rglob("*.md") if p.name.lower() != "readme.md")
    return [_parse_document(p) for p in paths]


def _load_gold(path: Path) -> list[dict]:
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise AssertionError(f"{path.name}:{number}: not valid JSON ({exc})") from None
    return records


DOCUMENTS = _corpus_documents()
RECOMMENDATIONS = [rec for doc in DOCUMENTS for rec in doc.recommendations]
RECS_BY_ID = {rec.rec_id: rec for rec in RECOMMENDATIONS}
# The sets written against the default corpus (graded by rec_id); sets over real documents that the
# project does not ship (realdocs_*, graded by document and page) have their own checks.
GOLD_FILES = sorted(p for p in GOLD_DIR.glob("*.jsonl") if not p.name.startswith("realdocs"))


def _doc_id(doc: Document) -> str:
    return str(doc.path.relative_to(CORPUS_DIR))


def _gold_id(path: Path) -> str:
    return path.name


# --- corpus -----------------------------------------------------------------------------------


def test_corpus_has_documents_and_recommendations() -> None:
    assert DOCUMENTS, "no corpus documents found"
    assert RECOMMENDATIONS, "no ### recommendation blocks found"


def test_corpus_readme_states_decision_support_disclaimer() -> None:
    readme = (CORPUS_DIR / "README.md").read_text(encoding="utf-8").lower()
    assert "decision support" in readme
    assert "not a substitute for the full guidelines" in readme


@pytest.mark.parametrize("doc", DOCUMENTS, ids=_doc_id)
def test_every_document_has_required_front_matter(doc: Document) -> None:
    missing = [key for key in REQUIRED_FRONT_MATTER if not doc.front_matter.get(key)]
    assert not missing, f"missing front matter keys: {missing}"
    assert re.fullmatch(r"\d{4}", str(doc.front_matter["year"])), "year must be 4 digits"
    assert "/" in str(doc.front_matter["topic"]), "topic must be a slash path"


@pytest.mark.parametrize("doc", DOCUMENTS, ids=_doc_id)
def test_every_document_has_exactly_one_title_heading(doc: Document) -> None:
    _, body = _split_front_matter(doc.path.read_text(encoding="utf-8"), doc.path)
    titles = [line for line in body if re.match(r"^# +\S", line)]
    assert len(titles) == 1, f"expected one '# ' title, found {len(titles)}"


@pytest.mark.parametrize("doc", DOCUMENTS, ids=_doc_id)
def test_document_year_is_the_latest_guideline_year_it_cites(doc: Document) -> None:
    years = [
        int(GUIDELINE_RE.match(rec.lines[0]).group("year"))
        for rec in doc.recommendations
        if rec.lines and GUIDELINE_RE.match(rec.lines[0])
    ]
    assert years, "document has no recommendations with a Guideline line"
    assert int(doc.front_matter["year"]) == max(years)


@pytest.mark.parametrize("doc", DOCUMENTS, ids=_doc_id)
def test_a_document_citing_several_guidelines_names_each_ones_source(doc: Document) -> None:
    cited = {
        f"{m.group('body')} {m.group('year')}"
        for rec in doc.recommendations
        if rec.lines and (m := GUIDELINE_RE.match(rec.lines[0]))
    }
    if len(cited) > 1:  # otherwise every passage would cite the document's one URL, another guideline's
        sources = doc.front_matter.get("sources") or {}
        assert set(sources) <= cited, f"sources for guidelines the document does not cite: {set(sources) - cited}"
        assert all(str(url).startswith("https://") for url in sources.values())
        assert sources, "a document citing several guidelines needs front matter 'sources'"


@pytest.mark.parametrize("doc", DOCUMENTS, ids=_doc_id)
def test_document_issuing_body_lists_every_guideline_it_cites(doc: Document) -> None:
    listed = {part.strip() for part in str(doc.front_matter["issuing_body"]).split(";")}
    cited = {
        GUIDELINE_RE.match(rec.lines[0]).group("body")
        for rec in doc.recommendations
        if rec.lines and GUIDELINE_RE.match(rec.lines[0])
    }
    assert cited <= listed, f"cited but not in issuing_body: {sorted(cited - listed)}"


def test_recommendation_ids_are_unique_across_corpus() -> None:
    seen: dict[str, Path] = {}
    duplicates = []
    for rec in RECOMMENDATIONS:
        if rec.rec_id in seen:
            duplicates.append(f"{rec.rec_id} in {seen[rec.rec_id].name} and {rec.path.name}")
        seen.setdefault(rec.rec_id, rec.path)
    assert not duplicates, duplicates


@pytest.mark.parametrize("rec", RECOMMENDATIONS, ids=lambda rec: rec.rec_id)
def test_recommendation_id_follows_naming_scheme(rec: Recommendation) -> None:
    assert REC_ID_RE.match(rec.rec_id), f"bad id {rec.rec_id!r}"
    assert len(rec.title.split()) >= 2, "heading needs a short title after the id"


@pytest.mark.parametrize("rec", RECOMMENDATIONS, ids=lambda rec: rec.rec_id)
def test_every_recommendation_has_a_valid_guideline_line(rec: Recommendation) -> None:
    assert rec.lines, "empty block"
    match = GUIDELINE_RE.match(rec.lines[0])
    assert match, f"line under heading is not a Guideline line: {rec.lines[0]!r}"
    assert match.group("body") in KNOWN_BODIES, f"unknown body {match.group('body')!r}"
    assert 1990 <= int(match.group("year")) <= 2100


@pytest.mark.parametrize("rec", RECOMMENDATIONS, ids=lambda rec: rec.rec_id)
def test_every_recommendation_has_a_short_body_of_full_sentences(rec: Recommendation) -> None:
    assert len(rec.lines) >= 3 and rec.lines[1].strip() == "", "blank line must follow Guideline"
    body = [line.strip() for line in rec.lines[2:] if line.strip()]
    assert body, "recommendation text is empty"
    assert all(line.endswith(".") or line.endswith(":") for line in body), (
        "every line of the recommendation must end a sentence"
    )
    assert len(" ".join(body).split()) <= 150, "recommendation longer than ~150 words"


# --- gold sets --------------------------------------------------------------------------------


def test_default_gold_set_exists() -> None:
    assert DEFAULT_GOLD.is_file()


def test_default_gold_set_has_at_least_150_questions() -> None:
    assert len(_load_gold(DEFAULT_GOLD)) >= 150


def test_default_gold_set_has_at_least_25_unanswerable_questions() -> None:
    unanswerable = [r for r in _load_gold(DEFAULT_GOLD) if r.get("answerable") is False]
    assert len(unanswerable) >= 25


@pytest.mark.parametrize("path", GOLD_FILES, ids=_gold_id)
def test_gold_qids_are_unique(path: Path) -> None:
    qids = [record.get("qid") for record in _load_gold(path)]
    assert len(qids) == len(set(qids)), "duplicate qids"


@pytest.mark.parametrize("path", GOLD_FILES, ids=_gold_id)
def test_gold_records_have_exactly_the_documented_fields(path: Path) -> None:
    for record in _load_gold(path):
        qid = record.get("qid")
        assert set(record) == GOLD_FIELDS, f"{qid}: fields {sorted(record)}"
        assert isinstance(record["qid"], str) and record["qid"]
        assert isinstance(record["question"], str) and record["question"].strip(), qid
        assert isinstance(record["answerable"], bool), qid
        assert isinstance(record["rec_ids"], list), qid
        assert isinstance(record["key_facts"], list), qid
        assert all(isinstance(fact, list) and fact for fact in record["key_facts"]), qid
        assert all(isinstance(alt, str) and alt.strip() for fact in record["key_facts"] for alt in fact), qid
        assert record["topic"] in GOLD_TOPICS, f"{qid}: unknown topic {record['topic']!r}"


@pytest.mark.parametrize("path", GOLD_FILES, ids=_gold_id)
def test_unanswerable_questions_cite_no_recommendations_or_facts(path: Path) -> None:
    for record in _load_gold(path):
        if record["answerable"] is False:
            assert record["rec_ids"] == [] and record["key_facts"] == [], record["qid"]


@pytest.mark.parametrize("path", GOLD_FILES, ids=_gold_id)
def test_answerable_questions_cite_recommendations_and_key_facts(path: Path) -> None:
    for record in _load_gold(path):
        if record["answerable"] is True:
            assert record["rec_ids"], f"{record['qid']}: no rec_ids"
            assert record["key_facts"], f"{record['qid']}: no key_facts"


@pytest.mark.parametrize("path", GOLD_FILES, ids=_gold_id)
def test_every_cited_recommendation_id_exists_in_corpus(path: Path) -> None:
    unknown = [(r["qid"], rec_id) for r in _load_gold(path) for rec_id in r["rec_ids"] if rec_id not in RECS_BY_ID]
    assert not unknown, unknown


@pytest.mark.parametrize("path", GOLD_FILES, ids=_gold_id)
def test_every_key_fact_occurs_in_one_of_its_questions_recommendations(path: Path) -> None:
    missing = []
    for record in _load_gold(path):
        texts = [RECS_BY_ID[rec_id].text.lower() for rec_id in record["rec_ids"] if rec_id in RECS_BY_ID]
        for fact in record["key_facts"]:
            if not any(alt.lower() in text for alt in fact for text in texts):
                missing.append((record["qid"], fact))
    assert not missing, missing
