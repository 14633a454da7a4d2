"""`guideline-qa serve`, `guideline-qa ask` and `guideline-qa mcp`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the API and the web page with uvicorn."""
    import logging

    import uvicorn

    from qa_service.app import create_app
    from qa_service.settings import Settings
    from qa_service.wire import CoalescingProtocol

    settings = Settings()
    if args.index:
        settings.index_dir = Path(args.index)
    settings.server.host = args.host or settings.server.host
    settings.server.port = args.port or settings.server.port
    if not (settings.index_dir / "CURRENT").exists():
        print(f"guideline-qa: no index at {settings.index_dir}; run `guideline-qa ingest` first", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("faiss").setLevel(logging.WARNING)  # its loader narrates which CPU build it picked
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_level="warning",
        workers=1,
        access_log=False,
        http=CoalescingProtocol,  # a reply leaves in one write: a replica killed mid-reply loses no request
    )
    return 0


def _print_answer(payload: dict[str, Any]) -> None:
    from qa_service.schemas import Citation, Passage, source_label

    print(payload["answer"])
    if payload.get("abstained"):
        print(f"\n(abstained: {payload.get('reason')})")
        print("\nClosest passages:")
        for passage in payload.get("passages", [])[:3]:
            print(f"  - {source_label(Passage.model_validate(passage))}")
    else:
        if payload.get("caution"):
            print(f"\n(caution: {payload.get('reason') or 'partial evidence, check the cited passages'})")
        print("\nSources:")
        for c in payload.get("citations", []):
            url = f" <{c['url']}>" if c.get("url") else ""
            print(f"  [{c['id']}] {source_label(Citation.model_validate(c))}{url}")
            if c.get("note"):
                print(f"      note: {c['note']}")
    print(f"\n{payload.get('disclaimer', '')}")


def cmd_ask(args: argparse.Namespace) -> int:
    """Ask a question over HTTP (--url) or in-process (--index)."""
    from pydantic import ValidationError

    from qa_service.schemas import AskRequest

    try:
        request = AskRequest(question=args.question, top_k=args.top_k or None)
    except ValidationError as exc:
        print(f"guideline-qa: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    if args.url:
        from qa_service.client import ServiceClient, ServiceClientError

        try:
            with ServiceClient(args.url, api_key=args.api_key) as client:
                payload = client.ask(request).model_dump()
        except ServiceClientError as exc:
            print(f"guideline-qa: {exc}", file=sys.stderr)
            return 2 if exc.http_status is None else 1
    else:
        from qa_service.pipeline import QAPipeline
        from qa_service.settings import Settings

        settings = Settings()
        if args.index:
            settings.index_dir = Path(args.index)
        payload = QAPipeline.from_settings(settings).ask(request).model_dump()
    if args.json:
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        _print_answer(payload)
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    """Serve the MCP tools over stdio, for desktop assistants that start the server themselves.

    Stdout carries the protocol: logs go to stderr, and while serving the SDK points fd 1 at stderr too, so
    stray output cannot corrupt it. The index loads on a thread while the client connects; the first tool
    call waits for it.
    """
    import logging
    import threading

    import anyio

    from qa_service.errors import NotReadyError
    from qa_service.mcp_server import build_mcp_server
    from qa_service.pipeline import QAPipeline
    from qa_service.protocols import AnswerPipeline
    from qa_service.settings import Settings

    settings = Settings()
    if args.index:
        settings.index_dir = Path(args.index)
    if not (settings.index_dir / "CURRENT").exists():
        print(f"guideline-qa: no index at {settings.index_dir}; run `guideline-qa ingest` first", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    loaded: list[AnswerPipeline] = []
    failed: list[str] = []
    done = threading.Event()

    def load() -> None:
        try:
            loaded.append(QAPipeline.from_settings(settings))
        except Exception as exc:
            failed.append(f"index could not be loaded: {exc}")
            print(f"guideline-qa: {failed[0]}", file=sys.stderr)
        finally:
            done.set()

    def pipeline() -> AnswerPipeline:
        done.wait(timeout=600)
        if not loaded:
            raise NotReadyError(failed[0] if failed else "the index is still loading; try again in a moment")
        return loaded[0]

    threading.Thread(target=load, name="load-index", daemon=True).start()
    anyio.run(build_mcp_server(pipeline, settings).run_stdio_async)
    return 0


def register(sub: Any) -> None:
    """Add `serve`, `ask` and `mcp` to the `guideline-qa` command."""
    mcp = sub.add_parser("mcp", help="serve the MCP tools over stdio (for desktop assistants)")
    mcp.add_argument("--index", help="index directory (default: $GQA_INDEX_DIR or .index)")
    mcp.set_defaults(handler=cmd_mcp)

    serve = sub.add_parser("serve", help="serve the API and the web page")
    serve.add_argument("--index", help="index directory (default: $GQA_INDEX_DIR or .index)")
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.set_defaults(handler=cmd_serve)

    ask = sub.add_parser("ask", help="ask a question and print the cited answer")
    ask.add_argument("question")
    ask.add_argument("--url", default=os.environ.get("GQA_URL"), help="a running service (default: in-process)")
    ask.add_argument("--index", help="index directory for in-process answers")
    ask.add_argument("--top-k", type=int)
    ask.add_argument("--api-key", default=os.environ.get("GQA_API_KEY"))
    ask.add_argument("--json", action="store_true", help="print the whole JSON response")
    ask.set_defaults(handler=cmd_ask)
