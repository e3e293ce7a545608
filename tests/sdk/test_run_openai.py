"""run() through the official OpenAI library against the fake provider server, with the log
checked on a real PromptOps server."""

from __future__ import annotations

import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk

import promptops
from promptops.sdk.run import AsyncRunStream, RunResult, RunStream
from tests.fakes.providers import FakeProviderServer
from tests.sdk.conftest import Server
from tests.sdk.run_support import (  # fake_fixture, fake_providers_fixture: fixtures
    ECHO,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    RENDERED,
    VARIABLES,
    assert_common,
    async_openai_client,
    fake_fixture,  # noqa: F401
    fake_providers_fixture,  # noqa: F401
    get_log,
    openai_client,
    po_async_client,
    po_client,
    wait_log,
)

GPT_4O_MINI_COST = (INPUT_TOKENS * 0.15 + OUTPUT_TOKENS * 0.60) / 1_000_000


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_run_returns_the_library_response_and_logs_the_exchange(
    server: Server, fake: FakeProviderServer
) -> None:
    with po_client(server) as client, openai_client(fake) as oai:
        result = client.run(
            "greeting", VARIABLES, client=oai, metadata={"user": "u1"}, tags=["onboarding"]
        )
        assert isinstance(result, RunResult)
        assert isinstance(result.response, ChatCompletion)
        assert result.response.choices[0].message.content == ECHO
        assert result.text == ECHO
        assert result.usage == (INPUT_TOKENS, OUTPUT_TOKENS)
        assert result.usage.total_tokens == INPUT_TOKENS + OUTPUT_TOKENS
        assert result.prompt.slug == "greeting" and result.prompt.version == 1
        assert result.provider == "openai" and result.model == "gpt-4o-mini"
        assert result.cost_usd == pytest.approx(GPT_4O_MINI_COST)

        sent = fake.last_request("openai")
        assert sent.body["messages"] == RENDERED
        assert sent.body["model"] == "gpt-4o-mini"
        assert sent.body["temperature"] == 1.0  # the version's (the server's default)
        assert "max_completion_tokens" not in sent.body  # the version has none
        assert client.flush(10)

    entry = wait_log(server, result.log_id)
    assert_common(entry, "openai", "gpt-4o-mini")
    assert entry["id"] == result.log_id
    assert entry["request"] == {"model": "gpt-4o-mini", "messages": RENDERED, "temperature": 1.0}
    assert entry["response"]["choices"][0]["message"]["content"] == ECHO
    assert entry["response"]["usage"]["prompt_tokens"] == INPUT_TOKENS
    assert entry["response"] == result.response.to_dict(mode="json")
    assert entry["cost_usd"] == pytest.approx(GPT_4O_MINI_COST)
    assert entry["metadata"] == {"user": "u1"}
    assert entry["tags"] == ["onboarding"]
    assert entry["actor"] is not None  # sent with the read key


def test_overrides_reach_the_provider(server: Server, fake: FakeProviderServer) -> None:
    server.new_version(
        system_prompt="You are {{tone}}.",
        user_template="Hello {{name}}",
        model="gpt-4.1",
        temperature=0.2,
        max_tokens=40,
    )
    with po_client(server) as client, openai_client(fake) as oai:
        plain = client.run("greeting", VARIABLES, client=oai)
        sent = fake.last_request("openai").body
        assert (sent["model"], sent["temperature"], sent["max_completion_tokens"]) == (
            "gpt-4.1",
            0.2,
            40,
        )
        assert plain.prompt.version == 2

        over = client.run(
            "greeting",
            VARIABLES,
            client=oai,
            model="gpt-4o",
            temperature=1.5,
            max_tokens=2,
            top_p=0.5,
            seed=7,
            user="end-user-1",
        )
        sent = fake.last_request("openai").body
        assert sent["model"] == "gpt-4o"
        assert sent["temperature"] == 1.5
        assert sent["max_completion_tokens"] == 2
        assert (sent["top_p"], sent["seed"], sent["user"]) == (0.5, 7, "end-user-1")
        assert over.text == "echo: Hello"  # the fake cuts the reply at max tokens
        assert over.response.choices[0].finish_reason == "length"

        client.run("greeting", VARIABLES, client=oai, temperature=None)  # None leaves it out
        assert "temperature" not in fake.last_request("openai").body
        assert client.flush(10)

    entry = wait_log(server, over.log_id)
    assert entry["model"] == "gpt-4o" and entry["prompt_version"] == 2
    assert entry["request"]["temperature"] == 1.5
    assert entry["request"]["max_completion_tokens"] == 2
    assert entry["request"]["top_p"] == 0.5
    assert entry["output_tokens"] == 2
    assert entry["cost_usd"] == pytest.approx((INPUT_TOKENS * 2.5 + 2 * 10.0) / 1e6)


