"""run() through the official Anthropic library against the fake provider server."""

from __future__ import annotations

import anthropic
import pytest
from anthropic.types import Message

from promptops.sdk.providers.anthropic import DEFAULT_MAX_TOKENS
from promptops.sdk.run import AsyncRunStream, RunStream
from tests.fakes.providers import FakeProviderServer
from tests.sdk.conftest import Server
from tests.sdk.run_support import (  # fake_fixture, fake_providers_fixture: fixtures
    ECHO,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    SYSTEM,
    USER,
    VARIABLES,
    anthropic_client,
    assert_common,
    async_anthropic_client,
    fake_fixture,  # noqa: F401
    fake_providers_fixture,  # noqa: F401
    po_async_client,
    po_client,
    wait_log,
)

MODEL = "claude-3-5-haiku-20241022"
COST = (INPUT_TOKENS * 0.80 + OUTPUT_TOKENS * 4.0) / 1e6  # priced as claude-3-5-haiku


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_run_and_log(server: Server, fake: FakeProviderServer) -> None:
    with po_client(server) as client, anthropic_client(fake) as ant:
        result = client.run("greeting", VARIABLES, client=ant, model=MODEL, max_tokens=64)
        assert isinstance(result.response, Message)
        assert result.provider == "anthropic"
        assert result.text == ECHO
        assert result.usage == (INPUT_TOKENS, OUTPUT_TOKENS)
        sent = fake.last_request("anthropic").body
        assert sent["system"] == SYSTEM
        assert sent["messages"] == [{"role": "user", "content": USER}]
        assert (sent["model"], sent["max_tokens"]) == (MODEL, 64)
        assert client.flush(10)
    entry = wait_log(server, result.log_id)
    assert_common(entry, "anthropic", MODEL)
    assert entry["request"]["system"] == SYSTEM
    assert entry["request"]["messages"] == [{"role": "user", "content": USER}]
    assert entry["response"]["content"] == [{"type": "text", "text": ECHO}]
    assert entry["response"]["stop_reason"] == "end_turn"
    assert entry["cost_usd"] == pytest.approx(COST)


def test_max_tokens_default_and_temperature(server: Server, fake: FakeProviderServer) -> None:
    with po_client(server) as client, anthropic_client(fake) as ant:
        client.run("greeting", VARIABLES, client=ant, model=MODEL)
        sent = fake.last_request("anthropic").body
        assert sent["max_tokens"] == DEFAULT_MAX_TOKENS  # the version has none; required here
        # anthropic 2.x has no temperature parameter: the version's is not sent ...
        assert "temperature" not in sent
        # ... and an explicit one goes in the body.
        client.run("greeting", VARIABLES, client=ant, model=MODEL, temperature=0.4)
        assert fake.last_request("anthropic").body["temperature"] == 0.4


def test_streaming_raw_events(server: Server, fake: FakeProviderServer) -> None:
    with po_client(server) as client, anthropic_client(fake) as ant:
        stream = client.run("greeting", VARIABLES, client=ant, model=MODEL, stream=True)
        assert isinstance(stream, RunStream)
        events = list(stream)
        assert (events[0].type, events[-1].type) == ("message_start", "message_stop")
        assert type(events[0]).__module__.startswith("anthropic.")
        assert stream.text == ECHO
        assert stream.usage == (INPUT_TOKENS, OUTPUT_TOKENS)
        assert client.flush(10)
    entry = wait_log(server, stream.log_id)
    assert_common(entry, "anthropic", MODEL)
    assert entry["request"]["stream"] is True
    merged = entry["response"]
    assert merged["type"] == "message" and merged["role"] == "assistant"
    assert merged["content"] == [{"type": "text", "text": ECHO}]
    assert merged["stop_reason"] == "end_turn"
    assert merged["usage"]["output_tokens"] == OUTPUT_TOKENS


def test_provider_error(server: Server, fake: FakeProviderServer) -> None:
    fake.fail_next("anthropic", status=529)
    with po_client(server) as client, anthropic_client(fake) as ant:
        with pytest.raises(anthropic.InternalServerError) as info:
            client.run("greeting", VARIABLES, client=ant, model=MODEL)
        assert info.value.status_code == 529
    (entry,) = server.api.as_(server.write_key).get("/v1/logs").json()["data"]  # close flushed
    assert entry["status"] == "error" and entry["provider"] == "anthropic"
    assert "Overloaded" in entry["error"]
    assert entry["response"]["error"]["type"] == "overloaded_error"


@pytest.mark.anyio
async def test_async_run_stream_and_error(server: Server, fake: FakeProviderServer) -> None:
    async with po_async_client(server) as client, async_anthropic_client(fake) as ant:
        result = await client.run("greeting", VARIABLES, client=ant, model=MODEL)
        assert result.text == ECHO
        stream = await client.run("greeting", VARIABLES, client=ant, model=MODEL, stream=True)
        assert isinstance(stream, AsyncRunStream)
        types = [event.type async for event in stream]
        assert types[0] == "message_start" and stream.text == ECHO
        fake.fail_next("anthropic", status=500)
        with pytest.raises(anthropic.InternalServerError):
            await client.run("greeting", VARIABLES, client=ant, model=MODEL)
        assert await client.flush(10)
    for log_id in (result.log_id, stream.log_id):
        assert_common(wait_log(server, log_id), "anthropic", MODEL)
    errors = server.api.as_(server.write_key).get("/v1/logs?status=error").json()["data"]
    assert len(errors) == 1 and errors[0]["provider"] == "anthropic"
