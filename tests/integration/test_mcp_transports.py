"""MCP round trips over the real transports: streamable HTTP at `/mcp` on loopback, and `guideline-qa mcp` over stdio.

The HTTP tests run the app under uvicorn with the fake pipeline (fast); the stdio test spawns the console
script over an index of two corpus files ingested here with the real packaged model (slow).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from qa_service.app import create_app
from qa_service.schemas import AskResponse
from qa_service.settings import Settings
from tests.fakes.service import FakePipeline, serve

KEY = "mcp-test-key"
REPO = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).with_name("guideline-qa")


def keyed_app() -> Any:
    return create_app(Settings.model_validate({"server": {"api_keys": [KEY]}}), pipeline=FakePipeline())


def test_streamable_http_round_trip_with_the_api_key_and_a_proxy_host_header() -> None:
    async def main(url: str) -> tuple[set[str], Any, Any]:
        # A reverse proxy passes its own Host header on; the endpoint must not refuse it.
        headers = {"Authorization": f"Bearer {KEY}", "Host": "guidelines.example.org"}
        async with (
            create_mcp_http_client(headers=headers) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
        ):
            tools = {t.name for t in (await client.list_tools()).tools}
            answer = await client.call_tool("answer_question", {"question": "single 8 Gy fraction for bone pain"})
            error = await client.call_tool("get_recommendation", {"rec_id": "NO-SUCH-REC"})
            return tools, answer, error

    with serve(keyed_app()) as url:
        tools, answer, error = anyio.run(main, url)
    assert tools == {"answer_question", "search_guidelines", "list_guidelines", "get_recommendation"}
    response = AskResponse.model_validate(answer.structured_content)
    assert not response.abstained and response.citations[0].rec_id == "BM-TP-01"
    assert error.is_error and "no recommendation" in error.content[0].text


def test_streamable_http_without_the_key_is_refused_with_401() -> None:
    with serve(keyed_app()) as url:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        refused = httpx.post(f"{url}/mcp", json=body, headers={"accept": "application/json, text/event-stream"})
        wrong = httpx.post(f"{url}/mcp", json=body, headers={"authorization": "Bearer nope"})
    assert refused.status_code == 401 and wrong.status_code == 401


@pytest.fixture(scope="module")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two corpus files ingested with the real packaged model, through the console script."""
    folder = tmp_path_factory.mktemp("mcp-stdio")
    files = [REPO / "corpus/bone-metastasis/04-therapeutic-procedures.md", REPO / "corpus/related-topics/mscc.md"]
    result = subprocess.run(
        [str(CONSOLE_SCRIPT), "ingest", *map(str, files), "--index", str(folder / "idx"), "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ | {"HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return folder / "idx"


@pytest.mark.slow
def test_stdio_round_trip_with_the_console_script(real_index: Path) -> None:
    params = StdioServerParameters(
        command=str(CONSOLE_SCRIPT),
        args=["mcp", "--index", str(real_index)],
        env={"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"},
    )

    async def main() -> tuple[Any, Any, Any, Any]:
        async with Client(params, read_timeout_seconds=120) as client:
            listed = await client.call_tool("list_guidelines", {})
            answer = await client.call_tool(
                "answer_question", {"question": "Is a single 8 Gy fraction enough for painful bone metastases?"}
            )
            bad = await client.call_tool("search_guidelines", {"query": "radiotherapy", "top_k": 0})
            search = await client.call_tool("search_guidelines", {"query": "spinal cord compression", "top_k": 3})
            return listed, answer, bad, search

    listed, answer, bad, search = anyio.run(main)
    assert len(listed.structured_content["guidelines"]) == 2
    response = AskResponse.model_validate(answer.structured_content)
    assert not response.abstained, response.reason
    assert "8 Gy" in response.answer and response.citations[0].url
    assert bad.is_error and "greater than or equal to 1" in bad.content[0].text  # the session carried on:
    assert len(search.structured_content["passages"]) == 3
