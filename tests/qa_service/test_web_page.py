"""The clinician page: served with its assets, the disclaimer, labels and no outside dependencies."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from qa_service.app import create_app
from qa_service.schemas import DISCLAIMER
from qa_service.settings import Settings
from tests.fakes.service import FakePipeline


@pytest.fixture
def http():
    return TestClient(create_app(Settings(), pipeline=FakePipeline()))


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(text):
    parser = _Tags()
    parser.feed(text)
    return parser.tags


def test_page_is_served_with_the_disclaimer(http):
    response = http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert html.escape(DISCLAIMER) in response.text
    assert "{{" not in response.text


def test_page_assets_are_served_from_the_package(http):
    page = _tags(http.get("/").text)
    scripts = [a["src"] for t, a in page if t == "script"]
    styles = [a["href"] for t, a in page if t == "link" and a.get("rel") == "stylesheet"]
    assert scripts == ["/static/app.js"] and styles == ["/static/style.css"]
    js, css = http.get("/static/app.js"), http.get("/static/style.css")
    assert js.status_code == css.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")
    assert css.headers["content-type"].startswith("text/css")
    assert "/v1/ask" in js.text and "/v1/documents" in js.text


@pytest.mark.parametrize("name", ["index.html", "../app.py", "nope.js", "%2e%2e%2fsettings.py"])
def test_other_static_paths_are_404(http, name):
    assert http.get(f"/static/{name}").status_code == 404


def test_page_works_offline_and_never_uses_inner_html(http):
    for path in ("/", "/static/app.js", "/static/style.css"):
        text = http.get(path).text
        assert not re.search(r"https?://", text), f"{path} reaches outside the service"
    js = http.get("/static/app.js").text
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "document.write" not in js


def test_page_forbids_outside_scripts(http):
    headers = http.get("/").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_every_control_has_a_label_and_the_page_fits_a_phone(http):
    tags = _tags(http.get("/").text)
    labelled = {a["for"] for t, a in tags if t == "label"}
    controls = [a["id"] for t, a in tags if t in {"input", "select", "textarea"}]
    assert controls and set(controls) <= labelled
    assert ("meta", {"name": "viewport", "content": "width=device-width, initial-scale=1"}) in tags
    assert any(t == "html" and a.get("lang") == "en" for t, a in tags)
    assert "@media (max-width" in http.get("/static/style.css").text


def test_page_is_served_while_the_index_loads():
    http = TestClient(create_app(Settings(), pipeline_factory=lambda s: FakePipeline()))  # lifespan not started
    assert http.get("/").status_code == 200
    assert http.get("/v1/documents").status_code == 503


def test_web_routes_stay_out_of_the_api_schema(http):
    paths = http.get("/openapi.json").json()["paths"]
    assert "/" not in paths and "/static/{name}" not in paths
    assert "/v1/chat/completions" in paths and "/v1/models" in paths
