"""The service's HTTP client: replies parsed into the service's models, every failure a message naming the URL."""

from __future__ import annotations

import httpx
import pytest

from qa_service.client import ServiceClient, ServiceClientError
from qa_service.schemas import AskRequest, SearchRequest


def client_for(handler) -> ServiceClient:
    return ServiceClient("http://qa.test/v1/", api_key="k1", transport=httpx.MockTransport(handler))


def test_a_search_reply_is_parsed_and_the_key_is_sent_as_a_bearer_token():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"passages": [], "timings_ms": {"total": 1.0}})

    with client_for(handler) as client:
        reply = client.search(SearchRequest(query="naloxone"))
    assert reply.passages == [] and reply.timings_ms == {"total": 1.0}
    assert str(seen[0].url) == "http://qa.test/v1/search" and seen[0].headers["authorization"] == "Bearer k1"


def test_a_service_error_carries_its_status_and_the_service_s_own_message():
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"error": {"type": "bad_request", "message": "top_k must be between 1 and 50"}})

    with client_for(handler) as client, pytest.raises(ServiceClientError) as info:
        client.ask(AskRequest(question="x", top_k=500))
    assert info.value.http_status == 422 and info.value.detail == "top_k must be between 1 and 50"
    assert "http://qa.test/v1/ask: HTTP 422" in str(info.value)


def test_an_unreachable_service_and_a_reply_of_the_wrong_shape_are_clear_errors():
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with client_for(down) as client, pytest.raises(ServiceClientError, match=r"cannot reach http://qa\.test") as info:
        client.version()
    assert info.value.http_status is None

    wrong_shape = client_for(lambda _r: httpx.Response(200, json={"answer": 3}))
    with wrong_shape as client, pytest.raises(ServiceClientError, match="unexpected reply"):
        client.ask(AskRequest(question="x"))
