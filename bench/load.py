"""A bounded HTTP load generator: a fixed number of requests at a fixed concurrency, then it stops.

`concurrency` workers share one queue of request bodies; each sends its next request as soon as
its previous one returned (closed loop), so the server never sees more than `concurrency` in flight.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.stats import LatencySummary


@dataclass
class LoadResult:
    """What one load run measured."""

    concurrency: int
    requests: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_examples: list[str] = field(default_factory=list)

    @property
    def requests_per_second(self) -> float:
        """Completed requests (ok or not) per second of wall time."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        """Throughput, latency percentiles of the successful requests and the error count."""
        latency = LatencySummary.of(self.latencies_ms).to_json() if self.latencies_ms else {}
        return {
            "concurrency": self.concurrency,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "requests_per_second": round(self.requests_per_second, 2),
            "errors": self.errors,
            "error_examples": self.error_examples,
            **{f"latency_{k}": v for k, v in latency.items() if k != "n"},
        }


async def drive(
    client: httpx.AsyncClient,
    path: str,
    bodies: Sequence[dict[str, Any]],
    *,
    requests: int,
    concurrency: int,
    seconds: float | None = None,
) -> LoadResult:
    """POST `requests` bodies (cycling through `bodies`) to `path` with `concurrency` workers.

    With `seconds`, the workers keep sending for that long instead (a soak); `requests` is then
    what was sent.
    """
    if not bodies:
        raise ValueError("the load generator needs at least one request body")
    if requests < 1 or concurrency < 1:
        raise ValueError("requests and concurrency must be at least 1")
    result = LoadResult(concurrency=concurrency, requests=requests, seconds=0.0)
    # Shared by the workers; asyncio runs one at a time, so no lock.
    queue = iter(range(requests)) if seconds is None else itertools.count()
    deadline = None if seconds is None else time.perf_counter() + seconds

    async def worker() -> None:
        for i in queue:
            started = time.perf_counter()
            if deadline is not None:
                if started >= deadline:
                    return
                result.requests = i + 1
            try:
                response = await client.post(path, json=bodies[i % len(bodies)])
                ok, problem = response.status_code == 200, f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                ok, problem = False, f"{type(exc).__name__}: {exc}"
            elapsed_ms = (time.perf_counter() - started) * 1000
            if ok:
                result.latencies_ms.append(elapsed_ms)
            else:
                result.errors += 1
                if len(result.error_examples) < 5:
                    result.error_examples.append(problem)

    started = time.perf_counter()
    workers = concurrency if seconds is not None else min(concurrency, requests)
    await asyncio.gather(*(worker() for _ in range(workers)))
    result.seconds = time.perf_counter() - started
    return result


async def _run(
    base_url: str,
    path: str,
    bodies: Sequence[dict[str, Any]],
    *,
    requests: int,
    concurrency: int,
    warmup: int,
    timeout_s: float,
    transport: httpx.AsyncBaseTransport | None,
    seconds: float | None = None,
) -> LoadResult:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout_s, limits=limits, transport=transport) as client:
        if warmup:  # open the connections and let the server settle; not counted
            await drive(client, path, bodies, requests=warmup, concurrency=min(concurrency, warmup))
        return await drive(client, path, bodies, requests=requests, concurrency=concurrency, seconds=seconds)


def run_load(
    base_url: str,
    bodies: Sequence[dict[str, Any]],
    *,
    requests: int,
    concurrency: int,
    path: str = "/v1/ask",
    warmup: int = 0,
    timeout_s: float = 60.0,
    transport: httpx.AsyncBaseTransport | None = None,
    seconds: float | None = None,
) -> LoadResult:
    """Run one bounded load and return what it measured (blocking; starts its own event loop).

    With `seconds` the load runs for that long at `concurrency` rather than for `requests` requests.

    What the caller allocated before is frozen out of the garbage collector for the run: the client is
    pure Python, and after `make bench`'s ingest figures the process held ~570,000 objects whose
    full collections halved the requests it could send (c=32: 100 req/s measured instead of 200).
    """
    gc.collect()
    gc.freeze()
    try:
        return asyncio.run(
            _run(
                base_url,
                path,
                bodies,
                requests=requests,
                concurrency=concurrency,
                warmup=warmup,
                timeout_s=timeout_s,
                transport=transport,
                seconds=seconds,
            )
        )
    finally:
        gc.unfreeze()
