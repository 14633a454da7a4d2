"""`guideline-qa bench`: the performance benchmark against the naive LangChain pipeline (docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def _say(message: str) -> None:
    """Progress, on standard error (the table goes to standard output)."""
    print(message, file=sys.stderr, flush=True)


def _publish(out_dir: Path, stem: str, report: dict[str, Any], table: str, note: str = "") -> None:
    """Write `<stem>.json` and `<stem>.txt` and print the table with where they went."""
    from bench import write_report

    json_path, text_path = write_report(out_dir, report, table, stem=stem)
    print(table)
    print(f"\nwrote {json_path} and {text_path}{note}")


def cmd_scale(args: argparse.Namespace) -> int:
    """`--scale`: ingest and serve MedQuAD NIH subsets of growing size, exact and HNSW; print the table."""
    from bench import BenchError
    from bench.scale import ScaleOptions, replace_sizes, run_scale

    try:
        options = replace_sizes(
            ScaleOptions(
                corpus_path=Path(args.scale_corpus) / "corpus.jsonl",
                questions_path=Path(args.scale_corpus) / "questions.jsonl",
                questions=args.scale_questions,
                out_dir=Path(args.out),
            ),
            args.scale_sizes,
        )
        report, table = run_scale(options, say=_say)
    except BenchError as exc:
        print(f"guideline-qa: bench: {exc}", file=sys.stderr)
        return 2
    _publish(options.out_dir, "scale", report, table, f" ({report['seconds']:.0f} s)")
    return 0


def cmd_soak(args: argparse.Namespace) -> int:
    """`--soak MINUTES`: load with live index updates; print failures, swap times and memory."""
    from bench import BenchError
    from bench.soak import SoakOptions, run_soak

    if args.soak <= 0 or args.soak_update_every <= 0:
        print("guideline-qa: --soak and --soak-update-every must be positive", file=sys.stderr)
        return 2
    options = SoakOptions(
        minutes=args.soak,
        update_every_s=args.soak_update_every,
        warmup_s=min(60.0, args.soak * 60 / 5),
        corpus_paths=tuple(Path(p) for p in args.corpus or ["corpus"]),
        gold_path=Path(args.gold),
        out_dir=Path(args.out),
    )
    try:
        report, table = run_soak(options, say=_say)
    except BenchError as exc:
        print(f"guideline-qa: bench: {exc}", file=sys.stderr)
        return 2
    _publish(options.out_dir, "soak", report, table)
    failed = report["load"]["errors"] or report["updates_not_served"] or report["problems"]
    return 1 if failed else 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the benchmark, print the table, write bench.json and bench.txt."""
    from bench import BenchError, run_benchmark, write_report
    from bench.options import BenchOptions
    from ingest import IngestError

    if args.scale:
        return cmd_scale(args)
    if args.soak is not None:
        return cmd_soak(args)

    overrides: dict[str, Any] = {
        "index_dir": Path(args.index),
        "out_dir": Path(args.out),
        "gold_path": Path(args.gold),
        "medquad_path": Path(args.medquad),
        "realdocs_path": Path(args.realdocs),
        "skip_ingest": args.skip_ingest,
        "skip_http": args.skip_http,
        "skip_levers": args.skip_levers,
        "ingest_repeat": args.ingest_repeat,
        "lever_repeat": args.lever_repeat,
    }
    if args.corpus:
        overrides["corpus_paths"] = [Path(p) for p in args.corpus]
    for name in ("repeat", "requests"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    for flag in ("repeat", "ingest_repeat", "lever_repeat", "requests"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            print(f"guideline-qa: --{flag.replace('_', '-')} must be at least 1", file=sys.stderr)
            return 2
    options = BenchOptions.quick_defaults(**overrides) if args.quick else BenchOptions(**overrides)

    try:
        result = run_benchmark(options, say=_say)
    except (BenchError, IngestError) as exc:
        print(f"guideline-qa: bench: {exc}", file=sys.stderr)
        return 2
    json_path, text_path = write_report(options.out_dir, result.report, result.table)
    print(result.table)
    print(f"\nwrote {json_path} and {text_path} ({result.report['seconds']:.0f} s)")
    return 0


def register(sub: Any) -> None:
    """Add `bench` to the `guideline-qa` command (defaults from `BenchOptions`, the one place they live)."""
    from bench.options import BenchOptions

    d = BenchOptions()
    bench = sub.add_parser(
        "bench",
        help="benchmark ingest, query latency, HTTP throughput and cold start against the naive LangChain pipeline",
        description="Needs the bench extra: pip install -e '.[bench]'. Takes about 10 minutes; --quick about 2.",
    )
    bench.add_argument(
        "--index", default=str(d.index_dir), help="index of the default corpus the service is measured on"
    )
    bench.add_argument("--out", default=str(d.out_dir), help="folder for bench.json, bench.txt and server logs")
    bench.add_argument(
        "--quick",
        action="store_true",
        help="small run: first 100 MedQuAD records, 40 questions, 60 requests per level, 1 repeat",
    )
    bench.add_argument("--skip-ingest", action="store_true", help="no ingest figures")
    bench.add_argument("--skip-http", action="store_true", help="no servers: in-process figures only")
    bench.add_argument("--skip-levers", action="store_true", help="no lever measurements (threads, cache, workers)")
    bench.add_argument("--repeat", type=int, help="runs per latency/HTTP figure, medians reported (default 3; quick 1)")
    bench.add_argument("--ingest-repeat", type=int, default=d.ingest_repeat, help="runs per ingest figure")
    bench.add_argument("--lever-repeat", type=int, default=d.lever_repeat, help="runs per HTTP lever figure")
    bench.add_argument("--requests", type=int, help="requests per concurrency level (default 300; quick 60)")
    bench.add_argument("--corpus", nargs="*", help="default-corpus paths (default: corpus)")
    bench.add_argument("--gold", default=str(d.gold_path), help="gold questions (JSONL, `question`)")
    bench.add_argument(
        "--medquad", default=str(d.medquad_path), help="MedQuAD corpus (JSONL); skipped with a message if absent"
    )
    bench.add_argument(
        "--realdocs",
        default=str(d.realdocs_path),
        help="real guideline PDFs and pages; skipped with a message if absent",
    )
    scale = bench.add_argument_group("cost at scale (--scale: only this part runs; docs/scaling.md)")
    scale.add_argument(
        "--scale",
        action="store_true",
        help="ingest and serve subsets of a large corpus, exact and HNSW search (about 20 minutes on 2 cores)",
    )
    scale.add_argument("--scale-sizes", help="documents per subset, comma-separated (default 700,4000,15811)")
    scale.add_argument(
        "--scale-corpus",
        default="../shared/benchmarks/medquad_nih",
        help="folder with corpus.jsonl and questions.jsonl (default: the shared MedQuAD NIH corpus)",
    )
    scale.add_argument("--scale-questions", type=int, default=200, help="questions asked at every size")
    soak = bench.add_argument_group("soak (--soak: only this part runs)")
    soak.add_argument(
        "--soak",
        type=float,
        metavar="MINUTES",
        help="load at concurrency 8 for MINUTES with live index updates; exit 1 on any failed request",
    )
    soak.add_argument("--soak-update-every", type=float, default=60.0, help="seconds between index updates")
    bench.set_defaults(handler=cmd_bench)
