"""Layout-aware PDF extraction: small PDFs drawn here, and the real guideline PDFs when present."""

from __future__ import annotations

import io
import re
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.errors import LoaderError
from ingest.excluded import excluded_kind
from ingest.pdf import PdfExtraction, extract_pdf
from ingest.pdf.lines import segment_of
from ingest.pdf.reader import Span
from tests.conftest import assemble_pdf

REALDOCS = Path(__file__).resolve().parents[3] / "shared" / "realdocs"
CDC_PDF = REALDOCS / "pdf" / "cdc_opioids_for_pain_2022_rr7103a1.pdf"
WHO_PDF = REALDOCS / "pdf" / "who_chronic_pain_children_2020.pdf"

# --- a tiny PDF writer: positioned text in Helvetica / Helvetica-Bold, horizontal rules ----------

PAGE_W, PAGE_H = 612, 792


@dataclass
class T:
    """Text at x, y (from the top of the page), in a size, bold or not."""

    x: float
    y: float
    text: str
    size: float = 10
    bold: bool = False
    turned: bool = False  # set sideways (reading upwards): x along the text, y from the page's left edge


@dataclass
class R:
    """A horizontal rule from x0 to x1 at y (from the top)."""

    x0: float
    x1: float
    y: float


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def write_pdf(path: Path, pages: list[list[T | R]], *, title: str | None = None, labels: bool = False) -> Path:
    """Write a PDF whose pages carry the given items as real text (and drawn rules)."""
    n = len(pages)
    regular, bold = 3 + 2 * n, 4 + 2 * n
    info, page_labels = 5 + 2 * n, 6 + 2 * n
    objects: dict[int, bytes] = {
        2: ("<< /Type /Pages /Kids [" + " ".join(f"{3 + 2 * i} 0 R" for i in range(n)) + f"] /Count {n} >>").encode(),
        regular: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        bold: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    }
    catalog = "<< /Type /Catalog /Pages 2 0 R"
    if labels:
        objects[page_labels] = b"<< /Nums [0 << /S /r >> 2 << /S /D >>] >>"
        catalog += f" /PageLabels {page_labels} 0 R"
    objects[1] = (catalog + " >>").encode()
    for i, items in enumerate(pages):
        ops = []
        for item in items:
            if isinstance(item, T):
                font = "F2" if item.bold else "F1"
                matrix = f"0 1 -1 0 {item.y} {item.x}" if item.turned else f"1 0 0 1 {item.x} {PAGE_H - item.y}"
                ops.append(f"BT /{font} {item.size} Tf {matrix} Tm {_pdf_string(item.text)} Tj ET")
            else:
                ops.append(f"0.5 w {item.x0} {PAGE_H - item.y} m {item.x1} {PAGE_H - item.y} l S")
        stream = "\n".join(ops).encode("cp1252")
        objects[3 + 2 * i] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] /Contents {4 + 2 * i} 0 R "
            f"/Resources << /Font << /F1 {regular} 0 R /F2 {bold} 0 R >> >> >>"
        ).encode()
        objects[4 + 2 * i] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    if title is not None:
        objects[info] = f"<< /Title {_pdf_string(title)} /CreationDate (D:20190301000000) >>".encode("latin-1")
    return assemble_pdf(path, objects, info if title is not None else None)


def paragraph(x: float, y: float, lines: list[str], size: float = 10, pitch: float = 12) -> list[T | R]:
    return [T(x, y + k * pitch, line, size) for k, line in enumerate(lines)]


def page_of(result: PdfExtraction, offset: int) -> int:
    starts = [p.start for p in result.pages]
    return result.pages[bisect_right(starts, offset) - 1].number


# --- the layout of a two-column guideline page ---------------------------------------------------

