"""Errors of the service, translated to HTTP responses only in app.py.

Hierarchy::

    ServiceError
    ├── NotReadyError        the index is not loaded yet (503)
    ├── BadRequestError      input the models accept but the service cannot (400/422)
    ├── NotFoundError        an unknown document id (404)
    └── ComposerError        the optional LLM composer failed (the extractive answer is used instead)
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every error the service raises on purpose."""

    status_code = 500


class NotReadyError(ServiceError):
    """The pipeline is not loaded."""

    status_code = 503


class BadRequestError(ServiceError):
    """The request is well-formed but cannot be served."""

    status_code = 422


class NotFoundError(ServiceError):
    """No such resource."""

    status_code = 404


class ComposerError(ServiceError):
    """The LLM composer could not produce an answer."""

    status_code = 502