def test_streaming_yields_library_chunks_and_logs_at_the_end(
    server: Server, fake: FakeProviderServer
) -> None:
    with po_client(server) as client, openai_client(fake) as oai:
        stream = client.run("greeting", VARIABLES, client=oai, stream=True, tags=["stream"])
        assert isinstance(stream, RunStream)
        assert isinstance(stream.response, openai.Stream)
        assert not stream.finished
        chunks = []
        for chunk in stream:
            assert isinstance(chunk, ChatCompletionChunk)
            chunks.append(chunk)
            assert get_log(server, stream.log_id) is None or stream.finished
        assert stream.finished
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ECHO
        assert chunks[-1].choices == [] and chunks[-1].usage is not None  # usage was asked for
        assert stream.text == ECHO
        assert stream.usage == (INPUT_TOKENS, OUTPUT_TOKENS)
        body = fake.last_request("openai").body
        assert body["stream"] is True
        assert body["stream_options"] == {"include_usage": True}
        assert client.flush(10)

    entry = wait_log(server, stream.log_id)
    assert_common(entry, "openai", "gpt-4o-mini")
    assert entry["request"]["messages"] == RENDERED
    assert entry["request"]["stream"] is True
    merged = entry["response"]
    assert merged["object"] == "chat.completion"
    assert merged["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": ECHO},
            "finish_reason": "stop",
        }
    ]
    assert merged["usage"]["completion_tokens"] == OUTPUT_TOKENS
    assert entry["cost_usd"] == pytest.approx(GPT_4O_MINI_COST)
    assert entry["tags"] == ["stream"]


def test_streaming_respects_the_callers_stream_options(
    server: Server, fake: FakeProviderServer
) -> None:
    with po_client(server) as client, openai_client(fake) as oai:
        stream = client.run(
            "greeting", VARIABLES, client=oai, stream=True, stream_options={"include_usage": False}
        )
        chunks = list(stream)
        assert all(c.choices for c in chunks)  # no usage chunk: the caller said so
        assert fake.last_request("openai").body["stream_options"] == {"include_usage": False}
        assert client.flush(10)
    entry = wait_log(server, stream.log_id)
    assert entry["status"] == "ok"
    assert (entry["input_tokens"], entry["output_tokens"], entry["cost_usd"]) == (None, None, None)
    assert entry["response"]["choices"][0]["message"]["content"] == ECHO


def test_a_stream_closed_early_is_logged_with_what_arrived(
    server: Server, fake: FakeProviderServer
) -> None:
    with po_client(server) as client, openai_client(fake) as oai:
        with client.run("greeting", VARIABLES, client=oai, stream=True) as stream:
            first = next(stream)
            second = next(stream)
        assert stream.finished
        assert stream.response.response.is_closed  # the connection was released
        assert client.flush(10)
    entry = wait_log(server, stream.log_id)
    assert entry["status"] == "ok"
    received = (first.choices[0].delta.content or "") + (second.choices[0].delta.content or "")
    choice = entry["response"]["choices"][0]
    assert choice["message"]["content"] == received != ECHO
    assert choice["finish_reason"] is None  # cut short
    assert entry["output_tokens"] is None


