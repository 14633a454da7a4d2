"""A client for the service's HTTP API: the one place that knows its routes, auth and error shape.

`ServiceClient` (blocking) and `AsyncServiceClient` send requests to a running guideline-qa service
and return the same pydantic models the service answers with. Every failure is a
`ServiceClientError` whose message names the URL and says what went wrong: the service's own error
message for a 4xx/5xx, the transport error when it cannot be reached, or a reply that does not fit
the schema. The CLI's `ask --url`, `eval ... --url` and the LangChain retriever use it.

Any httpx-like client can carry the requests (an `httpx.Client`, Starlette's `TestClient`): pass it
as `http_client`; otherwise one is made for `base_url`.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from qa_service.errors import ServiceError
from qa_service.schemas import AskRequest, AskResponse, SearchRequest, SearchResponse

Reply = TypeVar("Reply", bound=BaseModel)


class ServiceClientError(ServiceError):
    """A request to the service failed; `http_status` is the HTTP status when there was a reply."""

    def __init__(self, message: str, http_status: int | None = None, detail: str | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.detail = detail or message
        """The service's own message (or the transport's), without the URL."""


class HTTPResponse(Protocol):
    """What the client reads of a response (httpx's, or any look-alike's)."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    def json(self, **kwargs: Any) -> Any: ...


class SyncHTTPClient(Protocol):
    """An `httpx.Client`-like object."""

    def request(self, method: str, url: str, *, json: Any = ..., headers: Any = ...) -> HTTPResponse: ...


class AsyncHTTPClient(Protocol):
    """An `httpx.AsyncClient`-like object."""

    async def request(self, method: str, url: str, *, json: Any = ..., headers: Any = ...) -> HTTPResponse: ...


def error_message(response: HTTPResponse) -> str:
    """The service's own message from its error body (`{"error": {"message": ...}}`), else the start of the text."""
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200] or f"HTTP {response.status_code}"


def _root(base_url: str) -> str:
    return base_url.rstrip("/").removesuffix("/v1")


class _Common:
    def __init__(self, base_url: str, api_key: str | None) -> None:
        self.base_url = _root(base_url)
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def reply(self, response: HTTPResponse, path: str) -> Any:
        if response.status_code >= 400:
            detail = error_message(response)
            raise ServiceClientError(
                f"{self.url(path)}: HTTP {response.status_code}: {detail}", response.status_code, detail
            )
        try:
            return response.json()
        except ValueError:
            raise ServiceClientError(f"{self.url(path)}: the reply is not JSON", response.status_code) from None

    def parse(self, model: type[Reply], data: Any, path: str) -> Reply:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ServiceClientError(
                f"{self.url(path)}: unexpected reply ({exc.error_count()} schema errors)"
            ) from None


def new_http_client(timeout: float, transport: httpx.BaseTransport | None = None) -> SyncHTTPClient:
    """The connection pool a `ServiceClient` makes when it is given none."""
    return httpx.Client(timeout=timeout, transport=transport)


def _body(request: BaseModel) -> dict[str, Any]:
    return request.model_dump(mode="json", exclude_none=True)


class ServiceClient(_Common):
    """Blocking client: `ask`, `search`, `version`, `documents`."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        http_client: SyncHTTPClient | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key)
        self._owned = http_client is None
        self.http: SyncHTTPClient = http_client or new_http_client(timeout, transport)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self.http.request(method, self.url(path), json=body, headers=self.headers)
        except httpx.HTTPError as exc:
            raise ServiceClientError(f"cannot reach {self.url(path)}: {exc}") from None
        return self.reply(response, path)

    def ask(self, request: AskRequest) -> AskResponse:
        """POST /v1/ask."""
        return self.parse(AskResponse, self._call("POST", "/v1/ask", _body(request)), "/v1/ask")

    def search(self, request: SearchRequest) -> SearchResponse:
        """POST /v1/search."""
        return self.parse(SearchResponse, self._call("POST", "/v1/search", _body(request)), "/v1/search")

    def version(self) -> dict[str, Any]:
        """GET /v1/version: the package version and the index manifest."""
        return dict(self._call("GET", "/v1/version"))

    def documents(self) -> list[dict[str, Any]]:
        """GET /v1/documents."""
        return list(self._call("GET", "/v1/documents")["documents"])

    def close(self) -> None:
        """Close the connection pool the client made (not one it was given)."""
        close = getattr(self.http, "close", None)
        if self._owned and callable(close):
            close()

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class AsyncServiceClient(_Common):
    """Asynchronous client: `ask`, `search`."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        http_client: AsyncHTTPClient | None = None,
    ) -> None:
        super().__init__(base_url, api_key)
        self._owned = http_client is None
        self.http: AsyncHTTPClient = http_client or httpx.AsyncClient(timeout=timeout)

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = await self.http.request(method, self.url(path), json=body, headers=self.headers)
        except httpx.HTTPError as exc:
            raise ServiceClientError(f"cannot reach {self.url(path)}: {exc}") from None
        return self.reply(response, path)

    async def ask(self, request: AskRequest) -> AskResponse:
        """POST /v1/ask."""
        return self.parse(AskResponse, await self._call("POST", "/v1/ask", _body(request)), "/v1/ask")

    async def search(self, request: SearchRequest) -> SearchResponse:
        """POST /v1/search."""
        return self.parse(SearchResponse, await self._call("POST", "/v1/search", _body(request)), "/v1/search")

    async def aclose(self) -> None:
        """Close the connection pool the client made (not one it was given)."""
        if self._owned and isinstance(self.http, httpx.AsyncClient):
            await self.http.aclose()


__all__ = ["AsyncServiceClient", "ServiceClient", "ServiceClientError", "error_message"]