LEFT = [
    "Palliative care starts early in the course of",
    "the disease. The team offers symptom control",
    "and support for families through every stage",
    "of the illness, including advance care and pal-",
    "liative sedation when needed. An evidence-",
    "based plan is agreed and shared with the",
]
RIGHT = [
    "family doctor. Opioids remain the mainstay of",
    "treatment for moderate to severe cancer pain",
    "and an evidence-based approach to titration",
    "reduces harm. It supports a steady level of",
    "palliative care in all the settings where the",
    "patients are seen and treated by the team.",
]
DOSING_LEFT = [
    "Start with a low dose of an immediate-release",
    "opioid and increase it every day until the pain",
    "is controlled or side effects appear.",
]
DOSING_RIGHT = [
    "Review every patient on strong opioids at least",
    "once a week while the dose is being changed and",
    "monthly once the dose is stable.",
]


def _guideline_pages() -> list[list[T | R]]:
    header = [T(72, 40, "Journal of Pretend Oncology  Vol. 12", 8), T(480, 40, "Clinical guideline", 8)]
    cover: list[T | R] = [T(72, 200, "Managing Cancer Pain in Adults", 24, bold=True), T(72, 240, "March 2021", 12)]
    page2: list[T | R] = [
        *header,
        T(72, 90, "1 Introduction", 16, bold=True),
        *paragraph(72, 120, LEFT),
        *paragraph(320, 120, RIGHT),
        T(72, 220, "1.1 Dosing", 13, bold=True),
        *paragraph(72, 245, DOSING_LEFT),
        *paragraph(320, 245, DOSING_RIGHT),
        T(300, 760, "1", 9),
    ]
    page3: list[T | R] = [
        *header,
        T(72, 90, "Recommendation 1", 13, bold=True),
        *paragraph(
            72,
            110,
            [
                "Offer oral morphine as the first-line strong opioid for adults with moderate to",
                "severe cancer pain (strong recommendation, moderate certainty evidence).",
            ],
        ),
        T(72, 160, "Table 1. Conversion factors", 10, bold=True),
        R(72, 400, 170),
        T(72, 182, "Drug", 10, bold=True),
        T(300, 182, "Factor", 10, bold=True),
        R(72, 400, 187),
        T(72, 200, "Codeine", 10),
        T(300, 200, "0.15", 10),
        T(72, 214, "Oxycodone", 10),
        T(300, 214, "1.5", 10),
        T(72, 228, "Hydromorphone", 10),
        T(300, 228, "5.0", 10),
        R(72, 400, 234),
        *paragraph(
            72,
            260,
            [
                "Adjust the dose to the response of each patient and review the plan at every visit",
                "with the patient and the family.",
            ],
        ),
        T(300, 760, "2", 9),
    ]
    refs = [
        "1. Smith AB, Jones CD. Morphine in cancer pain. Lancet Oncol 2019;20:100-110. doi:10.1016/x",
        "2. Brown EF, Green GH, et al. Opioid titration. J Clin Oncol 2018;36:2000-2010.",
        "3. White IJ, Black KL. Palliative sedation. BMJ 2017;356:j100. PMID 123456.",
        "4. Gray MN, et al. Conversion tables revisited. Pain 2016;157:50-60.",
        "5. Stone OP, Wood QR. Methadone rotation. Palliat Med 2015;29:5-15. doi:10.1177/y",
    ]
    page4: list[T | R] = [
        *header,
        *paragraph(72, 90, [*DOSING_LEFT, "Care plans are reviewed every three months", "by the whole team."]),
        *paragraph(
            320, 90, [*DOSING_RIGHT, "Doses are written in milligrams per day and", "checked by a second nurse."]
        ),
        T(72, 190, "References", 16, bold=True),
        *paragraph(72, 220, refs, size=9, pitch=14),
        T(300, 760, "3", 9),
    ]
    return [cover, page2, page3, page4]


@pytest.fixture(scope="module")
def guideline(tmp_path_factory: pytest.TempPathFactory) -> PdfExtraction:
    path = write_pdf(tmp_path_factory.mktemp("pdf") / "guideline.pdf", _guideline_pages(), title="guideline.docx")
    return extract_pdf(path)