def test_provider_error_reaches_the_caller_and_is_logged(
    server: Server, fake: FakeProviderServer
) -> None:
    fake.fail_next("openai", status=500, body="the engine caught fire")
    with po_client(server) as client, openai_client(fake) as oai:
        with pytest.raises(openai.InternalServerError) as info:
            client.run("greeting", VARIABLES, client=oai, metadata={"attempt": 1})
        assert info.value.status_code == 500
        assert info.value.__cause__ is None  # not wrapped by us
        assert client.flush(10)
    (entry,) = server.api.as_(server.write_key).get("/v1/logs?status=error").json()["data"]
    assert entry["status"] == "error"
    assert entry["error"].startswith("InternalServerError: ")
    assert "the engine caught fire" in entry["error"]
    assert entry["response"]["message"] == "the engine caught fire"  # the provider's body
    assert entry["request"]["messages"] == RENDERED
    assert entry["latency_ms"] > 0
    assert (entry["input_tokens"], entry["output_tokens"], entry["cost_usd"]) == (None, None, None)
    assert entry["metadata"] == {"attempt": 1}


def test_streaming_provider_error_is_raised_and_logged(
    server: Server, fake: FakeProviderServer
) -> None:
    fake.fail_next("openai", status=429)
    with po_client(server) as client, openai_client(fake) as oai:
        with pytest.raises(openai.RateLimitError):
            client.run("greeting", VARIABLES, client=oai, stream=True)
        assert client.flush(10)
    (entry,) = server.api.as_(server.write_key).get("/v1/logs").json()["data"]
    assert entry["status"] == "error" and entry["error"].startswith("RateLimitError")
    assert entry["request"]["stream"] is True


def test_default_client_from_the_environment(
    server: Server, fake: FakeProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_base_url)
    with po_client(server) as client:
        result = client.run("greeting", VARIABLES)  # provider from the model name
        again = client.run("greeting", VARIABLES, provider="openai")
        state = client._run_state
        (own,) = state._own_clients.values()
        assert client.flush(10)
    assert result.text == again.text == ECHO
    sent = fake.requests_for("openai")
    assert [r.headers["authorization"] for r in sent] == ["Bearer sk-from-env"] * 2
    assert own[1].is_closed()  # the client run() made is closed with ours


@pytest.mark.anyio
async def test_async_run_and_stream(server: Server, fake: FakeProviderServer) -> None:
    async with po_async_client(server) as client, async_openai_client(fake) as oai:
        result = await client.run("greeting", VARIABLES, client=oai, tags=["async"])
        assert isinstance(result.response, ChatCompletion)
        assert result.text == ECHO

        stream = await client.run("greeting", VARIABLES, provider_client=oai, stream=True)
        assert isinstance(stream, AsyncRunStream)
        chunks = [chunk async for chunk in stream]
        assert all(isinstance(c, ChatCompletionChunk) for c in chunks)
        assert stream.text == ECHO and stream.finished
        assert await client.flush(10)

        async with await client.run("greeting", VARIABLES, client=oai, stream=True) as early:
            first = await anext(early)
        assert early.finished and early.chunks == [first]

        with pytest.raises(promptops.ConfigurationError, match="AsyncOpenAI"):
            await client.run("greeting", VARIABLES, client=openai_client(fake))

    for log_id in (result.log_id, stream.log_id):
        entry = wait_log(server, log_id)
        assert_common(entry, "openai", "gpt-4o-mini")
        assert entry["request"]["messages"] == RENDERED
    assert wait_log(server, result.log_id)["tags"] == ["async"]
    assert wait_log(server, stream.log_id)["response"]["choices"][0]["message"]["content"] == ECHO
    cut = wait_log(server, early.log_id)["response"]["choices"][0]
    assert cut["finish_reason"] is None and cut["message"]["content"] != ECHO


@pytest.mark.anyio
async def test_async_provider_error(server: Server, fake: FakeProviderServer) -> None:
    fake.fail_next("openai", status=503)
    async with po_async_client(server) as client, async_openai_client(fake) as oai:
        with pytest.raises(openai.InternalServerError) as info:
            await client.run("greeting", VARIABLES, client=oai)
        assert info.value.status_code == 503
    # aclose() flushed.
    (entry,) = server.api.as_(server.write_key).get("/v1/logs").json()["data"]
    assert entry["status"] == "error" and "503" in entry["error"]
