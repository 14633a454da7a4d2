"""Typed FastAPI dependencies: routes declare what they need, nothing is built inside a route."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from qa_service.errors import NotReadyError
from qa_service.protocols import AnswerPipeline
from qa_service.settings import Settings


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_pipeline(request: Request) -> AnswerPipeline:
    """The loaded pipeline, or 503 while the index is loading or failed to load."""
    pipeline: AnswerPipeline | None = getattr(request.app.state, "pipeline", None)
    if pipeline is None:
        reason = getattr(request.app.state, "load_error", None) or "the index is still loading"
        raise NotReadyError(reason)
    return pipeline


SettingsDep = Annotated[Settings, Depends(get_settings)]
PipelineDep = Annotated[AnswerPipeline, Depends(get_pipeline)]
