"""Tests of the fake provider servers, driven by the providers' official client libraries."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from .providers import FakeProviderServer, count_tokens, error_body, start_fake_providers

SYSTEM = "You are a terse assistant."  # 5 words
USER = "Say hello to Ada Lovelace"  # 5 words
ECHO = "echo: " + USER  # 6 words


@pytest.fixture(scope="module")
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeProviderServer) -> Iterator[FakeProviderServer]:
    server.reset()
    yield server
    server.reset()


def openai_client(fake: FakeProviderServer, **kwargs: object) -> openai.OpenAI:
    kwargs.setdefault("max_retries", 0)
    return openai.OpenAI(api_key="sk-test", base_url=fake.openai_base_url, **kwargs)  # type: ignore[arg-type]


def anthropic_client(fake: FakeProviderServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="sk-ant-test", base_url=fake.anthropic_base_url, max_retries=0
    )


def gemini_client(fake: FakeProviderServer, **http_options: object) -> genai.Client:
    return genai.Client(
        api_key="gemini-test",
        http_options=genai_types.HttpOptions(base_url=fake.gemini_base_url, **http_options),  # type: ignore[arg-type]
    )


OPENAI_MESSAGES = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
ANTHROPIC_MESSAGES = [{"role": "user", "content": USER}]


# ---------------------------------------------------------------------------
# OpenAI
# ---------------------------------------------------------------------------


def test_openai_non_streaming(fake: FakeProviderServer) -> None:
    with openai_client(fake) as client:
        resp = client.chat.completions.create(model="gpt-4o-mini", messages=OPENAI_MESSAGES)

    assert resp.object == "chat.completion"
    assert resp.id.startswith("chatcmpl-")
    assert resp.model == "gpt-4o-mini"
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].message.content == ECHO
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (10, 6)
    assert resp.usage.total_tokens == 16

    req = fake.last_request("openai")
    assert (req.method, req.path, req.status, req.stream) == (
        "POST",
        "/v1/chat/completions",
        200,
        False,
    )
    assert req.body["messages"] == OPENAI_MESSAGES
    assert req.model == "gpt-4o-mini"
    assert req.headers["authorization"] == "Bearer sk-test"


def test_openai_content_parts_and_last_user_message(fake: FakeProviderServer) -> None:
    messages = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "second"}, {"type": "text", "text": "part"}],
        },
    ]
    with openai_client(fake) as client:
        resp = client.chat.completions.create(model="gpt-4o", messages=messages)  # type: ignore[arg-type]
    assert resp.choices[0].message.content == "echo: second\npart"
    assert resp.usage is not None and resp.usage.prompt_tokens == 6


def test_openai_streaming_with_usage(fake: FakeProviderServer) -> None:
    with openai_client(fake) as client:
        chunks = list(
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=OPENAI_MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
            )
        )

    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    deltas = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(deltas) > 2
    assert "".join(deltas) == ECHO
    assert chunks[0].choices[0].delta.role == "assistant"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (10, 6)
    assert all(c.usage is None for c in chunks[:-1])
    assert fake.last_request("openai").stream


def test_openai_streaming_without_usage(fake: FakeProviderServer) -> None:
    with openai_client(fake) as client:
        chunks = list(
            client.chat.completions.create(model="m", messages=OPENAI_MESSAGES, stream=True)
        )
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == ECHO


def test_openai_max_tokens_truncates(fake: FakeProviderServer) -> None:
    with openai_client(fake) as client:
        resp = client.chat.completions.create(
            model="m", messages=OPENAI_MESSAGES, max_completion_tokens=2
        )
    assert resp.choices[0].message.content == "echo: Say"
    assert resp.choices[0].finish_reason == "length"
    assert resp.usage is not None and resp.usage.completion_tokens == 2


@pytest.mark.parametrize(
    ("status", "exc", "etype"),
    [
        (500, openai.InternalServerError, "server_error"),
        (429, openai.RateLimitError, "requests"),
        (400, openai.BadRequestError, "invalid_request_error"),
    ],
)
def test_openai_fail_next(
    fake: FakeProviderServer, status: int, exc: type[openai.APIStatusError], etype: str
) -> None:
    fake.fail_next("openai", status=status)
    with openai_client(fake) as client:
        with pytest.raises(exc) as info:
            client.chat.completions.create(model="m", messages=OPENAI_MESSAGES)
        assert info.value.status_code == status
        assert isinstance(info.value.body, dict)
        assert info.value.body["type"] == etype
        assert set(info.value.body) == {"message", "type", "param", "code"}
        # Only the next request fails.
        resp = client.chat.completions.create(model="m", messages=OPENAI_MESSAGES)
    assert resp.choices[0].message.content == ECHO
    assert [r.status for r in fake.requests_for("openai")] == [status, 200]
    # The failed request was recorded with its body too.
    assert fake.requests_for("openai")[0].body["messages"] == OPENAI_MESSAGES


def test_openai_fail_next_streaming_and_custom_message(fake: FakeProviderServer) -> None:
    fake.fail_next("openai", status=503, body="try later")
    with openai_client(fake) as client, pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="m", messages=OPENAI_MESSAGES, stream=True)
    assert info.value.status_code == 503
    assert info.value.message.endswith("try later")  # type: ignore[union-attr]


def test_openai_retries_are_visible(fake: FakeProviderServer) -> None:
    fake.fail_next("openai", status=500, times=2, headers={"retry-after-ms": "1"})
    with openai_client(fake, max_retries=2) as client:
        resp = client.chat.completions.create(model="m", messages=OPENAI_MESSAGES)
    assert resp.choices[0].message.content == ECHO
    reqs = fake.requests_for("openai")
    assert [r.status for r in reqs] == [500, 500, 200]
    assert [r.headers["x-stainless-retry-count"] for r in reqs] == ["0", "1", "2"]


def test_openai_async_streaming(fake: FakeProviderServer) -> None:
    async def run() -> tuple[str, openai.types.CompletionUsage | None]:
        async with openai.AsyncOpenAI(
            api_key="sk-test", base_url=fake.openai_base_url, max_retries=0
        ) as client:
            stream = await client.chat.completions.create(
                model="gpt-4o-mini",
                messages=OPENAI_MESSAGES,  # type: ignore[arg-type]
                stream=True,
                stream_options={"include_usage": True},
            )
            text, usage = "", None
            async for chunk in stream:
                if chunk.choices:
                    text += chunk.choices[0].delta.content or ""
                if chunk.usage:
                    usage = chunk.usage
            return text, usage

    text, usage = asyncio.run(run())
    assert text == ECHO
    assert usage is not None and usage.total_tokens == 16


def test_openai_async_fail_next(fake: FakeProviderServer) -> None:
    async def run() -> None:
        async with openai.AsyncOpenAI(
            api_key="sk-test", base_url=fake.openai_base_url, max_retries=0
        ) as client:
            await client.chat.completions.create(model="m", messages=OPENAI_MESSAGES)  # type: ignore[arg-type]

    fake.fail_next("openai", status=500)
    with pytest.raises(openai.InternalServerError):
        asyncio.run(run())


# ---------------------------------------------------------------------------
# Anthropic
# ---------------------------------------------------------------------------


def test_anthropic_non_streaming(fake: FakeProviderServer) -> None:
    with anthropic_client(fake) as client:
        msg = client.messages.create(
            model="claude-fake-1", max_tokens=256, system=SYSTEM, messages=ANTHROPIC_MESSAGES
        )
    assert msg.id.startswith("msg_")
    assert (msg.type, msg.role, msg.model) == ("message", "assistant", "claude-fake-1")
    assert len(msg.content) == 1 and msg.content[0].type == "text"
    assert msg.content[0].text == ECHO
    assert msg.stop_reason == "end_turn" and msg.stop_sequence is None
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (10, 6)

    req = fake.last_request("anthropic")
    assert (req.path, req.status, req.stream) == ("/v1/messages", 200, False)
    assert req.body["messages"] == ANTHROPIC_MESSAGES
    assert req.body["system"] == SYSTEM
    # anthropic>=2 sends the key as a bearer token; older versions used x-api-key.
    assert "sk-ant-test" in (req.headers.get("x-api-key"), req.headers.get("authorization", "")[7:])
    assert "anthropic-version" in req.headers


def test_anthropic_block_content_and_system_blocks(fake: FakeProviderServer) -> None:
    with anthropic_client(fake) as client:
        msg = client.messages.create(
            model="claude-x",
            max_tokens=100,
            system=[{"type": "text", "text": SYSTEM}],
            messages=[
                {"role": "user", "content": "earlier"},
                {"role": "assistant", "content": "reply"},
                {"role": "user", "content": [{"type": "text", "text": USER}]},
            ],
        )
    assert msg.content[0].text == ECHO  # type: ignore[union-attr]
    assert msg.usage.input_tokens == 12


def test_anthropic_streaming_helper(fake: FakeProviderServer) -> None:
    with (
        anthropic_client(fake) as client,
        client.messages.stream(
            model="claude-x", max_tokens=256, system=SYSTEM, messages=ANTHROPIC_MESSAGES
        ) as stream,
    ):
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 2
    assert "".join(pieces) == ECHO
    assert final.content[0].text == ECHO  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (10, 6)
    assert fake.last_request("anthropic").body["stream"] is True


def test_anthropic_raw_stream_event_sequence(fake: FakeProviderServer) -> None:
    with anthropic_client(fake) as client:
        events = list(
            client.messages.create(
                model="claude-x", max_tokens=256, messages=ANTHROPIC_MESSAGES, stream=True
            )
        )
    types = [e.type for e in events]  # "ping" is swallowed by the client
    n_deltas = types.count("content_block_delta")
    assert n_deltas > 2
    assert types == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * n_deltas,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[0].message.usage.input_tokens == 5  # type: ignore[union-attr]
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")  # type: ignore[union-attr]
    assert text == ECHO
    delta = events[-2]
    assert delta.delta.stop_reason == "end_turn"  # type: ignore[union-attr]
    assert delta.usage.output_tokens == 6  # type: ignore[union-attr]


def test_anthropic_max_tokens_truncates(fake: FakeProviderServer) -> None:
    with anthropic_client(fake) as client:
        msg = client.messages.create(model="claude-x", max_tokens=3, messages=ANTHROPIC_MESSAGES)
    assert msg.content[0].text == "echo: Say hello"  # type: ignore[union-attr]
    assert msg.stop_reason == "max_tokens"
    assert msg.usage.output_tokens == 3


@pytest.mark.parametrize(
    ("status", "exc", "etype"),
    [
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.InternalServerError, "overloaded_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
    ],
)
def test_anthropic_fail_next(
    fake: FakeProviderServer, status: int, exc: type[anthropic.APIStatusError], etype: str
) -> None:
    fake.fail_next("anthropic", status=status)
    with anthropic_client(fake) as client:
        with pytest.raises(exc) as info:
            client.messages.create(model="claude-x", max_tokens=10, messages=ANTHROPIC_MESSAGES)
        assert info.value.status_code == status
        assert info.value.type == etype
        assert isinstance(info.value.body, dict) and info.value.body["type"] == "error"
        assert info.value.request_id is not None
        msg = client.messages.create(model="claude-x", max_tokens=10, messages=ANTHROPIC_MESSAGES)
    assert msg.content[0].text == ECHO  # type: ignore[union-attr]
    assert [r.status for r in fake.requests_for("anthropic")] == [status, 200]


def test_anthropic_fail_next_streaming(fake: FakeProviderServer) -> None:
    fake.fail_next("anthropic", status=500, body="boom")
    with (
        anthropic_client(fake) as client,
        pytest.raises(anthropic.InternalServerError) as info,
        client.messages.stream(model="claude-x", max_tokens=10, messages=ANTHROPIC_MESSAGES) as s,
    ):
        s.get_final_text()
    assert info.value.api_message == "boom"


def test_anthropic_async_streaming(fake: FakeProviderServer) -> None:
    async def run() -> tuple[list[str], anthropic.types.Message]:
        async with (
            anthropic.AsyncAnthropic(
                api_key="sk-ant-test", base_url=fake.anthropic_base_url, max_retries=0
            ) as client,
            client.messages.stream(
                model="claude-x", max_tokens=256, system=SYSTEM, messages=ANTHROPIC_MESSAGES
            ) as stream,
        ):
            pieces = [p async for p in stream.text_stream]
            return pieces, await stream.get_final_message()

    pieces, final = asyncio.run(run())
    assert "".join(pieces) == ECHO
    assert (final.usage.input_tokens, final.usage.output_tokens) == (10, 6)


# ---------------------------------------------------------------------------
# Gemini (google-genai)
# ---------------------------------------------------------------------------

GEMINI_CONFIG = genai_types.GenerateContentConfig(system_instruction=SYSTEM)


def test_gemini_non_streaming(fake: FakeProviderServer) -> None:
    with gemini_client(fake) as client:
        resp = client.models.generate_content(
            model="gemini-2.5-flash", contents=USER, config=GEMINI_CONFIG
        )
    assert resp.text == ECHO
    assert resp.candidates is not None
    assert resp.candidates[0].content is not None
    assert resp.candidates[0].content.role == "model"
    assert resp.candidates[0].finish_reason == genai_types.FinishReason.STOP
    assert resp.model_version == "gemini-2.5-flash"
    usage = resp.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count) == (10, 6)
    assert usage.total_token_count == 16

    req = fake.last_request("gemini")
    assert req.path.endswith("/models/gemini-2.5-flash:generateContent")
    assert req.model == "gemini-2.5-flash"
    assert (req.status, req.stream) == (200, False)
    assert req.body["contents"] == [{"role": "user", "parts": [{"text": USER}]}]
    assert req.body["systemInstruction"]["parts"] == [{"text": SYSTEM}]
    assert req.headers["x-goog-api-key"] == "gemini-test"


def test_gemini_multi_turn_and_api_version(fake: FakeProviderServer) -> None:
    contents = [
        genai_types.Content(role="user", parts=[genai_types.Part(text="first")]),
        genai_types.Content(role="model", parts=[genai_types.Part(text="answer")]),
        genai_types.Content(role="user", parts=[genai_types.Part(text=USER)]),
    ]
    with gemini_client(fake, api_version="v1beta") as client:
        resp = client.models.generate_content(model="gemini-2.0-flash", contents=contents)
    assert resp.text == ECHO
    assert resp.usage_metadata is not None and resp.usage_metadata.prompt_token_count == 7
    assert fake.last_request("gemini").path == "/v1beta/models/gemini-2.0-flash:generateContent"


def test_gemini_streaming(fake: FakeProviderServer) -> None:
    with gemini_client(fake) as client:
        chunks = list(
            client.models.generate_content_stream(
                model="gemini-2.5-flash", contents=USER, config=GEMINI_CONFIG
            )
        )
    assert len(chunks) > 2
    assert "".join(c.text or "" for c in chunks) == ECHO
    last = chunks[-1]
    assert last.candidates is not None
    assert last.candidates[0].finish_reason == genai_types.FinishReason.STOP
    assert last.usage_metadata is not None
    assert (last.usage_metadata.prompt_token_count, last.usage_metadata.candidates_token_count) == (
        10,
        6,
    )
    req = fake.last_request("gemini")
    assert req.path.endswith(":streamGenerateContent")
    assert req.query == {"alt": "sse"}
    assert req.stream


def test_gemini_max_output_tokens_truncates(fake: FakeProviderServer) -> None:
    with gemini_client(fake) as client:
        resp = client.models.generate_content(
            model="gemini-2.5-flash",
            contents=USER,
            config=genai_types.GenerateContentConfig(max_output_tokens=1),
        )
    assert resp.text == "echo:"
    assert resp.candidates is not None
    assert resp.candidates[0].finish_reason == genai_types.FinishReason.MAX_TOKENS
    assert fake.last_request("gemini").body["generationConfig"] == {"maxOutputTokens": 1}


@pytest.mark.parametrize(
    ("status", "exc", "gstatus"),
    [
        (500, genai_errors.ServerError, "INTERNAL"),
        (503, genai_errors.ServerError, "UNAVAILABLE"),
        (429, genai_errors.ClientError, "RESOURCE_EXHAUSTED"),
    ],
)
def test_gemini_fail_next(
    fake: FakeProviderServer, status: int, exc: type[genai_errors.APIError], gstatus: str
) -> None:
    fake.fail_next("gemini", status=status, body="nope")
    with gemini_client(fake) as client:
        with pytest.raises(exc) as info:
            client.models.generate_content(model="gemini-2.5-flash", contents=USER)
        assert (info.value.code, info.value.status, info.value.message) == (status, gstatus, "nope")
        resp = client.models.generate_content(model="gemini-2.5-flash", contents=USER)
    assert resp.text == ECHO
    assert [r.status for r in fake.requests_for("gemini")] == [status, 200]


def test_gemini_fail_next_streaming(fake: FakeProviderServer) -> None:
    fake.fail_next("gemini", status=500)
    with gemini_client(fake) as client, pytest.raises(genai_errors.ServerError):
        list(client.models.generate_content_stream(model="gemini-2.5-flash", contents=USER))


def test_gemini_async_streaming(fake: FakeProviderServer) -> None:
    async def run() -> list[genai_types.GenerateContentResponse]:
        async with gemini_client(fake).aio as aclient:
            stream = await aclient.models.generate_content_stream(
                model="gemini-2.5-flash", contents=USER, config=GEMINI_CONFIG
            )
            return [chunk async for chunk in stream]

    chunks = asyncio.run(run())
    assert "".join(c.text or "" for c in chunks) == ECHO
    assert chunks[-1].usage_metadata is not None
    assert chunks[-1].usage_metadata.total_token_count == 16


def test_gemini_async_fail_next(fake: FakeProviderServer) -> None:
    async def run() -> None:
        async with gemini_client(fake).aio as aclient:
            await aclient.models.generate_content(model="gemini-2.5-flash", contents=USER)

    fake.fail_next("gemini", status=429)
    with pytest.raises(genai_errors.ClientError):
        asyncio.run(run())


# ---------------------------------------------------------------------------
# Controls and behaviour shared by all providers
# ---------------------------------------------------------------------------


def test_credentials_are_required(fake: FakeProviderServer) -> None:
    body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    with httpx.Client(base_url=fake.base_url) as http:
        r1 = http.post("/v1/chat/completions", json=body)
        r2 = http.post("/v1/messages", json=body)
        r3 = http.post(
            "/v1beta/models/g:generateContent", json={"contents": [{"parts": [{"text": "x"}]}]}
        )
    assert r1.status_code == 401 and r1.json()["error"]["type"] == "invalid_request_error"
    assert r2.status_code == 401 and r2.json()["error"]["type"] == "authentication_error"
    assert r3.status_code == 403 and r3.json()["error"]["status"] == "PERMISSION_DENIED"


def test_invalid_requests_are_rejected(fake: FakeProviderServer) -> None:
    with anthropic_client(fake) as client, pytest.raises(anthropic.BadRequestError):
        client.messages.create(model="claude-x", max_tokens=5, messages=[])
    with httpx.Client(base_url=fake.base_url) as http:
        bad_json = http.post(
            "/v1/chat/completions", content=b"{nope", headers={"authorization": "Bearer k"}
        )
    assert bad_json.status_code == 400
    assert bad_json.json()["error"]["type"] == "invalid_request_error"


def test_unknown_path_is_404_and_recorded(fake: FakeProviderServer) -> None:
    with openai_client(fake) as client, pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="text-embedding-3-small", input="hi")
    req = fake.last_request()
    assert (req.provider, req.path, req.status) == ("unknown", "/v1/embeddings", 404)


def test_fail_next_queue_verbatim_body_and_reset(fake: FakeProviderServer) -> None:
    fake.fail_next("openai", status=429, times=2)
    fake.fail_next("openai", status=400, body={"error": {"message": "custom", "type": "x"}})
    with openai_client(fake) as client:
        for expected in (openai.RateLimitError, openai.RateLimitError, openai.BadRequestError):
            with pytest.raises(expected) as info:
                client.chat.completions.create(model="m", messages=OPENAI_MESSAGES)
        assert info.value.body == {"message": "custom", "type": "x"}
        fake.fail_next("openai", status=500)
        fake.reset()
        assert fake.requests == []
        resp = client.chat.completions.create(model="m", messages=OPENAI_MESSAGES)
    assert resp.choices[0].message.content == ECHO
    # Failures are per provider: other providers are unaffected.
    fake.fail_next("anthropic", status=500)
    with gemini_client(fake) as gclient:
        assert gclient.models.generate_content(model="g", contents=USER).text == ECHO


def test_set_reply(fake: FakeProviderServer) -> None:
    fake.set_reply("openai", "fixed reply text")
    fake.set_reply("anthropic", lambda body: f"model was {body['model']}")
    with openai_client(fake) as client:
        resp = client.chat.completions.create(model="m", messages=OPENAI_MESSAGES)
    assert resp.choices[0].message.content == "fixed reply text"
    assert resp.usage is not None and resp.usage.completion_tokens == 3
    with anthropic_client(fake) as aclient:
        msg = aclient.messages.create(model="claude-x", max_tokens=50, messages=ANTHROPIC_MESSAGES)
    assert msg.content[0].text == "model was claude-x"  # type: ignore[union-attr]
    fake.set_reply("openai", None)
    with openai_client(fake) as client:
        resp = client.chat.completions.create(model="m", messages=OPENAI_MESSAGES)
    assert resp.choices[0].message.content == ECHO


def test_concurrent_requests_are_all_recorded(fake: FakeProviderServer) -> None:
    def call(i: int) -> str | None:
        with openai_client(fake) as client:
            resp = client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": f"message {i}"}]
            )
        return resp.choices[0].message.content

    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(call, range(16)))
    assert replies == [f"echo: message {i}" for i in range(16)]
    sent = sorted(r.body["messages"][0]["content"] for r in fake.requests_for("openai"))
    assert sent == sorted(f"message {i}" for i in range(16))


def test_unknown_provider_is_rejected(fake: FakeProviderServer) -> None:
    with pytest.raises(ValueError):
        fake.fail_next("mistral", status=500)
    with pytest.raises(ValueError):
        fake.fail_next("openai", status=200)


def test_helpers() -> None:
    assert count_tokens("a b  c", "", " d ") == 4
    assert error_body("gemini", 429) == {
        "error": {
            "code": 429,
            "message": "Resource has been exhausted (e.g. check quota).",
            "status": "RESOURCE_EXHAUSTED",
        }
    }
    assert error_body("anthropic", 529, "busy") == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "busy"},
    }


def test_lifecycle_start_stop() -> None:
    fake = start_fake_providers()
    try:
        port = fake.port
        assert fake.base_url == f"http://127.0.0.1:{port}"
        with openai_client(fake) as client:
            client.chat.completions.create(model="m", messages=OPENAI_MESSAGES)  # keep-alive conn
        with pytest.raises(RuntimeError):
            fake.start()
    finally:
        fake.stop()
    fake.stop()  # idempotent
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    with pytest.raises(RuntimeError):
        _ = fake.base_url
