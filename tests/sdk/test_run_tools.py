"""run() with a version's tools, tool choice, response format and params, through each
official library against the fake providers (sync, async, streaming): what reaches the
provider, ``tool_calls`` and ``parsed`` read back the same way, and the log (request with
the tools and format, response with the tool calls)."""

from __future__ import annotations

from typing import Any

import pytest

from promptops.sdk.errors import ConfigurationError, InvalidOutputError, UnsupportedFieldError
from promptops.sdk.run import ToolCall
from tests.fakes.providers import FakeProviderServer, FakeToolCall
from tests.sdk.conftest import Server
from tests.sdk.run_support import (  # fake_fixture, fake_providers_fixture: fixtures
    VARIABLES,
    all_logs,
    anthropic_client,
    async_anthropic_client,
    async_openai_client,
    fake_fixture,  # noqa: F401
    fake_providers_fixture,  # noqa: F401
    gemini_client,
    openai_client,
    po_async_client,
    po_client,
    wait_log,
)

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
ANSWER = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}
JSON_SCHEMA = {
    "type": "json_schema",
    "json_schema": {"name": "answer", "schema": ANSWER, "strict": True},
}
CALL = FakeToolCall("get_weather", {"city": "Paris"})
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def version(server: Server, provider: str, **fields: Any) -> None:
    server.new_version(
        system_prompt="You are {{tone}}.",
        user_template="Weather in {{name}}?",
        model=MODELS[provider],
        tools=TOOLS,
        tool_choice="get_weather",
        **fields,
    )


