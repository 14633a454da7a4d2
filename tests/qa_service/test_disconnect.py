"""A request's LLM work learns that its client went away, for /v1/ask as for the chat endpoint."""

from __future__ import annotations

import time

import anyio

from qa_service.llm_client import current_cancel
from qa_service.routes.disconnect import run_until_disconnect


class GoneAfter:
    """A Starlette request whose client disconnects after `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.until = time.monotonic() + seconds

    async def is_disconnected(self) -> bool:
        return time.monotonic() >= self.until


def test_the_work_sees_its_cancellation_when_the_client_goes_away() -> None:
    def work() -> str:
        cancel = current_cancel()
        assert cancel is not None
        return "cancelled" if cancel.wait(timeout=5) else "ran to the end"

    assert anyio.run(run_until_disconnect, GoneAfter(0.2), work) == "cancelled"  # type: ignore[arg-type]


def test_work_that_finishes_first_returns_its_result() -> None:
    assert anyio.run(run_until_disconnect, GoneAfter(60), lambda: 42) == 42  # type: ignore[arg-type]
