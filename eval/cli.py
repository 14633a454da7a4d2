"""`guideline-qa eval`: gold, benchmark, compare, fit-gate, answerability, pooled, answer-removed, grounding and
dose-probe.

The evaluation's own errors (bad gold files, unreachable services) become one-line messages here; the top-level
command (`guideline_qa.cli`) handles the rest.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from eval.errors import EvalError
from eval.gold import DEFAULT_GOLD

if TYPE_CHECKING:
    from eval.gold import EvalSet
    from eval.runner import RunResult
    from eval.targets import EvalTarget
    from qa_service.gate_model import GateModel
    from qa_service.settings import Settings

Handler = Callable[[argparse.Namespace], int]


def _say(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--modes", help="comma-separated retrieval modes, evaluated side by side (default: the configured mode)"
    )
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--spread", action="store_true", help="with --limit: N questions spread evenly over the set")
    parser.add_argument(
        "--top-k", type=int, default=10, help="passages retrieved for the retrieval metrics (default 10)"
    )
    parser.add_argument("--url", help="evaluate a running service at this base URL instead of the in-process pipeline")
    parser.add_argument("--api-key", default=os.environ.get("GQA_EVAL_API_KEY"), help="bearer key for --url")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per HTTP request with --url")
    parser.add_argument("--out", help="report directory (default: reports/<set name>)")
    parser.add_argument("--min", action="append", default=[], metavar="METRIC=VALUE", help="fail below (repeatable)")
    parser.add_argument("--max", action="append", default=[], metavar="METRIC=VALUE", help="fail above (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `eval` with its subcommands `gold`, `benchmark`, `compare`, `fit-gate`, `answerability`, `pooled`,
    `answer-removed`, `grounding`, `dose-probe`."""
    parser = subparsers.add_parser("eval", help="evaluate retrieval, answers, citations and abstention")
    sub = parser.add_subparsers(
        dest="eval_command",
        required=True,
        metavar="{gold,benchmark,compare,fit-gate,answerability,pooled,answer-removed,grounding,dose-probe}",
    )

    gold = sub.add_parser("gold", help="score a gold set against the index (the project's regression gate)")
    gold.add_argument(
        "--gold", type=Path, default=DEFAULT_GOLD, help="gold set (default: eval/gold/bone_metastasis.jsonl)"
    )
    gold.add_argument("--index", help="index directory (default: $GQA_INDEX_DIR or .index)")
    gold.add_argument(
        "--corpus",
        action="append",
        type=Path,
        help="corpus the gold rec_ids are in, for document-level gold (repeatable)",
    )
    gold.add_argument("--no-answers", action="store_true", help="retrieval metrics only (skip /ask)")
    gold.add_argument("--gate", action="store_true", help="apply the project's thresholds (see eval/README.md)")
    _common(gold)
    gold.set_defaults(handler=cmd_gold)

    bench = sub.add_parser("benchmark", help="score an external benchmark (corpus.jsonl + questions.jsonl)")
    bench.add_argument("--corpus", type=Path, required=True, help="the benchmark's corpus.jsonl")
    bench.add_argument("--questions", type=Path, required=True, help="the benchmark's questions.jsonl")
    bench.add_argument("--answers", action="store_true", help="also ask every question and score the answers")
    bench.add_argument(
        "--cache-dir", type=Path, default=Path(".cache/bench-index"), help="where benchmark indexes are kept"
    )
    bench.add_argument("--rebuild-index", action="store_true", help="rebuild the cached benchmark index")
    _common(bench)
    bench.set_defaults(handler=cmd_benchmark)

    compare = sub.add_parser("compare", help="what improved and what regressed between two reports")
    compare.add_argument("a", type=Path, help="the baseline report (a per-configuration JSON or combined.json)")
    compare.add_argument("b", type=Path, help="the new report")
    compare.add_argument("--latency", action="store_true", help="compare latency too (it varies between runs)")
    compare.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    compare.add_argument("--fail-on-regression", action="store_true", help="exit 1 if any metric regressed")
    compare.set_defaults(handler=cmd_compare)

    fit = sub.add_parser(
        "fit-gate", help="refit the evidence gate's weights on a gold set, with a cross-validated estimate"
    )
    fit.add_argument(
        "--gold",
        type=Path,
        action="append",
        help="gold set with unanswerable questions; repeat to fit on several (default: the default gold set)",
    )
    fit.add_argument("--index", help="index directory (default: $GQA_INDEX_DIR or .index)")
    fit.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    fit.add_argument("--l2", type=float, default=1.0, help="L2 penalty on the weights (default 1)")
    fit.add_argument("--threshold", type=float, help="abstention threshold (default: the configured one)")
    fit.add_argument("--features", help="comma-separated gate features (default: those of the gate in use)")
    fit.add_argument(
        "--write", type=Path, help="write the refitted gate (the in-use gate's threshold and penalty) to this file"
    )
    fit.add_argument("--quiet", action="store_true", help="no progress output")
    fit.set_defaults(handler=cmd_fit_gate)

    loso = sub.add_parser(
        "answerability",
        help="fit the gate on several sources and report leave-one-source-out figures (optionally write the gate file)",
    )
    loso.add_argument(
        "--source", action="append", help="only these sources (repeatable; default: every source present here)"
    )
    loso.add_argument("--features", help="comma-separated gate features (default: those of the gate in use)")
    loso.add_argument("--threshold", type=float, help="abstention threshold (default: the gate file's)")
    loso.add_argument("--l2", type=float, default=1.0, help="L2 penalty on the weights (default 1)")
    loso.add_argument("--cache", type=Path, default=Path(".cache/answerability"), help="indexes and derived sets")
    loso.add_argument("--write", type=Path, help="write the gate fitted on all sources to this file")
    loso.add_argument("--out", type=Path, help="write the report (Markdown) to this file")
    loso.add_argument("--quiet", action="store_true", help="no progress output")
    loso.set_defaults(handler=cmd_answerability)

    pooled = sub.add_parser(
        "pooled", help="pool several reports question by question: each figure with its 95%% bootstrap interval"
    )
    pooled.add_argument("reports", type=Path, nargs="+", help="report directories (or their run files)")
    pooled.add_argument("--mode", default="hybrid", help="the configuration read from each directory (default hybrid)")
    pooled.add_argument("--title", default="Pooled", help="the report's title")
    pooled.add_argument("--out", type=Path, help="also write the report (Markdown) to this file")
    pooled.set_defaults(handler=cmd_pooled)

    removed = sub.add_parser(
        "answer-removed",
        help="ask each answerable gold question with its answer hidden: how many of these near misses abstain",
    )
    removed.add_argument(
        "--gold", type=Path, action="append", required=True, help="gold set whose answers the index holds (repeatable)"
    )
    removed.add_argument("--index", help="index directory (default: $GQA_INDEX_DIR or .index)")
    removed.add_argument("--out", type=Path, help="also write the report (Markdown) to this file")
    removed.add_argument("--json", type=Path, help="write every question's outcome (JSON lines) to this file")
    removed.add_argument("--quiet", action="store_true", help="no progress output")
    removed.set_defaults(handler=cmd_answer_removed)

    grounding = sub.add_parser(
        "grounding",
        help="check the service's answer sentences as if a model wrote them, then changed: how many wrong ones pass",
    )
    grounding.add_argument("--gold", type=Path, action="append", required=True, help="gold set to ask (repeatable)")
    grounding.add_argument("--index", help="index directory (default: $GQA_INDEX_DIR or .index)")
    grounding.add_argument("--out", type=Path, help="also write the report (Markdown) to this file")
    grounding.add_argument("--json", type=Path, help="write the changed sentences that passed (JSON) to this file")
    grounding.add_argument("--quiet", action="store_true", help="no progress output")
    grounding.set_defaults(handler=cmd_grounding)

    probe = sub.add_parser(
        "dose-probe",
        help='ask "<drug> dose?" for every drug the index doses: is the first dose read the asked drug\'s?',
    )
    probe.add_argument("--index", help="index directory (default: $GQA_INDEX_DIR or .index)")
    probe.add_argument(
        "--question",
        default="{drug} dose?",
        help='the question asked of each drug, "{drug}" standing for its name (default: "{drug} dose?")',
    )
    probe.add_argument("--out", type=Path, help="also write the report (Markdown) to this file")
    probe.add_argument("--json", type=Path, help="write every drug's outcome (JSON lines) to this file")
    probe.add_argument("--quiet", action="store_true", help="no progress output")
    probe.set_defaults(handler=cmd_dose_probe)


