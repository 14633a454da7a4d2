"""Errors of the benchmark, turned into one-line CLI messages in `bench/cli.py`.

Hierarchy::

    BenchError
    ├── ServerStartError     a server under test exited or never became ready
    └── BenchInputError      a missing index, gold set or corpus the benchmark needs
"""

from __future__ import annotations


class BenchError(Exception):
    """Base of every error the benchmark raises on purpose."""


class ServerStartError(BenchError):
    """A server subprocess exited early or did not answer `/readyz` in time."""


class BenchInputError(BenchError):
    """An input file or folder the benchmark needs is missing or unreadable."""
