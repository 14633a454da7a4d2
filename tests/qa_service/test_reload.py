"""Live index updates: a running service swaps in each generation ingest writes, and refuses a broken one."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest import build_index, open_index
from qa_service.app import create_app
from qa_service.errors import ServiceError
from qa_service.pipeline import QAPipeline
from qa_service.reload import IndexWatcher
from qa_service.settings import Settings
from tests.qa_service.mini_corpus import make_embedder

RT = "Give 8 Gy in a single fraction for painful bone metastases.\n"
NEW = "Tapentadol has a conversion factor of 0.4 to morphine milligram equivalents.\n"


class FakeLoaded:
    def __init__(self, generation: str) -> None:
        self.generation = generation

    def manifest(self) -> dict[str, Any]:
        return {"generation": self.generation}


def test_the_watcher_swaps_in_a_new_generation_once_and_refuses_a_broken_one(tmp_path: Path) -> None:
    state = SimpleNamespace(pipeline=FakeLoaded("gen-1"), load_error=None)
    loads: list[str] = []

    def load() -> FakeLoaded:
        name = (tmp_path / "CURRENT").read_text().strip()
        loads.append(name)
        if name == "gen-broken":
            raise ServiceError("manifest.json is not JSON")
        return FakeLoaded(name)

    watcher = IndexWatcher(state, tmp_path, load, interval_s=60, served="gen-1")
    assert not watcher.check()  # no CURRENT yet
    (tmp_path / "CURRENT").write_text("gen-1")
    assert not watcher.check() and loads == []  # the generation already served

    (tmp_path / "CURRENT").write_text("gen-2")
    assert watcher.check() and state.pipeline.generation == "gen-2"
    assert not watcher.check() and loads == ["gen-2"]

    (tmp_path / "CURRENT").write_text("gen-broken")
    assert not watcher.check() and state.pipeline.generation == "gen-2"  # the old one keeps serving
    assert not watcher.check() and loads == ["gen-2", "gen-broken"]  # not retried until CURRENT changes

    (tmp_path / "CURRENT").write_text("gen-3")
    assert watcher.check() and state.pipeline.generation == "gen-3"


def _settings(index_dir: Path) -> Settings:
    settings = Settings(index_dir=index_dir)
    settings.server.reload_interval_s = 0.1
    settings.retrieval.rerank = False
    return settings


def _load(settings: Settings) -> QAPipeline:
    return QAPipeline(open_index(settings.index_dir), make_embedder(), settings)


def _wait(condition: Any, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "guidelines"
    folder.mkdir()
    (folder / "rt.txt").write_text(RT)
    return folder


def test_a_running_service_serves_a_new_ingest_with_no_failed_request(corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    build_index([corpus], index_dir, embedder=make_embedder())
    app = create_app(_settings(index_dir), pipeline_factory=_load)
    with TestClient(app) as client:
        assert _wait(lambda: client.get("/readyz").status_code == 200)
        first = client.get("/v1/version").json()["generation"]
        assert first and first == (index_dir / "CURRENT").read_text().strip()

        failures: list[int] = []
        stop = threading.Event()

        def keep_asking() -> None:
            while not stop.is_set():
                status = client.post("/v1/search", json={"query": "tapentadol conversion factor"}).status_code
                if status != 200:
                    failures.append(status)

        asker = threading.Thread(target=keep_asking)
        asker.start()
        try:
            (corpus / "mme.txt").write_text(NEW)
            build_index([corpus], index_dir, embedder=make_embedder())
            assert _wait(lambda: client.get("/v1/version").json()["generation"] != first)
        finally:
            stop.set()
            asker.join()

        assert failures == []
        found = client.post("/v1/search", json={"query": "tapentadol conversion factor", "top_k": 1}).json()
        assert found["passages"][0]["doc_id"] == "mme"


def test_a_service_started_before_any_index_serves_the_first_one_ingest_writes(corpus: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    app = create_app(_settings(index_dir), pipeline_factory=_load)
    with TestClient(app) as client:
        assert _wait(lambda: client.get("/readyz").status_code == 503)
        build_index([corpus], index_dir, embedder=make_embedder())
        assert _wait(lambda: client.get("/readyz").status_code == 200)
        assert client.get("/v1/version").json()["generation"] == (index_dir / "CURRENT").read_text().strip()


def test_a_new_generation_reuses_the_question_encoder_and_memory_is_released_after_the_swap(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qa_service.pipeline
    import qa_service.reload
    from ingest.pipeline import configured_model_name

    for name in [n for n in os.environ if n.startswith("GQA_")]:
        monkeypatch.delenv(name)
    name = configured_model_name(Settings().embedding)  # the default factory checks the configured model
    loaded: list[object] = []

    def loader(_settings: object, **_kw: object) -> object:
        loaded.append(make_embedder(name))
        return loaded[-1]

    released: list[bool] = []
    monkeypatch.setattr(qa_service.pipeline, "load_embedder", loader)
    monkeypatch.setattr(qa_service.reload, "release_free_memory", lambda: released.append(True) or True)
    index_dir = tmp_path / "index"
    build_index([corpus], index_dir, embedder=make_embedder(name))
    app = create_app(_settings(index_dir))  # the service's own factory, as `guideline-qa serve` uses
    with TestClient(app) as client:
        assert _wait(lambda: client.get("/readyz").status_code == 200)
        first = app.state.pipeline
        (corpus / "mme.txt").write_text(NEW)
        build_index([corpus], index_dir, embedder=make_embedder(name))
        assert _wait(lambda: app.state.pipeline is not first)
        assert app.state.pipeline.embedder is first.embedder and len(loaded) == 1  # loaded once, at start
        assert _wait(lambda: released == [True])  # one interval after the swap, once


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads resident memory from /proc")
def test_releasing_free_memory_gives_freed_heap_pages_back_to_the_system() -> None:
    import gc

    from qa_service.reload import release_free_memory

    blocks = [bytearray(2000) for _ in range(40_000)]  # ~80 MB from the C heap (too big for Python's pools)
    kept = blocks[::500]  # a few survivors pin the heap, as the serving pipeline does after a swap
    del blocks
    gc.collect()
    before = _rss_mib()
    assert release_free_memory()
    assert _rss_mib() < before - 40  # most of the freed 80 MB is resident no more
    assert len(kept) == 80
