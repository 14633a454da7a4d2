"""guideline-qa as a Model Context Protocol server: the tools an assistant calls, over HTTP or stdio.

`build_mcp_server(get_pipeline, settings)` makes the server object; `McpEndpoint` serves it at
`/mcp` inside the FastAPI app (streamable HTTP, stateless, JSON responses: no session to pin to one
worker, nothing for a proxy to buffer); `guideline-qa mcp` runs it over stdio (qa_service/cli.py).

Tools return Pydantic models, so clients get `structuredContent` beside the text. Every expected
failure (invalid arguments, an unknown recommendation, an index still loading) comes back as a
tool error with a message; the session carries on.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations
from pydantic import BaseModel, Field, ValidationError

from qa_service.errors import ServiceError
from qa_service.protocols import AnswerPipeline
from qa_service.schemas import AskRequest, AskResponse, Filters, SearchRequest, SearchResponse, SourceRecord
from qa_service.settings import Settings

PipelineGetter = Callable[[], AnswerPipeline]

CATALOGUE_URI = "guidelines://catalogue"

INSTRUCTIONS = (
    "guideline-qa answers clinical questions from the clinical practice guidelines in its index, with citations. "
    "Use answer_question for a question, search_guidelines to read passages, list_guidelines to see what is "
    "covered and get_recommendation to read one recommendation in full. Answers are quotations from the "
    "guidelines: pass them on with their [n] citations (guideline, year, section, page, URL). When a tool "
    "abstains, the guidelines here do not cover the question: say so, and do not answer it from memory instead."
)

ANSWER_DESCRIPTION = """Answer a clinical question from the indexed clinical practice guidelines, with citations.

