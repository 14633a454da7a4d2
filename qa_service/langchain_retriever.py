"""`GuidelineRetriever`: guideline-qa's retrieval as a LangChain `BaseRetriever`.

In-process, over a loaded pipeline::

    retriever = GuidelineRetriever(pipeline=QAPipeline.from_settings(Settings()), top_k=5)

or over HTTP, against a running service (its root URL; a trailing `/v1` is fine too)::

    retriever = GuidelineRetriever(base_url="http://127.0.0.1:8000", api_key="...")
    docs = retriever.invoke("single-fraction radiotherapy for painful bone metastases")

Each `Document` holds a passage's text; its metadata carries chunk_id, doc_id, rec_id, title,
section, score, guideline, issuing_body, year, topic and url. `filters` and `top_k` may also be
passed per call: `retriever.invoke(query, filters={"issuing_body": ["ESMO"]})`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, Field, SecretStr, model_validator

from qa_service.client import AsyncServiceClient, ServiceClient, ServiceClientError
from qa_service.errors import ServiceError
from qa_service.protocols import AnswerPipeline
from qa_service.schemas import Filters, Passage, SearchRequest, SearchResponse


class RemoteSearchError(ServiceError):
    """The service at `base_url` refused or failed a search; carries its status and message."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(f"guideline-qa search failed ({status_code}): {message}")
        self.status_code = status_code


def passage_to_document(passage: Passage) -> Document:
    """A LangChain document: the passage text, with everything else as metadata."""
    return Document(page_content=passage.text, metadata=passage.model_dump(exclude={"text"}), id=passage.chunk_id)


def _documents(search: Callable[[], SearchResponse]) -> list[Document]:
    try:
        reply = search()
    except ServiceClientError as exc:
        raise RemoteSearchError(exc.http_status or 0, exc.detail) from None
    return [passage_to_document(p) for p in reply.passages]


class GuidelineRetriever(BaseRetriever):
    """Retrieves guideline passages, from a pipeline in this process or from a service by URL."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    pipeline: AnswerPipeline | None = Field(None, description="A loaded pipeline (in-process mode).")
    base_url: str | None = Field(None, description="Root URL of a running guideline-qa service (HTTP mode).")
    api_key: SecretStr | None = Field(None, description="Bearer key, if the service requires one.")
    top_k: int | None = Field(None, ge=1, description="Passages per query (default: the service's).")
    filters: Filters | None = Field(None, description="Metadata filters applied to every query.")
    timeout_s: float = Field(30.0, gt=0, description="HTTP timeout in seconds.")
    http_client: Any = Field(None, description="An httpx.Client-like client for HTTP mode (auth, proxies, tests).")
    async_http_client: Any = Field(None, description="An httpx.AsyncClient-like client for `ainvoke`.")

    @model_validator(mode="after")
    def _one_source(self) -> GuidelineRetriever:
        over_http = self.base_url is not None or self.http_client is not None or self.async_http_client is not None
        if (self.pipeline is None) == (not over_http):
            raise ValueError("give either pipeline (in-process) or base_url (over HTTP), not both")
        return self

    def _request(self, query: str, filters: Filters | dict[str, Any] | None, top_k: int | None) -> SearchRequest:
        chosen = filters if filters is not None else self.filters
        return SearchRequest(
            query=query,
            top_k=top_k or self.top_k,
            filters=Filters.model_validate(chosen) if isinstance(chosen, dict) else chosen,
        )

    def _key(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key else None

    def _client(self) -> ServiceClient:
        return ServiceClient(
            self.base_url or "http://testserver",
            api_key=self._key(),
            timeout=self.timeout_s,
            http_client=self.http_client,
        )

    def _async_client(self) -> AsyncServiceClient:
        return AsyncServiceClient(
            self.base_url or "",
            api_key=self._key(),
            timeout=self.timeout_s,
            http_client=self.async_http_client,
        )

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        filters: Filters | dict[str, Any] | None = None,
        top_k: int | None = None,
    ) -> list[Document]:
        request = self._request(query, filters, top_k)
        if self.pipeline is not None:
            return [passage_to_document(p) for p in self.pipeline.search(request).passages]
        with self._client() as client:
            return _documents(lambda: client.search(request))

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        filters: Filters | dict[str, Any] | None = None,
        top_k: int | None = None,
    ) -> list[Document]:
        if self.pipeline is not None or (self.async_http_client is None and self.base_url is None):
            # In-process search (or a sync client only) blocks: run it on a worker thread, as BaseRetriever does.
            return await run_in_executor(
                None,
                self._get_relevant_documents,
                query,
                run_manager=run_manager.get_sync(),
                filters=filters,
                top_k=top_k,
            )
        client = self._async_client()
        try:
            reply = await client.search(self._request(query, filters, top_k))
        except ServiceClientError as exc:
            raise RemoteSearchError(exc.http_status or 0, exc.detail) from None
        finally:
            await client.aclose()
        return [passage_to_document(p) for p in reply.passages]
