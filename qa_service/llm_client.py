"""Bounded calls to a chat model: a token cap, a total deadline, cancellation that reaches the server, a slot limit.

`OpenAIChat` talks to any OpenAI-compatible server (Ollama, vLLM, llama.cpp's server) over `/chat/completions` with
`stream: true`. Streaming is what makes cancellation real: when the deadline passes or the caller cancels, the
response is closed mid-stream, the connection drops, and these servers stop generating at their next token
(a non-streaming request would run to its end on the server whatever the client does).

Each call runs its own event loop (`asyncio.run`) on the calling thread (on a helper thread when the caller is
inside an event loop), so the synchronous pipeline can call it from FastAPI's thread pool; the deadline and the
cancellation check run beside the stream in that loop.

`LangChainChat` adapts any LangChain chat model (and the fakes the tests use). It bounds the wait, not the work:
a timed-out call is abandoned on a daemon thread and its server is not told.

    GenerationError (reason: timeout | server_error | cancelled)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import httpx

from qa_service.settings import LLMSettings

__all__ = [
    "ChatModel",
    "Generation",
    "GenerationError",
    "LangChainChat",
    "Message",
    "OpenAIChat",
    "as_chat_model",
    "build_chat_model",
    "cancellation",
    "current_cancel",
]

Message = dict[str, str]
"""One chat turn: `{"role": "system" | "user", "content": ...}`."""

CANCEL_POLL_S = 0.05


@dataclass(frozen=True)
class Generation:
    """What the model wrote, and why it stopped (`"length"`: it hit max_tokens)."""

    text: str
    finish_reason: str | None = None


class GenerationError(Exception):
    """A generation that did not finish: it timed out, the server failed, or the caller cancelled it."""

    def __init__(self, reason: Literal["timeout", "server_error", "cancelled"], detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@runtime_checkable
class ChatModel(Protocol):
    """A chat model the LLM composer can bound: its calls are capped, time-limited, cancellable and share `slots`."""

    slots: threading.BoundedSemaphore
    max_concurrency: int

    def complete_chat(
        self, messages: Sequence[Message], *, max_tokens: int, timeout_s: float, cancel: threading.Event | None
    ) -> Generation:
        """The reply, or GenerationError (timeout, server_error, cancelled) once `timeout_s` have passed."""
        ...


# The cancellation of the request being served, set by the HTTP layer around a pipeline call (see routes/chat.py).
_CANCEL: ContextVar[threading.Event | None] = ContextVar("guideline_qa_llm_cancel", default=None)


@contextlib.contextmanager
def cancellation(event: threading.Event) -> Iterator[threading.Event]:
    """Within this block, LLM calls stop (and close their connection) as soon as `event` is set."""
    token = _CANCEL.set(event)
    try:
        yield event
    finally:
        _CANCEL.reset(token)


def current_cancel() -> threading.Event | None:
    """The cancellation event of the request being served, if the caller set one."""
    return _CANCEL.get()


class OpenAIChat:
    """An OpenAI-compatible chat server reached with streaming httpx requests, one event loop per call."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str = "not-needed",
        temperature: float = 0.0,
        max_concurrency: int = 1,
        connect_timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.temperature = temperature
        self.max_concurrency = max_concurrency
        self.slots = threading.BoundedSemaphore(max_concurrency)
        self.connect_timeout_s = connect_timeout_s
        self.transport = transport  # tests pass httpx.MockTransport

    @classmethod
    def from_settings(cls, settings: LLMSettings) -> OpenAIChat:
        """The client for `settings.base_url` (which must be set)."""
        if not settings.base_url:
            raise ValueError("llm.base_url is not set")
        return cls(
            settings.base_url,
            settings.model,
            api_key=settings.api_key.get_secret_value(),
            temperature=settings.temperature,
            max_concurrency=settings.max_concurrency,
            connect_timeout_s=settings.connect_timeout_s,
        )

    def complete_chat(
        self, messages: Sequence[Message], *, max_tokens: int, timeout_s: float, cancel: threading.Event | None
    ) -> Generation:
        """Stream the reply; past `timeout_s` or once `cancel` is set, close the connection and raise."""
        body = {
            "model": self.model,
            "messages": list(messages),
            "temperature": self.temperature,
            "max_tokens": max_tokens,
            "stream": True,
        }
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the usual case: a worker thread with no event loop of its own
            return asyncio.run(self._generate(body, timeout_s, cancel))
        # Called from inside an event loop: run the call's own loop beside it rather than nest loops.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="llm-call") as pool:
            return pool.submit(asyncio.run, self._generate(body, timeout_s, cancel)).result()

    async def _generate(self, body: dict[str, Any], timeout_s: float, cancel: threading.Event | None) -> Generation:
        stream = asyncio.ensure_future(self._stream(body, timeout_s))
        watch = asyncio.ensure_future(_until_set(cancel))
        try:
            done, _ = await asyncio.wait({stream, watch}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Cancelling the stream leaves its `async with` blocks: the response and the connection are closed.
            for task in (stream, watch):
                task.cancel()
            await asyncio.gather(stream, watch, return_exceptions=True)
        if stream in done:
            return stream.result()
        if watch in done:
            raise GenerationError("cancelled", "the request was cancelled")
        raise GenerationError("timeout", f"the model did not finish within {timeout_s:g} s")

    async def _stream(self, body: dict[str, Any], timeout_s: float) -> Generation:
        timeout = httpx.Timeout(timeout_s, connect=min(self.connect_timeout_s, timeout_s))
        headers = {"authorization": f"Bearer {self.api_key}"}
        try:
            async with (
                httpx.AsyncClient(timeout=timeout, transport=self.transport, headers=headers) as client,
                client.stream("POST", f"{self.base_url}/chat/completions", json=body) as response,
            ):
                if response.status_code >= 400:
                    detail = (await response.aread()).decode("utf-8", "replace")[:200]
                    raise GenerationError("server_error", f"HTTP {response.status_code}: {detail}")
                if response.headers.get("content-type", "").startswith("application/json"):
                    return _from_completion(json.loads(await response.aread()))  # a server that ignores stream
                return await _from_events(response)
        except httpx.ConnectTimeout as exc:  # nothing was generated: the server is unreachable, not slow
            raise GenerationError("server_error", f"could not connect to {self.base_url}") from exc
        except httpx.TimeoutException as exc:
            raise GenerationError("timeout", f"{type(exc).__name__} talking to {self.base_url}") from exc
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise GenerationError("server_error", f"{type(exc).__name__}: {exc}") from exc


async def _until_set(event: threading.Event | None) -> None:
    if event is None:
        await asyncio.Event().wait()  # never set: only the stream or the deadline ends the call
        return
    while not event.is_set():
        await asyncio.sleep(CANCEL_POLL_S)


async def _from_events(response: httpx.Response) -> Generation:
    """The text of an OpenAI `chat.completion.chunk` event stream, up to `[DONE]`."""
    pieces: list[str] = []
    finish: str | None = None
    async for line in response.aiter_lines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            break
        event = json.loads(data)
        if "error" in event:
            raise GenerationError("server_error", str(event["error"])[:200])
        for choice in event.get("choices") or []:
            pieces.append((choice.get("delta") or {}).get("content") or "")
            finish = choice.get("finish_reason") or finish
    return Generation("".join(pieces), finish)


def _from_completion(completion: dict[str, Any]) -> Generation:
    choice = completion["choices"][0]
    return Generation(choice["message"].get("content") or "", choice.get("finish_reason"))


class LangChainChat:
    """Any LangChain chat model (or object with `invoke(messages)`) behind the `ChatModel` seam.

    The call runs on a daemon thread that is abandoned past the deadline or on cancellation; LangChain gives no
    handle to close its connection, so prefer `OpenAIChat` for a real server.
    """

    def __init__(self, model: Any, *, max_concurrency: int = 1) -> None:
        self.model = model
        self.max_concurrency = max_concurrency
        self.slots = threading.BoundedSemaphore(max_concurrency)

    def complete_chat(
        self, messages: Sequence[Message], *, max_tokens: int, timeout_s: float, cancel: threading.Event | None
    ) -> Generation:
        """The model's reply; GenerationError when it raises, runs past `timeout_s` or is cancelled."""
        from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

        chat: list[BaseMessage] = [
            SystemMessage(content=m["content"]) if m["role"] == "system" else HumanMessage(content=m["content"])
            for m in messages
        ]
        outcome: dict[str, Any] = {}
        finished = threading.Event()

        def run() -> None:
            try:
                outcome["reply"] = self.model.invoke(chat, max_tokens=max_tokens)
            except BaseException as exc:  # reported to the caller below
                outcome["error"] = exc
            finally:
                finished.set()

        threading.Thread(target=run, name="llm-call", daemon=True).start()
        deadline = time.monotonic() + timeout_s
        while not finished.wait(CANCEL_POLL_S):
            if cancel is not None and cancel.is_set():
                raise GenerationError("cancelled", "the request was cancelled")
            if time.monotonic() >= deadline:
                raise GenerationError("timeout", f"the model did not finish within {timeout_s:g} s")
        if "error" in outcome:
            error = outcome["error"]
            raise GenerationError("server_error", f"{type(error).__name__}: {error}") from error
        content = outcome["reply"].content
        return Generation(content if isinstance(content, str) else str(content))


def as_chat_model(model: Any) -> ChatModel:
    """`model` itself when it is a `ChatModel`, else wrapped in `LangChainChat`."""
    return model if isinstance(model, ChatModel) else LangChainChat(model)


def build_chat_model(settings: LLMSettings) -> OpenAIChat | None:
    """The chat model for an OpenAI-compatible server, or None when no URL is set."""
    return OpenAIChat.from_settings(settings) if settings.base_url else None