def test_openai_tools_json_and_params_sync_and_streamed(
    server: Server, fake: FakeProviderServer
) -> None:
    version(
        server,
        "openai",
        response_format=JSON_SCHEMA,
        params={"top_p": 0.5, "stop": ["END"], "seed": 7, "reasoning_effort": "low"},
    )
    fake.set_tool_calls("openai", [CALL])
    with po_client(server) as client, openai_client(fake) as oai:
        result = client.run("greeting", VARIABLES, client=oai)
        sent = fake.last_request("openai").body
        assert sent["tools"] == TOOLS
        assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
        assert sent["response_format"] == JSON_SCHEMA
        assert (sent["top_p"], sent["stop"], sent["seed"], sent["reasoning_effort"]) == (
            0.5,
            ["END"],
            7,
            "low",
        )
        (call,) = result.tool_calls
        assert call == ToolCall(
            result.response.choices[0].message.tool_calls[0].id, CALL.name, CALL.arguments
        )
        assert call.id and call.id.startswith("call_fake")

        stream = client.run("greeting", VARIABLES, client=oai, stream=True)
        with pytest.raises(ConfigurationError, match="once the stream has ended"):
            stream.tool_calls  # noqa: B018
        assert len(list(stream)) > 3  # the arguments arrive in pieces
        assert [(c.name, c.arguments) for c in stream.tool_calls] == [
            ("get_weather", CALL.arguments)
        ]

        fake.set_tool_calls("openai", None)
        fake.set_reply("openai", '{"answer": "sunny"}')
        answer = client.run("greeting", VARIABLES, client=oai)
        assert answer.parsed == {"answer": "sunny"} and answer.tool_calls == []
        streamed = client.run("greeting", VARIABLES, client=oai, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
        assert streamed.parsed == {"answer": "sunny"}
        assert client.flush(10)

    entry = wait_log(server, result.log_id)
    assert entry["request"]["tools"] == TOOLS
    assert entry["request"]["response_format"] == JSON_SCHEMA
    logged = entry["response"]["choices"][0]["message"]["tool_calls"]
    assert logged[0]["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    merged = wait_log(server, stream.log_id)["response"]["choices"][0]
    assert merged["message"]["tool_calls"][0]["function"]["arguments"] == '{"city":"Paris"}'
    assert merged["finish_reason"] == "tool_calls"


@pytest.mark.anyio
async def test_openai_async_tool_calls_and_parsed(server: Server, fake: FakeProviderServer) -> None:
    version(server, "openai", response_format={"type": "json_object"})
    fake.set_tool_calls("openai", [CALL, FakeToolCall("get_weather", {"city": "Oslo"})])
    async with po_async_client(server) as client, async_openai_client(fake) as oai:
        result = await client.run("greeting", VARIABLES, client=oai)
        assert [c.arguments["city"] for c in result.tool_calls] == ["Paris", "Oslo"]
        stream = await client.run("greeting", VARIABLES, client=oai, stream=True)
        _ = [chunk async for chunk in stream]
        assert [c.arguments["city"] for c in stream.tool_calls] == ["Paris", "Oslo"]
        assert len({c.id for c in stream.tool_calls}) == 2
        fake.set_tool_calls("openai", None)
        fake.set_reply("openai", '{"ok": true}')
        assert (await client.run("greeting", VARIABLES, client=oai)).parsed == {"ok": True}


def test_openai_bad_output_errors_and_per_call_overrides(
    server: Server, fake: FakeProviderServer
) -> None:
    version(server, "openai", response_format=JSON_SCHEMA, params={"seed": 7})
    fake.set_tool_calls("openai", [FakeToolCall("get_weather", '{"city": "Par')])
    with po_client(server) as client, openai_client(fake) as oai:
        result = client.run("greeting", VARIABLES, client=oai)
        with pytest.raises(InvalidOutputError) as info:
            result.tool_calls  # noqa: B018
        assert info.value.field == "tool_calls[0].arguments"
        assert info.value.raw == '{"city": "Par'
        fake.set_tool_calls("openai", None)
        fake.set_reply("openai", '{"answer": 42}')
        wrong = client.run("greeting", VARIABLES, client=oai)
        with pytest.raises(InvalidOutputError, match="at answer: 42 is not of type 'string'"):
            wrong.parsed  # noqa: B018
        assert wrong.text == '{"answer": 42}'  # the reply stays readable

        # run()'s keyword arguments of the same names replace the version's; None: left out
        client.run("greeting", VARIABLES, client=oai, tools=None, seed=None)
        sent = fake.last_request("openai").body
        assert "tools" not in sent and "tool_choice" not in sent and "seed" not in sent
        fake.set_reply("openai", '{"a": 1}')
        over = client.run(
            "greeting",
            VARIABLES,
            client=oai,
            tool_choice="required",
            response_format={"type": "json_object"},
        )
        sent = fake.last_request("openai").body
        assert sent["tool_choice"] == "required" and sent["seed"] == 7
        assert sent["response_format"] == {"type": "json_object"}
        assert over.parsed == {"a": 1}
        assert client.flush(10)
    assert wait_log(server, result.log_id)["status"] == "ok"  # logged as received


def test_anthropic_tools_json_and_streamed_tool_use(
    server: Server, fake: FakeProviderServer
) -> None:
    version(server, "anthropic", params={"stop": ["END"], "reasoning_effort": "medium"})
    fake.set_tool_calls("anthropic", [CALL])
    with po_client(server) as client, anthropic_client(fake) as ant:
        result = client.run("greeting", VARIABLES, client=ant)
        sent = fake.last_request("anthropic").body
        assert sent["system"] == "You are kind."
        assert sent["tools"] == [{"name": "get_weather", "input_schema": WEATHER}]
        assert sent["tool_choice"] == {"type": "tool", "name": "get_weather"}
        assert sent["stop_sequences"] == ["END"]
        assert sent["output_config"] == {"effort": "medium"}
        (call,) = result.tool_calls
        assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})
        assert call.id == result.response.content[0].id

        stream = client.run("greeting", VARIABLES, client=ant, stream=True)
        types = [event.type for event in stream]
        assert types.count("content_block_delta") > 1  # input_json_delta pieces
        assert [(c.id is not None, c.arguments) for c in stream.tool_calls] == [
            (True, CALL.arguments)
        ]
        assert client.flush(10)
    entry = wait_log(server, stream.log_id)
    assert entry["request"]["tools"] == [{"name": "get_weather", "input_schema": WEATHER}]
    block = entry["response"]["content"][0]
    assert (block["type"], block["input"]) == ("tool_use", {"city": "Paris"})


@pytest.mark.anyio
async def test_anthropic_async_structured_output(server: Server, fake: FakeProviderServer) -> None:
    version(server, "anthropic", response_format=JSON_SCHEMA)
    fake.set_reply("anthropic", '{"answer": "rain"}')
    async with po_async_client(server) as client, async_anthropic_client(fake) as ant:
        result = await client.run("greeting", VARIABLES, client=ant)
        sent = fake.last_request("anthropic").body
        assert sent["output_config"] == {"format": {"type": "json_schema", "schema": ANSWER}}
        assert result.parsed == {"answer": "rain"} and result.tool_calls == []
        stream = await client.run("greeting", VARIABLES, client=ant, stream=True)
        async with stream:
            _ = [event async for event in stream]
        assert stream.parsed == {"answer": "rain"}
        fake.set_tool_calls("anthropic", [FakeToolCall("get_weather", '{"city": ')])
        cut = await client.run("greeting", VARIABLES, client=ant, stream=True)
        _ = [event async for event in cut]
        with pytest.raises(InvalidOutputError, match=r"tool_calls\[0\]\.arguments"):
            cut.tool_calls  # noqa: B018


