"""OpenAI-compatible chat: `POST /v1/chat/completions` and `GET /v1/models`.

Point any OpenAI client or chat front-end at `<service>/v1` and it gets guideline-qa's answers:

- The question is the last user message. A follow-up turn (two words or fewer, or one that opens
  with "and", "or", "also", "what about", "how about", "same for"...) is appended to the user turn
  before it, up to three turns back: "Which bone-modifying agent in breast cancer?" then "and for
  prostate?" asks "Which bone-modifying agent in breast cancer? and for prostate?".
- System, developer and assistant turns are accepted and ignored: answers come from the guidelines only.
- The reply is the cited answer with its sources as footnotes (`[1] ESMO 2020 — Title > Section`);
  a structured `citations` list rides on the message (and on the last chunk when streaming).
- Unknown OpenAI parameters (temperature, max_tokens, n, tools...) are accepted and ignored; the
  guideline-qa extras `filters`, `top_k` and `long` may be sent in the body (`extra_body`).
- Errors use OpenAI's body, `{"error": {"message", "type", "param", "code"}}`.
- The answer is computed on a worker thread while the route watches the connection: when the client goes away
  (or closes a stream), the LLM composer's call is cancelled and its connection to the model server closed, so
  no generation runs on for a reply nobody will read (`run_until_disconnect`).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator
from typing import Any, TypeVar

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, field_validator

from qa_service.dependencies import PipelineDep, SettingsDep
from qa_service.errors import BadRequestError, ServiceError
from qa_service.routes.ask import check_limits
from qa_service.routes.disconnect import run_until_disconnect
from qa_service.schemas import AskRequest, AskResponse, Filters, source_label
from qa_service.settings import Settings

log = logging.getLogger("guideline_qa.chat")

T = TypeVar("T")

MODEL_ID = "guideline-qa"
ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
FOLLOW_UP_MAX_WORDS = 2
FOLLOW_UP_MAX_TURNS = 3
_FOLLOW_UP_OPENERS = re.compile(
    r"^(and|or|but|also|what about|how about|same for|same in|what if|and if|then|in|for)\b", re.IGNORECASE
)


class ChatInputError(Exception):
    """A chat request the service cannot answer; becomes an OpenAI `invalid_request_error` (400)."""

    def __init__(self, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.param = param
        self.code = code


def openai_error(
    status: int, message: str, *, kind: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> JSONResponse:
    """An error response in OpenAI's shape."""
    return JSONResponse(
        status_code=status, content={"error": {"message": message, "type": kind, "param": param, "code": code}}
    )


class OpenAIErrorRoute(APIRoute):
    """Turns validation and service errors of these routes into OpenAI-shaped error bodies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The normal handler, wrapped to translate errors at this edge."""
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except ChatInputError as exc:
                return openai_error(400, str(exc), param=exc.param, code=exc.code)
            except RequestValidationError as exc:
                return _validation_error(exc)
            except BadRequestError as exc:
                return openai_error(400, str(exc))
            except ServiceError as exc:
                kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
                return openai_error(exc.status_code, str(exc), kind=kind, code=type(exc).__name__)

        return route_handler


