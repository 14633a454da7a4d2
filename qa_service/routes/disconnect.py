"""Running a request's work on a worker thread, and cancelling its LLM call when the client goes away."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import anyio
from fastapi import Request

from qa_service.llm_client import cancellation

T = TypeVar("T")
DISCONNECT_POLL_S = 0.1


def _with_cancellation(cancel: threading.Event, work: Callable[[], T]) -> T:
    with cancellation(cancel):
        return work()


async def run_until_disconnect(request: Request, work: Callable[[], T]) -> T:
    """`work()` on a worker thread; if the client goes away first, its LLM call is cancelled (connection closed).

    The thread is abandoned when this coroutine is cancelled (a closed stream): the cancellation it is then given
    ends its LLM call within a poll.
    """
    cancel = threading.Event()

    async def watch() -> None:
        while not await request.is_disconnected():
            await anyio.sleep(DISCONNECT_POLL_S)
        cancel.set()

    outcome: list[T] = []
    failure: list[Exception] = []
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(watch)
            try:
                work_here = partial(_with_cancellation, cancel, work)
                outcome.append(await anyio.to_thread.run_sync(work_here, abandon_on_cancel=True))
            except Exception as exc:  # raised below, outside the task group (which would wrap it in a group)
                failure.append(exc)
            group.cancel_scope.cancel()
    finally:
        cancel.set()  # harmless once the work is done; stops it when this coroutine was cancelled
    if failure:
        raise failure[0]
    return outcome[0]
