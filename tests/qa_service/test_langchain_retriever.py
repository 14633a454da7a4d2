"""`GuidelineRetriever` in-process and over HTTP returns the same LangChain documents."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi.testclient import TestClient
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from qa_service.app import create_app
from qa_service.langchain_retriever import GuidelineRetriever, RemoteSearchError
from qa_service.settings import Settings
from tests.fakes.service import FakePipeline, serve

QUERY = "single fraction radiotherapy for painful bone metastases"
METADATA_KEYS = {
    "chunk_id",
    "doc_id",
    "rec_id",
    "title",
    "section",
    "score",
    "guideline",
    "issuing_body",
    "year",
    "url",
}


@pytest.fixture
def pipeline():
    return FakePipeline()


@pytest.fixture
def app(pipeline):
    return create_app(Settings(), pipeline=pipeline)


def test_in_process_retriever_returns_documents_with_provenance(pipeline):
    retriever = GuidelineRetriever(pipeline=pipeline, top_k=3)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke(QUERY)
    assert len(docs) == 3
    assert all(isinstance(d, Document) for d in docs)
    first = docs[0]
    assert first.id == first.metadata["chunk_id"] == "c-rt-single"
    assert "8 Gy" in first.page_content
    assert set(first.metadata) >= METADATA_KEYS
    assert first.metadata["rec_id"] == "BM-TP-01"
    assert [d.metadata["score"] for d in docs] == sorted((d.metadata["score"] for d in docs), reverse=True)


def test_filters_apply_from_the_constructor_and_per_call(pipeline):
    retriever = GuidelineRetriever(pipeline=pipeline, filters={"issuing_body": ["ASTRO"]})
    assert {d.metadata["doc_id"] for d in retriever.invoke(QUERY)} == {"bone-metastasis/04-therapeutic-procedures"}
    docs = retriever.invoke(QUERY, filters={"topic": ["related/"]}, top_k=1)
    assert [d.metadata["doc_id"] for d in docs] == ["related-topics/hypercalcaemia"]
    assert pipeline.searched[-1].top_k == 1


@pytest.mark.parametrize("base_url", ["http://testserver", "http://testserver/v1/"])
def test_http_retriever_matches_in_process(app, pipeline, base_url):
    over_http = GuidelineRetriever(base_url=base_url, http_client=TestClient(app), top_k=4).invoke(QUERY)
    in_process = GuidelineRetriever(pipeline=pipeline, top_k=4).invoke(QUERY)
    assert [(d.id, d.page_content, d.metadata) for d in over_http] == [
        (d.id, d.page_content, d.metadata) for d in in_process
    ]


def test_http_retriever_against_a_live_server(app):
    with serve(app) as base:
        retriever = GuidelineRetriever(base_url=base, timeout_s=5)
        assert retriever.invoke(QUERY)[0].id == "c-rt-single"
        assert asyncio.run(retriever.ainvoke(QUERY))[0].id == "c-rt-single"


def test_async_retrieval_in_process_and_over_asgi(app, pipeline):
    async def run():
        in_process = await GuidelineRetriever(pipeline=pipeline).ainvoke(QUERY, top_k=2)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            over_http = await GuidelineRetriever(base_url="http://testserver", async_http_client=client).ainvoke(
                QUERY, top_k=2
            )
        return in_process, over_http

    in_process, over_http = asyncio.run(run())
    assert [d.id for d in in_process] == [d.id for d in over_http]
    assert len(in_process) == 2 and in_process[0].id == "c-rt-single"


def test_service_errors_surface_with_their_message(app):
    retriever = GuidelineRetriever(base_url="http://testserver", http_client=TestClient(app), top_k=500)
    with pytest.raises(RemoteSearchError, match=r"\(422\): top_k must be between 1 and 50") as exc:
        retriever.invoke(QUERY)
    assert exc.value.status_code == 422


def test_api_key_is_sent_as_a_bearer_token(pipeline):
    http = TestClient(create_app(Settings.model_validate({"server": {"api_keys": ["k1"]}}), pipeline=pipeline))
    assert GuidelineRetriever(base_url="http://testserver", http_client=http, api_key="k1").invoke(QUERY)
    with pytest.raises(RemoteSearchError) as exc:
        GuidelineRetriever(base_url="http://testserver", http_client=http).invoke(QUERY)
    assert exc.value.status_code == 401


@pytest.mark.parametrize("kwargs", [{}, {"pipeline": FakePipeline(), "base_url": "http://localhost:8000"}])
def test_exactly_one_source_is_required(kwargs):
    with pytest.raises(ValueError, match="either pipeline"):
        GuidelineRetriever(**kwargs)
