"""The clinician web page: `/` and its assets under `/static/`, shipped inside the package (no CDN, no build)."""

from __future__ import annotations

import html
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from qa_service.errors import NotFoundError
from qa_service.schemas import DISCLAIMER

router = APIRouter(tags=["web"], include_in_schema=False)

ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
# The page loads nothing but its own assets and talks only to this service.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


def _static(name: str) -> bytes:
    return files("qa_service").joinpath("static", name).read_bytes()


@router.get("/", response_class=HTMLResponse)
def index() -> HTMLResponse:
    """The question page, with the disclaimer written in so it shows before any script runs."""
    page = _static("index.html").decode().replace("{{DISCLAIMER}}", html.escape(DISCLAIMER))
    return HTMLResponse(page, headers=SECURITY_HEADERS)


@router.get("/static/{name}")
def asset(name: str) -> Response:
    """One of the page's assets; anything else is a 404."""
    if name not in ASSETS:
        raise NotFoundError(f"no asset {name!r}")
    return Response(_static(name), media_type=ASSETS[name], headers=SECURITY_HEADERS)
