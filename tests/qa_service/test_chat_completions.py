"""The OpenAI-compatible endpoints, driven by the `openai` client (in-process and over loopback) and raw httpx."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from fastapi.testclient import TestClient

from qa_service.app import create_app
from qa_service.errors import ComposerError
from qa_service.routes.chat import is_follow_up
from qa_service.schemas import DISCLAIMER
from qa_service.settings import Settings
from tests.fakes.service import FakePipeline, serve

RT_QUESTION = "Is single fraction radiotherapy enough for painful bone metastases?"


@pytest.fixture
def pipeline() -> FakePipeline:
    return FakePipeline()


@pytest.fixture
def app(pipeline):
    return create_app(Settings(), pipeline=pipeline)


@pytest.fixture
def http(app):
    return TestClient(app)


@pytest.fixture
def client(http):
    return openai.OpenAI(base_url="http://testserver/v1", api_key="not-needed", http_client=http, max_retries=0)


def user(text):
    return {"role": "user", "content": text}


def test_models_lists_the_one_model(client):
    models = client.models.list()
    assert [m.id for m in models.data] == ["guideline-qa"]
    assert client.models.retrieve("guideline-qa").owned_by == "guideline-qa"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_chat_answer_carries_footnotes_and_structured_citations(client, pipeline):
    completion = client.chat.completions.create(model="guideline-qa", messages=[user(RT_QUESTION)])
    assert completion.object == "chat.completion"
    assert completion.model == "guideline-qa"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    content = choice.message.content
    answer, sources = content.split("\n\nSources:\n")
    assert "8 Gy" in answer and "[1]" in answer
    assert sources.splitlines()[0] == (
        "[1] ESMO; ASTRO 2020 — Bone metastasis: radiotherapy and other therapeutic procedures > "
        "External beam radiotherapy > Single fraction for painful bone metastases "
        "(https://doi.org/10.1016/j.annonc.2020.07.019)"
    )
    assert DISCLAIMER in content
    citations = choice.message.model_extra["citations"]
    assert citations[0]["id"] == 1
    assert citations[0]["chunk_id"] == "c-rt-single"
    assert "8 Gy" in citations[0]["quote"]
    assert completion.model_extra["citations"] == citations
    assert completion.model_extra["guideline_qa"]["abstained"] is False
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    assert pipeline.asked[-1].question == RT_QUESTION


def test_chat_ignores_the_usual_openai_parameters(client):
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "You are a pirate."}, user(RT_QUESTION)],
        temperature=0.7,
        max_tokens=5,
        top_p=0.9,
        presence_penalty=0.1,
        frequency_penalty=0.1,
        seed=1,
        n=1,
        user="someone",
        extra_body={"unknown_vendor_param": {"x": 1}},
    )
    assert completion.model == "guideline-qa"
    assert "8 Gy" in completion.choices[0].message.content


def test_chat_reads_content_given_as_text_parts(client, pipeline):
    parts = [{"type": "text", "text": "Single fraction radiotherapy"}, {"type": "text", "text": "for bone pain?"}]
    completion = client.chat.completions.create(model="guideline-qa", messages=[{"role": "user", "content": parts}])
    assert pipeline.asked[-1].question == "Single fraction radiotherapy\nfor bone pain?"
    assert "[1]" in completion.choices[0].message.content


def test_chat_passes_guideline_qa_filters_and_top_k_through(client, pipeline):
    completion = client.chat.completions.create(
        model="guideline-qa",
        messages=[user("How is hypercalcaemia treated?")],
        extra_body={"filters": {"issuing_body": ["Endocrine Society"]}, "top_k": 3, "long": True},
    )
    asked = pipeline.asked[-1]
    assert asked.filters is not None and asked.filters.issuing_body == ["Endocrine Society"]
    assert (asked.top_k, asked.long) == (3, True)
    assert "Hypercalcaemia of malignancy" in completion.choices[0].message.content


def test_chat_abstention_says_so_and_lists_the_closest_passages(client):
    completion = client.chat.completions.create(
        model="guideline-qa", messages=[user("Paediatric dose of radiotherapy for bone metastases?")]
    )
    content = completion.choices[0].message.content
    assert content.startswith("The guidelines in the index do not answer this question")
    assert "Closest passages (not enough to answer):\n- " in content
    assert "Sources:" not in content
    assert completion.choices[0].message.model_extra["citations"] == []
    assert completion.model_extra["guideline_qa"]["abstained"] is True


def test_multi_turn_follow_up_is_joined_to_the_previous_question(client, pipeline):
    first = "Which bone-modifying agent for breast cancer bone metastases?"
    messages = [{"role": "system", "content": "Answer briefly."}, user(first)]
    reply = client.chat.completions.create(model="guideline-qa", messages=messages)
    messages += [{"role": "assistant", "content": reply.choices[0].message.content}, user("and for prostate?")]
    follow_up = client.chat.completions.create(model="guideline-qa", messages=messages)
    assert pipeline.asked[-1].question == f"{first} and for prostate?"
    assert follow_up.model_extra["guideline_qa"]["question"] == f"{first} and for prostate?"
    assert "prostate" in follow_up.choices[0].message.content

    # A new, self-contained question starts afresh.
    messages += [{"role": "assistant", "content": "..."}, user("How is hypercalcaemia of malignancy treated?")]
    client.chat.completions.create(model="guideline-qa", messages=messages)
    assert pipeline.asked[-1].question == "How is hypercalcaemia of malignancy treated?"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("and for prostate?", True),
        ("What about denosumab?", True),
        ("Prostate?", True),
        ("How is hypercalcaemia of malignancy treated?", False),
        ("Andexanet dosing in bleeding patients?", False),
    ],
)
def test_is_follow_up(text, expected):
    assert is_follow_up(text) is expected


def test_streaming_with_the_openai_client_matches_the_full_reply(client):
    full = client.chat.completions.create(model="guideline-qa", messages=[user(RT_QUESTION)])
    stream = client.chat.completions.create(
        model="guideline-qa", messages=[user(RT_QUESTION)], stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == full.choices[0].message.content
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert len(finals) == 1
    assert finals[0].model_extra["citations"][0]["chunk_id"] == "c-rt-single"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0


def test_streaming_an_abstention(client):
    stream = client.chat.completions.create(
        model="guideline-qa", messages=[user("paediatric bone metastases?")], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "do not answer this question" in text and "Closest passages" in text
    assert chunks[-1].model_extra["guideline_qa"]["abstained"] is True


def test_raw_sse_over_loopback_ends_with_done(app):
    with serve(app) as base, httpx.Client(base_url=base, timeout=10) as http:
        body = {"model": "guideline-qa", "messages": [user(RT_QUESTION)], "stream": True}
        with http.stream("POST", "/v1/chat/completions", json=body) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = [line.removeprefix("data: ") for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert "[1]" in "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)


def test_openai_client_streams_over_real_http(app):
    with serve(app) as base:
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="x", max_retries=0)
        pieces = [
            c.choices[0].delta.content or ""
            for c in client.chat.completions.create(model="guideline-qa", messages=[user(RT_QUESTION)], stream=True)
            if c.choices
        ]
        client.close()
    assert "8 Gy" in "".join(pieces)


def test_ask_stream_sends_sentences_then_done(http):
    with http.stream("POST", "/v1/ask", json={"question": RT_QUESTION, "stream": True}) as response:
        events = [line.removeprefix("data: ") for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    parsed = [json.loads(e) for e in events[:-1]]
    assert [e["type"] for e in parsed] == ["sentence"] * (len(parsed) - 1) + ["done"]
    assert parsed[-1]["response"]["citations"][0]["id"] == 1


# ---- bad input ----------------------------------------------------------------------------------


def _error(exc_info):
    body = exc_info.value.body
    assert set(body) >= {"message", "type", "param", "code"}
    return body


def test_no_messages_is_a_400(client):
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="guideline-qa", messages=[])
    assert _error(exc)["code"] == "empty_messages"


def test_no_user_message_is_a_400(client):
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(
            model="guideline-qa",
            messages=[{"role": "system", "content": "Be brief."}, {"role": "assistant", "content": "Hello."}],
        )
    body = _error(exc)
    assert (body["type"], body["code"]) == ("invalid_request_error", "no_user_message")


@pytest.mark.parametrize("content", ["", "   \n ", [{"type": "text", "text": " "}]])
def test_empty_content_is_a_400(client, content):
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="guideline-qa", messages=[{"role": "user", "content": content}])
    assert _error(exc)["param"] == "messages.0.content"


def test_content_over_the_question_limit_is_a_400(client, pipeline):
    limit = Settings().server.max_question_chars
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="guideline-qa", messages=[user("x" * (limit + 1))])
    body = _error(exc)
    assert body["code"] == "question_too_long" and str(limit) in body["message"]
    assert pipeline.asked == []


def test_huge_body_is_refused_before_parsing(client):
    with pytest.raises(openai.APIStatusError) as exc:
        client.chat.completions.create(model="guideline-qa", messages=[user("bone " * 20_000)])
    assert exc.value.status_code == 413
    assert "message" in exc.value.body


def test_bad_input_when_streaming_is_an_error_response_not_a_stream(client):
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="guideline-qa", messages=[user("")], stream=True)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "robot", "content": "hi"}]}, "messages.0.role"),
        ({"messages": "What is SBRT?"}, "messages"),
        ({}, "messages"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}, None),
        ({"messages": [user("SBRT?")], "top_k": 0}, "top_k"),
        ({"messages": [user("SBRT?")], "n": 3}, "n"),  # one answer per request: three would silently be one
    ],
)
def test_malformed_requests_get_openai_shaped_400s(http, body, param):
    response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    if param:
        assert error["param"] == param


def test_n_of_one_or_null_is_accepted(http):
    for n in (1, None):
        response = http.post("/v1/chat/completions", json={"messages": [user("SBRT?")], "n": n})
        assert response.status_code == 200 and len(response.json()["choices"]) == 1


def test_invalid_json_is_a_400(http):
    response = http.post("/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "the request body is not valid JSON"


def test_service_not_ready_is_a_503_in_openai_shape():
    http = TestClient(create_app(Settings(), pipeline_factory=lambda s: FakePipeline()))  # lifespan not started
    response = http.post("/v1/chat/completions", json={"messages": [user(RT_QUESTION)]})
    assert response.status_code == 503
    assert response.json()["error"]["type"] == "server_error"


def test_api_key_is_required_when_configured(pipeline):
    settings = Settings.model_validate({"server": {"api_keys": ["s3cret"]}})
    http = TestClient(create_app(settings, pipeline=pipeline))
    good = openai.OpenAI(base_url="http://testserver/v1", api_key="s3cret", http_client=http, max_retries=0)
    assert good.chat.completions.create(model="guideline-qa", messages=[user(RT_QUESTION)]).choices
    bad = openai.OpenAI(base_url="http://testserver/v1", api_key="wrong", http_client=http, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()


class FailingStreamPipeline(FakePipeline):
    def ask_stream(self, request):
        yield {"type": "sentence", "text": "A first sentence [1].", "citations": []}
        raise ComposerError("the composer fell over")


def test_a_failure_mid_stream_arrives_as_an_error_event():
    http = TestClient(create_app(Settings(), pipeline=FailingStreamPipeline()))
    client = openai.OpenAI(base_url="http://testserver/v1", api_key="x", http_client=http, max_retries=0)
    with pytest.raises(openai.APIError, match="the composer fell over"):
        list(client.chat.completions.create(model="guideline-qa", messages=[user(RT_QUESTION)], stream=True))


def test_an_answer_on_partial_evidence_says_so_in_the_chat_reply():
    from qa_service.routes.chat import CAUTION_NOTE, render_tail
    from qa_service.schemas import AskResponse

    base = {"answer": "Give 8 Gy [1].", "citations": [], "passages": [], "abstained": False, "evidence_score": 0.5}
    assert CAUTION_NOTE in render_tail(AskResponse(**base, composer="extractive", caution=True))
    why = "the question names NCCN; no document in this index comes from it: the answer is from other guidelines"
    assert f"_Why: {why}._" in render_tail(AskResponse(**base, composer="extractive", caution=True, reason=why))
    assert CAUTION_NOTE not in render_tail(AskResponse(**base, composer="extractive"))