def _guard(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    from qa_service.errors import ServiceError

    try:
        return handler(args)
    except (EvalError, ServiceError) as exc:
        print(f"guideline-qa eval: {exc}", file=sys.stderr)
        return 2


def _settings(index: str | None = None) -> Settings:
    from qa_service.settings import Settings

    settings = Settings()
    if index:
        settings.index_dir = Path(index)
    return settings


def _modes(args: argparse.Namespace, settings: Settings) -> list[str]:
    from qa_service.settings import RetrievalSettings

    if args.url:
        if args.modes:
            raise EvalError(
                "--modes needs the in-process pipeline: a service's retrieval mode is set by its own settings"
            )
        return []
    if not args.modes:
        return [settings.retrieval.mode]
    known = get_args(RetrievalSettings.model_fields["mode"].annotation)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in known]
    if unknown or not modes:
        raise EvalError(f"unknown retrieval mode {', '.join(unknown) or '(none)'}; choose from {', '.join(known)}")
    return list(dict.fromkeys(modes))


def _targets(args: argparse.Namespace, settings: Settings, modes: Sequence[str]) -> list[EvalTarget]:
    if args.url:
        from eval.targets import HttpTarget

        return [HttpTarget(args.url, api_key=args.api_key, timeout=args.timeout)]
    from eval.targets import pipeline_targets

    started = time.perf_counter()
    _say(args, f"loading the pipeline over {settings.index_dir}")
    targets: list[EvalTarget] = list(pipeline_targets(settings, modes))
    _say(args, f"loaded in {time.perf_counter() - started:.1f} s")
    return targets


