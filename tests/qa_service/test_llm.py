"""The LLM composer and its bounded client: grounded sentences only, honest fallbacks, calls that stop.

Fakes only: LangChain's FakeListChatModel, httpx.MockTransport, and a tiny OpenAI-style streaming server on
loopback that records when its client went away (as llama.cpp's server stops generating then).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pydantic import Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from qa_service.app import create_app
from qa_service.compose import ExtractiveComposer
from qa_service.composed import AnswerSentence, Candidate, Composed
from qa_service.grounding import citations_in, numbers_in, strip_citations
from qa_service.llm import LLMComposer, is_decline, split_generated
from qa_service.llm_client import (
    Generation,
    GenerationError,
    LangChainChat,
    OpenAIChat,
    build_chat_model,
    cancellation,
    current_cancel,
)
from qa_service.pipeline import QAPipeline
from qa_service.render import render
from qa_service.schemas import AskRequest, AskResponse, SearchRequest
from qa_service.settings import AnswerSettings, LLMSettings, Settings
from tests.fakes.service import FakePipeline, serve
from tests.qa_service.mini_corpus import candidates_for, make_embedder, query_vector

RT_QUESTION = "single fraction dose for painful bone metastases"


@pytest.fixture
def rt_and_bma(mini_index) -> list[Candidate]:
    return candidates_for(mini_index, "BM-RT-01", "BM-MM-01", "BM-DX-01")


def extractive(mini_index) -> ExtractiveComposer:
    return ExtractiveComposer(mini_index, AnswerSettings())


class BrokenChatModel:
    """A chat model whose server is down."""

    def invoke(self, _messages, **_kwargs):
        raise ConnectionError("connection refused")


class RecordingChatModel(FakeListChatModel):
    """FakeListChatModel that keeps the messages and options it was sent."""

    seen: list = Field(default_factory=list)
    options: list = Field(default_factory=list)

    def invoke(self, messages, *args, **kwargs):
        self.seen.append(messages)
        self.options.append(kwargs)
        return super().invoke(messages, *args, **kwargs)


class ScriptedChat:
    """A `ChatModel` that returns a fixed generation (or raises), sharing one slot."""

    def __init__(self, text: str = "", finish_reason: str | None = "stop", error: GenerationError | None = None):
        self.text, self.finish_reason, self.error = text, finish_reason, error
        self.max_concurrency = 1
        self.slots = threading.BoundedSemaphore(1)
        self.calls: list[dict[str, Any]] = []

    def complete_chat(self, messages, *, max_tokens, timeout_s, cancel):
        self.calls.append({"messages": messages, "max_tokens": max_tokens, "timeout_s": timeout_s, "cancel": cancel})
        if self.error is not None:
            raise self.error
        return Generation(self.text, self.finish_reason)


def llm(mini_index, reply: str, settings: LLMSettings | None = None) -> LLMComposer:
    return LLMComposer(FakeListChatModel(responses=[reply]), extractive(mini_index), settings)


def compose(composer: LLMComposer, candidates: list[Candidate], max_words: int = 120, question: str = RT_QUESTION):
    return composer.compose(question, query_vector(question), candidates, max_words=max_words)


# -- grounding of what the model wrote -----------------------------------------------------------------


def test_llm_answer_that_is_grounded_is_kept(mini_index, rt_and_bma):
    reply = (
        "Per ESMO 2020, a single fraction of 8 Gy relieves pain as well as 20 Gy in 5 fractions [1]. "
        "Denosumab 120 mg every 4 weeks is recommended for breast cancer with bone metastases [2]."
    )

    composed = compose(llm(mini_index, reply), rt_and_bma)
    answer, order = render(composed, rt_and_bma)

    assert composed.composer == "llm" and composed.dropped == [] and composed.note is None
    assert composed.fallback is None
    assert [s.source for s in composed.sentences] == [0, 1]
    assert answer == (
        "Per ESMO 2020, a single fraction of 8 Gy relieves pain as well as 20 Gy in 5 fractions. [1] "
        "Denosumab 120 mg every 4 weeks is recommended for breast cancer with bone metastases. [2]"
    )
    assert order == [0, 1]


def test_llm_sentence_with_a_wrong_dose_is_dropped_and_reported(mini_index, rt_and_bma):
    reply = (
        "Per ESMO 2020, a single fraction of 8 Gy relieves pain [1]. "
        "Denosumab 240 mg every 4 weeks is recommended [2]. "
        "Retreatment is more frequent after a single fraction [1]."
    )

    composed = compose(llm(mini_index, reply), rt_and_bma)

    assert composed.composer == "llm"
    assert [s.text for s in composed.sentences] == [
        "Per ESMO 2020, a single fraction of 8 Gy relieves pain.",
        "Retreatment is more frequent after a single fraction.",
    ]
    assert [(d.sentence, d.reason, d.kind) for d in composed.dropped] == [
        ("Denosumab 240 mg every 4 weeks is recommended [2].", "number 240 not in the cited passage", "ungrounded")
    ]


def test_llm_sentences_with_a_foreign_drug_or_an_unknown_citation_are_dropped(mini_index, rt_and_bma):
    reply = (
        "Pamidronate every 4 weeks is recommended for breast cancer [2]. "
        "A single fraction of 8 Gy relieves pain [7]. "
        "External beam radiotherapy is the standard treatment for painful bone metastases [1]."
    )

    composed = compose(llm(mini_index, reply), rt_and_bma)

    assert [d.reason for d in composed.dropped] == [
        "drug pamidronate not in the cited passage",
        "cites unknown passage [7]",
    ]
    assert len(composed.sentences) == 1 and composed.sentences[0].source == 0


def test_a_bare_yes_or_no_and_a_sentence_in_words_its_passage_never_uses_are_dropped(mini_index, rt_and_bma):
    # A small real model answered "should patients on denosumab take calcium and vitamin D?" with "No. [1]": no
    # number or drug to check, and nothing its passage says.
    reply = (
        "No [2]. "
        "Acupuncture and massage therapy are preferred over medication for these patients [1]. "
        "A single fraction of 8 Gy relieves pain [1]."
    )

    composed = compose(llm(mini_index, reply), rt_and_bma)

    assert [s.text for s in composed.sentences] == ["A single fraction of 8 Gy relieves pain."]
    assert [(d.reason, d.kind) for d in composed.dropped] == [
        ("states too little to check against the cited passage (a bare yes or no)", "ungrounded"),
        ("only 0 of its 6 keywords are in the cited passages", "ungrounded"),
    ]


def test_a_sentence_saying_the_opposite_of_its_passage_is_dropped(mini_index, rt_and_bma):
    # Every number, drug and word of these sentences is in the cited passage; only their sense is turned around.
    reply = (
        "A single fraction of 8 Gy does not relieve pain as well as 20 Gy in 5 fractions [1]. "
        "Retreatment is never more frequent after a single fraction [1]. "
        "External beam radiotherapy is the standard treatment for painful uncomplicated bone metastases [1]."
    )

    composed = compose(llm(mini_index, reply), rt_and_bma)

    assert [s.text for s in composed.sentences] == [
        "External beam radiotherapy is the standard treatment for painful uncomplicated bone metastases."
    ]
    assert [d.reason for d in composed.dropped] == [
        "negates differently from the cited passage (not, no, never, avoid, against, without)"
    ] * 2


def test_a_drug_named_where_its_passage_names_another_is_dropped(mini_index):
    # The hypercalcaemia passage names denosumab, so the check once passed any sentence naming it: calcitonin's
    # "rapid effect" given to denosumab stood. A statement naming no drug ("These agents reduce skeletal-related
    # events") may be said of the drugs it refers to.
    candidates = candidates_for(mini_index, "HCM-01", "BM-MM-01")
    reply = (
        "Denosumab can be added for a rapid effect [1]. "
        "Calcitonin can be added for a rapid effect [1]. "
        "Denosumab reduces skeletal-related events [2]."
    )

    composed = compose(llm(mini_index, reply), candidates, question="hypercalcaemia of malignancy treatment")

    assert [s.text for s in composed.sentences] == [
        "Calcitonin can be added for a rapid effect.",
        "Denosumab reduces skeletal-related events.",
    ]
    assert [d.reason for d in composed.dropped] == ["drug denosumab not in the cited passage's statement it restates"]


def test_a_sentence_citing_two_passages_is_checked_against_both_and_keeps_both_markers(mini_index, rt_and_bma):
    both = "A single fraction of 8 Gy relieves pain, and denosumab 120 mg every 4 weeks is recommended [1][2]."
    only_first = "A single fraction of 8 Gy relieves pain, and denosumab 120 mg every 4 weeks is recommended [1]."

    composed = compose(llm(mini_index, f"{both} {only_first}"), rt_and_bma)
    answer, order = render(composed, rt_and_bma)

    assert [(s.source, s.also) for s in composed.sentences] == [(0, (1,))]
    assert [d.reason for d in composed.dropped] == ["number 120 not in the cited passage"]
    assert answer.endswith("every 4 weeks is recommended. [1][2]") and order == [0, 1]


def test_pipeline_lists_every_passage_a_multi_cited_sentence_rests_on(mini_index, mini_index_dir):
    reply = "Denosumab 120 mg every 4 weeks is recommended, and a single fraction of 8 Gy relieves pain [2][1]."
    pipeline = QAPipeline(
        mini_index, make_embedder(), Settings(index_dir=mini_index_dir), chat_model=FakeListChatModel(responses=[reply])
    )

    response = pipeline.ask(AskRequest(question="denosumab dose and single fraction radiotherapy", composer="llm"))

    assert response.composer == "llm" and response.fallback is None and not response.abstained
    assert response.answer.endswith("[1][2]")
    assert {c.rec_id for c in response.citations} == {"BM-RT-01", "BM-MM-01"}
    assert [c.id for c in response.citations] == [1, 2]
    for marker in citations_in(response.answer):  # every number is in a passage the sentence cites
        assert marker in {c.id for c in response.citations}
    quotes = " ".join(c.quote for c in response.citations)
    assert set(numbers_in(strip_citations(response.answer))) <= set(numbers_in(quotes))


def test_a_sentence_cut_off_at_max_tokens_is_dropped_as_truncated(mini_index, rt_and_bma):
    model = ScriptedChat(
        "A single fraction of 8 Gy relieves pain [1]. Retreatment is more frequent after a sin", "length"
    )

    composed = compose(LLMComposer(model, extractive(mini_index)), rt_and_bma)

    assert [s.text for s in composed.sentences] == ["A single fraction of 8 Gy relieves pain."]
    assert [(d.kind, d.reason) for d in composed.dropped] == [("truncated", "cut off at max_tokens")]


# -- honest fallbacks ---------------------------------------------------------------------------------


def test_llm_reply_with_nothing_grounded_falls_back_to_extractive_saying_so(mini_index, rt_and_bma):
    reply = "A single fraction of 6 Gy is enough [1]. Zoledronic acid 8 mg monthly is advised [2]. Rest helps."
    expected = extractive(mini_index).compose(RT_QUESTION, query_vector(RT_QUESTION), rt_and_bma, max_words=120)

    composed = compose(llm(mini_index, reply), rt_and_bma)

    assert composed.composer == "extractive" and composed.fallback == "ungrounded"
    assert [s.text for s in composed.sentences] == [s.text for s in expected.sentences]
    assert "no generated sentence passed the grounding check" in (composed.note or "")
    assert [d.reason for d in composed.dropped] == [
        "number 6 not in the cited passage",
        "number 8 not in the cited passage",
        "no citation",
    ]


def test_a_model_that_declines_is_reported_as_declining_and_its_line_is_listed(mini_index, rt_and_bma):
    composed = compose(llm(mini_index, "The guidelines provided do not cover this."), rt_and_bma)

    assert composed.composer == "extractive" and composed.sentences and composed.fallback == "declined"
    assert composed.note is not None and composed.note.startswith("the model declined")
    assert [(d.sentence, d.kind) for d in composed.dropped] == [
        ("The guidelines provided do not cover this.", "declined")
    ]


def test_a_decline_beside_a_grounded_sentence_keeps_the_sentence_and_lists_the_decline(mini_index, rt_and_bma):
    reply = "A single fraction of 8 Gy relieves pain [1]. The passages do not mention re-irradiation."

    composed = compose(llm(mini_index, reply), rt_and_bma)

    assert composed.composer == "llm" and composed.fallback is None
    assert [d.kind for d in composed.dropped] == ["declined"]


@pytest.mark.parametrize(
    ("sentence", "declines"),
    [
        ("The guidelines provided do not cover this.", True),
        ("The provided passages don't address dosing in children.", True),
        ("I cannot answer this from the passages.", True),
        ("This is not covered by the guidelines provided.", True),
        ("No information is provided on re-irradiation.", True),
        ('The guidelines provided are not available for the question "SBRT fractionation".', True),
        ("Denosumab is not available in every country [1].", False),
        ("There is insufficient evidence to recommend routine imaging [1].", False),
        ("Denosumab is not recommended in renal failure [2].", False),
    ],
)
def test_declines_are_told_apart_from_negative_recommendations(sentence, declines):
    assert is_decline(sentence) is declines


def test_a_server_error_falls_back_with_its_reason(mini_index, rt_and_bma):
    composer = LLMComposer(BrokenChatModel(), extractive(mini_index))

    composed = compose(composer, rt_and_bma)

    assert composed.composer == "extractive" and composed.sentences and composed.fallback == "server_error"
    assert composed.note == ("the LLM server failed (ConnectionError: connection refused); extractive answer returned")


def test_a_slow_model_times_out_and_falls_back(mini_index, rt_and_bma):
    class Slow:
        def invoke(self, _messages, **_kwargs):
            time.sleep(2)

    composer = LLMComposer(Slow(), extractive(mini_index), LLMSettings(timeout_s=0.2))

    started = time.monotonic()
    composed = compose(composer, rt_and_bma)

    assert time.monotonic() - started < 1.0
    assert composed.fallback == "timeout" and composed.sentences
    assert "did not finish in time (the model did not finish within 0.2 s)" in (composed.note or "")


def test_with_every_slot_taken_an_llm_request_falls_back_as_busy_after_a_short_wait(mini_index, rt_and_bma):
    model = ScriptedChat("A single fraction of 8 Gy relieves pain [1].")
    composer = LLMComposer(model, extractive(mini_index), LLMSettings(queue_wait_s=0.1))
    model.slots.acquire()  # a slow request holds the only slot
    try:
        started = time.monotonic()
        composed = compose(composer, rt_and_bma)
        waited = time.monotonic() - started
    finally:
        model.slots.release()

    assert composed.fallback == "busy" and composed.composer == "extractive" and composed.sentences
    assert 0.1 <= waited < 0.5 and model.calls == []
    assert compose(composer, rt_and_bma).composer == "llm"  # the slot is free again


def test_the_slot_is_released_when_the_model_fails(mini_index, rt_and_bma):
    model = ScriptedChat(error=GenerationError("server_error", "HTTP 500: boom"))
    composer = LLMComposer(model, extractive(mini_index), LLMSettings(queue_wait_s=0))

    assert [compose(composer, rt_and_bma).fallback for _ in range(3)] == ["server_error"] * 3


def test_an_extractive_request_never_waits_for_an_llm_slot(mini_index, mini_index_dir):
    model = ScriptedChat("A single fraction of 8 Gy relieves pain [1].")
    settings = Settings(index_dir=mini_index_dir, llm=LLMSettings(queue_wait_s=5))
    pipeline = QAPipeline(mini_index, make_embedder(), settings, chat_model=model)
    model.slots.acquire()
    try:
        started = time.monotonic()
        response = pipeline.ask(AskRequest(question=RT_QUESTION))
        assert time.monotonic() - started < 1.0 and response.composer == "extractive"
    finally:
        model.slots.release()


# -- bounded generation --------------------------------------------------------------------------------


def test_max_tokens_follows_the_answer_length_unless_set(mini_index, rt_and_bma):
    model = ScriptedChat("A single fraction of 8 Gy relieves pain [1].")

    compose(LLMComposer(model, extractive(mini_index)), rt_and_bma, max_words=120)
    compose(LLMComposer(model, extractive(mini_index), LLMSettings(tokens_per_word=1.5)), rt_and_bma, max_words=300)
    compose(LLMComposer(model, extractive(mini_index), LLMSettings(max_tokens=64)), rt_and_bma, max_words=300)

    assert [c["max_tokens"] for c in model.calls] == [240, 450, 64]
    assert model.calls[0]["timeout_s"] == LLMSettings().timeout_s


def test_langchain_models_are_sent_max_tokens_and_the_prompt(mini_index, rt_and_bma):
    model = RecordingChatModel(responses=["A single fraction of 8 Gy relieves pain [1]."])

    compose(LLMComposer(model, extractive(mini_index)), rt_and_bma, max_words=80)

    system, human = model.seen[0]
    assert model.options[0] == {"max_tokens": 160}
    assert "[1]" in system.content and "At most 80 words" in system.content
    assert "[1] (ESMO 2020)" in human.content and "[2] (CCO/ASCO 2017)" in human.content
    assert "A single fraction of 8 Gy" in human.content and human.content.endswith(f"Question: {RT_QUESTION}")


def test_the_cancellation_of_the_request_reaches_the_model(mini_index, rt_and_bma):
    model = ScriptedChat("A single fraction of 8 Gy relieves pain [1].")
    event = threading.Event()

    with cancellation(event):
        assert current_cancel() is event
        compose(LLMComposer(model, extractive(mini_index)), rt_and_bma)
    assert current_cancel() is None and model.calls[0]["cancel"] is event


def test_build_chat_model_is_none_without_a_url_and_an_openai_client_with_one():
    assert build_chat_model(LLMSettings()) is None
    model = build_chat_model(LLMSettings(base_url="http://127.0.0.1:9/v1/", model="m", max_concurrency=3))
    assert isinstance(model, OpenAIChat) and model.base_url == "http://127.0.0.1:9/v1" and model.max_concurrency == 3


# -- the OpenAI-compatible client ----------------------------------------------------------------------


def _sse_body(pieces: list[str], finish: str = "stop") -> bytes:
    events = [{"choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]} for p in pieces]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"


def _client(handler) -> OpenAIChat:
    return OpenAIChat("http://llm.test/v1", "smol", api_key="k", transport=httpx.MockTransport(handler))


def _ask(client: OpenAIChat, **kwargs) -> Generation:
    options = {"max_tokens": 32, "timeout_s": 5.0, "cancel": None} | kwargs
    return client.complete_chat([{"role": "user", "content": "q"}], **options)


def test_openai_client_streams_and_sends_the_bounds():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = _sse_body(["A single ", "fraction [1].", " More"], finish="length")
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    generation = _ask(_client(handler), max_tokens=48)

    assert generation == Generation("A single fraction [1]. More", "length")
    sent = json.loads(seen[0].content)
    assert sent["max_tokens"] == 48 and sent["stream"] is True and sent["model"] == "smol"
    assert str(seen[0].url) == "http://llm.test/v1/chat/completions"
    assert seen[0].headers["authorization"] == "Bearer k"


def test_openai_client_can_be_called_from_inside_an_event_loop():
    body = _sse_body(["Fine [1]."])
    client = _client(lambda _r: httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body))

    async def caller() -> Generation:
        return _ask(client)

    assert asyncio.run(caller()) == Generation("Fine [1].", "stop")


def test_openai_client_reads_a_server_that_ignores_stream():
    completion = {"choices": [{"message": {"role": "assistant", "content": "Done [1]."}, "finish_reason": "stop"}]}

    generation = _ask(_client(lambda _r: httpx.Response(200, json=completion)))

    assert generation == Generation("Done [1].", "stop")


@pytest.mark.parametrize(
    ("response", "detail"),
    [
        (httpx.Response(500, text="model crashed"), "HTTP 500: model crashed"),
        (httpx.Response(200, headers={"content-type": "text/event-stream"}, content=b"data: {nope\n\n"), "JSON"),
        (
            httpx.Response(200, headers={"content-type": "text/event-stream"}, content=b'data: {"error": "oom"}\n\n'),
            "oom",
        ),
    ],
)
def test_openai_client_server_failures_are_server_errors(response, detail):
    with pytest.raises(GenerationError) as exc:
        _ask(_client(lambda _r: response))
    assert exc.value.reason == "server_error" and detail in exc.value.detail


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout])
def test_openai_client_cannot_connect_is_a_server_error(error):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise error("connection refused", request=request)

    with pytest.raises(GenerationError) as exc:
        _ask(_client(refuse))
    assert exc.value.reason == "server_error"


def test_openai_client_read_timeout_is_a_timeout():
    def stall(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no bytes", request=request)

    with pytest.raises(GenerationError) as exc:
        _ask(_client(stall))
    assert exc.value.reason == "timeout"


class SlowServer:
    """An OpenAI-style server that streams one token every `delay` seconds and notes when its client left."""

    def __init__(self, tokens: int = 200, delay: float = 0.05) -> None:
        self.tokens, self.delay = tokens, delay
        self.sent = 0
        self.stopped_at: float | None = None
        self.finished = False
        self.bodies: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])])

    async def chat(self, request: Request) -> StreamingResponse | JSONResponse:
        self.bodies.append(await request.json())

        async def tokens():
            try:
                for _ in range(self.tokens):
                    await asyncio.sleep(self.delay)
                    self.sent += 1
                    event = {"choices": [{"index": 0, "delta": {"content": "word "}, "finish_reason": None}]}
                    yield b"data: " + json.dumps(event).encode() + b"\n\n"
                self.finished = True
                yield b"data: [DONE]\n\n"
            finally:
                self.stopped_at = time.monotonic()

        return StreamingResponse(tokens(), media_type="text/event-stream")


def test_a_timed_out_generation_is_cancelled_on_the_server():
    server = SlowServer()
    with serve(server.app) as base:
        client = OpenAIChat(f"{base}/v1", "smol")
        started = time.monotonic()
        with pytest.raises(GenerationError) as exc:
            _ask(client, timeout_s=0.4)
        gave_up = time.monotonic()
        deadline = time.monotonic() + 2
        while server.stopped_at is None and time.monotonic() < deadline:
            time.sleep(0.02)

    assert exc.value.reason == "timeout"
    assert 0.4 <= gave_up - started < 0.8
    assert server.stopped_at is not None and server.stopped_at - gave_up < 0.5, "the server kept generating"
    assert not server.finished and server.sent < 20


def test_a_cancelled_generation_stops_the_server_too():
    server = SlowServer()
    event = threading.Event()
    with serve(server.app) as base:
        client = OpenAIChat(f"{base}/v1", "smol")
        threading.Timer(0.3, event.set).start()
        with pytest.raises(GenerationError) as exc:
            _ask(client, timeout_s=10, cancel=event)
        deadline = time.monotonic() + 2
        while server.stopped_at is None and time.monotonic() < deadline:
            time.sleep(0.02)

    assert exc.value.reason == "cancelled"
    assert server.stopped_at is not None and not server.finished


def test_langchain_adapter_gives_up_at_the_deadline_and_on_cancel():
    class Slow:
        def invoke(self, _messages, **_kwargs):
            time.sleep(1)

    chat = LangChainChat(Slow())
    with pytest.raises(GenerationError, match=r"within 0\.1 s"):
        chat.complete_chat([{"role": "user", "content": "q"}], max_tokens=8, timeout_s=0.1, cancel=None)
    event = threading.Event()
    event.set()
    with pytest.raises(GenerationError) as exc:
        chat.complete_chat([{"role": "user", "content": "q"}], max_tokens=8, timeout_s=5, cancel=event)
    assert exc.value.reason == "cancelled"


# -- scores and the evidence gate ----------------------------------------------------------------------


def test_a_kept_sentence_is_scored_like_the_passage_sentence_it_rests_on(mini_index, rt_and_bma):
    reply = "Per ESMO 2020, a single fraction of 8 Gy relieves pain as well as 20 Gy in 5 fractions [1]."
    scored = extractive(mini_index).score_sentences(RT_QUESTION, query_vector(RT_QUESTION), rt_and_bma)
    source_sentence = next(s for s in scored if s.text.startswith("A single fraction of 8 Gy"))

    composed = compose(llm(mini_index, reply), rt_and_bma)

    assert composed.sentences[0].score == pytest.approx(source_sentence.score)
    assert composed.best_sentence_score == pytest.approx(source_sentence.score) and source_sentence.score > 0


def test_the_gate_judges_an_llm_answer_on_the_passages_it_cites(mini_index, mini_index_dir, monkeypatch):
    question = "denosumab dose for breast cancer with bone metastases"
    settings = Settings(index_dir=mini_index_dir)
    ranked = QAPipeline(mini_index, make_embedder(), settings).search(SearchRequest(query=question)).passages
    n = next(i for i, p in enumerate(ranked) if p.rec_id == "BM-MM-01") + 1
    reply = f"Denosumab 120 mg every 4 weeks is recommended for breast cancer with bone metastases [{n}]."
    model = FakeListChatModel(responses=[reply])
    pipeline = QAPipeline(mini_index, make_embedder(), settings, chat_model=model)
    seen: list[tuple[list[int], float]] = []
    assess = pipeline.gate.assess

    def recording(question, hits, composed, *args, **kwargs):
        evidence = assess(question, hits, composed, *args, **kwargs)
        seen.append(([h.row for h in hits], evidence.features["sentence"]))
        return evidence

    monkeypatch.setattr(pipeline.gate, "assess", recording)
    response = pipeline.ask(AskRequest(question=question, composer="llm"))
    extractive_response = pipeline.ask(AskRequest(question=question))

    cited_row = next(r for r, c in enumerate(mini_index.chunks) if c.rec_id == "BM-MM-01")
    assert response.composer == "llm", response.reason
    assert seen[0][0] == [cited_row] and seen[0][1] > 0  # the cited passage only, and a real sentence score
    assert len(seen[1][0]) == len(ranked)  # the extractive answer is judged as before, on the ranked passages
    assert response.evidence_score > 0 and extractive_response.evidence_score > 0


def test_render_lists_each_source_once_in_the_order_first_cited():
    sentences = [
        AnswerSentence(text="One.", source=2, also=(0,)),
        AnswerSentence(text="Two.", source=0),
        AnswerSentence(text="Three.", source=1, also=(2, 1)),
    ]
    candidates = [None, None, None]

    answer, order = render(Composed(sentences=sentences, composer="llm"), candidates)  # type: ignore[arg-type]

    assert answer == "One. [1][2] Two. [2] Three. [3][1]"
    assert order == [2, 0, 1]


# -- splitting -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One [1]. Two [2].", ["One [1].", "Two [2]."]),
        ("One. [1] Two. [2]", ["One. [1]", "Two. [2]"]),
        ("- One [1].\n- Two [2].", ["One [1].", "Two [2]."]),
        ("1. One [1].\n2) Two [1][2].", ["One [1].", "Two [1][2]."]),
    ],
)
def test_generated_text_is_split_into_sentences_keeping_their_markers(text, expected):
    assert split_generated(text) == expected


# -- the chat endpoint ---------------------------------------------------------------------------------


class BlockingPipeline(FakePipeline):
    """Answers only once its request is cancelled (as an LLM call would stop); records that it was."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.cancelled = threading.Event()

    def ask(self, request: AskRequest) -> AskResponse:
        self.started.set()
        cancel = current_cancel()
        assert cancel is not None, "the route must give the pipeline a cancellation"
        if cancel.wait(10):
            self.cancelled.set()
        return super().ask(request)


