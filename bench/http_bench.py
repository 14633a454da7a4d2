"""Over HTTP: start a server in a subprocess, time its cold start, drive it at each concurrency, read its memory."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load import run_load
from bench.options import DEFAULT_LEVELS
from bench.server import ServerProcess, free_port, serve_command
from bench.stats import median_of_runs


@dataclass(frozen=True)
class ServerConfig:
    """How to start one server under test: a command for a port, extra environment, a fill pass."""

    name: str
    command: Callable[[int], list[str]]
    env: Mapping[str, str] = field(default_factory=dict)
    prefill: bool = False  # send every question once before measuring (a warm query cache)
    workers: int = 1  # server processes that must all be ready before measuring


def ours_config(
    name: str, index_dir: Path, *, env: Mapping[str, str] | None = None, workers: int = 1, prefill: bool = False
) -> ServerConfig:
    """Our service: `guideline-qa serve`, or uvicorn with N workers through `python -m bench serve`."""

    def command(port: int) -> list[str]:
        if workers == 1:
            return serve_command(index_dir, port)
        return [
            sys.executable,
            "-m",
            "bench",
            "serve",
            "--index",
            str(index_dir),
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]

    return ServerConfig(name, command, dict(env or {}), prefill, workers)


def naive_config(store_dir: Path) -> ServerConfig:
    """The naive pipeline's FastAPI app under uvicorn."""

    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "bench", "naive-serve", "--index", str(store_dir), "--port", str(port)]

    return ServerConfig("naive", command)


def serve_and_load(
    config: ServerConfig,
    bodies: Sequence[dict[str, Any]],
    *,
    requests: int,
    levels: Sequence[int] = DEFAULT_LEVELS,
    log_dir: Path | None = None,
) -> dict[str, Any]:
    """One run: start the server, load it at each concurrency in turn, read its peak RSS, stop it."""
    port = free_port()
    log_path = log_dir / f"{config.name.replace(' ', '_').replace('/', '_')}.log" if log_dir else None
    if log_dir:
        log_dir.mkdir(parents=True, exist_ok=True)
    with ServerProcess(
        config.name, config.command(port), port, env=config.env, log_path=log_path, workers=config.workers
    ) as server:
        if config.prefill:
            run_load(server.base_url, bodies, requests=len(bodies), concurrency=8)
        by_level = {}
        for concurrency in levels:
            warmup = min(2 * concurrency, 32)
            result = run_load(server.base_url, bodies, requests=requests, concurrency=concurrency, warmup=warmup)
            by_level[str(concurrency)] = result.summary()
        return {"cold_start_s": server.cold_start_s, "peak_rss_mib": server.peak_rss_mib(), "levels": by_level}


def summarise_runs(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Medians over repeated runs of every figure; errors are summed (any error is a failure)."""
    levels = runs[0]["levels"].keys()
    out: dict[str, Any] = {
        "runs": len(runs),
        "cold_start_s": median_of_runs([{"v": r["cold_start_s"]} for r in runs])["v"],
        "peak_rss_mib": median_of_runs([{"v": r["peak_rss_mib"]} for r in runs])["v"],
        "levels": {},
    }
    for level in levels:
        per_run = [r["levels"][level] for r in runs]
        numeric = [{k: v for k, v in p.items() if isinstance(v, int | float) and k != "errors"} for p in per_run]
        summary: dict[str, Any] = median_of_runs(numeric)
        summary["errors"] = sum(p["errors"] for p in per_run)
        summary["error_examples"] = [e for p in per_run for e in p["error_examples"]][:5]
        out["levels"][level] = summary
    return out


def compare_servers(
    configs: Sequence[ServerConfig],
    bodies: Sequence[dict[str, Any]],
    *,
    repeat: int,
    requests: int,
    levels: Sequence[int] = DEFAULT_LEVELS,
    log_dir: Path | None = None,
    say: Callable[[str], None] = lambda _msg: None,
) -> dict[str, dict[str, Any]]:
    """Each server `repeat` times, taking turns so drift in machine load hits all alike; medians per server."""
    runs: dict[str, list[dict[str, Any]]] = {c.name: [] for c in configs}
    for r in range(repeat):
        for config in configs:
            run = serve_and_load(config, bodies, requests=requests, levels=levels, log_dir=log_dir)
            runs[config.name].append(run)
            c1 = run["levels"].get(str(levels[0]), {})
            top = run["levels"].get(str(levels[-1]), {})
            say(
                f"  {config.name} (run {r + 1}/{repeat}): ready in {run['cold_start_s']:.1f} s, "
                f"c={levels[0]} median {c1.get('latency_median_ms', float('nan')):.1f} ms, "
                f"c={levels[-1]} {top.get('requests_per_second', 0):.0f} req/s, "
                f"errors {sum(v['errors'] for v in run['levels'].values())}, peak RSS {run['peak_rss_mib']:.0f} MiB"
            )
    return {name: {**summarise_runs(r), "per_run": r} for name, r in runs.items()}