def _progress(args: argparse.Namespace) -> Callable[[str, int, int], None]:
    def report(name: str, done: int, total: int) -> None:
        if done == total or done % 25 == 0:
            _say(args, f"  {name}: {done}/{total} questions")

    return report


Limits = tuple[dict[str, float], dict[str, float]]


def _limits(args: argparse.Namespace, project_gate: bool) -> Limits:
    """Parsed before anything runs, so a typo fails at once."""
    from eval.gate import thresholds

    return thresholds(project=project_gate, minimums=args.min, maximums=args.max)


def _finish(args: argparse.Namespace, dataset: EvalSet, runs: Sequence[RunResult], limits: Limits) -> int:
    from eval.gate import check_gate, gate_values
    from eval.report import summary_markdown, write_reports

    out = Path(args.out) if args.out else Path("reports") / dataset.name
    write_reports(runs, dataset, out)
    print(summary_markdown(runs, dataset))
    print(f"reports written to {out}/ (summary.md, report.html, combined.json, one JSON per configuration)")
    minimums, maximums = limits
    if not (minimums or maximums):
        return 0
    gated = runs[0]
    failures = check_gate(gate_values(gated.to_json()), minimums=minimums, maximums=maximums)
    if failures:
        print(f"gate FAILED for {gated.name}: " + "; ".join(failures), file=sys.stderr)
        return 1
    print(f"gate passed for {gated.name} ({len(minimums) + len(maximums)} thresholds)")
    return 0


def _evaluate(
    args: argparse.Namespace, dataset: EvalSet, targets: Sequence[EvalTarget], answers: bool
) -> list[RunResult]:
    from eval.runner import evaluate

    runs = []
    for target in targets:
        _say(args, f"evaluating {target.name} on {len(dataset.questions)} questions")
        runs.append(evaluate(target, dataset, answers=answers, top_k=args.top_k, progress=_progress(args)))
        _say(args, f"  {target.name}: {runs[-1].seconds:.1f} s")
    return runs


def _close(targets: Sequence[EvalTarget]) -> None:
    for target in targets:
        close: Any = getattr(target, "close", None)
        if callable(close):
            close()


