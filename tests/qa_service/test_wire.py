"""A reply leaves in one write: the coalescing transport under uvicorn's protocol."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import uvicorn

from qa_service.wire import CoalescingProtocol, CoalescingTransport


class RecordingTransport:
    """Just enough of an asyncio transport: records each write and whether it was closed."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5)}.get(name, default)


async def _settle() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


def test_writes_in_one_step_leave_together_at_the_next() -> None:
    async def scenario() -> RecordingTransport:
        real = RecordingTransport()
        wrapped = CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        wrapped.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n")
        wrapped.write(b"")
        wrapped.write(memoryview(b"hello"))
        assert real.writes == [] and wrapped.get_write_buffer_size() == 43
        await _settle()
        wrapped.write(b"next")
        await _settle()
        return real

    real = asyncio.run(scenario())
    assert real.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello", b"next"]


def test_close_sends_what_is_pending_first_and_abort_drops_it() -> None:
    async def scenario() -> tuple[RecordingTransport, RecordingTransport]:
        loop = asyncio.get_running_loop()
        closed, aborted = RecordingTransport(), RecordingTransport()
        first = CoalescingTransport(closed, loop)  # type: ignore[arg-type]
        first.write(b"bye")
        first.close()
        second = CoalescingTransport(aborted, loop)  # type: ignore[arg-type]
        second.write(b"lost")
        second.abort()
        await _settle()
        return closed, aborted

    closed, aborted = asyncio.run(scenario())
    assert closed.writes == [b"bye"] and closed.closed
    assert aborted.writes == [] and aborted.aborted
    assert CoalescingTransport(closed, None).get_extra_info("peername") == ("127.0.0.1", 5)  # type: ignore[arg-type]


def test_uvicorn_with_the_protocol_answers_a_real_request_in_one_write(unused_tcp_port: int) -> None:
    """A real uvicorn server: the reply arrives whole, and the socket saw one send for it."""
    sends: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
        await send({"type": "http.response.body", "body": b"hello"})

    class Counting(CoalescingProtocol):  # type: ignore[misc,valid-type]
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            original = transport.write

            def counted(data: bytes) -> None:
                sends.append(len(data))
                original(data)

            transport.write = counted  # type: ignore[method-assign]
            super().connection_made(transport)

    async def scenario() -> httpx.Response:
        server = uvicorn.Server(uvicorn.Config(app, port=unused_tcp_port, http=Counting, log_level="warning"))
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient() as client:
            reply = await client.get(f"http://127.0.0.1:{unused_tcp_port}/")
        server.should_exit = True
        await task
        return reply

    reply = asyncio.run(scenario())
    assert (reply.status_code, reply.text) == (200, "hello")
    assert len(sends) == 1 and sends[0] > len(b"hello")  # the head and the body in one send


@pytest.fixture
def unused_tcp_port() -> int:
    from guideline_qa.cluster import free_port

    return free_port()