def _chat_body(stream: bool = False) -> dict[str, Any]:
    return {"model": "guideline-qa", "messages": [{"role": "user", "content": RT_QUESTION}], "stream": stream}


def test_a_client_that_goes_away_cancels_the_answer_it_was_waiting_for():
    pipeline = BlockingPipeline()
    with serve(create_app(Settings(), pipeline=pipeline)) as base:
        with httpx.Client(base_url=base, timeout=0.3) as http, pytest.raises(httpx.ReadTimeout):
            http.post("/v1/chat/completions", json=_chat_body())
        assert pipeline.cancelled.wait(3), "the pipeline was not told the client left"


def test_a_client_that_closes_the_stream_cancels_the_answer():
    pipeline = BlockingPipeline()
    with serve(create_app(Settings(), pipeline=pipeline)) as base, httpx.Client(base_url=base, timeout=5) as http:
        with http.stream("POST", "/v1/chat/completions", json=_chat_body(stream=True)) as response:
            lines = response.iter_lines()  # kept: a dropped line iterator would close the connection at once
            first = next(lines)
            assert first.startswith("data: ") and '"role": "assistant"' in first.replace('":"', '": "')
            assert pipeline.started.wait(3)  # closed while the answer is being computed
        assert pipeline.cancelled.wait(3), "the pipeline was not told the stream was closed"