def _validation_error(exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    if first.get("type") == "json_invalid":
        return openai_error(400, "the request body is not valid JSON")
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    param = ".".join(loc) or None
    message = first.get("msg", "invalid request")
    return openai_error(400, f"{param}: {message}" if param else message, param=param)


router = APIRouter(prefix="/v1", tags=["chat"], route_class=OpenAIErrorRoute)


class ContentPart(BaseModel):
    """One part of a message's content; only `{"type": "text", "text": ...}` is read."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    """A conversation turn."""

    model_config = ConfigDict(extra="allow")

    role: str = Field(description="system, developer, user, assistant or tool; only user turns are read.")
    content: str | list[ContentPart] | None = None


class StreamOptions(BaseModel):
    """OpenAI's stream options; `include_usage` adds a last chunk with token counts."""

    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat request. Other OpenAI parameters are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(MODEL_ID, description="Ignored: every model name gets guideline-qa.")
    messages: list[ChatMessage]
    stream: bool = False
    stream_options: StreamOptions | None = None
    filters: Filters | None = Field(None, description="guideline-qa extra: metadata filters.")
    top_k: int | None = Field(None, ge=1, description="guideline-qa extra: passages to retrieve.")
    long: bool = Field(False, description="guideline-qa extra: allow a longer answer.")
    n: int | None = Field(1, description="Choices to return: guideline-qa gives one answer, so only 1 (or null).")

    @field_validator("n")
    @classmethod
    def _one_choice(cls, value: int | None) -> int | None:
        if value is not None and value != 1:  # a client asking for several choices would silently get one
            raise ValueError(f"n is {value}; guideline-qa returns one answer per request, so n must be 1")
        return value


def message_text(message: ChatMessage, index: int) -> str:
    """The text of a message; non-text parts (images, audio) are refused rather than silently dropped."""
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    texts = []
    for part in message.content:
        if part.type != "text" or part.text is None:
            raise ChatInputError(
                f"content part of type {part.type!r} is not supported; guideline-qa reads text only",
                param=f"messages.{index}.content",
            )
        texts.append(part.text)
    return "\n".join(texts)


def is_follow_up(text: str) -> bool:
    """A short or connective turn ("and for prostate?") that leans on the question before it."""
    text = text.strip()
    return len(text.split()) <= FOLLOW_UP_MAX_WORDS or bool(_FOLLOW_UP_OPENERS.match(text))


def build_question(messages: list[ChatMessage], settings: Settings) -> str:
    """The question for the pipeline: the last user turn, prefixed by earlier turns it follows up."""
    if not messages:
        raise ChatInputError("messages must contain at least one message", param="messages", code="empty_messages")
    user_turns: list[tuple[int, str]] = []
    for index, message in enumerate(messages):
        if message.role not in ROLES:
            raise ChatInputError(
                f"unknown role {message.role!r}; expected one of {', '.join(sorted(ROLES))}",
                param=f"messages.{index}.role",
            )
        if message.role == "user":
            user_turns.append((index, message_text(message, index).strip()))
    if not user_turns:
        raise ChatInputError("messages must contain a user message", param="messages", code="no_user_message")
    last_index, question = user_turns[-1]
    limit = settings.server.max_question_chars
    if not question:
        raise ChatInputError("the last user message is empty", param=f"messages.{last_index}.content")
    if len(question) > limit:
        raise ChatInputError(
            f"the last user message is {len(question)} characters; the limit is {limit}",
            param=f"messages.{last_index}.content",
            code="question_too_long",
        )
    current = question
    for _, earlier in reversed(user_turns[-1 - FOLLOW_UP_MAX_TURNS : -1]):
        if not is_follow_up(current) or not earlier:
            break
        combined = f"{earlier} {question}"
        if len(combined) > limit:
            break
        question, current = combined, earlier
    return question


CAUTION_NOTE = (
    "Partial evidence: the cited passages may answer only part of this question, or a neighbouring one. "
    "Check them before acting."
)


def render_tail(response: AskResponse) -> str:
    """What follows the answer text: footnotes (or the closest passages) and the disclaimer."""
    blocks = []
    if response.caution:
        blocks.append(f"_{CAUTION_NOTE}_" + (f" _Why: {response.reason}._" if response.reason else ""))
    if response.citations:
        lines = []
        for citation in response.citations:
            line = f"[{citation.id}] {source_label(citation)}"
            line = f"{line} ({citation.url})" if citation.url else line
            lines.append(f"{line}. _Note: {citation.note}._" if citation.note else line)
        blocks.append("Sources:\n" + "\n".join(lines))
    elif response.abstained and response.passages:
        lines = [f"- {source_label(passage)}" for passage in response.passages[:3]]
        blocks.append("Closest passages (not enough to answer):\n" + "\n".join(lines))
    blocks.append(f"_{response.disclaimer}_")
    return "\n\n".join(blocks)


def render_content(response: AskResponse) -> str:
    """The full reply: the answer, then its footnotes and the disclaimer."""
    return f"{response.answer.strip()}\n\n{render_tail(response)}"


def _extras(response: AskResponse, question: str) -> dict[str, Any]:
    return {
        "question": question,
        "abstained": response.abstained,
        "reason": response.reason,
        "evidence_score": response.evidence_score,
        "caution": response.caution,
        "composer": response.composer,
        "fallback": response.fallback,
        "disclaimer": response.disclaimer,
    }


def _usage(question: str, content: str) -> dict[str, int]:
    # Words, not tokens: there is no tokenizer to count with, and clients only need an estimate.
    prompt, completion = len(question.split()), len(content.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _ask_request(request: ChatCompletionRequest, question: str, settings: Settings) -> AskRequest:
    check_limits(settings, question, request.top_k)
    return AskRequest(question=question, top_k=request.top_k, filters=request.filters, long=request.long)


def stream_chunks(events: Iterable[dict[str, Any]], question: str, *, include_usage: bool) -> Iterator[dict[str, Any]]:
    """`chat.completion.chunk` objects: the role, each answer sentence, the footnotes, then `finish_reason`."""
    completion_id, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [choice],
            **extra,
        }

    yield chunk({"role": "assistant", "content": ""})
    sent: list[str] = []
    try:
        for event in events:
            if event.get("type") == "sentence" and event.get("text"):
                piece = (" " if sent else "") + str(event["text"]).strip()
                sent.append(piece)
                yield chunk({"content": piece})
            elif event.get("type") == "done":
                response = AskResponse.model_validate(event["response"])
                if not sent:
                    sent.append(response.answer.strip())
                    yield chunk({"content": sent[-1]})
                tail = "\n\n" + render_tail(response)
                sent.append(tail)
                yield chunk({"content": tail})
                citations = [c.model_dump() for c in response.citations]
                yield chunk({}, "stop", citations=citations, guideline_qa=_extras(response, question))
                if include_usage:
                    usage = _usage(question, "".join(sent))
                    yield {**chunk({}), "choices": [], "usage": usage}
                return
    except ServiceError as exc:
        yield {"error": {"message": str(exc), "type": "server_error", "param": None, "code": type(exc).__name__}}
        return
    except Exception:
        log.exception("chat stream failed")
        yield {"error": {"message": "internal error; the request was logged", "type": "server_error"}}
        return
    yield {"error": {"message": "the answer stream ended early", "type": "server_error"}}


class _Later:
    """An event iterable filled in after the first chunk is sent (`stream_chunks` reads it only then)."""

    def __init__(self) -> None:
        self.events: Iterator[dict[str, Any]] = iter(())

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.events


def _collect(events: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Run the pipeline's event stream to its end on this thread; replay it, failure included, later."""
    collected: list[dict[str, Any]] = []
    try:
        collected.extend(events)
    except Exception as exc:  # re-raised where stream_chunks turns it into an error event
        return _replay(collected, exc)
    return iter(collected)


def _replay(events: list[dict[str, Any]], error: Exception) -> Iterator[dict[str, Any]]:
    yield from events
    raise error


def _sse(payload: dict[str, Any] | str) -> bytes:
    return b"data: " + (payload.encode() if isinstance(payload, str) else orjson.dumps(payload)) + b"\n\n"


async def stream_reply(
    http_request: Request, pipeline: PipelineDep, ask_request: AskRequest, question: str, *, include_usage: bool
) -> AsyncIterator[bytes]:
    """The SSE body: the role chunk at once, then the answer once the pipeline has it, then `[DONE]`."""
    later = _Later()
    chunks = stream_chunks(later, question, include_usage=include_usage)
    yield _sse(next(chunks))  # the role chunk: the client sees the reply start while the model writes
    later.events = await run_until_disconnect(http_request, lambda: _collect(pipeline.ask_stream(ask_request)))
    for chunk in chunks:
        yield _sse(chunk)
    yield _sse("[DONE]")


@router.post("/chat/completions", summary="OpenAI-compatible chat: a cited answer to the last user message")
async def chat_completions(
    request: ChatCompletionRequest, http_request: Request, pipeline: PipelineDep, settings: SettingsDep
) -> Any:
    """A `chat.completion` (or, with `stream: true`, server-sent `chat.completion.chunk`s and `[DONE]`)."""
    question = build_question(request.messages, settings)
    ask_request = _ask_request(request, question, settings)
    if request.stream:
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        body = stream_reply(http_request, pipeline, ask_request, question, include_usage=include_usage)
        return StreamingResponse(body, media_type="text/event-stream", headers={"cache-control": "no-cache"})
    response = await run_until_disconnect(http_request, lambda: pipeline.ask(ask_request))
    http_request.app.state.metrics.observe_answer(response)
    content = render_content(response)
    citations = [c.model_dump() for c in response.citations]
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_ID,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None, "citations": citations},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(question, content),
        "citations": citations,
        "guideline_qa": _extras(response, question),
    }


def _model_card() -> dict[str, Any]:
    return {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "guideline-qa"}


@router.get("/models", summary="OpenAI-compatible model list (one model)")
def list_models() -> dict[str, Any]:
    """The one model guideline-qa serves."""
    return {"object": "list", "data": [_model_card()]}


@router.get("/models/{model_id}", summary="One model")
def get_model(model_id: str) -> Any:
    """The model card, or an OpenAI-style 404."""
    if model_id != MODEL_ID:
        return openai_error(404, f"the model {model_id!r} does not exist", param="model", code="model_not_found")
    return _model_card()
