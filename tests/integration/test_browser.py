"""The web page in a real headless Chromium (Debian's, driven by Playwright; no browser download).

Run `make browser` once to install Debian's chromium; without /usr/bin/chromium these tests skip.
Screenshots go to pytest's tmp_path (printed with `-s`; kept under /tmp/pytest-of-<user>/).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from qa_service.app import create_app
from qa_service.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000

pytestmark = pytest.mark.browser

fakes = importlib.import_module("tests.fakes.service")


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium: run `make browser` (needs root)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def served():
    pipeline = fakes.FakePipeline()
    with fakes.serve(create_app(Settings(), pipeline=pipeline)) as base:
        yield base, pipeline


@pytest.fixture
def page(browser, served):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.goto(served[0] + "/")
    yield page
    context.close()
    assert problems == []


def ask(page, question):
    page.fill("#question", question)
    page.press("#question", "Enter")
    page.wait_for_selector("#result:not([hidden]):not([aria-busy])")


def test_cited_answer_and_opened_citation(page, tmp_path):
    assert page.is_visible("#disclaimer")
    assert "not a substitute" in page.inner_text("#disclaimer")
    ask(page, "Is single fraction radiotherapy enough for painful bone metastases?")

    assert page.inner_text("#result-heading") == "Answer"
    assert "8 Gy" in page.inner_text("#answer")
    markers = page.locator("#answer button.cite")
    assert markers.count() == 2
    assert markers.first.inner_text() == "[1]"
    assert not page.is_visible("#source-1 blockquote")

    markers.first.click()
    quote = page.locator("#source-1 blockquote")
    quote.wait_for(state="visible")
    assert "single 8 Gy fraction" in quote.inner_text()
    facts = page.inner_text("#source-1 .facts")
    assert "ESMO; ASTRO 2020" in facts and "2020" in facts and "Single fraction for painful bone metastases" in facts
    assert "Section\nExternal beam radiotherapy > Single fraction" in facts  # the title is not repeated
    link = page.locator("#source-1 a")
    assert link.get_attribute("href") == "https://doi.org/10.1016/j.annonc.2020.07.019"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert "Answered with 2 sources" in page.inner_text("#status")
    shot = tmp_path / "answer.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}")
    assert shot.stat().st_size > 10_000


def test_an_answer_with_caution_shows_the_note_and_why(page):
    ask(page, "per NCCN, single fraction for painful bone metastases?")
    assert page.inner_text("#result-heading") == "Answer"
    assert "Partial evidence" in page.inner_text("#abstention-note")
    assert page.inner_text("#abstention-reason") == f"Why: {fakes.ABSENT_BODY_REASON}"
    assert page.locator("#answer button.cite").count() >= 1


def test_out_of_scope_question_shows_an_abstention(page, tmp_path):
    ask(page, "Paediatric dose of radiotherapy for bone metastases?")
    assert page.inner_text("#result-heading") == "Not answered"
    assert page.is_visible("#abstention-note")
    assert "do not support an answer" in page.inner_text("#abstention-note")
    assert page.locator("#answer button.cite").count() == 0
    assert page.is_hidden("#sources-block")
    assert page.locator("#closest li").count() == 3
    page.click("#closest-1 summary")
    assert page.is_visible("#closest-1 blockquote")
    shot = tmp_path / "abstention.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}")


def test_filters_come_from_the_documents_and_reach_the_service(page, served):
    page.click("#filters summary")
    page.wait_for_selector("#filter-body option[value='Endocrine Society']", state="attached")
    bodies = page.locator("#filter-body option").all_inner_texts()
    assert bodies == ["Any issuing body", "ASCO", "ASTRO", "CCO", "Endocrine Society", "ESMO"]
    page.select_option("#filter-body", "Endocrine Society")
    page.select_option("#filter-topic", "related")
    assert page.inner_text("#filter-count") == "(2 on)"
    ask(page, "How is hypercalcaemia treated?")
    asked = served[1].asked[-1]
    assert asked.filters.issuing_body == ["Endocrine Society"] and asked.filters.topic == ["related"]
    page.click("#answer button.cite")
    # Server text is shown as text: the fake's "<and>" and odd URL are not markup.
    assert "fluids <and> a bisphosphonate" in page.inner_text("#source-1 blockquote")
    assert page.locator("#source-1 blockquote *").count() == 0


def test_keyboard_only_and_empty_question(page):
    page.focus("#question")
    page.keyboard.press("Enter")
    assert "Type a question first" in page.inner_text("#status")
    page.keyboard.type("Stereotactic body radiotherapy for oligometastatic disease?")
    page.keyboard.press("Shift+Enter")
    assert page.input_value("#question").endswith("\n")
    page.keyboard.press("Enter")
    page.wait_for_selector("#result:not([hidden]):not([aria-busy])")
    page.focus("#answer button.cite >> nth=0")
    page.keyboard.press("Enter")
    page.locator("#source-1 blockquote").wait_for(state="visible")
    assert page.evaluate("document.activeElement.closest('#source-1') !== null")


def test_page_fits_a_phone(browser, served, tmp_path):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(served[0] + "/")
    ask(page, "Is single fraction radiotherapy enough for painful bone metastases?")
    page.tap("#answer button.cite >> nth=0")
    page.locator("#source-1 blockquote").wait_for(state="visible")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert page.locator("#ask").bounding_box()["height"] >= 40
    shot = tmp_path / "phone.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"\nscreenshot: {shot}")
    context.close()


def test_a_service_with_api_keys_asks_for_one_and_then_answers(browser):
    from pydantic import SecretStr

    settings = Settings()
    settings.server.api_keys = [SecretStr("s3cret")]
    with fakes.serve(create_app(settings, pipeline=fakes.FakePipeline())) as base:
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(base + "/")
        # The page learns it needs a key from its first call (the documents for the filters).
        page.wait_for_selector("#key-row:not([hidden])")
        assert page.evaluate("document.activeElement.id") == "api-key"

        page.fill("#question", "Is single fraction radiotherapy enough for painful bone metastases?")
        page.press("#question", "Enter")
        page.wait_for_selector("#status:has-text('asks for an API key')")

        page.fill("#api-key", "wrong")
        page.press("#api-key", "Enter")
        page.wait_for_selector("#key-hint:has-text('refused this API key')")

        page.fill("#api-key", "s3cret")
        page.press("#api-key", "Enter")  # stores the key and asks again
        page.wait_for_selector("#result:not([hidden]):not([aria-busy])")
        assert "8 Gy" in page.inner_text("#answer")
        assert page.evaluate("window.sessionStorage.getItem('guideline-qa-api-key')") == "s3cret"
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["gqa_key"]["value"] == "s3cret" and cookies["gqa_key"]["path"] == "/v1/documents"
        assert cookies["gqa_key"]["sameSite"] == "Strict"
        context.close()


def test_a_citation_names_and_links_every_page_holding_its_passage(page, served):
    from qa_service.schemas import PageRef, Passage

    _, pipeline = served
    pipeline.passages.append(
        Passage(
            chunk_id="c-who-cbt",
            doc_id="who/chronic-pain-children",
            title="Guidelines on the management of chronic pain in children",
            section="Executive summary > Recommendation 2a",
            text="In children with chronic pain, cognitive behavioural therapy may be used.",
            score=0.0,
            guideline="WHO 2020",
            page=12,
            page_end=12,
            page_label="x",
            also_on=[PageRef(page=32, page_label="18")],
        )
    )
    ask(page, "cognitive behavioural therapy for children with chronic pain?")
    page.click("#source-1 summary")
    assert "WHO 2020, p. x (also p. 18)" in page.inner_text("#source-1 summary")
    links = page.locator("#source-1 a.page-link")
    assert links.count() == 2
    assert [links.nth(i).inner_text() for i in range(2)] == ["Open the document at p. x", "p. 18"]
    hrefs = [links.nth(i).get_attribute("href") for i in range(2)]
    assert hrefs == [
        "/v1/documents/who/chronic-pain-children/source#page=12",
        "/v1/documents/who/chronic-pain-children/source#page=32",
    ]


def test_a_citation_about_another_drug_says_so_beside_its_source(page, served):
    from qa_service.schemas import Passage

    _, pipeline = served
    pipeline.passages.append(
        Passage(
            chunk_id="c-myeloma",
            doc_id="nci/myeloma",
            title="Plasma cell neoplasms",
            section="Treatment > Lenalidomide",
            text="Lenalidomide was given with dexamethasone 40 mg on days 1 to 4 every 28 days.",
            score=0.0,
            guideline="NCI 2025",
        )
    )
    pipeline.notes["c-myeloma"] = "gives doses of dexamethasone, not of methadone"
    ask(page, "lenalidomide dexamethasone 40 mg days: methadone dose?")
    summary = page.inner_text("#source-1 summary")
    assert "Plasma cell neoplasms" in summary and "Note: gives doses of dexamethasone, not of methadone" in summary
    assert page.locator("#source-1 .source-note").count() == 1
    assert page.locator(".source-note").count() == 1  # a citation without a note shows none
