"""What an evaluation runs against: the pipeline in-process, or a running service over HTTP.

Both offer `ask` and `search` with the service's own request and response models, and `describe`
for the report's config block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from eval.errors import TargetError
from qa_service.protocols import AnswerPipeline
from qa_service.schemas import AskRequest, AskResponse, SearchRequest, SearchResponse

if TYPE_CHECKING:
    import httpx

    from qa_service.settings import Settings

Reply = TypeVar("Reply", AskResponse, SearchResponse)

# Manifest fields that say what was indexed and how; `created_at` is left out so reports stay reproducible.
MANIFEST_FIELDS = ("model_name", "dimension", "chunking", "sentence_vectors", "corpus_hash", "counts", "dense_kind")


@runtime_checkable
class EvalTarget(Protocol):
    """Something that answers and searches, named for the report."""

    name: str

    def ask(self, request: AskRequest) -> AskResponse:
        """A cited answer or an abstention."""
        ...

    def search(self, request: SearchRequest) -> SearchResponse:
        """Ranked passages."""
        ...

    def describe(self) -> dict[str, Any]:
        """The configuration evaluated (deterministic: no timestamps)."""
        ...


def manifest_summary(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The reproducibility-relevant part of an index manifest."""
    return {key: manifest[key] for key in MANIFEST_FIELDS if key in manifest}


class PipelineTarget:
    """An `AnswerPipeline` called in-process."""

    def __init__(self, pipeline: AnswerPipeline, name: str, config: Mapping[str, Any] | None = None) -> None:
        self.pipeline = pipeline
        self.name = name
        self.config = dict(config or {})

    def ask(self, request: AskRequest) -> AskResponse:
        """Delegate to the pipeline."""
        return self.pipeline.ask(request)

    def search(self, request: SearchRequest) -> SearchResponse:
        """Delegate to the pipeline."""
        return self.pipeline.search(request)

    def describe(self) -> dict[str, Any]:
        """Name, target kind, the settings given at construction and the index manifest."""
        return {
            "name": self.name,
            "target": "in-process",
            **self.config,
            "index": manifest_summary(self.pipeline.manifest()),
        }


def pipeline_targets(settings: Settings, modes: Sequence[str]) -> list[PipelineTarget]:
    """One target per retrieval mode, all sharing one loaded index and model (`QAPipeline.with_settings`)."""
    from qa_service.pipeline import QAPipeline

    base = QAPipeline.from_settings(settings)
    targets = []
    for mode in modes:
        retrieval = settings.retrieval.model_copy(update={"mode": mode})
        pipeline = base.with_settings(retrieval=retrieval)
        config = {
            "retrieval": retrieval.model_dump(mode="json"),
            "answer": settings.answer.model_dump(mode="json"),
            "embedding_model": str(settings.embedding.model_path or "default"),
        }
        targets.append(PipelineTarget(pipeline, mode, config))
    return targets


class HttpTarget:
    """A running guideline-qa service, reached at `url` with httpx (`/v1/ask`, `/v1/search`, `/v1/version`)."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        name: str = "service",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.url = url.rstrip("/")
        self.name = name
        self.client = httpx.Client(base_url=self.url, headers=headers, timeout=timeout, transport=transport)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        import httpx

        try:
            response = self.client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            raise TargetError(f"{self.url}{path}: {exc}") from None
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise TargetError(f"{self.url}{path}: HTTP {response.status_code}: {message}")
        try:
            return response.json()
        except ValueError:
            raise TargetError(f"{self.url}{path}: the reply is not JSON") from None

    def ask(self, request: AskRequest) -> AskResponse:
        """POST /v1/ask."""
        data = self._call("POST", "/v1/ask", request.model_dump(mode="json", exclude_none=True))
        return self._parse(AskResponse, data, "/v1/ask")

    def search(self, request: SearchRequest) -> SearchResponse:
        """POST /v1/search."""
        data = self._call("POST", "/v1/search", request.model_dump(mode="json", exclude_none=True))
        return self._parse(SearchResponse, data, "/v1/search")

    def _parse(self, model: type[Reply], data: Any, path: str) -> Reply:
        from pydantic import ValidationError

        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise TargetError(f"{self.url}{path}: unexpected reply ({exc.error_count()} schema errors)") from None

    def describe(self) -> dict[str, Any]:
        """The URL, the service version and its index manifest (from `/v1/version`)."""
        info = self._call("GET", "/v1/version")
        return {
            "name": self.name,
            "target": "http",
            "url": self.url,
            "service_version": info.get("version"),
            "index": manifest_summary(info.get("manifest") or {}),
        }

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.client.close()
