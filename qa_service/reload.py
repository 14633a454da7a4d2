"""Live index updates: a running service serves the generation a new `guideline-qa ingest` wrote.

`guideline-qa ingest` writes a new generation beside the live one and swaps the index folder's
`CURRENT` file atomically. `IndexWatcher` looks at `CURRENT` every `server.reload_interval_s`; when
it names another generation, a new pipeline is loaded on the watcher's thread while the old one
keeps answering, then put in place with one reference assignment. Requests already running hold
the old pipeline and finish on it; its memory goes when the last of them is done. A generation
that fails to load (broken, or built with another model) is refused with a log line and the old
one keeps serving; the watcher tries again only when `CURRENT` changes once more. A service that
started before any index existed loads the first one that appears.

A new generation reuses the serving pipeline's question encoder. One watcher interval after a swap
(when the requests that held the old pipeline are long done) the watcher collects garbage and asks
the C allocator to hand freed pages back to the system: without that, each swap left the old
generation's memory in the allocator's free lists and the resident size grew by tens of MiB a
swap (measured with `guideline-qa bench --soak`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from ingest import IngestError
from ingest.index import CURRENT_FILE
from qa_service.errors import ServiceError

log = logging.getLogger("guideline_qa.reload")


@lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, looked up once (finding the C library may run ldconfig); None where absent."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # musl, macOS: no malloc_trim
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Collect garbage and return the C allocator's free pages to the system (glibc); False where unsupported."""
    gc.collect()
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


def live_generation(index_dir: Path) -> str | None:
    """The generation `CURRENT` names, or None while there is none."""
    try:
        return (index_dir / CURRENT_FILE).read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


class IndexWatcher:
    """Watches an index folder and swaps in each new generation (see the module docstring)."""

    def __init__(
        self,
        state: Any,
        index_dir: Path,
        load: Callable[[], Any],
        *,
        interval_s: float,
        served: str | None,
    ) -> None:
        self.state = state
        self.index_dir = index_dir
        self.load = load
        self.interval_s = interval_s
        self.served = served
        self.refused: str | None = None
        self._release_pending = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="index-watcher", daemon=True)

    def start(self) -> None:
        """Start watching on a daemon thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (a load under way finishes on its own)."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            if self._release_pending:  # the swap was an interval ago: the old pipeline's requests are over
                self._release_pending = False
                release_free_memory()
            self.check()

    def check(self) -> bool:
        """Load and swap in the live generation if it is new; True when a new one is now served."""
        name = live_generation(self.index_dir)
        if name is None or name in (self.served, self.refused):
            return False
        started = time.perf_counter()
        try:
            pipeline = self.load()
        except (IngestError, ServiceError, OSError, ValueError) as exc:
            self.refused = name
            log.error(orjson.dumps({"event": "reload_refused", "generation": name, "error": str(exc)}).decode())
            return False
        self.state.pipeline = pipeline
        self.state.load_error = None
        self.served = str(pipeline.manifest().get("generation") or name)
        self.refused = None
        self._release_pending = True
        seconds = round(time.perf_counter() - started, 2)
        log.info(orjson.dumps({"event": "reloaded", "generation": self.served, "seconds": seconds}).decode())
        return True
