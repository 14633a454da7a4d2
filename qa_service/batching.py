"""Micro-batching of query embeddings: concurrent requests share one encoder call.

No timer, no added wait: a request encodes at once when the encoder is free. While the encoder is
busy, requests queue up, and whoever gets the encoder next encodes the whole queue in one batch.
At concurrency 1 this is a plain call; under load the batch grows with the queue, and the encoder
(the only expensive step of a query) runs once per batch instead of once per request, one at a time
rather than several calls fighting over the same cores.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class _Pending:
    text: str
    vector: np.ndarray | None = None
    error: BaseException | None = None


class MicroBatcher:
    """Thread-safe: call `embed` from any number of request threads."""

    def __init__(self, encode: Callable[[Sequence[str]], np.ndarray], max_batch: int = 64) -> None:
        self._encode = encode
        self.max_batch = max_batch
        self._queue: list[_Pending] = []
        self._queue_lock = threading.Lock()
        self._encoder_lock = threading.Lock()
        self.batches = 0
        """Encoder calls made (for tests and benchmarks)."""

    def embed(self, text: str) -> np.ndarray:
        """The vector of one text, possibly computed in a batch with other callers' texts."""
        item = _Pending(text)
        with self._queue_lock:
            self._queue.append(item)
        while True:
            with self._encoder_lock:
                if item.vector is None and item.error is None:
                    with self._queue_lock:
                        batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                    self._run(batch)
            if item.error is not None:
                raise item.error
            if item.vector is not None:
                return item.vector

    def _run(self, batch: list[_Pending]) -> None:
        if not batch:
            return
        self.batches += 1
        try:
            vectors = self._encode([p.text for p in batch])
        except Exception as exc:  # every caller in the batch sees the failure, not just the leader
            for p in batch:
                p.error = exc
            return
        for p, vector in zip(batch, vectors, strict=True):
            p.vector = np.asarray(vector, dtype=np.float32)
