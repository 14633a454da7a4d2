"""The model file's hash is remembered, but never outlives a change to the file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ingest.onnx_backend import file_hash


def test_file_hash_is_the_sha256_prefix_and_follows_a_rewrite(tmp_path: Path) -> None:
    model = tmp_path / "model.int8.onnx"
    model.write_bytes(b"first weights")
    first = file_hash(model)
    assert first == hashlib.sha256(b"first weights").hexdigest()[:16]
    assert file_hash(model) == first

    model.write_bytes(b"other weights")  # same size: the mtime tells them apart
    stat = model.stat()
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))

    assert file_hash(model) == hashlib.sha256(b"other weights").hexdigest()[:16]