def test_two_columns_are_read_column_by_column(guideline: PdfExtraction) -> None:
    text = guideline.text
    assert text.index("Palliative care starts early") < text.index("Opioids remain the mainstay")
    assert "Palliative care starts early in the course of the disease." in text
    # A paragraph running from the foot of the left column to the top of the right one stays whole.
    assert "shared with the family doctor. Opioids remain" in text
    assert text.index("is controlled or side effects appear.") < text.index("Review every patient")


def test_running_header_and_page_numbers_are_dropped_and_label_the_pages(guideline: PdfExtraction) -> None:
    assert "Journal of Pretend Oncology" not in guideline.text
    assert "Clinical guideline" not in guideline.text
    labels = {p.number: p.label for p in guideline.pages}
    assert labels[2] == "1" and labels[3] == "2"


def test_line_end_hyphens_are_joined_or_kept_by_the_document_vocabulary(guideline: PdfExtraction) -> None:
    assert "palliative sedation" in guideline.text
    assert "pal- liative" not in guideline.text and "pal-liative" not in guideline.text
    assert "An evidence-based plan" in guideline.text


def test_headings_are_ranked_by_font_size(guideline: PdfExtraction) -> None:
    lines = guideline.text.splitlines()
    intro = next(ln for ln in lines if ln.endswith("1 Introduction"))
    dosing = next(ln for ln in lines if ln.endswith("1.1 Dosing"))
    assert intro.startswith("#") and dosing.startswith("#")
    assert len(intro.split()[0]) < len(dosing.split()[0])
    assert guideline.headings >= 3


def test_a_ruled_table_becomes_markdown_rows_under_its_header(guideline: PdfExtraction) -> None:
    text = guideline.text
    assert "| Drug | Factor |" in text
    assert "| Oxycodone | 1.5 |" in text
    assert text.index("| Drug | Factor |") < text.index("|---|---|") < text.index("| Codeine | 0.15 |")
    assert guideline.tables == 1


def test_a_recommendation_gets_its_heading_and_strength(guideline: PdfExtraction) -> None:
    m = re.search(r"^(#+) Recommendation 1\nStrength: (.+)\n\nOffer oral morphine", guideline.text, re.MULTILINE)
    assert m, guideline.text
    assert m.group(2) == "strong recommendation, moderate certainty evidence"
    assert guideline.recommendations == 1


def test_reference_list_is_left_out_from_its_heading_on(guideline: PdfExtraction) -> None:
    assert "Care plans are reviewed every three months by the whole team." in guideline.text
    assert "Lancet Oncol" not in guideline.text and "References" not in guideline.text


def test_a_reference_list_without_its_heading_is_recognised_by_its_entries(tmp_path: Path) -> None:
    body: list[T | R] = paragraph(72, 100, ["Offer paracetamol first and review the pain every week.", "Then step up."])
    entries = [
        f"{k}. Author{k} AB, Writer CD, et al. A trial of drug {k}. J Pain 20{10 + k};{k}({k}):10-20."
        for k in range(1, 10)
    ]
    result = extract_pdf(write_pdf(tmp_path / "refs.pdf", [body, paragraph(72, 90, entries, size=9, pitch=14)]))
    assert result.excluded == [(2, "2", "references")]
    assert "et al" not in result.text


def test_page_offsets_point_at_each_pages_text(guideline: PdfExtraction) -> None:
    starts = [p.start for p in guideline.pages]
    assert starts == sorted(starts) and starts[0] == 0
    assert page_of(guideline, guideline.text.index("Opioids remain")) == 2
    assert page_of(guideline, guideline.text.index("Offer oral morphine")) == 3
    assert page_of(guideline, guideline.text.index("Care plans are reviewed every")) == 4


def test_metadata_comes_from_the_cover_when_the_info_title_is_a_file_name(guideline: PdfExtraction) -> None:
    assert guideline.title == "Managing Cancer Pain in Adults"
    assert guideline.year == 2021
    assert guideline.page_count == 4