def test_the_chat_reply_says_when_and_why_the_llm_fell_back():
    class FallingBack(FakePipeline):
        def ask(self, request: AskRequest) -> AskResponse:
            response = super().ask(request)
            return response.model_copy(update={"fallback": "timeout", "reason": "the model did not finish in time"})

    http = TestClient(create_app(Settings(), pipeline=FallingBack()))
    reply = http.post("/v1/chat/completions", json=_chat_body()).json()

    assert reply["guideline_qa"]["fallback"] == "timeout"


def test_a_generated_answer_may_cite_a_recommendation_read_beside_its_notes(tmp_path):
    from ingest import open_index
    from tests.qa_service.mini_corpus import MINI_CORPUS, build_mini_index
    from tests.qa_service.test_compose import RATIONALE_GUIDELINE

    index_dir = build_mini_index(tmp_path, {**MINI_CORPUS, "opioids/cdc.md": RATIONALE_GUIDELINE})
    reply = "Follow up at least monthly during a taper [1]. Taper opioids gradually when risks outweigh benefits [2]."
    settings = Settings(index_dir=index_dir, answer=AnswerSettings(abstain_threshold=0.0))
    pipeline = QAPipeline(
        open_index(index_dir), make_embedder(), settings, chat_model=FakeListChatModel(responses=[reply])
    )

    # One passage retrieved (the notes); the recommendation above them is the second candidate.
    response = pipeline.ask(
        AskRequest(question="how often to follow up during an opioid taper?", top_k=1, composer="llm")
    )

    assert response.composer == "llm" and response.fallback is None
    assert [c.rec_id for c in response.citations] == [None, "opioids/cdc#rec-5"]
    assert response.answer.endswith("outweigh benefits. [2]")