Returns `answer` (sentences quoted from the guidelines, each ending with [n] markers), `citations` (for
each n: guideline, issuing_body, year, section, page/page_label when known, url, strength, the quoted
passage and a `note` when it doses another drug, doses for another use or speaks of another patient
than the question's),
`abstained` with its `reason`, `caution`, and the `passages` it considered.

The answer is a quotation, not advice written for you: pass it on with its [n] citations and the
disclaimer, and do not rewrite it into claims the citations do not make. If `abstained` is true, the
guidelines here do not cover the question: say so and do not answer it from memory instead. If `caution`
is true, the evidence is partial or comes from other guidelines than the one asked about (`reason` says
which): say so. Pass on a citation's `note` with it: its doses, use or patient are not the question's."""

SEARCH_DESCRIPTION = """Search the indexed guidelines and return the best-matching passages, without an answer.

Each passage has its text and citation fields (guideline, issuing_body, year, section, page/page_label when
known, url, rec_id and strength for recommendations) and a relevance score. Quote passages with their
citations; a passage list is not proof the guidelines answer a question (prefer answer_question, which
abstains when the evidence is too weak)."""

LIST_DESCRIPTION = """List the guideline documents in the index: id, title, issuing body, year, topic, URL and how many
passages each has. Use it to see what the service covers before asking, or to pick `filters`
(issuing_body, topic, doc_id, year_min/year_max) for the other tools."""

RECOMMENDATION_DESCRIPTION = """Return one recommendation in full by its id (a citation's or passage's `rec_id`,
e.g. "BM-TP-01"): its complete text, strength as the guideline states it, guideline, issuing body, year,
section, page and URL. Quote it with that citation. An unknown id is an error."""


class GuidelineDocument(BaseModel):
    """One indexed guideline document."""

    doc_id: str
    title: str
    issuing_body: str | None = None
    year: int | None = None
    topic: str | None = None
    url: str | None = None
    chunks: int = Field(0, description="Passages indexed from it.")
    recommendations: int = Field(0, description="Recommendations found in it (0 when unknown).")


class GuidelineCatalogue(BaseModel):
    """The documents the index covers."""

    guidelines: list[GuidelineDocument]


class Recommendation(SourceRecord):
    """One recommendation in full, with where it comes from (the fields of its first passage)."""

    text: str = Field(description="The recommendation's complete text.")
    chunk_ids: list[str] = Field(description="The passages it spans (a long one is indexed in several).")


def _tool_error(exc: ValidationError | ServiceError) -> ToolError:
    if isinstance(exc, ServiceError):
        return ToolError(str(exc))
    where = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors(include_url=False)
    )
    return ToolError(f"invalid arguments: {where}")


def catalogue(pipeline: AnswerPipeline) -> GuidelineCatalogue:
    """The indexed documents as the catalogue model."""
    return GuidelineCatalogue(guidelines=[GuidelineDocument.model_validate(d) for d in pipeline.documents()])


def build_mcp_server(get_pipeline: PipelineGetter, settings: Settings) -> MCPServer[Any]:
    """The MCP server over the pipeline `get_pipeline` returns (it raises ServiceError while none is loaded)."""
    from qa_service.routes.ask import check_limits

    server: MCPServer[Any] = MCPServer(
        "guideline-qa",
        title="Clinical guideline answers",
        instructions=INSTRUCTIONS,
        version="0.1.0",
        log_level="WARNING",  # it calls logging.basicConfig: no INFO chatter where the host set up no logging
    )
    read_only = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)

    def pipeline() -> AnswerPipeline:
        try:
            return get_pipeline()
        except ServiceError as exc:
            raise _tool_error(exc) from None

    @server.tool(title="Answer from the guidelines", description=ANSWER_DESCRIPTION, annotations=read_only)
    def answer_question(
        question: Annotated[str, Field(description="The clinical question, in plain words.")],
        filters: Annotated[
            Filters | None, Field(description="Keep only some guidelines (issuing_body, topic, doc_id, years).")
        ] = None,
        long: Annotated[bool, Field(description="Allow a longer answer (about 300 words).")] = False,
    ) -> AskResponse:
        try:
            request = AskRequest(question=question, filters=filters, long=long, composer=None)
            check_limits(settings, request.question, None)
            return pipeline().ask(request)
        except (ValidationError, ServiceError) as exc:
            raise _tool_error(exc) from None

    @server.tool(title="Search guideline passages", description=SEARCH_DESCRIPTION, annotations=read_only)
    def search_guidelines(
        query: Annotated[str, Field(description="What to look for.")],
        top_k: Annotated[
            int | None, Field(ge=1, description="How many passages (default 7: GQA_RETRIEVAL__DEFAULT_TOP_K).")
        ] = None,
        filters: Annotated[
            Filters | None, Field(description="Keep only some guidelines (issuing_body, topic, doc_id, years).")
        ] = None,
    ) -> SearchResponse:
        try:
            request = SearchRequest(query=query, top_k=top_k, filters=filters)
            check_limits(settings, request.query, top_k)
            return pipeline().search(request)
        except (ValidationError, ServiceError) as exc:
            raise _tool_error(exc) from None

    @server.tool(title="List the indexed guidelines", description=LIST_DESCRIPTION, annotations=read_only)
    def list_guidelines() -> GuidelineCatalogue:
        return catalogue(pipeline())

    @server.tool(title="Read one recommendation", description=RECOMMENDATION_DESCRIPTION, annotations=read_only)
    def get_recommendation(
        rec_id: Annotated[str, Field(description='The recommendation id, e.g. "BM-TP-01".')],
    ) -> Recommendation:
        if not rec_id.strip():
            raise ToolError("invalid arguments: rec_id is empty")
        try:
            passages = pipeline().recommendation(rec_id)
        except ServiceError as exc:
            raise _tool_error(exc) from None
        first, last = passages[0], passages[-1]
        record = first.model_dump(include=set(SourceRecord.model_fields))
        record["page_end"] = last.page_end or last.page
        return Recommendation(
            **record, text="\n\n".join(p.text for p in passages), chunk_ids=[p.chunk_id for p in passages]
        )

    @server.resource(
        CATALOGUE_URI,
        name="guideline-catalogue",
        title="Guideline catalogue",
        description="The indexed guideline documents (id, title, issuing body, year, topic, URL), as JSON.",
        mime_type="application/json",
    )
    def guideline_catalogue() -> str:
        return json.dumps(catalogue(pipeline()).model_dump(), ensure_ascii=False, indent=2)

    return server


class McpEndpoint:
    """The ASGI endpoint at `/mcp`: streamable HTTP, one fresh session manager per app lifespan.

    Host headers are not checked (behind a proxy they name the proxy's host); what DNS rebinding
    needs, a browser page of another origin, is refused by the Origin check: a request with an
    Origin header must come from localhost or from `server.cors_origins`. API keys are checked by
    the app's Guard before a request gets here, as for `/v1`.
    """

    def __init__(self, server: MCPServer[Any], settings: Settings) -> None:
        self.server = server
        self.origins = {o.rstrip("/") for o in settings.server.cors_origins}
        self.max_body_bytes = settings.server.max_body_bytes
        self.manager: StreamableHTTPSessionManager | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run a session manager for as long as the app runs (a manager can run only once)."""
        self.server.streamable_http_app(
            streamable_http_path="/mcp",
            stateless_http=True,
            json_response=True,
            max_request_body_size=self.max_body_bytes,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        manager = self.server.session_manager
        async with manager.run():
            self.manager = manager
            try:
                yield
            finally:
                self.manager = None

    def _origin_allowed(self, origin: str) -> bool:
        origin = origin.rstrip("/")
        if origin in self.origins:
            return True
        scheme, _, rest = origin.partition("://")
        host = rest.rsplit(":", 1)[0] if not rest.endswith("]") else rest
        return scheme in ("http", "https") and host in ("localhost", "127.0.0.1", "[::1]")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        from fastapi.responses import JSONResponse

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        origin = headers.get("origin")
        if origin and not self._origin_allowed(origin):
            refusal = JSONResponse(
                status_code=403,
                content={"error": {"type": "Forbidden", "message": f"origin {origin} is not allowed"}},
            )
            await refusal(scope, receive, send)
            return
        if self.manager is None:
            unready = JSONResponse(
                status_code=503,
                content={"error": {"type": "NotReadyError", "message": "the MCP endpoint is not running"}},
            )
            await unready(scope, receive, send)
            return
        await self.manager.handle_request(scope, receive, send)


__all__ = [
    "CATALOGUE_URI",
    "GuidelineCatalogue",
    "GuidelineDocument",
    "McpEndpoint",
    "Recommendation",
    "build_mcp_server",
]