def test_page_label_dictionary_wins(tmp_path: Path) -> None:
    words = ["Cover", "Foreword", "Introduction", "Methods"]
    pages: list[list[T | R]] = [[T(72, 100, f"{word} of the guideline, with its own text.")] for word in words]
    result = extract_pdf(write_pdf(tmp_path / "labels.pdf", pages, labels=True))
    assert [p.label for p in result.pages] == ["i", "ii", "1", "2"]


def test_blank_pages_are_listed_as_excluded(tmp_path: Path) -> None:
    pages: list[list[T | R]] = [[T(72, 100, "Some guideline text on the first page.")], []]
    result = extract_pdf(write_pdf(tmp_path / "blank.pdf", pages))
    assert result.excluded == [(2, "2", "blank")]
    assert [p.number for p in result.pages] == [1]


def _nice_style_pages() -> list[list[T | R]]:
    """Numbered recommendations set apart from their text, bullets under them, a 'Page N of M' footer."""
    pages: list[list[T | R]] = []
    number = 0
    for page in range(3):
        items: list[T | R] = [T(72, 40, "Suspected cancer: recognition and referral (NG12)", 9)]
        y = 90.0
        if page == 0:
            items.append(T(72, y, "1.1 Referral for suspected cancer", 14, bold=True))
            y += 30
        for _ in range(2):
            number += 1
            items += [
                T(72, y, f"1.1.{number}", 10),
                T(110, y, "Refer people using a suspected cancer pathway referral for", 10),
                T(110, y + 13, "colorectal cancer if they have unexplained weight loss and:", 10),
                T(110, y + 33, "•", 10),
                T(124, y + 33, "are aged 40 and over with abdominal pain, or", 10),
                T(110, y + 46, "•", 10),
                T(124, y + 46, "have a change in bowel habit for six weeks.", 10),
            ]
            y += 80
        footer = f"© NICE 2023. All rights reserved. Subject to Notice of rights. Page {page + 3} of 10"
        items.append(T(72, 760, footer, 8))
        pages.append(items)
    return pages


def test_numbered_paragraphs_become_recommendations_not_a_table(tmp_path: Path) -> None:
    result = extract_pdf(write_pdf(tmp_path / "nice.pdf", _nice_style_pages()))
    assert result.tables == 0
    assert result.recommendations == 6
    assert re.search(r"^#+ Recommendation 1\.1\.1\n\n1\.1\.1 Refer people using", result.text, re.MULTILINE)
    assert "- are aged 40 and over with abdominal pain, or" in result.text
    assert [p.label for p in result.pages] == ["3", "4", "5"]
    assert "All rights reserved" not in result.text and "(NG12)" not in result.text


def test_graded_bullets_become_recommendations_with_their_grade(tmp_path: Path) -> None:
    page: list[T | R] = [
        T(72, 90, "Treatment of metastatic disease", 14, bold=True),
        T(72, 120, "•", 10),
        T(86, 120, "Patients with bone metastases should receive a bone-targeted agent [I, A].", 10),
        T(72, 136, "•", 10),
        T(86, 136, "Radiotherapy is recommended for painful bone metastases [II, B].", 10),
        T(72, 152, "•", 10),
        T(86, 152, "Pain is assessed at every visit.", 10),
    ]
    result = extract_pdf(write_pdf(tmp_path / "esmo.pdf", [page]))
    found = re.findall(r"^#+ Recommendation (\d+)\nStrength: (.+)$", result.text, re.MULTILINE)
    assert found == [("1", "[I, A]"), ("2", "[II, B]")]
    assert "- Pain is assessed at every visit." in result.text