def _gold(args: argparse.Namespace) -> int:
    from eval.gold import load_gold

    limits = _limits(args, args.gate)
    settings = _settings(args.index)
    modes = _modes(args, settings)
    missing = [str(p) for p in args.corpus or () if not p.exists()]
    if missing:
        raise EvalError(f"--corpus {', '.join(missing)}: no such file or folder")
    # The configured corpus may be absent when checking a remote service: then only rec-level gold is used.
    corpus = [p for p in args.corpus or settings.corpus_paths if p.exists()]
    dataset = load_gold(args.gold, corpus_paths=corpus or None).limited(args.limit, spread=args.spread)
    for warning in dataset.warnings:
        _say(args, f"warning: {warning}")
    targets = _targets(args, settings, modes)
    try:
        runs = _evaluate(args, dataset, targets, answers=not args.no_answers)
    finally:
        _close(targets)
    return _finish(args, dataset, runs, limits)


def _benchmark(args: argparse.Namespace) -> int:
    from eval.gold import load_benchmark
    from eval.runner import benchmark_index

    limits = _limits(args, False)
    settings = _settings()
    modes = _modes(args, settings)
    dataset = load_benchmark(args.questions, args.corpus).limited(args.limit, spread=args.spread)
    if not args.url:
        embedding = settings.embedding
        if not args.answers:
            # Retrieval alone needs no sentence vectors: a cheaper index (or a cached richer one) does.
            embedding = embedding.model_copy(update={"sentence_vectors": "none"})
        elif embedding.sentence_vectors == "none":
            embedding = embedding.model_copy(update={"sentence_vectors": "pooled"})
        started = time.perf_counter()
        index_dir, embedding = benchmark_index(
            args.corpus,
            cache_dir=args.cache_dir,
            embedding=embedding,
            chunking=settings.chunking,
            index_settings=settings.index,
            rebuild=args.rebuild_index,
            on_status=None if args.quiet else (lambda msg: _say(args, msg)),
        )
        _say(args, f"benchmark index ready in {time.perf_counter() - started:.1f} s")
        settings = settings.model_copy(update={"index_dir": index_dir, "embedding": embedding})
    targets = _targets(args, settings, modes)
    try:
        runs = _evaluate(args, dataset, targets, answers=args.answers)
    finally:
        _close(targets)
    return _finish(args, dataset, runs, limits)


def _compare(args: argparse.Namespace) -> int:
    import json

    from eval.compare import compare_files, render_comparison

    comparisons = compare_files(args.a, args.b, latency=args.latency)
    if args.json:
        print(json.dumps([c.to_json() for c in comparisons], indent=2, ensure_ascii=False))
    else:
        print(render_comparison(comparisons))
    regressed = sum(c.count("regressed") for c in comparisons)
    return 1 if (regressed and args.fail_on_regression) else 0


def _fit_gate(args: argparse.Namespace) -> int:
    from eval.fit_gate import fit_gate
    from eval.gold import load_gold
    from qa_service.pipeline import QAPipeline

    if args.folds < 2:
        raise EvalError("--folds must be at least 2")
    if args.l2 < 0:
        raise EvalError("--l2 must not be negative")
    settings = _settings(args.index)
    paths = args.gold or [DEFAULT_GOLD]
    sets = [load_gold(path) for path in paths]
    questions = [q for s in sets for q in s.questions]
    repeated = sorted(qid for qid, n in Counter(q.qid for q in questions).items() if n > 1)
    if repeated:
        raise EvalError(f"question ids appear in more than one gold set: {', '.join(repeated[:5])}")
    dataset = replace(sets[0], name="+".join(s.name for s in sets), questions=tuple(questions))
    if all(q.answerable for q in dataset.questions) or not any(q.answerable for q in dataset.questions):
        raise EvalError(f"{', '.join(map(str, paths))}: the gate needs both answerable and unanswerable questions")
    from qa_service.gate_model import FEATURES

    features = [f.strip() for f in args.features.split(",")] if args.features else None
    unknown = [f for f in features or () if f not in FEATURES]
    if unknown:
        raise EvalError(f"--features: unknown {', '.join(unknown)}; known: {', '.join(FEATURES)}")
    _say(args, f"asking {len(dataset.questions)} questions to collect the gate's evidence")
    pipeline = QAPipeline.from_settings(settings)
    report = fit_gate(pipeline, dataset, folds=args.folds, l2=args.l2, threshold=args.threshold, features=features)
    print(report.to_text())
    if args.write:
        import datetime as dt
        import json
        import shlex

        command = "guideline-qa eval fit-gate " + shlex.join(
            [*(f"--gold={p}" for p in paths), f"--features={','.join(report.model.features)}", f"--l2={args.l2}"]
        )
        cv, ins = report.cross_validated, report.in_sample
        provenance = {
            "fitted": dt.date.today().isoformat(),
            "command": command,
            "data": f"{dataset.name} ({len(dataset.questions)} questions) over {settings.index_dir}",
            "method": f"class-balanced logistic regression, L2 {args.l2}, Newton's method (eval/fit_gate.py)",
            "figures": (
                f"threshold {report.settings['threshold']}: in-sample {ins['abstention_recall']:.3f} unanswerable "
                f"abstained / {ins['false_abstention_rate']:.3f} answerable wrongly abstained; "
                f"{args.folds}-fold cross-validated {cv['abstention_recall']:.3f} / {cv['false_abstention_rate']:.3f}"
            ),
        }
        in_use = pipeline.gate.model
        model = replace(
            report.model,
            threshold=in_use.threshold,
            caution_band=in_use.caution_band,
            judge=in_use.judge,
            dense_reference=in_use.dense_reference,  # the samples' dense feature was read under it
            provenance=provenance,
        )
        _write(args.write, json.dumps(model.to_json(), indent=2) + "\n")
        _say(args, f"wrote the refitted gate to {args.write}")
        _note_stale_judge(args, model)
    return 0


