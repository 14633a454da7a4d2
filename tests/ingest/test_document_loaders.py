"""Each loader on small fixture files: what it reads, what it keeps as metadata, how it fails."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest import Document, LoaderError, UnsupportedFileError, load_paths
from ingest.loaders import html_to_markdown, load_file, load_html, load_jsonl, load_markdown, load_pdf, load_text

PdfWriter = Callable[..., Path]


def _only(docs: list[Document], doc_id: str) -> Document:
    matches = [d for d in docs if d.doc_id == doc_id]
    assert len(matches) == 1, [d.doc_id for d in docs]
    return matches[0]


# --- Markdown -------------------------------------------------------------------------------------


def test_markdown_front_matter_becomes_document_fields_and_extra_keys_metadata(ingest_fixtures: Path) -> None:
    doc = load_markdown(ingest_fixtures / "guideline.md", "guideline")

    assert doc.title == "Bone metastasis: radiotherapy (test fixture)"
    assert doc.issuing_body == "ESMO"
    assert doc.year == 2020
    assert doc.topic == "bone-metastasis/radiotherapy"
    assert doc.url == "https://example.org/esmo-bone-2020"
    assert doc.metadata == {"reviewed_by": "fixture-author"}
    assert doc.structured is True
    assert doc.source == str(ingest_fixtures / "guideline.md")


def test_markdown_text_is_the_body_without_front_matter(ingest_fixtures: Path) -> None:
    raw = (ingest_fixtures / "guideline.md").read_text(encoding="utf-8")
    doc = load_markdown(ingest_fixtures / "guideline.md", "guideline")

    assert doc.text.startswith("\n# Bone metastasis: radiotherapy (test fixture)\n")
    assert raw.endswith(doc.text)
    assert "issuing_body" not in doc.text


def test_markdown_without_front_matter_takes_title_from_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "plain.md"
    path.write_text("Intro line.\n\n# Hypercalcaemia of malignancy\n\nGive fluids first.\n", encoding="utf-8")

    doc = load_markdown(path, "plain")

    assert doc.title == "Hypercalcaemia of malignancy"
    assert doc.issuing_body is None and doc.year is None
    assert doc.text == path.read_text(encoding="utf-8")


def test_markdown_front_matter_written_for_another_tool_gives_the_body_and_year(tmp_path: Path) -> None:
    def body_and_year(name: str, front_matter: str) -> tuple[str | None, int | None]:
        path = tmp_path / f"{name}.md"
        path.write_text(f"---\n{front_matter}---\n\n# T\n\nText.\n", encoding="utf-8")
        doc = load_markdown(path, name)
        return doc.issuing_body, doc.year

    # A scraper's front matter (the NCI summaries in ../shared/realdocs carry one like it): the year the
    # citation gives, not the review date.
    scraped = "citation: NCI, 2025\nlastReviewed: '2025-12-30'\nsource: NCI\ntitle: Cancer Pain (PDQ®) - NCI\n"
    assert body_and_year("scraped", scraped + "url: https://www.cancer.gov/pain-hp-pdq\n") == ("NCI", 2025)
    dated = "publisher: Cancer Care Ontario\nauthor: Jane Doe\ndate: 2017-03-01\nsource: https://example.org/x\n"
    assert body_and_year("dated", dated) == ("Cancer Care Ontario", 2017)  # publisher before author
    # The project's own keys win; a URL is where the text came from, not who issued it; a non-date is no year.
    own = "issuing_body: ESMO\nyear: 2020\npublisher: Someone Else\ndate: 2001\n"
    assert body_and_year("own", own) == ("ESMO", 2020)
    assert body_and_year("url", "source: https://example.org/page\ndate: soon\n") == (None, None)


def test_markdown_without_heading_or_front_matter_is_titled_by_file_name(tmp_path: Path) -> None:
    path = tmp_path / "no-heading.md"
    path.write_text("Just a sentence.\n", encoding="utf-8")

    assert load_markdown(path, "no-heading").title == "no-heading"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("---\ntitle: Never closed\n\n# Heading\n\nText.\n", "never closed"),
        ("---\ntitle: [unbalanced\n---\n\nText.\n", "not valid YAML"),
        ("---\n- a\n- list\n---\n\nText.\n", "must be a mapping"),
        ("---\ntitle: Bad year\nyear: twenty twenty\n---\n\nText.\n", "'year' is not a year"),
        ("---\ntitle: Empty\n---\n\n   \n", "no text"),
        ("---\ntitle: Sources\nsources: [a, b]\n---\n\nText.\n", "'sources' must map guideline labels to URLs"),
    ],
)
def test_malformed_markdown_raises_loader_error_naming_file_and_reason(
    tmp_path: Path, content: str, reason: str
) -> None:
    path = tmp_path / "bad.md"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(LoaderError) as info:
        load_markdown(path, "bad")

    assert info.value.path == path
    assert reason in info.value.reason
    assert str(path) in str(info.value)


def test_each_recommendation_cites_the_url_of_its_own_guideline(tmp_path: Path) -> None:
    from ingest import Chunker, ChunkingSettings

    path = tmp_path / "mixed.md"
    path.write_text(
        "---\ntitle: Mixed\nurl: https://example.org/esmo\n"
        "sources:\n  ESMO 2020: https://example.org/esmo\n  ASTRO 2017: https://example.org/astro\n---\n\n"
        "# Mixed\n\nAn introduction.\n\n"
        "## RT\n\n### BM-X-01 Single fraction\nGuideline: ASTRO 2017\n\nGive 8 Gy once.\n\n"
        "### BM-X-02 Agents\nGuideline: ESMO 2020\n\nGive an agent.\n\n"
        "### BM-X-03 Spine SBRT\nGuideline: ESTRO 2023\n\nUse SBRT.\n",
        encoding="utf-8",
    )
    doc = load_markdown(path, "mixed")
    chunker = Chunker(ChunkingSettings(max_tokens=32), lambda texts: [len(t.split()) for t in texts], 64)

    urls = {c.rec_id: c.url for c in chunker.chunk(doc)}

    assert doc.sources == {"ESMO 2020": "https://example.org/esmo", "ASTRO 2017": "https://example.org/astro"}
    assert urls["BM-X-01"] == "https://example.org/astro"
    assert urls["BM-X-02"] == "https://example.org/esmo"
    assert urls["BM-X-03"] is None  # an unlisted guideline gets no link rather than another's
    assert urls[None] == "https://example.org/esmo"  # text outside any recommendation: the document's


def test_non_utf8_file_raises_loader_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Hypercalcémie maligne.".encode("latin-1"))

    with pytest.raises(LoaderError, match="not UTF-8") as info:
        load_text(path, "latin1")
    assert info.value.path == path


# --- Plain text -----------------------------------------------------------------------------------


def test_text_file_is_an_unstructured_document_with_its_exact_text(ingest_fixtures: Path) -> None:
    path = ingest_fixtures / "notes.txt"
    doc = load_text(path, "notes")

    assert doc.text == path.read_text(encoding="utf-8")
    assert doc.structured is False
    assert doc.title == "notes"


def test_text_file_title_replaces_separators_with_spaces(tmp_path: Path) -> None:
    path = tmp_path / "cancer_pain-opioids.txt"
    path.write_text("Start with a weak opioid.\n", encoding="utf-8")

    assert load_text(path, "x").title == "cancer pain opioids"


# --- HTML -----------------------------------------------------------------------------------------


def test_html_is_rendered_to_headings_list_items_and_table_rows(ingest_fixtures: Path) -> None:
    doc = load_html(ingest_fixtures / "page.html", "page")
    lines = doc.text.splitlines()

    assert doc.title == "Osteonecrosis of the jaw: prevention"
    assert doc.structured is True
    assert "# Osteonecrosis of the jaw" in lines
    assert "## Risk factors" in lines
    assert "## Incidence by agent" in lines
    assert "- Dental extraction during treatment." in lines
    assert "- Poor oral hygiene." in lines  # an <li> holding a <p> is still a list item
    assert "| Agent | Incidence |" in lines
    assert "| Denosumab | 1.9 % |" in lines
    assert "| Zoledronic acid | 1.3 % |" in lines


def test_html_drops_scripts_styles_navigation_and_footers(ingest_fixtures: Path) -> None:
    text = load_html(ingest_fixtures / "page.html", "page").text

    for hidden in ("tracking", "color: red", "Home navigation link", "Copyright footer text"):
        assert hidden not in text


def test_html_keeps_text_of_items_with_nested_lists_divs_and_cells_with_paragraphs() -> None:
    html = (
        "<ul><li>Risk factors:<ul><li>dental extraction</li><li>smoking</li></ul></li>"
        "<li><p>First paragraph.</p><p>Second paragraph.</p></li></ul>"
        "<div>Text directly in a div.</div>"
        "<table><tr><th><p>Agent</p></th><th>Dose</th></tr><tr><td><p>Denosumab</p></td><td>120 mg</td></tr></table>"
    )

    text, title = html_to_markdown(html)
    lines = text.splitlines()

    assert title is None
    assert "- Risk factors:" in lines
    assert "- dental extraction" in lines
    assert "- smoking" in lines
    # The second paragraph of an item is an indented continuation line, so the item stays whole.
    assert "- First paragraph." in lines
    assert lines[lines.index("- First paragraph.") + 1] == "  Second paragraph."
    assert "Text directly in a div." in lines
    assert "| Agent | Dose |" in lines
    assert "| Denosumab | 120 mg |" in lines


def test_html_keeps_text_outside_any_block_in_document_order() -> None:
    html = (
        "<html><body>Give <b>8 Gy</b> in a single fraction."
        "<h2>Retreatment</h2>"
        "<section>Retreatment is <em>more often</em> needed after a single fraction.</section>"
        "<p>A paragraph.</p>Trailing words after it.</body></html>"
    )

    text, _ = html_to_markdown(html)
    lines = [line for line in text.splitlines() if line]

    assert lines == [
        "Give 8 Gy in a single fraction.",
        "## Retreatment",
        "Retreatment is more often needed after a single fraction.",
        "A paragraph.",
        "Trailing words after it.",
    ]


def test_html_without_visible_text_raises_loader_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.html"
    path.write_text("<html><head><title>T</title><script>x()</script></head><body></body></html>", encoding="utf-8")

    with pytest.raises(LoaderError, match="no main text"):
        load_html(path, "empty")


# --- PDF ------------------------------------------------------------------------------------------


def test_pdf_text_layer_is_extracted_page_by_page(tmp_path: Path, make_pdf: PdfWriter) -> None:
    path = make_pdf(
        tmp_path / "mscc.pdf",
        [
            ["Metastatic spinal cord compression (MSCC) is an emergency.", "Give dexamethasone 16 mg daily."],
            ["Arrange MRI of the whole spine within 24 hours."],
        ],
        title="MSCC: early management",
    )

    doc = load_pdf(path, "mscc")

    assert doc.title == "MSCC: early management"
    assert "Metastatic spinal cord compression (MSCC) is an emergency." in doc.text
    assert "Give dexamethasone 16 mg daily." in doc.text
    # Each page's text starts where its page mark says, in order.
    first, second = doc.pages
    assert (first.number, second.number) == (1, 2)
    assert doc.text[first.start : second.start].strip().endswith("dexamethasone 16 mg daily.")
    assert doc.text[second.start :].strip() == "Arrange MRI of the whole spine within 24 hours."
    assert doc.report is not None and doc.report.pages == 2


def test_pdf_without_info_title_is_titled_by_file_name(tmp_path: Path, make_pdf: PdfWriter) -> None:
    path = make_pdf(tmp_path / "untitled.pdf", [["Some text on a page."]])

    assert load_pdf(path, "untitled").title == "untitled"


def test_pdf_without_text_layer_raises_loader_error(tmp_path: Path, make_pdf: PdfWriter) -> None:
    path = make_pdf(tmp_path / "scanned.pdf", [[]])

    with pytest.raises(LoaderError, match="without a text layer: run OCR") as info:
        load_pdf(path, "scanned")
    assert info.value.path == path


def test_corrupt_pdf_raises_loader_error(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.pdf"
    path.write_bytes(b"this is not a PDF at all")

    with pytest.raises(LoaderError, match="not a PDF file") as info:
        load_pdf(path, "corrupt")
    assert info.value.path == path


# --- JSONL records --------------------------------------------------------------------------------


def test_jsonl_records_keep_extra_keys_as_metadata(ingest_fixtures: Path) -> None:
    docs = list(load_jsonl(ingest_fixtures / "records.jsonl"))

    assert [d.doc_id for d in docs] == ["rec-001", "rec-002"]
    first = docs[0]
    assert first.title == "Adult acute lymphoblastic leukemia"
    assert first.source == "https://example.org/all"
    assert first.text.startswith("Adult acute lymphoblastic leukemia is a cancer")
    assert first.structured is False
    assert first.year == 2019  # a known field is lifted out of the extras
    assert first.metadata == {"focus": "Adult ALL", "umls_cui": "C0023449"}
    assert docs[1].metadata == {"focus": "Osteosarcoma"}


def test_jsonl_in_the_shared_benchmark_schema_loads(benchmarks_dir: Path, tmp_path: Path) -> None:
    source = benchmarks_dir / "medquad_cancergov" / "corpus.jsonl"
    head = tmp_path / "head.jsonl"
    with source.open(encoding="utf-8") as handle:
        head.write_text("".join(next(handle) for _ in range(5)), encoding="utf-8")

    docs = list(load_jsonl(head))

    assert len(docs) == 5
    assert all(d.doc_id and d.text and d.title for d in docs)


def test_malformed_jsonl_names_file_line_and_reason(ingest_fixtures: Path) -> None:
    path = ingest_fixtures / "malformed.jsonl"

    with pytest.raises(LoaderError) as info:
        list(load_jsonl(path))

    assert info.value.path == path
    assert info.value.reason.startswith("line 2: not JSON")
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (['["a", "list"]'], "line 1: a record must be a JSON object"),
        (['{"doc_id": "a", "title": "No text"}'], "line 1: missing text"),
        (['{"text": "No id"}'], "line 1: missing doc_id"),
        (['{"doc_id": "a", "text": "One."}', "", '{"doc_id": "a", "text": "Two."}'], "line 3: duplicate doc_id 'a'"),
    ],
)
def test_invalid_jsonl_records_raise_loader_error(tmp_path: Path, lines: list[str], reason: str) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with pytest.raises(LoaderError) as info:
        list(load_jsonl(path))
    assert info.value.reason == reason


# --- load_file / load_paths -----------------------------------------------------------------------


def test_unsupported_file_type_raises_unsupported_file_error(ingest_fixtures: Path) -> None:
    with pytest.raises(UnsupportedFileError, match=r"unsupported file type \.csv"):
        load_file(ingest_fixtures / "dosing.csv")


def test_load_paths_collects_documents_skips_unsupported_and_reports_malformed(ingest_fixtures: Path) -> None:
    result = load_paths([ingest_fixtures])

    assert sorted(d.doc_id for d in result.documents) == ["guideline", "notes", "page", "rec-001", "rec-002"]
    assert result.skipped == [ingest_fixtures / "dosing.csv"]
    assert len(result.errors) == 1
    assert result.errors[0].path == ingest_fixtures / "malformed.jsonl"
    assert "not JSON" in result.errors[0].reason


def test_load_paths_strict_raises_on_malformed_file(tiny_corpus: Path, ingest_fixtures: Path) -> None:
    shutil.copyfile(ingest_fixtures / "malformed.jsonl", tiny_corpus / "malformed.jsonl")

    with pytest.raises(LoaderError, match=r"malformed\.jsonl: line 2"):
        load_paths([tiny_corpus], strict=True)


def test_load_paths_strict_raises_on_unsupported_file(tiny_corpus: Path, ingest_fixtures: Path) -> None:
    shutil.copyfile(ingest_fixtures / "dosing.csv", tiny_corpus / "dosing.csv")

    with pytest.raises(UnsupportedFileError, match=r"dosing\.csv: unsupported file type \.csv"):
        load_paths([tiny_corpus], strict=True)


def test_load_paths_loads_pdf_alongside_other_types(tiny_corpus: Path, make_pdf: PdfWriter) -> None:
    make_pdf(tiny_corpus / "leaflet.pdf", [["Denosumab can lower calcium levels."]])

    result = load_paths([tiny_corpus])

    pdf = _only(result.documents, "leaflet")
    assert "Denosumab can lower calcium levels." in pdf.text
    assert not result.errors and not result.skipped


def test_doc_ids_are_paths_relative_to_the_given_folder(tmp_path: Path) -> None:
    (tmp_path / "topic" / "sub").mkdir(parents=True)
    (tmp_path / "topic" / "sub" / "guide.md").write_text("# Guide\n\nText.\n", encoding="utf-8")
    (tmp_path / "topic" / "other.txt").write_text("Other text.\n", encoding="utf-8")

    from_folder = load_paths([tmp_path / "topic"])
    from_file = load_paths([tmp_path / "topic" / "sub" / "guide.md"])

    assert sorted(d.doc_id for d in from_folder.documents) == ["other", "sub/guide"]
    assert [d.doc_id for d in from_file.documents] == ["guide"]


def test_hidden_files_readme_and_license_are_ignored(tiny_corpus: Path) -> None:
    (tiny_corpus / "README.md").write_text("# About this folder\n", encoding="utf-8")
    (tiny_corpus / ".hidden").mkdir()
    (tiny_corpus / ".hidden" / "secret.md").write_text("# Hidden\n\nText.\n", encoding="utf-8")
    (tiny_corpus / "LICENSE").write_text("licence text\n", encoding="utf-8")

    result = load_paths([tiny_corpus])

    assert "README" not in {d.doc_id for d in result.documents}
    assert all(".hidden" not in d.source for d in result.documents)
    assert result.skipped == []


def test_duplicate_doc_id_across_files_is_refused_for_the_later_file(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"doc_id": "same", "text": "From a."}\n', encoding="utf-8")
    (tmp_path / "b.jsonl").write_text('{"doc_id": "same", "text": "From b."}\n', encoding="utf-8")

    result = load_paths([tmp_path])

    assert [d.text for d in result.documents] == ["From a."]
    assert len(result.errors) == 1
    assert result.errors[0].path == tmp_path / "b.jsonl"
    assert "already loaded" in result.errors[0].reason


def test_missing_path_raises_loader_error(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match="no such file or folder"):
        load_paths([tmp_path / "does-not-exist"])


def test_content_hash_changes_with_text_and_metadata_only(tmp_path: Path) -> None:
    path = tmp_path / "doc.md"
    path.write_text("---\ntitle: T\nyear: 2020\n---\n\n# T\n\nText.\n", encoding="utf-8")
    first = load_markdown(path, "doc").content_hash
    again = load_markdown(path, "doc").content_hash
    path.write_text("---\ntitle: T\nyear: 2021\n---\n\n# T\n\nText.\n", encoding="utf-8")
    new_year = load_markdown(path, "doc").content_hash

    assert first == again
    assert new_year != first


def test_markdown_links_read_as_their_text_and_images_are_dropped(tmp_path):
    from ingest.loaders import load_markdown

    path = tmp_path / "pdq.md"
    path.write_text(
        '# Pain\n\nPain is common.[[3](#cit/section_1.3)] See [the WHO guideline](https://who.int/x "WHO").\n'
        "It helps.[[4](#cit/4)][[Level of evidence: I]](/Common/PopUps/popDefinition.aspx?id=1) Next.\n"
        "![figure](fig1.png)\n"
    )
    doc = load_markdown(path, "pdq")
    assert "Pain is common.[3] See the WHO guideline." in doc.text
    assert "It helps.[4][Level of evidence: I] Next." in doc.text  # a link whose text holds brackets
    assert "](" not in doc.text and "fig1.png" not in doc.text


def test_a_line_that_is_only_a_link_is_navigation_and_is_dropped(tmp_path):
    from ingest.loaders import load_markdown

    path = tmp_path / "pdq.md"
    path.write_text(
        "# Myeloma\n\n[Go to Patient Version](/types/myeloma/patient)\n\n"
        "Treat with [bortezomib](/drugs/bortezomib) weekly.\n\n"
        "## Latest changes\n\n- [Treatment of Multiple Myeloma](/types/myeloma/hp#_107)\n"
    )
    doc = load_markdown(path, "pdq")
    assert "Go to Patient Version" not in doc.text
    assert "Treatment of Multiple Myeloma" not in doc.text
    assert "Treat with bortezomib weekly." in doc.text  # a link inside a sentence is its text


def test_a_sentence_ends_after_the_source_s_own_citation_markers():
    from ingest.sentences import split_sentences

    text = "Pain is common.[3] Roughly 80% have it.[4, 5] Next."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "Pain is common.[3]",
        "Roughly 80% have it.[4, 5]",
        "Next.",
    ]


# --- Sections that are never answer text (references, contents...) in Markdown and web pages ---------


def test_markdown_reference_sections_are_left_out_to_the_next_heading_of_their_rank(tmp_path: Path) -> None:
    path = tmp_path / "pdq.md"
    path.write_text(
        "# Cancer pain\n\n## Opioids\n\nStart a stimulant laxative with the opioid.\n\n"
        "### References\n\n1. Smith J: Laxatives. J Pain 3 (2): 1-9, 2012.\n\n#### Older studies\n\n2. Doe A, 2001.\n\n"
        "## Radiotherapy\n\nA single 8 Gy fraction relieves pain.\n\n## Bibliography\n\nJones B. Bone pain. 2019.\n",
        encoding="utf-8",
    )

    doc = load_markdown(path, "pdq")

    assert "Start a stimulant laxative" in doc.text and "A single 8 Gy fraction" in doc.text
    assert "## Radiotherapy" in doc.text  # the excluded part ends at the next heading of its rank or above
    for gone in ("Smith J", "Older studies", "Doe A", "Jones B", "References", "Bibliography"):
        assert gone not in doc.text
    assert doc.report is not None
    assert doc.report.excluded == ['1 section "References" (references)', '1 section "Bibliography" (references)']


def test_markdown_notes_about_the_publication_itself_are_left_out(tmp_path: Path) -> None:
    """Its licence, disclaimer, contact details and change log are not care: an NCI PDQ summary's "About This
    PDQ Summary" once gave an answer's first sentences ("images in this summary are used with permission")."""
    path = tmp_path / "pdq.md"
    path.write_text(
        "# Nausea\n\n## Anticipatory nausea\n\nProgressive muscle relaxation reduces anticipatory nausea.\n\n"
        "## Latest Updates to This Summary (03/10/2025)\n\nAdded text about olanzapine.\n\n"
        "## About This PDQ Summary\n\n### Purpose of This Summary\n\nThis summary is for clinicians.\n\n"
        "### Permission to Use This Summary\n\nImages in this summary are used with permission.\n\n"
        "## Levels of Evidence\n\nLevel I evidence comes from randomised trials.\n",
        encoding="utf-8",
    )

    doc = load_markdown(path, "pdq")

    assert "Progressive muscle relaxation" in doc.text and "Level I evidence" in doc.text
    for gone in ("Added text about olanzapine", "This summary is for clinicians", "used with permission"):
        assert gone not in doc.text
    assert doc.report is not None
    assert doc.report.excluded == [
        '1 section "Latest Updates to This Summary (03/10/2025)" (administrative)',
        '1 section "About This PDQ Summary" (administrative)',
    ]


