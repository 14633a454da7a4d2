"""Prometheus metrics: requests, latency by route and by answering stage, abstentions, the index served.

One registry per app, so several apps in one process (tests) never share counters. Labels are route
templates (`/v1/documents/{doc_id}`), never raw paths or question text: nothing a clinician typed
reaches a label or a log line.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from qa_service.schemas import AskResponse

__all__ = ["CONTENT_TYPE_LATEST", "ServiceMetrics"]

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STAGE_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0)


class ServiceMetrics:
    """The service's metrics in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gqa_requests", "HTTP requests by route template and status.", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "gqa_request_seconds", "HTTP request latency by route template.", ["route"],
            buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.stages = Histogram(
            "gqa_stage_seconds", "Time per answering stage (embed, dense, keyword, fuse, rerank, compose, evidence).",
            ["stage"], buckets=STAGE_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.answers = Counter(
            "gqa_answers", "Answers by outcome: answered, caution (partial evidence) or abstained.", ["outcome"],
            registry=self.registry,
        )  # fmt: skip
        self.generation = Gauge(
            "gqa_index_generation_info", "The index generation served (1 for the one in use).", ["generation"],
            registry=self.registry,
        )  # fmt: skip
        self.chunks = Gauge("gqa_index_chunks", "Chunks in the index served.", registry=self.registry)
        self._served: str | None = None

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        """One finished HTTP request."""
        self.requests.labels(route=route, status=str(status)).inc()
        self.latency.labels(route=route).observe(seconds)

    def observe_answer(self, response: AskResponse) -> None:
        """One answer: its outcome and the time of each stage it reports."""
        outcome = "abstained" if response.abstained else "caution" if response.caution else "answered"
        self.answers.labels(outcome=outcome).inc()
        for stage, ms in response.timings_ms.items():
            if stage != "total":
                self.stages.labels(stage=stage).observe(ms / 1000)

    def observe_index(self, manifest: dict[str, Any]) -> None:
        """The generation served and its size (called when metrics are read, so a swap shows at once)."""
        generation = str(manifest.get("generation") or "unknown")
        if generation != self._served:
            if self._served is not None:
                self.generation.remove(self._served)
            self.generation.labels(generation=generation).set(1)
            self._served = generation
        chunks = (manifest.get("counts") or {}).get("chunks")
        if isinstance(chunks, int):
            self.chunks.set(chunks)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
