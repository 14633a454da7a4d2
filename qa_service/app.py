"""The FastAPI application: `create_app(settings, *, pipeline=None)`.

Nothing heavy happens at import. The index and the model load in the lifespan, on a background
thread, so `/healthz` answers at once and `/readyz` turns ready when loading is done. Tests pass a
fake pipeline and skip loading altogether.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from ingest import IngestError
from qa_service.errors import NotReadyError, ServiceError
from qa_service.metrics import ServiceMetrics
from qa_service.protocols import AnswerPipeline
from qa_service.reload import IndexWatcher, live_generation
from qa_service.settings import Settings

log = logging.getLogger("guideline_qa.http")

PipelineFactory = Callable[[Settings], AnswerPipeline]


def _default_factory(settings: Settings, previous: AnswerPipeline | None = None) -> AnswerPipeline:
    """The pipeline over the index folder's live generation; a reload keeps `previous`'s question encoder."""
    from qa_service.pipeline import QAPipeline

    return QAPipeline.from_settings(settings, embedder=getattr(previous, "embedder", None))


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"type": kind, "message": message}})


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        msg = err.get("msg", "invalid")
        if err.get("type") == "json_invalid":
            return "request body is not valid JSON"
        if err.get("type") == "extra_forbidden":
            msg = "unknown field"
        parts.append(f"{where}: {msg}")
    return "; ".join(parts) or "invalid request"


SOURCE_KEY_COOKIE = "gqa_key"
_SOURCE_FILE = re.compile(r"^/v1/documents/.+/source$")


def _cookie(header: str, name: str) -> str:
    """One cookie's value from a Cookie header ("" when absent)."""
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return urllib.parse.unquote(value)
    return ""