def test_markdown_heading_inside_fenced_code_does_not_open_an_excluded_section(tmp_path: Path) -> None:
    path = tmp_path / "fenced.md"
    path.write_text("# Dosing\n\n```\n# References\n```\n\nGive 4 mg.\n", encoding="utf-8")

    doc = load_markdown(path, "fenced")

    assert "Give 4 mg." in doc.text and "# References" in doc.text
    assert doc.report is None


def test_markdown_that_is_only_a_reference_list_fails_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "refs.md"
    path.write_text("# References\n\n1. Smith J. Pain. 2012.\n", encoding="utf-8")

    with pytest.raises(LoaderError, match=r"refs\.md.*no text left"):
        load_markdown(path, "refs")


def test_html_abbreviation_and_reference_sections_are_left_out(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><body><main><h1>Lung cancer screening</h1><p>Screen adults aged 50-80 with low-dose CT.</p>"
        "<h2>Abbreviations</h2><p>LDCT, low-dose computed tomography</p>"
        "<h2>Harms</h2><p>False positives lead to invasive procedures.</p>"
        "<h2>References</h2><ol><li>Aberle DR et al. N Engl J Med 2011;365:395-409.</li></ol></main></body></html>",
        encoding="utf-8",
    )

    doc = load_html(path, "page")

    assert "Screen adults aged 50-80" in doc.text and "False positives" in doc.text
    assert "Aberle" not in doc.text and "LDCT, low-dose" not in doc.text
    assert doc.report is not None
    assert doc.report.excluded == ['1 section "Abbreviations" (abbreviations)', '1 section "References" (references)']


def test_a_web_page_that_is_only_a_reference_list_fails_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "refs.html"
    path.write_text(
        "<html><body><main><h2>References</h2><ol><li>Aberle DR et al. N Engl J Med 2011;365:395-409.</li>"
        "<li>Smith J. Pain. J Pain 2012;3:1-9.</li></ol></main></body></html>",
        encoding="utf-8",
    )

    with pytest.raises(LoaderError, match=r"refs\.html.*no text left after leaving out its references"):
        load_html(path, "refs")
