"""A reply leaves a replica in one send, so a replica killed mid-reply cannot leave half of it.

uvicorn writes a response's status line and headers as soon as the app starts the response, and the
body in a second write. A replica killed between the two (SIGKILL, an OOM kill, a node lost) has
handed haproxy a head with no body: haproxy has already passed the head to the client, cannot retry,
and the client sees the connection close mid-reply. One write is all or nothing: before it, haproxy
sees an empty response and retries the question on another replica; after it, the kernel delivers the
whole reply even though the process is gone.

`CoalescingTransport` gathers the writes made in one step of the event loop and sends them together at
the next step (a response's head and body are written in the same step: nothing between them waits).
`CoalescingProtocol` is the uvicorn HTTP protocol (pass it as `http=`) that wraps each connection's transport with it.
"""

from __future__ import annotations

import asyncio
from typing import Any


class CoalescingTransport:
    """A transport whose writes within one event-loop step go out as one `write` of the real one."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        """Send what was written since the last flush (nothing if the connection is closing)."""
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()  # a reply written just before close (Connection: close) still leaves
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(d) for d in self._pending)

    def __getattr__(self, name: str) -> Any:  # is_closing, get_extra_info, pause_reading, ...
        return getattr(self._transport, name)


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # httptools is an optional extra of uvicorn
    from uvicorn.protocols.http.h11_impl import H11Protocol as _Base  # type: ignore[assignment]


class CoalescingProtocol(_Base):
    """uvicorn's HTTP/1.1 protocol (httptools if installed, else h11) with coalesced writes."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
