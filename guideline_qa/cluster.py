"""`make cluster`: several `guideline-qa serve` replicas on loopback ports, haproxy in front.

haproxy health-checks each replica's `/readyz`, balances requests round robin, and retries a request
on another replica when the connection fails or the reply never comes (`retry-on conn-failure
empty-response`, `option redispatch`), and each replica sends a reply in one write
(qa_service/wire.py), so none is cut after its head: killing a replica loses no request. Every
replica reads the same index folder and follows its `CURRENT`, so an ingest reaches all of them within seconds.
Runs in the foreground; Ctrl-C (or SIGTERM) stops haproxy and the replicas.

    python -m guideline_qa.cluster --replicas 2 --port 8000 --index .index
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def haproxy_config(port: int, replica_ports: list[int]) -> str:
    """The haproxy configuration: one frontend on `port`, the replicas health-checked on /readyz."""
    servers = "\n".join(
        f"    server replica{i} 127.0.0.1:{p} check inter 500ms fall 2 rise 2" for i, p in enumerate(replica_ports)
    )
    return f"""global
    maxconn 1024

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch 1
    # Layer-7 retries need the whole request in haproxy's buffer: a question that was sent to a replica
    # that died before answering is sent again to another (asking is read-only, so this is safe).
    option http-buffer-request
    retry-on conn-failure empty-response junk-response response-timeout 502 503 504

frontend guideline_qa
    bind 127.0.0.1:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /readyz
{servers}
"""


@dataclass
class Replicas:
    """The running replicas: their processes and the loopback ports they serve on."""

    processes: list[subprocess.Popen[bytes]]
    ports: list[int]


@contextmanager
def cluster(replicas: int, port: int, index: Path, *, haproxy: str = "haproxy") -> Iterator[Replicas]:
    """Start the replicas and haproxy; yield the replicas; stop everything on exit."""
    executable = shutil.which(haproxy)
    if executable is None:
        raise SystemExit("guideline-qa cluster: haproxy is not installed (make haproxy, or apt-get install haproxy)")
    ports = [free_port() for _ in range(replicas)]
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="gqa-cluster-") as tmp:
        config = Path(tmp) / "haproxy.cfg"
        config.write_text(haproxy_config(port, ports), encoding="utf-8")
        try:
            for p in ports:
                command = [sys.executable, "-m", "guideline_qa", "serve", "--index", str(index), "--port", str(p)]
                processes.append(subprocess.Popen(command, env=os.environ.copy()))
            balancer = subprocess.Popen([executable, "-f", str(config), "-db"])
            yield Replicas(processes, ports)
            balancer.terminate()
            balancer.wait(timeout=10)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
            if "balancer" in locals() and balancer.poll() is None:
                balancer.kill()


def main(argv: list[str] | None = None) -> int:
    """Run a cluster in the foreground until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m guideline_qa.cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2, help="guideline-qa serve processes (default 2)")
    parser.add_argument("--port", type=int, default=8000, help="the port haproxy listens on (default 8000)")
    parser.add_argument("--index", type=Path, default=Path(".index"), help="the index folder every replica reads")
    args = parser.parse_args(argv)
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    stop = False

    def on_signal(*_args: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    with cluster(args.replicas, args.port, args.index):
        print(f"{args.replicas} replicas behind haproxy on http://127.0.0.1:{args.port}/ (Ctrl-C stops them)")
        try:
            while not stop:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
