"""run() through the official google-genai library against the fake provider server."""

from __future__ import annotations

import pytest
from google.genai import errors as genai_errors
from google.genai import types as genai_types

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
    assert_common,
    fake_fixture,  # noqa: F401
    fake_providers_fixture,  # noqa: F401
    gemini_client,
    po_async_client,
    po_client,
    wait_log,
)

MODEL = "gemini-2.5-flash"
COST = (INPUT_TOKENS * 0.30 + OUTPUT_TOKENS * 2.50) / 1e6


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_run_and_log(server: Server, fake: FakeProviderServer) -> None:
    with po_client(server) as client, gemini_client(fake) as gem:
        result = client.run("greeting", VARIABLES, client=gem, model=MODEL, max_tokens=50, top_k=3)
        assert isinstance(result.response, genai_types.GenerateContentResponse)
        assert result.provider == "gemini"
        assert result.text == result.response.text == ECHO
        assert result.usage == (INPUT_TOKENS, OUTPUT_TOKENS)
        sent = fake.last_request("gemini")
        assert sent.path.endswith(f"/models/{MODEL}:generateContent")
        assert sent.body["contents"] == [{"role": "user", "parts": [{"text": USER}]}]
        assert sent.body["systemInstruction"]["parts"] == [{"text": SYSTEM}]
        config = sent.body["generationConfig"]
        assert (config["temperature"], config["maxOutputTokens"], config["topK"]) == (1.0, 50, 3)
        assert client.flush(10)
    entry = wait_log(server, result.log_id)
    assert_common(entry, "gemini", MODEL)
    assert entry["request"]["contents"] == [{"role": "user", "parts": [{"text": USER}]}]
    assert entry["request"]["config"]["system_instruction"] == SYSTEM
    assert entry["response"]["candidates"][0]["content"]["parts"] == [{"text": ECHO}]
    assert entry["response"]["usageMetadata"]["promptTokenCount"] == INPUT_TOKENS
    assert "sdkHttpResponse" not in entry["response"]
    assert entry["cost_usd"] == pytest.approx(COST)


def test_streaming(server: Server, fake: FakeProviderServer) -> None:
    with po_client(server) as client, gemini_client(fake) as gem:
        stream = client.run("greeting", VARIABLES, client=gem, model=MODEL, stream=True)
        assert isinstance(stream, RunStream)
        chunks = list(stream)
        assert len(chunks) > 2
        assert all(isinstance(c, genai_types.GenerateContentResponse) for c in chunks)
        assert "".join(c.text or "" for c in chunks) == ECHO == stream.text
        assert fake.last_request("gemini").path.endswith(":streamGenerateContent")
        assert client.flush(10)
    entry = wait_log(server, stream.log_id)
    assert_common(entry, "gemini", MODEL)
    candidate = entry["response"]["candidates"][0]
    assert candidate["content"]["parts"] == [{"text": ECHO}]
    assert candidate["finishReason"] == "STOP"


def test_streaming_error_is_raised_while_iterating_and_logged(
    server: Server, fake: FakeProviderServer
) -> None:
    fake.fail_next("gemini", status=503, body="overloaded")
    with po_client(server) as client, gemini_client(fake) as gem:
        stream = client.run("greeting", VARIABLES, client=gem, model=MODEL, stream=True)
        with pytest.raises(genai_errors.ServerError) as info:
            list(stream)  # google-genai sends the request on the first read
        assert info.value.code == 503
        assert stream.finished
        assert client.flush(10)
    entry = wait_log(server, stream.log_id)
    assert entry["status"] == "error" and "overloaded" in entry["error"]
    assert entry["response"] is None  # nothing arrived


@pytest.mark.anyio
async def test_async_run_stream_and_error(server: Server, fake: FakeProviderServer) -> None:
    gem = gemini_client(fake)
    async with po_async_client(server) as client:
        result = await client.run("greeting", VARIABLES, client=gem, model=MODEL)  # via .aio
        assert result.text == ECHO
        stream = await client.run("greeting", VARIABLES, client=gem.aio, model=MODEL, stream=True)
        assert isinstance(stream, AsyncRunStream)
        assert "".join([c.text or "" async for c in stream]) == ECHO
        fake.fail_next("gemini", status=429)
        with pytest.raises(genai_errors.ClientError) as info:
            await client.run("greeting", VARIABLES, client=gem, model=MODEL)
        assert info.value.code == 429
    await gem.aio.aclose()
    gem.close()
    for log_id in (result.log_id, stream.log_id):
        assert_common(wait_log(server, log_id), "gemini", MODEL)
    (error,) = server.api.as_(server.write_key).get("/v1/logs?status=error").json()["data"]
    assert error["provider"] == "gemini" and "429" in error["error"]
    assert error["response"]["error"]["status"] == "RESOURCE_EXHAUSTED"