def test_a_table_printed_sideways_is_read_in_its_own_direction(tmp_path: Path) -> None:
    rows = [("Drug", "Daily dose"), ("Morphine", "30 mg"), ("Oxycodone", "20 mg"), ("Hydromorphone", "4 mg")]
    page: list[T | R] = [T(72, 60, "Table 2. Starting doses of strong opioids for adults", 11, turned=True)]
    for k, (drug, dose) in enumerate(rows):
        page += [T(72, 90 + 16 * k, drug, 10, bold=k == 0, turned=True), T(300, 90 + 16 * k, dose, 10, turned=True)]
    result = extract_pdf(write_pdf(tmp_path / "sideways.pdf", [page]))
    assert "| Drug | Daily dose |" in result.text
    assert "| Oxycodone | 20 mg |" in result.text
    assert result.warnings == []


# --- files that cannot be read -------------------------------------------------------------------


def test_encrypted_pdf_asks_to_decrypt_it(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    plain = write_pdf(tmp_path / "plain.pdf", [[T(72, 100, "Secret text.")]])
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password="secret", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(buffer.getvalue())
    with pytest.raises(LoaderError, match="encrypted: decrypt it first"):
        extract_pdf(locked)


def test_pdf_without_text_layer_asks_for_ocr(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "scan.pdf", [[R(72, 500, 300)], []])
    with pytest.raises(LoaderError, match="without a text layer: run OCR first"):
        extract_pdf(path)


def test_truncated_pdf_is_a_loader_error(tmp_path: Path) -> None:
    whole = write_pdf(tmp_path / "whole.pdf", _guideline_pages()).read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(whole[: len(whole) // 3])
    with pytest.raises(LoaderError, match=r"truncated|damaged"):
        extract_pdf(cut)


def test_a_file_that_is_not_a_pdf_is_a_loader_error(tmp_path: Path) -> None:
    path = tmp_path / "fake.pdf"
    path.write_text("<html>not a pdf</html>")
    with pytest.raises(LoaderError, match="not a PDF"):
        extract_pdf(path)


# --- the real guideline PDFs (skipped where ../shared/realdocs is absent) ------------------------


@pytest.fixture(scope="module")
def cdc() -> PdfExtraction:
    if not CDC_PDF.exists():
        pytest.skip(f"real guideline PDFs not available at {REALDOCS}")
    return extract_pdf(CDC_PDF)


@pytest.fixture(scope="module")
def who() -> PdfExtraction:
    if not WHO_PDF.exists():
        pytest.skip(f"real guideline PDFs not available at {REALDOCS}")
    return extract_pdf(WHO_PDF)


def test_cdc_a_reference_number_opening_a_line_inside_a_sentence_is_no_list_marker(cdc: PdfExtraction) -> None:
    # "... buprenorphine should be initiated / (96) and titrated upward under supervision at approximately / 2-hour
    # intervals ...": read as a list item "(96)", the sentence was quoted as "... at approximately." (session 21).
    from ingest.sentences import split_sentences

    broken = [("buprenorphine should be initiated", "2-hour intervals"), ("acute episodic migraine (5)", "of opioids")]
    for start, end in broken:
        at = cdc.text.index(start)
        (sentence,) = [cdc.text[a:b] for a, b in split_sentences(cdc.text, max(at - 300, 0), at + 400) if a <= at < b]
        assert end in sentence, sentence


def test_cdc_running_header_never_lands_inside_paragraphs(cdc: PdfExtraction) -> None:
    body = cdc.text[cdc.pages[2].start :]
    assert "Morbidity and Mortality Weekly Report" not in body
    assert "US Department of Health and Human Services/Centers for Disease Control" not in body


def test_cdc_mme_table_keeps_each_factor_on_its_drug_row(cdc: PdfExtraction) -> None:
    assert re.search(r"^\| Oxycodone \| 1\.5 \|$", cdc.text, re.MULTILINE)
    assert re.search(r"^\| Opioid \| Conversion factor\* \|$", cdc.text, re.MULTILINE)
    assert cdc.tables >= 1


def test_cdc_reference_lists_are_left_out(cdc: PdfExtraction) -> None:
    cited = [ln for ln in cdc.text.splitlines() if re.match(r"^\d+\. .*MMWR", ln)]
    assert cited == []
    assert "et al. Chronic pain and mental health disorders" not in cdc.text
    kinds = {kind for _, _, kind in cdc.excluded}
    assert "references" in kinds


def test_cdc_recommendations_carry_their_category(cdc: PdfExtraction) -> None:
    strengths = re.findall(r"^#+ Recommendation (\d+)\nStrength: recommendation category: [AB]", cdc.text, re.M)
    assert {str(n) for n in range(1, 13)} <= set(strengths)
    assert cdc.recommendations >= 12


def test_cdc_words_are_not_left_broken_at_line_ends(cdc: PdfExtraction) -> None:
    assert len(re.findall(r"[a-z]- [a-z]", cdc.text)) <= 15  # "low- or very low-quality" is right
    assert "palliative" in cdc.text and "pal- liative" not in cdc.text


def test_real_page_offsets_can_be_bisected(cdc: PdfExtraction, who: PdfExtraction) -> None:
    for result in (cdc, who):
        starts = [p.start for p in result.pages]
        assert starts == sorted(starts)
        assert all(0 <= s < len(result.text) for s in starts)
    mme = cdc.text.index("| Oxycodone | 1.5 |")
    assert next(p.label for p in reversed(cdc.pages) if p.start <= mme) == "31"


def test_cdc_printed_page_labels_differ_from_positions(cdc: PdfExtraction) -> None:
    labels = {p.number: p.label for p in cdc.pages}
    assert labels[1] == "i" and labels[3] == "1" and labels[33] == "31"


def test_who_recommendations_are_counted_with_their_strength(who: PdfExtraction) -> None:
    found = re.findall(r"^#+ Recommendation (\w+)\nStrength: (.+)$", who.text, re.MULTILINE)
    numbers = {n for n, _ in found}
    assert {"1", "3"} <= numbers and {"2a", "2b", "4a", "4b"} <= numbers
    assert all("certainty evidence" in strength for _, strength in found)
    assert who.recommendations == len(found)


def test_who_front_matter_is_labelled_in_roman_numerals(who: PdfExtraction) -> None:
    labels = {p.number: p.label for p in who.pages}
    assert labels[1] == "i" and labels[15] == "1"


def test_who_contents_acknowledgements_references_and_contributors_are_excluded(who: PdfExtraction) -> None:
    kinds = {kind for _, _, kind in who.excluded}
    assert {"contents", "acknowledgements", "references", "contributors"} <= kinds
    assert "Bohnert" not in who.text and "-------------" not in who.text
    # The annex listing the guideline's contributors (names, affiliations, declared interests) is not text to quote.
    assert "Schneider Children" not in who.text and "STEERING GROUP" not in who.text


@pytest.mark.parametrize(
    ("heading", "kind"),
    [
        ("ANNEX. GUIDELINE CONTRIBUTORS", "contributors"),
        ("Annex 1. Guideline development group members", "contributors"),
        ("Committee members", "contributors"),
        ("Annex 2: References", "references"),
        ("Key References for Plasma Cell Neoplasms (Including Multiple Myeloma)", "references"),  # NCI PDQ
        ("References to the evidence tables", "references"),
        ("Referencing the evidence", None),
        ("3.1 Benefits and harms", None),
        ("Contributors to pain", None),
        ("About This PDQ Summary", "administrative"),
        ("Permission to Use This Summary", "administrative"),
        ("Update information", "administrative"),  # NICE
        ("Copyright", "administrative"),
        ("Latest Updates to This Summary (04/24/2025)", "administrative"),
        ("Levels of Evidence", None),
        ("Contact with the patient", None),
        ("Funding of palliative care services", None),
    ],
)
def test_excluded_parts_are_found_by_their_heading(heading: str, kind: str | None) -> None:
    assert excluded_kind(heading) == kind


def test_who_title_comes_from_the_cover(who: PdfExtraction) -> None:
    assert who.title == "Guidelines on the management of chronic pain in children"
    assert who.year == 2020


@pytest.mark.parametrize(
    ("text", "holder"),
    [
        ("ISBN 978-92-4-001787-0 © World Health Organization 2020 Some rights reserved.", "World Health Organization"),
        ("© NICE 2023. All rights reserved. Subject to Notice of rights.", "NICE"),
        (
            "Copyright © 2017 American Society of Clinical Oncology. All rights reserved.",
            "American Society of Clinical Oncology",
        ),
        (
            "© 2020 European Society for Medical Oncology. Published by Elsevier Ltd.",
            "European Society for Medical Oncology",
        ),
        ("© The Author(s) 2018. This article is open access.", None),
        ("© 2020 by the authors. Licensee MDPI, Basel.", None),
        ("No copyright line on this page, only 2020.", None),
    ],
)
def test_the_copyright_line_names_the_issuing_body(text: str, holder: str | None) -> None:
    from ingest.pdf.extract import copyright_holder

    assert copyright_holder(["Cover title", text]) == holder


def test_who_issuing_body_comes_from_its_imprint_page(who: PdfExtraction) -> None:
    assert who.author == "World Health Organization"  # the PDF's information has no author
    assert who.year == 2020


def test_who_a_range_end_raised_with_its_reference_numbers_keeps_the_number(who: PdfExtraction) -> None:
    # The WHO PDF raises "19,35,47" after "aged 15 to": the range's end set with its reference numbers.
    assert "most prevalent in adolescents aged 15 to 19 further supporting" in who.text


def _span(text: str, x0: float, x1: float, baseline: float, size: float) -> Span:
    return Span(text, x0, x1, baseline, size, bold=False, italic=False, symbol=False)


@pytest.mark.parametrize(
    ("before", "mark", "read"),
    [
        ("adolescents aged 15 to", "19,35,47", "adolescents aged 15 to 19 further"),  # a word no citation follows
        ("between 5 and", "10,12", "between 5 and 10 further"),
        ("most prevalent in adolescents", "35,47", "most prevalent in adolescents further"),  # a citation: left out
        ("as reported in", "23", "as reported in further"),
    ],
)
def test_a_raised_number_list_after_a_word_no_citation_follows_opens_with_the_text_s_number(
    before: str, mark: str, read: str
) -> None:
    spans = [
        _span(before, 85.0, 85.0 + 5.0 * len(before), 300.0, 12.0),
        _span(mark, 86.0 + 5.0 * len(before), 86.0 + 5.0 * len(before) + 3.5 * len(mark), 296.0, 7.0),
    ]
    spans.append(_span("further", spans[1].x1 + 3.0, spans[1].x1 + 40.0, 300.0, 12.0))
    assert segment_of(spans).text == read


def test_who_reference_numbers_glued_to_a_full_stop_are_left_out(who: PdfExtraction) -> None:
    # The WHO PDF prints "disability.10 Among adolescents" as plain text: no superscript to tell the 10 by.
    assert "pain-related disability. Among adolescents" in who.text
    assert not re.search(r"[a-z]{3}\.\d{1,3}\s+[A-Z]", who.text)


@pytest.mark.parametrize(
    ("line", "read"),
    [
        ("pain-related disability.10 Among adolescents", "pain-related disability. Among adolescents"),
        ("how pain is measured.6 In addition", "how pain is measured. In addition"),
        ("as reported.3,4 The review", "as reported. The review"),
        ("grade 2.10 Among", "grade 2.10 Among"),  # a decimal: a digit before its point
        ("dose was 2.5 mg.", "dose was 2.5 mg."),
        ("e.g.5 items", "e.g.5 items"),  # no capital after it: not a sentence's end
    ],
)
def test_a_reference_number_glued_to_a_full_stop_is_dropped(line: str, read: str) -> None:
    from ingest.pdf.words import drop_glued_references

    assert drop_glued_references(line) == read
