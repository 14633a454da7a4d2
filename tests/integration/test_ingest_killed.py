"""`guideline-qa ingest` killed with SIGKILL at any point: the live index stays as it was, the next ingest completes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest import open_index, read_manifest
from tests.conftest import CORPUS_DIR

pytestmark = pytest.mark.slow


def _ingest(corpus: Path, index_dir: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "guideline_qa", "ingest", str(corpus), "--index", str(index_dir), "--quiet"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("after_s", [0.3, 1.5, 3.0])
def test_a_killed_ingest_leaves_the_live_index_and_the_next_one_completes(tmp_path: Path, after_s: float) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    index_dir = tmp_path / "index"
    # fp32 through torch: nothing is exported to a shared cache by this test.
    env = os.environ | {"GQA_EMBEDDING__PRECISION": "fp32", "GQA_EMBEDDING__QUERY_BACKEND": "torch"}
    assert _ingest(corpus, index_dir, env).wait(timeout=300) == 0
    live = (index_dir / "CURRENT").read_text()
    before = read_manifest(index_dir).document_hashes()

    (corpus / "bone-metastasis" / "00-overview.md").write_text(
        (corpus / "bone-metastasis" / "00-overview.md").read_text() + "\nA sentence added to change the document.\n"
    )
    process = _ingest(corpus, index_dir, env)
    time.sleep(after_s)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=60)

    # Killed or not, CURRENT names a complete generation: the old one, or the new one if ingest had finished.
    if (index_dir / "CURRENT").read_text() == live:
        assert read_manifest(index_dir).document_hashes() == before
    assert len(open_index(index_dir)) > 0

    assert _ingest(corpus, index_dir, env).wait(timeout=300) == 0
    assert read_manifest(index_dir).document_hashes() != before
    assert len(open_index(index_dir)) > 0
