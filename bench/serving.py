"""Entry points for the servers the benchmark starts: `python -m bench naive-serve | serve`.

`naive-serve` runs the naive pipeline's FastAPI app; `serve --workers N` runs our app under uvicorn
with N worker processes (the `guideline-qa serve` command runs one), for the workers lever.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from bench.server import HOST


def service_app() -> FastAPI:
    """Our app, its settings from the environment (uvicorn calls this in each worker).

    Logging is set up as `guideline-qa serve` does, so each request costs the same log line.
    """
    import logging

    from qa_service.app import create_app
    from qa_service.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return create_app(Settings())


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and serve until terminated."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="command", required=True)
    naive = sub.add_parser("naive-serve", help="serve the naive LangChain pipeline (a saved FAISS store)")
    ours = sub.add_parser("serve", help="serve guideline-qa with uvicorn workers")
    for p in (naive, ours):
        p.add_argument("--index", required=True, help="the FAISS store (naive) or index directory (ours)")
        p.add_argument("--host", default=HOST)
        p.add_argument("--port", type=int, required=True)
    ours.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.command == "naive-serve":
        from bench.naive import create_naive_app

        app = create_naive_app(Path(args.index))
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
        return 0
    from qa_service.wire import CoalescingProtocol

    os.environ["GQA_INDEX_DIR"] = str(args.index)
    options = {
        "http": CoalescingProtocol,
        "factory": True,
        "host": args.host,
        "port": args.port,
        "log_level": "warning",
        "access_log": False,
    }
    if args.workers == 1:
        uvicorn.run("bench.serving:service_app", **options)
        return 0
    _serve_workers(uvicorn.Config("bench.serving:service_app", workers=args.workers, **options))
    return 0


def _serve_workers(config: Any) -> None:
    """uvicorn's worker processes on one shared socket, with Nagle's algorithm off.

    uvicorn binds the shared socket without naming the TCP protocol, so asyncio never sets
    TCP_NODELAY on its connections (it checks for IPPROTO_TCP), and every response waited about
    40 ms for a delayed ACK: 48 ms a question at concurrency 1 against 6.5 ms with one worker.
    Linux copies the option from the listening socket to each accepted connection.
    """
    import socket

    from uvicorn.supervisors import Multiprocess

    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[sock]).run()