class Guard:
    """Pure ASGI middleware at the edge: size limits, API keys, a request id and one log line a request.

    The body is read in full before the app sees it and refused with 413 past the limit (checking
    Content-Length alone would let a chunked upload through; buffering is cheap at these sizes).
    Written as plain ASGI rather than `@app.middleware`, which costs about a millisecond a request.
    """

    def __init__(self, app: Any, settings: Settings, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self.server = settings.server
        self.keys = {k.get_secret_value() for k in settings.server.api_keys}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        request_id = headers.get("x-request-id") or uuid.uuid4().hex[:12]
        status = 500

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        refusal = self._refusal(scope, headers)
        if refusal is None and scope.get("method") not in ("GET", "HEAD", "OPTIONS"):
            messages, refusal = await self._read_body(receive)
            if refusal is None:
                original = receive

                async def replay() -> Any:
                    return messages.pop(0) if messages else await original()

                receive = replay
        if refusal is not None:
            await refusal(scope, receive, send_with_id)
        else:
            await self.app(scope, receive, send_with_id)
        # The route template, never the raw path: no document id or question text becomes a label.
        route = getattr(scope.get("route"), "path", None) or ("refused" if refusal is not None else "unmatched")
        self.metrics.observe_request(route, status, time.perf_counter() - started)
        record = {
            "event": "request",
            "id": request_id,
            "method": scope.get("method"),
            "path": scope.get("path"),
            "status": status,
            "ms": round((time.perf_counter() - started) * 1000, 2),
        }
        log.info(orjson.dumps(record).decode())

    def _refusal(self, scope: Any, headers: dict[str, str]) -> JSONResponse | None:
        length = headers.get("content-length")
        if length is not None and not length.isdigit():
            return _error(400, "BadRequest", "Content-Length is not a number")
        if length is not None and int(length) > self.server.max_body_bytes:
            return _error(413, "PayloadTooLarge", f"request body over {self.server.max_body_bytes} bytes")
        path = str(scope.get("path", ""))
        if self.keys and (path.startswith("/v1/") or path == "/mcp" or path.startswith("/mcp/")):
            given = headers.get("authorization", "").removeprefix("Bearer ").strip() or headers.get("x-api-key", "")
            if not given and _SOURCE_FILE.match(path) and scope.get("method") in ("GET", "HEAD"):
                # A link cannot send a header: the web page keeps the key in a same-site cookie scoped to
                # the document files, so "Open the document at p. 31" works where keys are required.
                given = _cookie(headers.get("cookie", ""), SOURCE_KEY_COOKIE)
            if given not in self.keys:
                return _error(401, "Unauthorized", "missing or wrong API key (Authorization: Bearer <key>)")
        return None

    async def _read_body(self, receive: Any) -> tuple[list[Any], JSONResponse | None]:
        messages = []
        total = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages, None
            total += len(message.get("body", b""))
            if total > self.server.max_body_bytes:
                return messages, _error(413, "PayloadTooLarge", f"request body over {self.server.max_body_bytes} bytes")
            if not message.get("more_body", False):
                return messages, None


def create_app(
    settings: Settings | None = None,
    *,
    pipeline: AnswerPipeline | None = None,
    pipeline_factory: PipelineFactory | None = None,
) -> FastAPI:
    """Build the app. With `pipeline` it is ready at once; otherwise the lifespan loads one."""
    settings = settings or Settings()

    def next_generation() -> AnswerPipeline:
        """The pipeline over the live generation: at start, and again at each live update."""
        if pipeline_factory is not None:
            return pipeline_factory(settings)
        return _default_factory(settings, app.state.pipeline)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.started_at = time.perf_counter()
        watcher: IndexWatcher | None = None
        if app.state.pipeline is None:
            # A service that loads its own index also follows it: each new generation ingest writes is
            # swapped in while the old one keeps answering (qa_service/reload.py).
            watcher = IndexWatcher(
                app.state,
                settings.index_dir,
                next_generation,
                interval_s=settings.server.reload_interval_s,
                served=None,
            )

            def load() -> None:
                try:
                    app.state.pipeline = next_generation()
                    watcher.served = str(app.state.pipeline.manifest().get("generation") or "") or None
                    log.info(
                        orjson.dumps(
                            {
                                "event": "ready",
                                "seconds": round(time.perf_counter() - app.state.started_at, 2),
                                # where to point a browser or curl: the server says so once it can answer
                                "url": f"http://{settings.server.host}:{settings.server.port}/",
                            }
                        ).decode()
                    )
                except (IngestError, ServiceError, OSError) as exc:
                    app.state.load_error = f"index could not be loaded: {exc}"
                    watcher.refused = live_generation(settings.index_dir)
                    log.error(orjson.dumps({"event": "load_failed", "error": str(exc)}).decode())
                if settings.server.reload_interval_s > 0:
                    watcher.start()

            threading.Thread(target=load, name="load-index", daemon=True).start()
        try:
            async with mcp_endpoint.running():
                yield
        finally:
            if watcher is not None:
                watcher.stop()

    app = FastAPI(
        title="guideline-qa",
        summary="Cited answers from clinical practice guidelines, or an honest abstention.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = ServiceMetrics()
    app.state.pipeline = pipeline
    app.state.load_error = None

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        return _error(exc.status_code, type(exc).__name__, str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "ValidationError", _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, "HTTPError", str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return _error(500, "InternalError", "internal error; the request was logged")

    app.add_middleware(Guard, settings=settings, metrics=app.state.metrics)

    if settings.server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.server.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
        )

    from qa_service.mcp_server import McpEndpoint, build_mcp_server
    from qa_service.routes import ask, chat, meta, web

    def current_pipeline() -> AnswerPipeline:
        if app.state.pipeline is None:
            raise NotReadyError(app.state.load_error or "the index is still loading; try again in a moment")
        pipeline: AnswerPipeline = app.state.pipeline
        return pipeline

    mcp_endpoint = McpEndpoint(build_mcp_server(current_pipeline, settings), settings)
    app.router.routes.append(Route("/mcp", mcp_endpoint, methods=["GET", "POST", "DELETE"], include_in_schema=False))

    app.include_router(ask.router)
    app.include_router(meta.router)
    app.include_router(chat.router)
    app.include_router(web.router)
    return app
