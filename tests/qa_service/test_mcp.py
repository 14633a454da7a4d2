"""The MCP server in memory (the SDK's `Client(server)`): tools, structured results, tool errors, the resource.

Over the fake pipeline for the shapes and errors, and over the real QAPipeline on the mini index for
recommendations as ingest finds them. The `/mcp` mount's edge (API keys, Origin) is checked through the
FastAPI app; the HTTP and stdio round trips are in tests/integration/test_mcp_transports.py.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from mcp import Client
from mcp.types import CallToolResult

from qa_service.app import create_app
from qa_service.errors import NotReadyError
from qa_service.mcp_server import CATALOGUE_URI, build_mcp_server
from qa_service.pipeline import QAPipeline
from qa_service.protocols import AnswerPipeline
from qa_service.schemas import AskResponse, SearchResponse
from qa_service.settings import Settings
from tests.fakes.service import DOCUMENTS, OUT_OF_SCOPE_WORD, FakePipeline

TOOLS = {"answer_question", "search_guidelines", "list_guidelines", "get_recommendation"}


def with_client(pipeline: AnswerPipeline, body: Callable[[Client], Awaitable[Any]]) -> Any:
    """Run `body` with an in-memory client connected to a server over `pipeline`."""
    server = build_mcp_server(lambda: pipeline, Settings())

    async def main() -> Any:
        async with Client(server) as client:
            return await body(client)

    return anyio.run(main)


def call(pipeline: AnswerPipeline, tool: str, arguments: dict[str, Any]) -> CallToolResult:
    """One tool call on a fresh in-memory session."""
    return with_client(pipeline, lambda client: client.call_tool(tool, arguments))  # type: ignore[no-any-return]


def error_text(result: CallToolResult) -> str:
    assert result.is_error, result.structured_content
    return " ".join(getattr(block, "text", "") for block in result.content)


def test_every_tool_is_listed_with_an_output_schema_and_a_description_for_a_model() -> None:
    tools = with_client(FakePipeline(), lambda client: client.list_tools()).tools
    assert {t.name for t in tools} == TOOLS
    for tool in tools:
        assert tool.output_schema is not None, tool.name
        assert tool.annotations is not None and tool.annotations.read_only_hint
    answer = next(t for t in tools if t.name == "answer_question")
    assert set(answer.input_schema["properties"]) == {"question", "filters", "long"}
    assert answer.input_schema["required"] == ["question"]
    description = answer.description or ""
    assert "from memory" in description and "citations" in description and "abstained" in description


def test_answer_question_returns_the_ask_response_as_structured_content() -> None:
    fake = FakePipeline()
    result = call(fake, "answer_question", {"question": "single fraction radiotherapy for bone metastases"})
    assert not result.is_error
    response = AskResponse.model_validate(result.structured_content)
    assert not response.abstained and "[1]" in response.answer
    first = response.citations[0]
    assert (first.rec_id, first.guideline, first.year) == ("BM-TP-01", "ESMO; ASTRO 2020", 2020)
    assert first.url and first.quote and first.section
    assert json.loads(result.content[0].text)["answer"] == response.answer  # type: ignore[union-attr]
    assert fake.asked[0].composer is None  # the configured composer, as /v1/ask


def test_answer_question_passes_filters_and_long_to_the_pipeline() -> None:
    fake = FakePipeline()
    result = call(fake, "answer_question", {"question": "denosumab", "filters": {"issuing_body": "ESMO"}, "long": True})
    assert not result.is_error
    assert fake.asked[0].long is True
    assert fake.asked[0].filters is not None and fake.asked[0].filters.issuing_body == ["ESMO"]


def test_an_abstention_comes_back_as_a_result_not_an_error() -> None:
    result = call(FakePipeline(), "answer_question", {"question": f"{OUT_OF_SCOPE_WORD} dosing of denosumab"})
    assert not result.is_error
    response = AskResponse.model_validate(result.structured_content)
    assert response.abstained and response.reason and not response.citations


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("answer_question", {"question": "   "}, "question is empty"),
        ("answer_question", {}, "question"),
        ("answer_question", {"question": "x" * 2001}, "the limit is 2000"),
        ("answer_question", {"question": "denosumab", "filters": {"year_min": 2020, "year_max": 2010}}, "year_min"),
        ("answer_question", {"question": "denosumab", "filters": {"colour": "red"}}, "colour"),
        ("search_guidelines", {"query": "denosumab", "top_k": 0}, "greater than or equal to 1"),
        ("search_guidelines", {"query": "denosumab", "top_k": 999}, "top_k must be between 1 and 50"),
        ("search_guidelines", {"query": ""}, "query: String should have at least 1 character"),
        ("get_recommendation", {"rec_id": "NO-SUCH-REC"}, "no recommendation 'NO-SUCH-REC'"),
        ("get_recommendation", {"rec_id": " "}, "rec_id is empty"),
    ],
)
def test_invalid_arguments_are_tool_errors_with_a_message(tool: str, arguments: dict[str, Any], message: str) -> None:
    assert message in error_text(call(FakePipeline(), tool, arguments))


def test_the_session_carries_on_after_a_tool_error() -> None:
    async def body(client: Client) -> tuple[CallToolResult, CallToolResult]:
        bad = await client.call_tool("get_recommendation", {"rec_id": "NO-SUCH-REC"})
        good = await client.call_tool("get_recommendation", {"rec_id": "BM-TP-01"})
        return bad, good

    bad, good = with_client(FakePipeline(), body)
    assert bad.is_error and not good.is_error


def test_a_pipeline_that_is_not_loaded_yet_is_a_tool_error() -> None:
    def not_ready() -> AnswerPipeline:
        raise NotReadyError("the index is still loading")

    server = build_mcp_server(not_ready, Settings())

    async def main() -> CallToolResult:
        async with Client(server) as client:
            return await client.call_tool("list_guidelines", {})

    assert "the index is still loading" in error_text(anyio.run(main))


def test_search_guidelines_returns_passages_with_their_citation_fields() -> None:
    fake = FakePipeline()
    result = call(fake, "search_guidelines", {"query": "zoledronic acid prostate", "top_k": 2})
    passages = SearchResponse.model_validate(result.structured_content).passages
    assert len(passages) == 2 and passages[0].rec_id == "BM-MM-02"
    assert passages[0].guideline and passages[0].year and passages[0].url and passages[0].text
    assert fake.searched[0].top_k == 2


def test_list_guidelines_and_the_catalogue_resource_name_every_document() -> None:
    async def body(client: Client) -> tuple[CallToolResult, Any, Any]:
        listed = await client.call_tool("list_guidelines", {})
        resources = await client.list_resources()
        read = await client.read_resource(CATALOGUE_URI)
        return listed, resources, read

    listed, resources, read = with_client(FakePipeline(), body)
    guidelines = listed.structured_content["guidelines"]  # type: ignore[index]
    assert [g["doc_id"] for g in guidelines] == [d["doc_id"] for d in DOCUMENTS]
    assert {(g["issuing_body"], g["year"]) for g in guidelines} >= {("Endocrine Society", 2023)}
    assert [str(r.uri) for r in resources.resources] == [CATALOGUE_URI]
    assert resources.resources[0].mime_type == "application/json"
    assert json.loads(read.contents[0].text)["guidelines"] == guidelines


def test_get_recommendation_from_the_fake_ignores_case() -> None:
    result = call(FakePipeline(), "get_recommendation", {"rec_id": "hcm-01"})
    assert result.structured_content is not None
    assert result.structured_content["rec_id"] == "HCM-01"
    assert result.structured_content["guideline"] == "Endocrine Society 2023"


def test_get_recommendation_over_the_real_pipeline_returns_its_full_text_and_strength(
    mini_pipeline: QAPipeline,
) -> None:
    chunks = [c for c in mini_pipeline.index.chunks if c.rec_id == "BM-RT-01"]
    result = call(mini_pipeline, "get_recommendation", {"rec_id": "BM-RT-01"})
    assert not result.is_error, result.content
    rec = result.structured_content
    assert rec is not None
    assert rec["rec_id"] == "BM-RT-01" and rec["chunk_ids"] == [c.chunk_id for c in chunks]
    assert chunks[0].text in rec["text"]
    assert rec["strength"] == (str(chunks[0].metadata["strength"]) if chunks[0].metadata.get("strength") else None)
    assert rec["year"] == chunks[0].year and rec["doc_id"] == chunks[0].doc_id


def test_answer_question_over_the_real_pipeline_cites_the_mini_index(mini_pipeline: QAPipeline) -> None:
    result = call(mini_pipeline, "answer_question", {"question": "single fraction radiotherapy for painful bone"})
    response = AskResponse.model_validate(result.structured_content)
    if not response.abstained:
        assert response.citations and all(c.quote for c in response.citations)
    assert response.disclaimer


def test_mcp_over_http_needs_the_api_key_like_v1() -> None:
    settings = Settings.model_validate({"server": {"api_keys": ["s3cret"]}})
    with TestClient(create_app(settings, pipeline=FakePipeline())) as client:
        refused = client.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert refused.status_code == 401
        assert refused.json()["error"]["type"] == "Unauthorized"
        assert client.get("/mcp").status_code == 401


def test_mcp_over_http_refuses_a_browser_page_of_another_origin() -> None:
    with TestClient(create_app(Settings(), pipeline=FakePipeline())) as client:
        refused = client.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"origin": "http://evil.example:8000", "accept": "application/json, text/event-stream"},
        )
        assert refused.status_code == 403
