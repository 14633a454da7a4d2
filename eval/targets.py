"""What an evaluation runs against: the pipeline in-process, or a running service over HTTP.

Both offer `ask` and `search` with the service's own request and response models, and `describe`
for the report's config block.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from eval.errors import TargetError
from qa_service.protocols import AnswerPipeline
from qa_service.schemas import AskRequest, AskResponse, SearchRequest, SearchResponse

if TYPE_CHECKING:
    import httpx

    from qa_service.settings import Settings

Reply = TypeVar("Reply")

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
            "answer": settings.answer.model_dump(mode="json") | {"abstain_threshold": pipeline.abstain_threshold},
            "embedding_model": str(settings.embedding.model_path or "default"),
        }
        targets.append(PipelineTarget(pipeline, mode, config))
    return targets


class HttpTarget:
    """A running guideline-qa service, reached at `url` through the service's own client."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        name: str = "service",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        from qa_service.client import ServiceClient

        self.client = ServiceClient(url, api_key=api_key, timeout=timeout, transport=transport)
        self.url = self.client.base_url
        self.name = name

    def _guarded(self, call: Callable[[], Reply]) -> Reply:
        from qa_service.client import ServiceClientError

        try:
            return call()
        except ServiceClientError as exc:
            raise TargetError(str(exc)) from None

    def ask(self, request: AskRequest) -> AskResponse:
        """POST /v1/ask."""
        return self._guarded(lambda: self.client.ask(request))

    def search(self, request: SearchRequest) -> SearchResponse:
        """POST /v1/search."""
        return self._guarded(lambda: self.client.search(request))

    def describe(self) -> dict[str, Any]:
        """The URL, the service version and its index manifest (from `/v1/version`)."""
        info = self._guarded(self.client.version)
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
