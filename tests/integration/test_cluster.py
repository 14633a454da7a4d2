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


async def _load(base: str, requests: int, concurrency: int, kill: tuple[int, int] | None = None) -> list[str]:
    """POST questions through haproxy; with `kill` = (n, pid), SIGKILL that replica before the n-th question."""
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
                if kill is not None and n == kill[0]:
                    os.kill(kill[1], signal.SIGKILL)
                try:
                    reply = await client.post("/v1/ask", json={"question": QUESTIONS[n % len(QUESTIONS)]})
                    if reply.status_code != 200:
                        failures.append(f"HTTP {reply.status_code}")
                except httpx.HTTPError as exc:
                    failures.append(type(exc).__name__)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return failures


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 120
    ready = 0
    while time.monotonic() < deadline and ready < 6:  # every replica answers through haproxy
        try:
            ready = ready + 1 if httpx.get(f"{base}/readyz", timeout=5).status_code == 200 else 0
        except httpx.HTTPError:
            ready = 0
        time.sleep(0.3)
    assert ready >= 6, "the cluster did not become ready"


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
        _wait_ready(base)
        victim = replicas.processes[0].pid
        failures = asyncio.run(_load(base, requests=600, concurrency=16, kill=(200, victim)))
        assert replicas.processes[0].wait(timeout=5) == -signal.SIGKILL  # the replica really died mid-run
        assert replicas.processes[1].poll() is None
    assert failures == []


def test_an_ingest_reaches_every_replica_with_no_failed_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from ingest import EmbeddingSettings, build_index

    onnx_dir = tmp_path / "onnx"
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    embedding = EmbeddingSettings(precision="int8", onnx_dir=onnx_dir)
    build_index([corpus], tmp_path / "index", embedding=embedding)
    for key, value in {
        "GQA_EMBEDDING__ONNX_DIR": str(onnx_dir),
        "GQA_EMBEDDING__PRECISION": "int8",
        "GQA_EMBEDDING__QUERY_BACKEND": "onnx",
        "GQA_SERVER__RELOAD_INTERVAL_S": "0.5",
    }.items():
        monkeypatch.setenv(key, value)
    port = free_port()
    with cluster(2, port, tmp_path / "index") as replicas:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base)
        before = {p: httpx.get(f"http://127.0.0.1:{p}/v1/version").json()["generation"] for p in replicas.ports}
        failures: list[str] = []
        loader = threading.Thread(target=lambda: failures.extend(asyncio.run(_load(base, requests=300, concurrency=8))))
        loader.start()
        (corpus / "related-topics" / "onj.md").write_text(
            (corpus / "related-topics" / "onj.md").read_text() + "\nA sentence added to change the document.\n"
        )
        build_index([corpus], tmp_path / "index", embedding=embedding)
        loader.join(timeout=120)
        live = (tmp_path / "index" / "CURRENT").read_text().strip()

        def everyone_serves_it() -> bool:
            return all(
                httpx.get(f"http://127.0.0.1:{p}/v1/version").json()["generation"] == live for p in replicas.ports
            )

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not everyone_serves_it():
            time.sleep(0.2)
        assert everyone_serves_it() and live not in before.values()
    assert failures == []


MID_REPLY_APP = """
import os, sys, time
import uvicorn

MARK = os.environ["MID_REPLY_MARK"]


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    first = scope["path"] == "/ask" and not os.path.exists(MARK)
    if first:
        with open(MARK, "w") as f:
            f.write(str(os.getpid()))
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    if first:
        time.sleep(2)  # busy between the head and the body, as a replica is while it works: killed here
    await send({"type": "http.response.body", "body": b"ok"})


if __name__ == "__main__":
    options = {}
    if sys.argv[2] == "coalesce":
        from qa_service.wire import CoalescingProtocol

        options["http"] = CoalescingProtocol
    uvicorn.run(app, port=int(sys.argv[1]), log_level="warning", **options)
"""


@pytest.mark.parametrize("protocol", ["coalesce", "plain"])
def test_a_replica_killed_between_a_replys_head_and_body(tmp_path: Path, protocol: str) -> None:
    """With the service's protocol the question is answered by the other replica; uvicorn's own loses it.

    The plain case shows the test reaches the window it is about: there, haproxy has passed the head on
    and cannot retry.
    """
    import subprocess
    import sys
    import threading

    from guideline_qa.cluster import haproxy_config

    script = tmp_path / "mid_reply_app.py"
    script.write_text(MID_REPLY_APP)
    mark = tmp_path / "mark"
    env = {**os.environ, "MID_REPLY_MARK": str(mark), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    ports, port = [free_port(), free_port()], free_port()
    (tmp_path / "haproxy.cfg").write_text(haproxy_config(port, ports))
    replicas = [subprocess.Popen([sys.executable, str(script), str(p), protocol], env=env) for p in ports]
    balancer = subprocess.Popen(["haproxy", "-f", str(tmp_path / "haproxy.cfg"), "-db"])
    try:
        _wait_ready(f"http://127.0.0.1:{port}")
        outcome: list[object] = []

        def ask() -> None:
            try:
                reply = httpx.post(f"http://127.0.0.1:{port}/ask", content=b"q", timeout=20)
                outcome.append((reply.status_code, reply.text))
            except httpx.HTTPError as exc:
                outcome.append(type(exc).__name__)

        asker = threading.Thread(target=ask)
        asker.start()
        deadline = time.monotonic() + 10
        while not (mark.exists() and mark.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # the head is written (plain) or waiting for the body (coalesce)
        os.kill(int(mark.read_text()), signal.SIGKILL)
        asker.join(timeout=30)
    finally:
        balancer.terminate()
        for process in replicas:
            process.kill()
            process.wait(timeout=10)
        balancer.wait(timeout=10)
    if protocol == "coalesce":
        assert outcome == [(200, "ok")]
    else:
        assert outcome == ["RemoteProtocolError"]