def _note_stale_judge(args: argparse.Namespace, model: GateModel) -> None:
    """A refitted gate keeps the judge's entry, whose weights were fitted on the previous gate's scores."""
    if model.judge is not None:
        _say(
            args,
            "the judge's weights in it were fitted on the previous gate's scores: "
            "refit them with python -m train.judge_gate",
        )


def _answerability(args: argparse.Namespace) -> int:
    import shlex

    from eval.answerability import collect_source, leave_one_source_out, project_sources, restated_answers
    from qa_service.gate_model import FEATURES, packaged_gate

    settings = _settings()
    current = packaged_gate()
    features = [f.strip() for f in args.features.split(",")] if args.features else list(current.features)
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise EvalError(f"--features: unknown {', '.join(unknown)}; known: {', '.join(FEATURES)}")
    sources, missing = project_sources(args.cache)
    for note in missing:
        _say(args, f"skipping {note}")
    if args.source:
        wanted = set(args.source)
        unknown = sorted(wanted - {s.name for s in sources})
        if unknown:
            raise EvalError(f"--source: not available here: {', '.join(unknown)}")
        sources = [s for s in sources if s.name in wanted]
    samples = {}
    for source in sources:
        _say(args, f"{source.name}: asking {len(source.dataset.questions)} questions")
        samples[source.name] = collect_source(
            source, settings, cache_dir=args.cache, on_status=None if args.quiet else lambda m: _say(args, m)
        )
    threshold = current.threshold if args.threshold is None else args.threshold
    report = leave_one_source_out(samples, features, l2=args.l2, threshold=threshold, current=current)
    for source in sources:  # how far the benchmarks' unanswerable labels hold
        corpus = source.corpus[0]
        if corpus.suffix == ".jsonl" and (corpus.parent / "questions.jsonl").is_file():
            unanswerable, restated = restated_answers(corpus.parent / "questions.jsonl", corpus)
            if unanswerable:
                report.audits[source.name] = (unanswerable, restated)
    text = report.to_markdown()
    print(text)
    _write(args.out, text + "\n")
    if args.write:
        import json

        command = "guideline-qa eval answerability " + shlex.join(
            [f"--features={','.join(features)}", f"--threshold={threshold}", f"--l2={args.l2}"]
        )
        model = replace(report.model, judge=current.judge)
        data = model.to_json() | {"provenance": report.provenance(command)}
        args.write.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        _say(args, f"wrote the gate fitted on {len(samples)} sources to {args.write}")
        _note_stale_judge(args, model)
    return 0


