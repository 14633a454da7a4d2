"""Errors of the evaluation harness, turned into one-line CLI messages only in eval/cli.py.

Hierarchy::

    EvalError
    ├── EvalDataError      a gold set, benchmark file or report is missing or malformed
    └── TargetError        the service under evaluation failed (HTTP error, unreachable, bad reply)
"""

from __future__ import annotations


class EvalError(Exception):
    """Base of every error the harness raises on purpose."""


class EvalDataError(EvalError):
    """An input file (gold set, benchmark, report) cannot be used."""


class TargetError(EvalError):
    """The pipeline or service being evaluated did not answer properly."""
