"""Servers under test: start one in a subprocess on a free loopback port, time its cold start, read its memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx

from bench.errors import ServerStartError

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _status_kib(pid: int, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def descendants(pid: int) -> list[int]:
    """Every live process whose chain of parents leads to `pid` (uvicorn's workers, for one)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])  # field 4, after the parenthesised name
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of `pid` plus its descendants, in MiB (0 off Linux)."""
    return sum(_status_kib(p, "VmHWM") for p in [pid, *descendants(pid)]) / 1024


def rss_mib(pid: int) -> float:
    """Resident memory (VmRSS) of `pid` right now, in MiB (0 off Linux)."""
    return _status_kib(pid, "VmRSS") / 1024


def guideline_qa_command() -> list[str]:
    """The `guideline-qa` console script of this interpreter, or `python -m guideline_qa` without it."""
    script = Path(sys.executable).parent / "guideline-qa"
    return [str(script)] if script.exists() else [sys.executable, "-m", "guideline_qa"]


def serve_command(index_dir: Path, port: int) -> list[str]:
    """`guideline-qa serve` over `index_dir` on a loopback port."""
    return [*guideline_qa_command(), "serve", "--index", str(index_dir), "--host", HOST, "--port", str(port)]


def ingest_command(source: Path, index_dir: Path) -> list[str]:
    """`guideline-qa ingest` of `source` into `index_dir`, quietly."""
    return [*guideline_qa_command(), "ingest", str(source), "--index", str(index_dir), "--quiet"]


class ServerProcess:
    """A server subprocess on loopback; `start()` returns once `/readyz` answers 200.

    Use as a context manager so the process (and any workers it forked) is always stopped.
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        port: int,
        *,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        ready_timeout_s: float = 180.0,
        workers: int = 1,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.port = port
        self.env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **(env or {})}
        self.log_path = log_path
        self.ready_timeout_s = ready_timeout_s
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None
        self.cold_start_s: float | None = None

    @property
    def base_url(self) -> str:
        """Root URL of the server."""
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        """Process id of the server (the uvicorn supervisor when it runs workers)."""
        if self.process is None:
            raise ServerStartError(f"{self.name} is not running")
        return self.process.pid

    def start(self) -> float:
        """Start the process and wait for `/readyz`; returns the seconds from start to ready."""
        log = self.log_path.open("wb") if self.log_path else subprocess.DEVNULL
        started = time.perf_counter()
        self.process = subprocess.Popen(
            self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        if self.log_path:
            log.close()  # type: ignore[union-attr]
        try:
            self.cold_start_s = self._wait_ready(started)
        except BaseException:
            self.stop()
            raise
        return self.cold_start_s

    def _wait_ready(self, started: float) -> float:
        """Seconds until `/readyz` answers 200; with several workers, until it has done so many times running.

        Each worker loads its own index, and a kept-alive connection always reaches the same one, so
        with workers every check opens a new connection (the kernel hands it to any worker), 10 answers per
        worker must be 200 in a row, and every worker must have answered 200 (`/readyz` gives its process id).
        A streak alone was not enough: the kernel handed all of it to the worker that was ready, and the
        measurement then met the other one's 503s (88 of 900 requests in session 34's workers lever).
        """
        assert self.process is not None
        deadline = started + self.ready_timeout_s
        needed = 1 if self.workers == 1 else 10 * self.workers
        headers = {} if self.workers == 1 else {"Connection": "close"}
        in_a_row = 0
        workers_ready: set[object] = set()
        with httpx.Client(timeout=2.0) as client:
            while time.perf_counter() < deadline:
                if self.process.poll() is not None:
                    raise ServerStartError(f"{self.name} exited with code {self.process.returncode}{self._log_tail()}")
                try:
                    response = client.get(self.base_url + "/readyz", headers=headers)
                    ready = response.status_code == 200
                    if ready and self.workers > 1:
                        payload = response.json()
                        workers_ready.add(payload.get("pid") if isinstance(payload, dict) else None)
                except (httpx.TransportError, ValueError):
                    ready = False
                in_a_row = in_a_row + 1 if ready else 0
                if in_a_row >= needed and (self.workers == 1 or len(workers_ready) >= self.workers):
                    return time.perf_counter() - started
                if not ready:
                    time.sleep(0.05)
        raise ServerStartError(f"{self.name} was not ready after {self.ready_timeout_s:.0f} s{self._log_tail()}")

    def peak_rss_mib(self) -> float:
        """Peak resident memory of the server and its workers so far."""
        return peak_rss_mib(self.pid)

    def stop(self) -> None:
        """SIGTERM the server's own process group, then SIGKILL it if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        group = os.getpgid(self.process.pid)  # its own session: start_new_session=True
        os.killpg(group, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            self.process.wait(timeout=5)

    def _log_tail(self) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        tail = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-8:]
        return "; log tail:\n  " + "\n  ".join(tail) if tail else ""

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