def _answer_removed(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from eval.answer_removed import ask_with_answer_removed, to_markdown
    from eval.gold import load_gold
    from qa_service.pipeline import QAPipeline

    sets = [load_gold(path) for path in args.gold]  # every file checked before the index loads
    settings = _settings(args.index)
    _say(args, f"loading the pipeline over {settings.index_dir}")
    pipeline = QAPipeline.from_settings(settings)
    summaries = []
    report = _progress(args)
    for dataset in sets:
        summary = ask_with_answer_removed(pipeline, dataset, on_progress=partial(report, dataset.name))
        if not summary.results:
            _say(args, f"  {dataset.name}: no gold answer of this set is in {settings.index_dir}")
        summaries.append(summary)
    text = to_markdown(summaries)
    print(text)
    _write(args.out, text + "\n")
    rows = [{"set": s.name, **asdict(r)} for s in summaries for r in s.results]
    _write(args.json, "".join(json.dumps(row) + "\n" for row in rows))
    return 0


def _grounding(args: argparse.Namespace) -> int:
    import json

    from eval.gold import load_gold
    from eval.grounding_mutations import mutate_answers, to_markdown
    from qa_service.pipeline import QAPipeline
    from qa_service.schemas import AskRequest

    sets = [load_gold(path) for path in args.gold]  # every file checked before the index loads
    settings = _settings(args.index)
    _say(args, f"loading the pipeline over {settings.index_dir}")
    pipeline = QAPipeline.from_settings(settings)
    answers: list[tuple[str, dict[int, str]]] = []
    report = _progress(args)
    for dataset in sets:
        for done, question in enumerate(dataset.questions, 1):
            reply = pipeline.ask(AskRequest(question=question.question))
            if not reply.abstained:
                answers.append((reply.answer, {c.id: c.quote for c in reply.citations}))
            report(dataset.name, done, len(dataset.questions))
    summary = mutate_answers(answers)
    text = to_markdown([(f"{settings.index_dir} ({len(answers)} answers)", summary)])
    print(text)
    _write(args.out, text + "\n")
    passed = {"missed": summary.missed, "originals_rejected": summary.rejected_originals}
    _write(args.json, json.dumps(passed, indent=1) + "\n")
    return 0


def cmd_grounding(args: argparse.Namespace) -> int:
    """`guideline-qa eval grounding`."""
    return _guard(_grounding, args)


def _dose_probe(args: argparse.Namespace) -> int:
    import json
    from dataclasses import asdict

    from eval.dose_probe import asked, probe_doses, to_markdown
    from qa_service.pipeline import QAPipeline

    asked(args.question, "x")  # a template without "{drug}" is refused before the index loads
    settings = _settings(args.index)
    _say(args, f"loading the pipeline over {settings.index_dir}")
    pipeline = QAPipeline.from_settings(settings)
    report = _progress(args)
    probe = probe_doses(pipeline, template=args.question, on_progress=lambda done, total: report("drugs", done, total))
    text = to_markdown([probe])
    print(text)
    _write(args.out, text + "\n")
    _write(args.json, "".join(json.dumps(asdict(r)) + "\n" for r in probe.results))
    return 0


def cmd_dose_probe(args: argparse.Namespace) -> int:
    """`guideline-qa eval dose-probe`."""
    return _guard(_dose_probe, args)


def _write(path: Path | None, text: str) -> None:
    """Write a report to the file an option names (its folder made), when it names one."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _pooled(args: argparse.Namespace) -> int:
    from eval.pooled import pool, to_markdown

    report = to_markdown(pool(args.reports, args.mode), args.title)
    print(report)
    _write(args.out, report)
    return 0


def cmd_pooled(args: argparse.Namespace) -> int:
    """`guideline-qa eval pooled`."""
    return _guard(_pooled, args)


def cmd_answer_removed(args: argparse.Namespace) -> int:
    """`guideline-qa eval answer-removed`."""
    return _guard(_answer_removed, args)


def cmd_answerability(args: argparse.Namespace) -> int:
    """`guideline-qa eval answerability`."""
    return _guard(_answerability, args)


def cmd_fit_gate(args: argparse.Namespace) -> int:
    """`guideline-qa eval fit-gate`."""
    return _guard(_fit_gate, args)


def cmd_gold(args: argparse.Namespace) -> int:
    """`eval gold`: the project's gold set against the index (or --url)."""
    return _guard(_gold, args)


def cmd_benchmark(args: argparse.Namespace) -> int:
    """`eval benchmark`: an external benchmark against a cached index of its corpus (or --url)."""
    return _guard(_benchmark, args)


def cmd_compare(args: argparse.Namespace) -> int:
    """`eval compare A B`: per metric and per question, what improved and what regressed."""
    return _guard(_compare, args)
