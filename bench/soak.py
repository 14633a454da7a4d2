"""`guideline-qa bench --soak MINUTES`: a long load with live index updates, watching failures and memory.

One `guideline-qa serve` answers the gold questions at a fixed concurrency for the whole run. Every
`update_every_s` seconds a document is added to (then removed from) a copy of the corpus and
`guideline-qa ingest` writes a new generation into the served index folder; the server must notice
it, swap it in and keep answering. The run reports failed requests, latency, every swap (seconds
from the end of the ingest until `/v1/version` names the new generation) and the server's resident
memory, sampled every few seconds: after the warm-up it must stay flat.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.errors import BenchInputError
from bench.load import run_load
from bench.report import Row, render_table
from bench.server import ServerProcess, free_port, ingest_command, rss_mib, serve_command
from bench.stats import median
from qa_service.client import ServiceClient, ServiceClientError

Say = Callable[[str], None]
SWAP_WAIT_S = 60.0  # an update not served by then counts as never served

UPDATE_DOCUMENT = """---
title: "Soak update {n}"
issuing_body: "guideline-qa benchmark"
year: 2026
topic: soak/update
---

# Soak update {n}

## Live index updates

### SOAK-{n:04d} A document added while the service answers
Guideline: guideline-qa benchmark 2026

This document was written by the soak benchmark at update {n} to make a new index generation.
"""


@dataclass(frozen=True)
class SoakOptions:
    """A soak: how long, how hard, how often the index changes (defaults: the issue's ten minutes at 8)."""

    minutes: float = 10.0
    concurrency: int = 8
    update_every_s: float = 60.0
    warmup_s: float = 60.0
    sample_every_s: float = 5.0
    corpus_paths: tuple[Path, ...] = (Path("corpus"),)
    gold_path: Path = Path("eval/gold/bone_metastasis.jsonl")
    work_dir: Path = Path(".cache/bench-soak")
    out_dir: Path = Path("reports/bench")


@dataclass
class SoakLog:
    """What the background thread saw while the load ran."""

    rss: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MiB)
    swaps: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _generation(client: ServiceClient) -> str | None:
    """The generation the server names, or None while it cannot say (busy, restarting)."""
    try:
        generation = client.version().get("generation")
    except ServiceClientError:
        return None
    return str(generation) if generation else None


