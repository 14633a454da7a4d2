"""The `guideline-qa` command: ingest, serve, ask, mcp, eval, bench.

Errors from the packages are turned into one-line messages and exit codes here (`guideline-qa eval` handles
its own evaluation errors the same way in `eval.cli`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ingest import IngestError, IngestSummary, build_index
from ingest.metadata import SIDECAR_SUFFIXES, misnamed_sidecar

Handler = Callable[[argparse.Namespace], int]


def _settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from qa_service.settings import Settings

    settings = Settings()
    if getattr(args, "index", None):
        settings.index_dir = Path(args.index)
    return settings


REPORT_ROWS = 30  # above this many documents, only those with warnings get a row


def _print_documents(summary: IngestSummary) -> None:
    """One row a document: what a user checks after bringing their own guidelines."""
    rows = summary.reports
    shown = rows if len(rows) <= REPORT_ROWS else [r for r in rows if r.warnings]
    if not shown:
        return
    width = min(max(len(r.doc_id) for r in shown), 48)
    print(f"{'document':<{width}}  pages  headings  recs  tables  excluded pages")
    for r in shown:
        excluded = "; ".join(r.excluded) or "-"
        pages = str(r.pages) if r.pages else "-"
        counts = f"{pages:>5}  {r.headings:>8}  {r.recommendations:>4}  {r.tables:>6}"
        print(f"{r.doc_id[:width]:<{width}}  {counts}  {excluded}")
        if r.file and Path(r.file).suffix.lower() in {".pdf", ".html", ".htm"}:  # metadata found, not stated: show it
            stated = ", ".join(str(x) for x in (r.issuing_body, r.year) if x)
            print(f"{'':<{width}}    title: {r.title}" + (f" ({stated})" if stated else ""))
        for warning in r.warnings:
            print(f"{'':<{width}}    warning: {warning}")
    if len(shown) < len(rows):
        print(
            f"({len(rows) - len(shown)} more documents without warnings; all are listed in the index's manifest.json)"
        )


def _print_summary(summary: IngestSummary) -> None:
    _print_documents(summary)
    for path in summary.skipped:
        document = misnamed_sidecar(path)
        if document is not None:
            print(
                f"skipped: {path} is not read as the sidecar of {document.name}: name it "
                f'"{document.name}{SIDECAR_SUFFIXES[0]}" to state its title, issuing body, year or URL',
                file=sys.stderr,
            )
        else:
            print(f"skipped (unsupported type): {path}", file=sys.stderr)
    for error in summary.errors:
        print(f"error: {error}", file=sys.stderr)
    if summary.up_to_date:
        print(
            f"index {summary.index_dir} is up to date: {summary.documents} documents, {summary.chunks} chunks "
            f"({summary.seconds:.1f} s)"
        )
        return
    print(
        f"indexed {summary.documents} documents into {summary.index_dir}: {summary.chunks} chunks "
        f"({summary.new} new, {summary.changed} changed, {summary.unchanged} unchanged, {summary.removed} removed "
        f"documents); embedded {summary.chunks_embedded} chunks and {summary.sentences_embedded} sentences in "
        f"{summary.seconds:.1f} s ({summary.chunks_per_second:.1f} chunks/s); "
        f"{len(summary.skipped)} skipped, {len(summary.errors)} errors"
    )


def cmd_ingest(args: argparse.Namespace) -> int:
    """Build or update the index from documents."""
    settings = _settings(args)
    if args.model:
        settings.embedding.model_path = Path(args.model)
    if args.sentence_vectors:
        settings.embedding.sentence_vectors = args.sentence_vectors
    paths = [Path(p) for p in args.paths] or settings.corpus_paths
    summary = build_index(
        paths,
        settings.index_dir,
        embedding=settings.embedding,
        chunking=settings.chunking,
        index_settings=settings.index,
        rebuild=args.rebuild,
        strict=args.strict,
        progress=sys.stderr.isatty() and not args.quiet,
        on_status=None if args.quiet else (lambda msg: print(msg + "...", file=sys.stderr)),
        loader=getattr(args, "load_embedder", None),
    )
    _print_summary(summary)
    _prepare_query_encoder(settings, quiet=args.quiet)
    return 1 if (summary.errors and args.strict) else 0


def _prepare_query_encoder(settings: Any, *, quiet: bool) -> None:
    """Make the ONNX query encoder now, while ingesting, so the service's first start stays fast."""
    if settings.embedding.query_backend != "onnx":
        return
    try:
        from ingest.onnx_backend import ensure_export

        folder, made = ensure_export(settings.embedding.model_path, settings.embedding.onnx_dir)
    except Exception as exc:  # the service falls back to torch; ingest itself succeeded
        print(
            f"warning: no ONNX query encoder ({type(exc).__name__}: {exc}); the service will use torch", file=sys.stderr
        )
        return
    if made and not quiet:
        print(f"exported the ONNX query encoder to {folder}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="guideline-qa", description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", help="build or update the index from guideline documents")
    ingest.add_argument("paths", nargs="*", help="files or folders (default: corpus/)")
    ingest.add_argument("--index", help="index directory (default: $GQA_INDEX_DIR or .index)")
    ingest.add_argument("--model", help="sentence-transformers model folder (default: packaged all-MiniLM-L6-v2)")
    ingest.add_argument("--rebuild", action="store_true", help="re-embed everything")
    ingest.add_argument("--strict", action="store_true", help="fail on any unsupported or malformed file")
    ingest.add_argument(
        "--sentence-vectors",
        choices=["pooled", "encoded", "none"],
        help="how sentence vectors for answer composition are made (default: pooled)",
    )
    ingest.add_argument("--quiet", action="store_true", help="no progress output")
    ingest.set_defaults(handler=cmd_ingest)

    for register in _extra_commands():
        register(sub)
    return parser


def _extra_commands() -> list[Callable[[argparse._SubParsersAction], None]]:  # type: ignore[type-arg]
    """Subcommands owned by the other packages (imported lazily: no heavy work at start-up)."""
    registrars = []
    for module_name in ("qa_service.cli", "bench.cli", "eval.cli"):
        try:
            module = __import__(module_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        registrars.append(module.register)
    return registrars


def main(argv: Sequence[str] | None = None, *, load_embedder: Callable[[Any], Any] | None = None) -> int:
    """Entry point of the console script; `load_embedder` replaces the model loader of `ingest` (tests)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    args.load_embedder = load_embedder
    handler: Handler = args.handler
    try:
        return handler(args)
    except ValidationError as exc:  # a GQA_* setting of the wrong type: say which, not a traceback
        where = ", ".join(".".join(str(p) for p in e["loc"]) + f": {e['msg']}" for e in exc.errors()[:3])
        print(f"guideline-qa: invalid setting ({where}); check the GQA_* environment variables", file=sys.stderr)
        return 2
    except IngestError as exc:
        print(f"guideline-qa: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("guideline-qa: interrupted; the previous index is untouched", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `guideline-qa ask ... | head -1`: the reader left; no traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the final flush at exit cannot fail again
        return 141  # 128 + SIGPIPE, as a shell reports it


if __name__ == "__main__":
    raise SystemExit(main())