def test_anthropic_cannot_express_refused_before_any_call(
    server: Server, fake: FakeProviderServer
) -> None:
    version(server, "anthropic", params={"seed": 7})
    with po_client(server) as client, anthropic_client(fake) as ant:
        with pytest.raises(UnsupportedFieldError) as info:
            client.run("greeting", VARIABLES, client=ant)
        assert (info.value.provider, info.value.field) == ("anthropic", "params.seed")
        assert fake.requests_for("anthropic") == []
        ok = client.run("greeting", VARIABLES, client=ant, seed=None)  # the call leaves it out
        assert "seed" not in fake.last_request("anthropic").body
        assert client.flush(10)
    assert [e["id"] for e in all_logs(server.base_url, server.write_key)] == [ok.log_id]


def test_gemini_tools_json_and_params_sync_and_streamed(
    server: Server, fake: FakeProviderServer
) -> None:
    version(
        server,
        "gemini",
        response_format=JSON_SCHEMA,
        params={"top_p": 0.5, "stop": ["END"], "seed": 7, "presence_penalty": 0.5},
    )
    fake.set_tool_calls("gemini", [CALL])
    with po_client(server) as client, gemini_client(fake) as gem:
        result = client.run("greeting", VARIABLES, client=gem)
        sent = fake.last_request("gemini").body
        assert sent["systemInstruction"]["parts"] == [{"text": "You are kind."}]
        declaration = sent["tools"][0]["functionDeclarations"][0]
        assert declaration == {"name": "get_weather", "parameters_json_schema": WEATHER}
        assert sent["toolConfig"]["functionCallingConfig"] == {
            "mode": "ANY",
            "allowedFunctionNames": ["get_weather"],
        }
        config = sent["generationConfig"]
        assert (config["responseMimeType"], config["responseJsonSchema"]) == (
            "application/json",
            ANSWER,
        )
        assert (config["topP"], config["stopSequences"], config["seed"]) == (0.5, ["END"], 7)
        assert config["presencePenalty"] == 0.5
        assert result.tool_calls == [ToolCall(None, "get_weather", {"city": "Paris"})]
        stream = client.run("greeting", VARIABLES, client=gem, stream=True)
        _ = list(stream)
        assert stream.tool_calls == [ToolCall(None, "get_weather", {"city": "Paris"})]

        fake.set_tool_calls("gemini", None)
        fake.set_reply("gemini", '{"answer": "fog"}')
        assert client.run("greeting", VARIABLES, client=gem).parsed == {"answer": "fog"}
        streamed = client.run("greeting", VARIABLES, client=gem, stream=True)
        _ = list(streamed)
        assert streamed.parsed == {"answer": "fog"}
        assert client.flush(10)
    entry = wait_log(server, stream.log_id)
    assert entry["request"]["config"]["response_json_schema"] == ANSWER
    parts = entry["response"]["candidates"][0]["content"]["parts"]
    assert {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}} in parts


@pytest.mark.anyio
async def test_gemini_async_tool_calls_with_ids(server: Server, fake: FakeProviderServer) -> None:
    version(server, "gemini")
    fake.set_tool_calls("gemini", [FakeToolCall("get_weather", {"city": "Rome"}, id="fc_1")])
    gem = gemini_client(fake)
    async with po_async_client(server) as client:
        result = await client.run("greeting", VARIABLES, client=gem)
        assert result.tool_calls == [ToolCall("fc_1", "get_weather", {"city": "Rome"})]
        assert result.parsed is None  # a text format
        stream = await client.run("greeting", VARIABLES, client=gem.aio, stream=True)
        _ = [chunk async for chunk in stream]
        assert stream.tool_calls == result.tool_calls
    await gem.aio.aclose()
    gem.close()


def test_a_text_prompt_runs_as_one_user_message(server: Server, fake: FakeProviderServer) -> None:
    server.api.new_prompt(server.write_key, slug="summary", type="text")
    server.new_version("summary", text="Summarise for {{name}}.", model=MODELS["openai"])
    with po_client(server) as client, openai_client(fake) as oai:
        result = client.run("summary", {"name": "Ada"}, client=oai)
        sent = fake.last_request("openai").body
        assert sent["messages"] == [{"role": "user", "content": "Summarise for Ada."}]
        assert result.text
