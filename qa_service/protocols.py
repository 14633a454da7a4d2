"""The seams of the service: what the HTTP layer and the evaluation harness call.

`QAPipeline` (qa_service/pipeline.py) is the real implementation; tests pass fakes with the same
methods into `create_app(settings, pipeline=...)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from qa_service.schemas import AskRequest, AskResponse, Passage, SearchRequest, SearchResponse


@runtime_checkable
class AnswerPipeline(Protocol):
    """Answers questions and searches passages over one loaded index."""

    def ask(self, request: AskRequest) -> AskResponse:
        """A cited answer or an abstention."""
        ...

    def ask_stream(self, request: AskRequest) -> Iterator[dict[str, Any]]:
        """The answer as events: sentence events `{"type": "sentence", ...}`, then `{"type": "done", ...}`."""
        ...

    def search(self, request: SearchRequest) -> SearchResponse:
        """Ranked passages, no answer."""
        ...

    def documents(self) -> list[dict[str, Any]]:
        """The indexed documents (manifest entries)."""
        ...

    def manifest(self) -> dict[str, Any]:
        """The index manifest, without the per-document list."""
        ...

    def source_file(self, doc_id: str) -> tuple[Path, str]:
        """The original file of an indexed document and its media type; NotFoundError if there is none."""
        ...

    def recommendation(self, rec_id: str) -> list[Passage]:
        """Every passage of one recommendation (by its id, any case), in document order; NotFoundError if none."""
        ...
