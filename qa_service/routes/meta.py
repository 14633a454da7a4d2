"""Documents, health, readiness and version."""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from qa_service.dependencies import PipelineDep
from qa_service.errors import NotFoundError, NotReadyError

router = APIRouter(tags=["meta"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    """Always ok while the process serves requests."""
    return {"status": "ok"}


@router.get("/readyz", summary="The index is loaded")
def readyz(request: Request) -> dict[str, Any]:
    """200 once the index is loaded, 503 before (or if loading failed)."""
    pipeline = getattr(request.app.state, "pipeline", None)
    if pipeline is None:
        raise NotReadyError(getattr(request.app.state, "load_error", None) or "the index is still loading")
    # The process id tells apart the workers of one address (a benchmark waits for each of them to be ready).
    return {"status": "ready", "chunks": pipeline.manifest().get("counts", {}).get("chunks"), "pid": os.getpid()}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Requests and latency by route, time per answering stage, answers by outcome, the index served."""
    from qa_service.metrics import CONTENT_TYPE_LATEST

    collected = request.app.state.metrics
    pipeline = getattr(request.app.state, "pipeline", None)
    if pipeline is not None:
        collected.observe_index(pipeline.manifest())
    return Response(collected.render(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/version", summary="Service version and the index manifest")
def version(pipeline: PipelineDep) -> dict[str, Any]:
    """The package version and the manifest of the loaded index."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as pkg_version

    try:
        service_version = pkg_version("guideline-qa")
    except PackageNotFoundError:
        service_version = "unknown"
    manifest = pipeline.manifest()
    return {"version": service_version, "generation": manifest.get("generation"), "manifest": manifest}


@router.get("/v1/documents", summary="The indexed documents")
def documents(pipeline: PipelineDep) -> dict[str, Any]:
    """Every document with its title, issuing body, year, topic, url and chunk count."""
    return {"documents": pipeline.documents()}


@router.get(
    "/v1/documents/{doc_id:path}/source",
    summary="The original file of one document",
    response_class=FileResponse,
    responses={200: {"content": {"application/pdf": {}, "text/html": {}, "text/markdown": {}, "text/plain": {}}}},
)
def document_source(doc_id: str, pipeline: PipelineDep) -> FileResponse:
    """The file the document was ingested from (a PDF opens at a page with `#page=N`); 404 if none."""
    path, media_type = pipeline.source_file(doc_id)
    # A served web page must not run its scripts on this service's origin.
    headers = {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"}
    return FileResponse(
        path, media_type=media_type, headers=headers, filename=path.name, content_disposition_type="inline"
    )


@router.get("/v1/documents/{doc_id:path}", summary="One document")
def document(doc_id: str, pipeline: PipelineDep) -> dict[str, Any]:
    """One document's manifest entry; 404 if unknown."""
    for doc in pipeline.documents():
        if doc["doc_id"] == doc_id:
            return doc
    raise NotFoundError(f"no document {doc_id!r}")
