"""Main-content extraction from web pages: what is kept, what is dropped, how tables and titles come out."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.html import extract_html

REALDOCS = Path(__file__).resolve().parents[3] / "shared" / "realdocs"

SENTENCE = "Offer antihypertensive drug treatment to adults of any age who have stage 2 hypertension and diabetes."


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


# --- Boilerplate ----------------------------------------------------------------------------------


def test_navigation_banner_and_footer_are_dropped_and_the_main_content_kept() -> None:
    html = _page(
        '<a href="#content" class="skip-link">Skip to main content</a>'
        '<header><a href="/">Site home</a><form role="search"><input name="q"><button>Search site</button></form>'
        '<nav><ul><li><a href="/a">Guidance</a></li><li><a href="/b">Standards</a></li></ul></nav></header>'
        '<nav aria-label="Breadcrumbs"><a href="/">Home</a> &gt; <a href="/guidance">Guidance</a></nav>'
        '<main id="content"><h1>Hypertension in adults</h1>'
        f"<p>{SENTENCE}</p><h2>Targets</h2><p>Aim for a clinic blood pressure below 140/90 mmHg.</p>"
        '<div class="share-buttons"><a href="https://x.com/s">Share on X</a> <a href="mailto:">Email a friend</a></div>'
        "</main>"
        '<footer><p>Copyright 2024 Example Institute. All rights reserved.</p><a href="/privacy">Privacy</a></footer>',
        head="<title>Hypertension in adults | Guidance | NICE</title>",
    )

    result = extract_html(html)
    lines = _lines(result.text)

    assert lines[:2] == ["# Hypertension in adults", SENTENCE]
    assert "## Targets" in lines
    assert "Aim for a clinic blood pressure below 140/90 mmHg." in lines
    for chrome in (
        "Skip to main",
        "Site home",
        "Search site",
        "Guidance",
        "Breadcrumbs",
        "Share on X",
        "Email a friend",
    ):
        assert chrome not in result.text
    assert "Copyright" not in result.text and "Privacy" not in result.text
    assert result.title == "Hypertension in adults"
    assert result.headings == 2


def test_text_directly_in_body_is_kept_in_order_around_blocks() -> None:
    html = _page(
        "Give intravenous fluids before any bisphosphonate."
        "<h2>Bisphosphonates</h2>Zoledronic acid 4 mg over 15 minutes is preferred."
        "<p>Recheck calcium after 5 to 7 days.</p>Denosumab may be used when bisphosphonates are contraindicated."
        "<div>Monitor for <b>hypocalcaemia</b> after treatment.</div>Trailing words at the end."
    )

    assert _lines(extract_html(html).text) == [
        "Give intravenous fluids before any bisphosphonate.",
        "## Bisphosphonates",
        "Zoledronic acid 4 mg over 15 minutes is preferred.",
        "Recheck calcium after 5 to 7 days.",
        "Denosumab may be used when bisphosphonates are contraindicated.",
        "Monitor for hypocalcaemia after treatment.",
        "Trailing words at the end.",
    ]


def test_loose_text_in_the_content_container_is_kept_when_main_content_is_found_by_text_density() -> None:
    html = _page(
        '<div id="top"><ul><li><a href="/">Home</a></li><li><a href="/topics">Topics</a></li></ul></div>'
        '<div id="page"><div id="col-main"><h1>Diabetic foot</h1><div class="text">'
        "Examine both feet of every person with diabetes at least once a year."
        f"<p>{SENTENCE}</p></div></div>"
        '<div id="col-right"><h3>Popular pages</h3><p><a href="/a">Sepsis recognition</a></p>'
        '<p><a href="/b">Asthma in children</a></p><p>Sign up for updates.</p></div></div>'
    )

    result = extract_html(html)

    assert _lines(result.text) == [
        "# Diabetic foot",
        "Examine both feet of every person with diabetes at least once a year.",
        SENTENCE,
    ]
    assert any("text density" in w for w in result.warnings)


def test_link_heavy_sidebar_without_hints_is_dropped_but_a_reference_list_is_kept() -> None:
    menu = "".join(f'<li><a href="/g/{i}">Related guideline {i}</a></li>' for i in range(8))
    references = "".join(
        f'<li><a href="https://doi.org/10.1000/{i}">Author A, Author B. A randomised trial of treatment strategy '
        f"number {i} in adults with stage 2 hypertension. J Hypertens. 2020;{i}:1-9.</a></li>"
        for i in range(3)
    )
    html = _page(
        f'<div class="row"><div class="col-3"><ul>{menu}</ul></div>'
        f'<div class="col-9"><h1>Hypertension</h1><p>{SENTENCE}</p><h2>References</h2><ol>{references}</ol></div></div>'
    )

    text = extract_html(html).text

    assert "Related guideline" not in text
    assert SENTENCE in text
    assert "1. Author A, Author B. A randomised trial of treatment strategy number 0" in text
    assert "3. Author A, Author B." in text


@pytest.mark.parametrize(
    "banner",
    [
        '<div id="ccc"><p>We use cookies to make our website work better. Accept or reject them.</p></div>',
        '<div class="cookie-consent">This site relies on small files. <a href="/p">More</a> <a href="#">OK</a></div>',
        '<div role="dialog"><p>Please tell us about your visit in a short survey.</p></div>',
    ],
)
def test_cookie_notices_and_dialogs_are_dropped(banner: str) -> None:
    html = _page(f"{banner}<main><h1>Sepsis</h1><p>{SENTENCE}</p></main>")

    text = extract_html(html).text

    assert _lines(text) == ["# Sepsis", SENTENCE]


def test_main_holding_little_of_the_text_is_not_trusted() -> None:
    html = _page(
        '<main><p class="hero">Welcome</p></main>'
        f'<div id="content"><h1>Sepsis</h1><p>{SENTENCE}</p><p>{SENTENCE.replace("stage 2", "stage 3")}</p></div>'
    )

    assert SENTENCE in extract_html(html).text


def test_an_article_header_with_the_title_is_kept_and_the_page_banner_dropped() -> None:
    html = _page(
        '<header class="site"><a href="/" class="logo">World Health Site</a></header>'
        "<article><header><h1>Tuberculosis preventive treatment</h1><p>22 April 2024 | Guideline</p></header>"
        f"<p>{SENTENCE}</p><footer><a href='/t/1'>Tuberculosis</a>, <a href='/t/2'>HIV</a></footer></article>"
        "<aside><h3>Related</h3><p>Global tuberculosis report 2023 is now published online.</p></aside>"
    )

    lines = _lines(extract_html(html).text)

    assert lines == ["# Tuberculosis preventive treatment", "22 April 2024 | Guideline", SENTENCE]


def test_title_h1_above_the_main_element_is_brought_back() -> None:
    html = _page(
        '<div class="page-header"><h1>Hypertension in adults</h1><p>NICE guideline NG136. Published 2019.</p></div>'
        f"<main><h2>Recommendations</h2><p>{SENTENCE}</p></main>",
        head="<title>Hypertension in adults | NICE</title>",
    )

    result = extract_html(html)

    assert _lines(result.text)[:3] == [
        "# Hypertension in adults",
        "NICE guideline NG136. Published 2019.",
        "## Recommendations",
    ]
    assert any("title <h1>" in w for w in result.warnings)


def test_accordion_heading_buttons_keep_their_text_and_other_controls_go() -> None:
    html = _page(
        f'<main><h2><button aria-expanded="true">Treatment</button></h2><p>{SENTENCE}</p>'
        '<button>Show all sections</button><div>Next steps. <a href="#top">Back to top</a></div></main>'
    )

    text = extract_html(html).text

    assert "## Treatment" in text.splitlines()
    assert "Show all sections" not in text
    assert "Next steps." in text.splitlines()  # an in-page "Back to top" link goes, the text beside it stays


# --- Tables ---------------------------------------------------------------------------------------


def test_table_rows_are_written_whole_with_the_header_row_first() -> None:
    html = _page(
        "<main><h1>Doses</h1><table><caption>Table 1 Doxycycline doses</caption>"
        "<tbody><tr><td>Adults</td><td>100 mg<br>twice daily</td><td>10 days</td></tr>"
        "<tr><td>Children</td><td>4.4 mg/kg per day | in 2 doses</td><td>10 days</td></tr></tbody>"
        "<thead><tr><th>Group</th><th>Dose</th><th>Duration</th></tr></thead></table></main>"
    )

    result = extract_html(html)
    lines = _lines(result.text)

    start = lines.index("| Group | Dose | Duration |")
    assert lines[start - 1] == "Table 1 Doxycycline doses"
    assert lines[start + 1] == "| --- | --- | --- |"  # the delimiter row that makes it the header
    assert lines[start + 2 : start + 4] == [
        "| Adults | 100 mg twice daily | 10 days |",  # <br> in a cell is a space
        "| Children | 4.4 mg/kg per day \\| in 2 doses | 10 days |",
    ]
    assert result.tables == 1


def test_row_and_column_spans_keep_every_row_self_contained() -> None:
    html = _page(
        "<table><tr><th>Antibiotic</th><th>Age</th><th>Dose</th></tr>"
        "<tr><td rowspan='2'>Clarithromycin</td><td>Under 8 kg</td><td>7.5 mg/kg twice a day</td></tr>"
        "<tr><td>8 to 11 kg</td><td>62.5 mg twice a day</td></tr>"
        "<tr><td colspan='3'>Adults: see the adult guideline</td></tr></table>"
    )

    lines = _lines(extract_html(html).text)

    assert lines == [
        "| Antibiotic | Age | Dose |",
        "| --- | --- | --- |",
        "| Clarithromycin | Under 8 kg | 7.5 mg/kg twice a day |",
        "| Clarithromycin | 8 to 11 kg | 62.5 mg twice a day |",
        "| Adults: see the adult guideline |",
    ]


def test_a_title_row_across_the_header_becomes_a_caption_and_header_rows_merge_per_column() -> None:
    html = _page(
        "<table><thead><tr><th colspan='3'>Table 2 Antibiotic doses</th></tr>"
        "<tr><th rowspan='2'>Drug</th><th colspan='2'>Dose</th></tr><tr><th>Adult</th><th>Child</th></tr></thead>"
        "<tbody><tr><td>Amoxicillin</td><td>500 mg</td><td>25 mg/kg</td></tr></tbody></table>"
    )

    assert _lines(extract_html(html).text) == [
        "Table 2 Antibiotic doses",
        "| Drug | Dose Adult | Dose Child |",
        "| --- | --- | --- |",
        "| Amoxicillin | 500 mg | 25 mg/kg |",
    ]


def test_cell_lists_and_paragraphs_are_flattened_with_items_kept_apart() -> None:
    html = _page(
        "<table><tr><th>Risk</th><th>Factors</th></tr>"
        "<tr><td>High</td><td><p>Any of:</p><ul><li>previous ulcer</li><li>amputation</li></ul></td></tr></table>"
    )

    assert "| High | Any of: previous ulcer; amputation |" in _lines(extract_html(html).text)


def test_nested_table_follows_its_row_and_the_outer_table_resumes_under_its_header() -> None:
    html = _page(
        "<table><thead><tr><th>Group</th><th>Grading</th></tr></thead><tbody>"
        "<tr><th>ASCO (2013)</th><td><p><strong>Ratings for the evidence</strong></p>"
        "<table><thead><tr><th>Rating</th><th>Definition</th></tr></thead>"
        "<tr><td>Strong</td><td>High confidence in the effect.</td></tr>"
        "<tr><td>Weak</td><td>Low confidence.</td></tr></table></td></tr>"
        "<tr><th>USPSTF (2013)</th><td>Grades A to D and I.</td></tr></tbody></table>"
    )

    result = extract_html(html)

    assert result.text.split("\n\n") == [
        "| Group | Grading |\n| --- | --- |\n| ASCO (2013) | Ratings for the evidence |",
        "ASCO (2013): Ratings for the evidence",
        "| Rating | Definition |\n| --- | --- |\n"
        "| Strong | High confidence in the effect. |\n| Weak | Low confidence. |",
        "| Group | Grading |\n| --- | --- |\n| USPSTF (2013) | Grades A to D and I. |\n",
    ]
    assert result.tables == 2


PROSE = " ".join(["Screening with chest radiography did not reduce lung cancer mortality in any trial."] * 6)


def test_rows_whose_cells_hold_paragraphs_become_sections_under_their_row_label() -> None:
    html = _page(
        "<h2>Comparison of recommendations</h2>"
        "<table><tr><th>ACS (2013)</th><td>Not applicable</td></tr>"
        f"<tr><th>ACCP (2013)</th><td><p><strong>Screening with CXR</strong></p><p>{PROSE}</p>"
        "<p>Screening with CXR is not recommended (<strong>Grade 1A</strong>).</p></td></tr>"
        "<tr><th>USPSTF (2014)</th><td>Annual LDCT from 50 to 80 years.</td></tr></table>"
        "<h2>Harms</h2><table><tr><th>Rating</th><th>Definition</th></tr>"
        "<tr><td>Strong</td><td>High confidence.</td></tr></table>"
    )

    result = extract_html(html)

    # Every row of a label-value table holding paragraphs is a section, so none is read under another's label;
    # a paragraph wholly in bold titles a subsection; an ordinary data table stays rows.
    assert _lines(result.text) == [
        "## Comparison of recommendations",
        "### ACS (2013)",
        "Not applicable",
        "### ACCP (2013)",
        "#### Screening with CXR",
        PROSE,
        "Screening with CXR is not recommended (Grade 1A).",
        "### USPSTF (2014)",
        "Annual LDCT from 50 to 80 years.",
        "## Harms",
        "| Rating | Definition |",
        "| --- | --- |",
        "| Strong | High confidence. |",
    ]
    assert result.warnings == ["3 table row(s) holding paragraphs written as sections under their row label"]


def test_a_wide_table_keeps_its_short_rows_and_heads_a_paragraph_cell_with_row_and_column() -> None:
    html = _page(
        "<h3>Doses</h3><table><tr><th>Drug</th><th>Dose</th><th>Evidence</th></tr>"
        "<tr><td>Zoledronic acid</td><td>4 mg every 4 weeks</td><td>RCTs</td></tr>"
        f"<tr><td>Denosumab</td><td><p>{PROSE}</p><p>120 mg every 4 weeks.</p></td>"
        f"<td><p>{PROSE}</p><p>RCT.</p></td></tr>"
        "</table>"
    )

    lines = _lines(extract_html(html).text)

    assert lines[:4] == ["### Doses", "| Drug | Dose | Evidence |", "| --- | --- | --- |",
                         "| Zoledronic acid | 4 mg every 4 weeks | RCTs |"]  # fmt: skip
    assert lines[4:] == [
        "#### Denosumab - Dose",
        PROSE,
        "120 mg every 4 weeks.",
        "#### Denosumab - Evidence",
        PROSE,
        "RCT.",
    ]


def test_layout_tables_are_read_as_blocks_and_their_menu_column_dropped() -> None:
    menu = "<br>".join(f'<a href="/p{i}">Page {i}</a>' for i in range(6))
    html = _page(
        f'<table width="100%"><tr><td>{menu}</td><td><h1>Otitis media</h1><p>{SENTENCE}</p>'
        "<table border='1'><tr><th>Antibiotic</th><th>Days</th></tr><tr><td>Amoxicillin</td><td>5</td></tr></table>"
        "</td></tr></table>"
    )

    result = extract_html(html)

    assert _lines(result.text) == [
        "# Otitis media",
        SENTENCE,
        "| Antibiotic | Days |",
        "| --- | --- |",
        "| Amoxicillin | 5 |",
    ]
    assert result.tables == 1


# --- Lists ----------------------------------------------------------------------------------------


def test_ordered_lists_are_numbered_and_item_paragraphs_stay_under_their_item() -> None:
    html = _page(
        "<ol start='3'><li><p>Offer isoniazid.</p><p>Check liver function first.</p></li>"
        "<li>Offer rifapentine.</li></ol>"
    )

    assert extract_html(html).text.splitlines() == [
        "3. Offer isoniazid.",
        "  Check liver function first.",
        "4. Offer rifapentine.",
    ]


# --- Title and metadata ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "h1", "expected"),
    [
        ("Hypertension in adults: diagnosis | Guidance | NICE", None, "Hypertension in adults: diagnosis"),
        ("Screening for Lung Cancer - AHRQ", None, "Screening for Lung Cancer"),
        ("CDC - Lyme disease treatment", None, "Lyme disease treatment"),
        ("NICE | Hypertension in adults", "Hypertension in adults", "Hypertension in adults"),
        ("Home", "Prevention of diabetic foot ulcers", "Prevention of diabetic foot ulcers"),
        (None, "Prevention of diabetic foot ulcers", "Prevention of diabetic foot ulcers"),
    ],
)
def test_title_drops_the_site_part_or_uses_the_h1(title: str | None, h1: str | None, expected: str) -> None:
    head = f"<title>{title}</title>" if title else ""
    body = (f"<h1>{h1}</h1>" if h1 else "") + f"<p>{SENTENCE}</p>"

    assert extract_html(_page(body, head=head)).title == expected


def test_a_logo_h1_is_not_the_title() -> None:
    html = _page(
        f'<header><h1><a href="/">NICE</a></h1></header><main><h1>Sepsis: recognition</h1><p>{SENTENCE}</p></main>',
        head="<title>Overview | Sepsis: recognition | Guidance | NICE</title>",
    )

    result = extract_html(html)

    assert result.title == "Sepsis: recognition"
    assert "# NICE" not in result.text


def test_meta_tags_give_title_year_issuing_body_and_url() -> None:
    head = (
        "<title>Diabetic foot - Example Network</title>"
        '<meta name="citation_title" content="Prevention and management of diabetic foot ulcers">'
        '<meta name="citation_author" content="Example Society of Podiatry">'
        '<meta name="citation_publication_date" content="2021/05/14">'
        '<meta property="og:url" content="https://example.org/og">'
        '<link rel="canonical" href="https://example.org/guidelines/diabetic-foot">'
    )

    result = extract_html(_page(f"<p>{SENTENCE}</p>", head=head))

    assert result.title == "Prevention and management of diabetic foot ulcers"
    assert result.metadata == {
        "title": "Prevention and management of diabetic foot ulcers",
        "issuing_body": "Example Society of Podiatry",
        "date": "2021/05/14",
        "year": "2021",
        "url": "https://example.org/guidelines/diabetic-foot",
    }


def test_several_authors_are_not_an_issuing_body_and_the_site_name_is() -> None:
    head = (
        '<meta name="citation_author" content="Smith, Jane"><meta name="citation_author" content="Jones, Ann">'
        '<meta property="og:site_name" content="World Health Organization"><meta name="DC.date" content="2024-04-22">'
    )

    metadata = extract_html(_page(f"<p>{SENTENCE}</p>", head=head)).metadata

    assert metadata["issuing_body"] == "World Health Organization"
    assert metadata["year"] == "2024"


def test_page_without_visible_text_gives_empty_text_and_a_warning() -> None:
    result = extract_html("<html><head><title>T</title><script>x()</script></head><body><nav>Menu</nav></body></html>")

    assert result.text == ""
    assert result.title == "T"
    assert any("little text" in w for w in result.warnings)


def test_deeply_nested_page_is_read_without_recursion_errors() -> None:
    html = _page("<div>" * 2000 + f"<p>{SENTENCE}</p>" + "</div>" * 2000)

    assert extract_html(html).text.strip() == SENTENCE


# --- Real pages -----------------------------------------------------------------------------------


def _real_page(name: str) -> str:
    path = REALDOCS / "html" / name
    if not path.is_file():
        pytest.skip(f"real guideline pages not available: {path} is absent (see ../shared/realdocs/README.md)")
    return path.read_text(encoding="utf-8")


NGC_CHROME = (
    "Skip to main content",
    "Log into My NGC",
    "Search Tips",
    "Get Email Alerts",
    "About NGC Guideline Syntheses",
    "Inspector General",
    "5600 Fishers Lane",
    "Facebook",
    "Internet citation",
    "Expand All",
    "View Summary",
    "will not be available after July 16, 2018",
)


def test_real_ngc_lung_screening_synthesis_keeps_content_and_tables_and_drops_site_chrome() -> None:
    result = extract_html(_real_page("ngc_synthesis_50489.htm"))
    lines = _lines(result.text)

    assert result.title == "Screening for Lung Cancer"
    assert lines[lines.index("# Screening for Lung Cancer") + 1] == "Guidelines Being Compared:"
    for heading in ("## Comparison of Recommendations", "#### Screening Eligibility", "## Abbreviations", "## Status"):
        assert heading in lines
    assert "20% fewer lung cancer deaths among trial participants screened with LDCT than with CXR" in result.text
    assert "LDCT, low-dose computed tomography" in lines
    # Rows whose cells hold paragraphs are sections under their row's label, bold run-in titles their subsections.
    comparison = lines.index("#### ACS (2013)")
    assert lines[comparison - 1] == "### Screening for Lung Cancer"
    assert lines[comparison + 1].startswith("Clinicians should ascertain the smoking status")
    accp = lines.index("#### ACCP (2013)")
    assert lines[accp + 1 : accp + 4] == [
        "##### Results",
        "##### Screening with CXR and Sputum Analysis",
        "In patients at risk for developing lung cancer, screening for lung cancer with CXR once or at regular "
        "intervals is not recommended (Grade 1A).",
    ]
    # The ACCP grading table, nested in a cell, comes out as rows of its own under its header.
    header = (
        "| Grade of Recommendation | Benefit vs. Risk and Burdens | Methodologic Quality of Supporting Evidence "
        "| Implications |"
    )
    start = lines.index(header)
    assert lines[start - 2 : start] == ["### ACCP (2013)", "#### Strength of the Recommendations Grading System"]
    assert lines[start + 1].startswith("| --- |")
    assert lines[start + 2].startswith(
        "| Strong recommendation, high-quality evidence, Grade 1A | Benefits clearly outweigh"
    )
    assert sum(line.startswith("| Weak recommendation") for line in lines[start:]) == 3
    for chrome in NGC_CHROME:
        assert chrome not in result.text
    assert result.tables == 4
    assert result.headings == 52
    assert "17 table row(s) holding paragraphs written as sections under their row label" in result.warnings


def test_real_ngc_breast_cancer_synthesis_keeps_content_and_tables_and_drops_site_chrome() -> None:
    result = extract_html(_real_page("ngc_synthesis_48012.htm"))
    lines = _lines(result.text)

    assert result.title == "Pharmacologic Interventions for Breast Cancer Risk Reduction in Women"
    for heading in ("### Areas of Agreement", "#### Women with LCIS", "## Contraindications", "### Harms"):
        assert heading in lines
    assert (
        "the usual daily doses for tamoxifen and raloxifene are 20 mg and 60 mg, respectively, for 5 years"
        in result.text
    )
    assert "| USPSTF (2013) | Not stated |" in lines
    start = lines.index("| Rating | Definition |")
    assert [line.split(" | ")[0] for line in lines[start + 2 : start + 6]] == [
        "| Strong",
        "| Moderate",
        "| Weak",
        "| Insufficient",
    ]
    grades = lines.index("| Grade | Grade Definitions | Suggestions for Practice |")
    assert lines[grades + 2] == (
        "| A | The USPSTF recommends the service. There is high certainty that the net benefit is substantial. "
        "| Offer or provide this service. |"
    )
    assert any("The limited number or size of studies; Important flaws in study design" in line for line in lines)
    for chrome in NGC_CHROME:
        assert chrome not in result.text
    assert result.tables == 6
    assert lines[lines.index("| Rating | Definition |") - 2 : lines.index("| Rating | Definition |")] == [
        "### ASCO (2013)",
        "#### Ratings for the Strength of the Total Body of Evidence",
    ]


NICE_PAGE = """<html><head><title>Recommendations | Metastatic spinal cord compression | NICE</title></head>
<body><nav><a href="/">Home</a></nav><main>
<h1>Recommendations</h1>
<h2>1.1 Recognising spinal metastases</h2>
<p>1.1.1 Contact the MSCC coordinator immediately if a person has symptoms of spinal metastases.</p>
<p>1.1.2 Offer an MRI of the whole spine within 1 week to people with symptoms of spinal metastases.</p>
<h2>1.2 Treatment</h2>
<p>1.2.1 Offer 16 mg dexamethasone as soon as possible to people with suspected MSCC.</p>
<p>See section 1.4 for follow-up.</p>
</main></body></html>"""


def test_nice_numbered_paragraphs_become_recommendations_with_their_number(tmp_path: Path) -> None:
    from ingest import Chunker, ChunkingSettings
    from ingest.loaders import load_html
    from tests.qa_service.mini_corpus import make_embedder

    page = extract_html(NICE_PAGE)
    assert page.recommendations == 3
    assert "### Recommendation 1.1.2\n\n1.1.2 Offer an MRI" in page.text  # under its h2, one level down

    path = tmp_path / "ng234.html"
    path.write_text(NICE_PAGE)
    doc = load_html(path, "ng234")
    embedder = make_embedder()
    chunks = Chunker(ChunkingSettings(), embedder.count_tokens, embedder.max_tokens).chunk(doc)
    recs = {c.rec_id: c for c in chunks if c.rec_id}
    assert set(recs) == {"ng234#rec-1.1.1", "ng234#rec-1.1.2", "ng234#rec-1.2.1"}
    assert "16 mg dexamethasone" in recs["ng234#rec-1.2.1"].text
    assert recs["ng234#rec-1.2.1"].section[-2:] == ("1.2 Treatment", "Recommendation 1.2.1")
    assert doc.report is not None and doc.report.recommendations == 3


def test_a_page_with_a_couple_of_numbered_paragraphs_is_left_alone() -> None:
    page = extract_html("<main><h1>T</h1><p>1.1.1 Scope of this page.</p><p>1.1.2 Also this.</p></main>")
    assert page.recommendations == 0 and "Recommendation" not in page.text