def _update(corpus: Path, index_dir: Path, n: int) -> float:
    """Add update n's document (removing the previous one) and ingest; returns when the ingest ended."""
    for old in corpus.glob("soak-update-*.md"):
        old.unlink()
    if n % 2:  # odd updates add a document, even ones leave the corpus as it started
        (corpus / f"soak-update-{n}.md").write_text(UPDATE_DOCUMENT.format(n=n), encoding="utf-8")
    done = subprocess.run(ingest_command(corpus, index_dir), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchInputError(f"soak: ingest {n} failed: {done.stderr.strip()[-400:]}")
    return time.perf_counter()


def _watch(
    server: ServerProcess,
    corpus: Path,
    index_dir: Path,
    options: SoakOptions,
    stop: threading.Event,
    log: SoakLog,
    say: Say,
) -> None:
    """Sample memory; every `update_every_s` ingest a change and time how long the server takes to serve it."""
    started = time.perf_counter()
    next_update = started + options.update_every_s
    n = 0
    with ServiceClient(server.base_url, timeout=5.0) as client:
        while not stop.is_set():
            now = time.perf_counter()
            log.rss.append((round(now - started, 1), round(rss_mib(server.pid), 1)))
            if now >= next_update:
                n += 1
                try:
                    before = _generation(client)
                    ended = _update(corpus, index_dir, n)
                    served, current = None, None
                    # Not cut short by the end of the load: the server stays up until this thread returns.
                    while time.perf_counter() - ended < SWAP_WAIT_S:
                        current = _generation(client)
                        if current and current != before:
                            served = time.perf_counter() - ended
                            break
                        time.sleep(0.1)
                    log.swaps.append({"update": n, "generation": current, "served_after_s": served})
                    delay = "never" if served is None else f"{served:.2f} s after ingest"
                    say(f"  update {n}: new generation served {delay}")
                except BenchInputError as exc:
                    log.problems.append(str(exc))
                next_update = time.perf_counter() + options.update_every_s
            stop.wait(options.sample_every_s)


def run_soak(options: SoakOptions, say: Say = print) -> tuple[dict[str, Any], str]:
    """Serve a copy of the corpus under load for `minutes`, updating its index; report failures, swaps, memory."""
    from bench.runner import load_questions

    questions = load_questions(options.gold_path)
    bodies = [{"question": q} for q in questions]
    corpus = options.work_dir / "corpus"
    index_dir = options.work_dir / "index"
    shutil.rmtree(options.work_dir, ignore_errors=True)
    corpus.mkdir(parents=True)
    for source in options.corpus_paths:
        if source.is_dir():
            shutil.copytree(source, corpus / source.name)
        elif source.is_file():
            shutil.copy2(source, corpus / source.name)
        else:
            raise BenchInputError(f"soak: {source} not found")
    say(f"soak: ingesting a copy of {', '.join(map(str, options.corpus_paths))} into {index_dir}")
    _update(corpus, index_dir, 0)
    seconds = options.minutes * 60
    port = free_port()
    command = serve_command(index_dir, port)
    log = SoakLog()
    options.out_dir.mkdir(parents=True, exist_ok=True)
    with ServerProcess("soak", command, port, log_path=options.out_dir / "soak-server.log") as server:
        stop = threading.Event()
        watcher = threading.Thread(
            target=_watch, args=(server, corpus, index_dir, options, stop, log, say), daemon=True
        )
        say(
            f"soak: {options.minutes:g} min at concurrency {options.concurrency}, "
            f"an update every {options.update_every_s:g} s"
        )
        watcher.start()
        try:
            result = run_load(server.base_url, bodies, requests=1, concurrency=options.concurrency, seconds=seconds)
        finally:
            stop.set()
            watcher.join(timeout=120)
    report = soak_report(options, result.summary(), log)
    return report, render_table(soak_rows(report), columns=("value", "", ""), legend=SOAK_LEGEND)


def soak_report(options: SoakOptions, load: dict[str, Any], log: SoakLog) -> dict[str, Any]:
    """The soak's figures: load summary, swaps and memory after the warm-up (first, last, highest)."""
    after = [mib for t, mib in log.rss if t >= options.warmup_s] or [mib for _, mib in log.rss]
    delays = [s["served_after_s"] for s in log.swaps if s["served_after_s"] is not None]
    return {
        "kind": "soak",
        "minutes": options.minutes,
        "concurrency": options.concurrency,
        "load": load,
        "updates": len(log.swaps),
        "updates_not_served": sum(s["served_after_s"] is None for s in log.swaps),
        "swap_seconds_median": round(median(delays), 2) if delays else None,
        "swap_seconds_max": round(max(delays), 2) if delays else None,
        "rss_after_warmup_first_mib": after[0] if after else None,
        "rss_after_warmup_last_mib": after[-1] if after else None,
        "rss_after_warmup_max_mib": max(after) if after else None,
        "rss_samples": log.rss,
        "swaps": log.swaps,
        "problems": log.problems,
    }


SOAK_LEGEND = "memory is the server's resident set (VmRSS) sampled every few seconds, after the warm-up."


def soak_rows(report: dict[str, Any]) -> list[Row]:
    """The soak table: one section, one figure a row."""
    load = report["load"]
    section = f"soak: {report['minutes']:g} min at concurrency {report['concurrency']}"
    figures: Sequence[tuple[str, str, float | None]] = [
        ("requests", "", load["requests"]),
        ("failed requests", "", load["errors"]),
        ("throughput", "req/s", load["requests_per_second"]),
        ("/v1/ask median", "ms", load.get("latency_median_ms")),
        ("/v1/ask p99", "ms", load.get("latency_p99_ms")),
        ("index updates", "", report["updates"]),
        ("updates never served", "", report["updates_not_served"]),
        ("new generation served after ingest, median", "s", report["swap_seconds_median"]),
        ("new generation served after ingest, max", "s", report["swap_seconds_max"]),
        ("memory after warm-up, first", "MiB", report["rss_after_warmup_first_mib"]),
        ("memory after warm-up, last", "MiB", report["rss_after_warmup_last_mib"]),
        ("memory after warm-up, highest", "MiB", report["rss_after_warmup_max_mib"]),
    ]
    return [Row(section, m, u, None if v is None else float(v), compared=False) for m, u, v in figures]
