"""Errors raised while loading documents and reading or writing an index.

Hierarchy::

    IngestError
    ├── LoaderError            a file could not be read or parsed (names the file and the reason)
    ├── UnsupportedFileError   a file type no loader handles
    └── IndexStoreError            base of index problems
        ├── IndexNotFoundError     no index at the given directory
        ├── IndexCorruptError      files missing or unreadable, format version unknown
        └── IndexMismatchError     built with another model or chunking than configured

The CLI and the HTTP layer translate these into messages; nothing below them prints.
"""

from __future__ import annotations

from pathlib import Path


class IngestError(Exception):
    """Base of every error this package raises on purpose."""


class LoaderError(IngestError):
    """A file could not be loaded; carries the path and a human reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class UnsupportedFileError(LoaderError):
    """No loader knows this file type."""


class IndexStoreError(IngestError):
    """Base of problems with an index directory."""


class IndexNotFoundError(IndexStoreError):
    """No index exists where one was expected."""


class IndexCorruptError(IndexStoreError):
    """The index directory exists but cannot be read as an index of this format."""


class IndexMismatchError(IndexStoreError):
    """The index was built with settings that differ from the configured ones."""

    def __init__(self, differences: dict[str, tuple[object, object]]) -> None:
        self.differences = differences
        lines = [f"{key}: index has {got!r}, configured {want!r}" for key, (got, want) in differences.items()]
        super().__init__(
            "the index does not match the configuration ("
            + "; ".join(lines)
            + "). Re-run `guideline-qa ingest --rebuild` or point at the matching model."
        )
