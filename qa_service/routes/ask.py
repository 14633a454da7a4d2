"""`POST /v1/ask` and `POST /v1/search`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import partial
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from qa_service.dependencies import PipelineDep, SettingsDep
from qa_service.errors import BadRequestError
from qa_service.routes.disconnect import run_until_disconnect
from qa_service.schemas import AskRequest, AskResponse, SearchRequest, SearchResponse
from qa_service.settings import Settings

router = APIRouter(prefix="/v1", tags=["answers"])


log = logging.getLogger("guideline_qa.http")


def check_limits(settings: Settings, text: str, top_k: int | None) -> None:
    """Reject questions over the size limit and top_k out of range (422 with a message).

    Logs the question text only when `server.log_questions` is on: questions can carry patient details.
    """
    if settings.server.log_questions:
        log.info(orjson.dumps({"event": "question", "text": text}).decode())
    limit = settings.server.max_question_chars
    if len(text) > limit:
        raise BadRequestError(f"question is {len(text)} characters; the limit is {limit}")
    if top_k is not None and top_k > settings.retrieval.max_top_k:
        raise BadRequestError(f"top_k must be between 1 and {settings.retrieval.max_top_k}")


def sse(events: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """Server-sent events, one JSON object per event, closed by `[DONE]`."""
    for event in events:
        yield b"data: " + orjson.dumps(event) + b"\n\n"
    yield b"data: [DONE]\n\n"


@router.post("/ask", response_model=AskResponse, summary="Answer a question with citations, or abstain")
async def ask(request: AskRequest, http: Request, pipeline: PipelineDep, settings: SettingsDep) -> Any:
    """A cited answer; `stream: true` sends it sentence by sentence as server-sent events.

    An answer from the LLM composer is given up when the client goes away: its generation is
    cancelled at the model server rather than left running for nobody.
    """
    check_limits(settings, request.question, request.top_k)
    llm = (request.composer or settings.answer.composer) == "llm"
    if request.stream:
        # The events are made before the stream starts: an error (an LLM composer that is not
        # configured, say) is then a 4xx with its message, not a stream cut off after its 200.
        def collect() -> list[dict[str, Any]]:
            return list(pipeline.ask_stream(request))

        events = await (run_until_disconnect(http, collect) if llm else anyio.to_thread.run_sync(collect))
        if events and events[-1].get("type") == "done":
            http.app.state.metrics.observe_answer(AskResponse.model_validate(events[-1]["response"]))
        return StreamingResponse(sse(iter(events)), media_type="text/event-stream")
    if llm:
        response = await run_until_disconnect(http, partial(pipeline.ask, request))
    else:
        response = await anyio.to_thread.run_sync(pipeline.ask, request)
    http.app.state.metrics.observe_answer(response)
    return response


@router.post("/search", response_model=SearchResponse, summary="Ranked passages for a query")
def search(request: SearchRequest, pipeline: PipelineDep, settings: SettingsDep) -> SearchResponse:
    """Hybrid retrieval only, no answer."""
    check_limits(settings, request.query, request.top_k)
    return pipeline.search(request)
