"""`make cluster`: two replicas behind a real haproxy; killing one under load loses no request."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from pathlib import Path

import httpx
import pytest

from guideline_qa.cluster import cluster, free_port
from tests.conftest import CORPUS_DIR

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed (make haproxy)"),
]
QUESTIONS = ["single fraction dose for painful bone metastases", "zoledronic acid interval", "MSCC first step"]


async def _load(base: str, requests: int, concurrency: int, kill_after: int, victim: int) -> list[str]:
    failures: list[str] = []
    sent = 0
    lock = asyncio.Lock()
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def worker() -> None:
            nonlocal sent
            while True:
                async with lock:
                    if sent >= requests:
                        return
                    sent += 1
                    n = sent
                if n == kill_after:
                    os.kill(victim, signal.SIGKILL)
                try:
                    reply = await client.post("/v1/ask", json={"question": QUESTIONS[n % len(QUESTIONS)]})
                    if reply.status_code != 200:
                        failures.append(f"HTTP {reply.status_code}")
                except httpx.HTTPError as exc:
                    failures.append(type(exc).__name__)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failures


def test_killing_a_replica_under_load_loses_no_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest import EmbeddingSettings, build_index

    onnx_dir = tmp_path / "onnx"
    env = {
        "GQA_EMBEDDING__ONNX_DIR": str(onnx_dir),
        "GQA_EMBEDDING__PRECISION": "int8",
        "GQA_EMBEDDING__QUERY_BACKEND": "onnx",
    }
    build_index([CORPUS_DIR], tmp_path / "index", embedding=EmbeddingSettings(precision="int8", onnx_dir=onnx_dir))
    port = free_port()
    for key, value in env.items():  # the replicas' settings: the int8 encoder exported above
        monkeypatch.setenv(key, value)
    with cluster(2, port, tmp_path / "index") as replicas:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        ready = 0
        while time.monotonic() < deadline and ready < 6:  # both replicas answer through haproxy
            try:
                ready = ready + 1 if httpx.get(f"{base}/readyz", timeout=5).status_code == 200 else 0
            except httpx.HTTPError:
                ready = 0
            time.sleep(0.3)
        assert ready >= 6, "the cluster did not become ready"
        failures = asyncio.run(_load(base, requests=600, concurrency=16, kill_after=200, victim=replicas[0].pid))
        assert replicas[0].wait(timeout=5) == -signal.SIGKILL  # the replica really died mid-run
        assert replicas[1].poll() is None
    assert failures == []
