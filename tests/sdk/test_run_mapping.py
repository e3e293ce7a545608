"""The provider mappings of run(): rendered messages (developer, assistant tool calls, tool
results) and the version's tools / tool choice / response format / params, built by each
adapter and sent by the provider's official library to the fake server, which checks them
as the real API does. What a provider cannot express fails before any request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from promptops.sdk.errors import (
    ConfigurationError,
    InvalidOutputError,
    UnsupportedFieldError,
)
from promptops.sdk.prompt import Prompt
from promptops.sdk.providers.base import get_provider
from promptops.sdk.providers.spec import CallSpec, call_spec
from promptops.sdk.run_result import ToolCall, parse_output
from tests.fakes.providers import FakeProviderServer
from tests.sdk.run_support import (  # fake_fixture, fake_providers_fixture: fixtures
    anthropic_client,
    fake_fixture,  # noqa: F401
    fake_providers_fixture,  # noqa: F401
    gemini_client,
    openai_client,
)

WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather now", "parameters": WEATHER},
    },
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}},
]
# A conversation the older render cannot produce: what the new render gives for it.
CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "You are terse."},
    {"role": "developer", "content": "Answer in French."},
    {"role": "user", "content": "Weather and time in Paris?"},
    {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            },
            {"id": "call_2", "name": "get_time", "arguments": {}},  # the flat form
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    {"role": "tool", "tool_call_id": "call_2", "content": "noon"},
    {"role": "user", "content": "Thanks"},
]


def spec_of(**fields: Any) -> CallSpec:
    prompt = Prompt.from_payload({"slug": "p", "version": 1, "messages": [], **fields})
    return call_spec(prompt, {})


_CLIENTS: dict[str, Any] = {}


@pytest.fixture(scope="module", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    for client in _CLIENTS.values():
        client.close()
    _CLIENTS.clear()


def send(
    fake: FakeProviderServer, provider: str, messages: list[dict[str, Any]], spec: CallSpec
) -> tuple[Any, Any]:
    """Build the call with the adapter and send it with the official library (one client per
    provider for the module); the body the fake received, and the library's response."""
    adapter = get_provider(provider)
    model = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.5"}
    kwargs = adapter.build(messages, model[provider], None, 64, {}, False, False, spec)
    client = _CLIENTS.get(provider)
    if client is None:
        factory = {"openai": openai_client, "anthropic": anthropic_client, "gemini": gemini_client}
        client = _CLIENTS[provider] = factory[provider](fake)  # type: ignore[operator]
    response = adapter.create(client, kwargs, False)
    sent = fake.last_request(provider)
    assert sent.status == 200, sent.body
    return sent.body, response


def test_openai_conversation_and_content_as_the_api_has_them(fake: FakeProviderServer) -> None:
    spec = spec_of(
        tools=TOOLS,
        tool_choice="get_weather",
        response_format={"type": "json_object"},
        params={"top_p": 0.5, "stop": ["END"], "seed": 7, "reasoning_effort": "low"},
    )
    body, _ = send(fake, "openai", CONVERSATION, spec)
    assert body["messages"][:3] == CONVERSATION[:3]  # developer role as is
    assert body["messages"][3] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            },
            {
                "id": "call_2",
                "type": "function",
                "function": {"name": "get_time", "arguments": "{}"},
            },
        ],
    }
    assert body["messages"][4] == {"role": "tool", "content": "sunny", "tool_call_id": "call_1"}
    assert body["tools"] == TOOLS
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["response_format"] == {"type": "json_object"}
    assert (body["top_p"], body["stop"], body["seed"], body["reasoning_effort"]) == (
        0.5,
        ["END"],
        7,
        "low",
    )


def test_anthropic_conversation_and_content_in_its_own_form(fake: FakeProviderServer) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    spec = spec_of(
        tools=[{**TOOLS[0], "function": {**TOOLS[0]["function"], "strict": True}}],
        tool_choice="required",
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": schema, "strict": True},
        },
        params={"stop": ["END"], "reasoning_effort": "high"},
    )
    body, _ = send(fake, "anthropic", CONVERSATION, spec)
    assert body["system"] == [
        {"type": "text", "text": "You are terse."},
        {"type": "text", "text": "Answer in French."},
    ]
    assert body["messages"] == [
        {"role": "user", "content": "Weather and time in Paris?"},
        {
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "call_1",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
                {"type": "tool_use", "id": "call_2", "name": "get_time", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "sunny"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "noon"},
            ],
        },
        {"role": "user", "content": "Thanks"},
    ]
    assert body["tools"] == [
        {
            "name": "get_weather",
            "input_schema": WEATHER,
            "description": "Weather now",
            "strict": True,
        }
    ]
    assert body["tool_choice"] == {"type": "any"}
    assert body["output_config"] == {
        "format": {"type": "json_schema", "schema": schema},
        "effort": "high",
    }
    assert body["stop_sequences"] == ["END"]
    # one system message: a string; a later one: a system-role message; choice none / a name
    body, _ = send(
        fake,
        "anthropic",
        [
            {"role": "system", "content": "S"},
            {"role": "user", "content": "U"},
            {"role": "system", "content": "Later"},
            {"role": "user", "content": "V"},
        ],
        spec_of(tools=TOOLS, tool_choice="none"),
    )
    assert body["system"] == "S"
    assert body["messages"][1] == {"role": "system", "content": "Later"}
    assert body["tool_choice"] == {"type": "none"}
    body, _ = send(
        fake, "anthropic", CONVERSATION[2:3], spec_of(tools=TOOLS, tool_choice="get_time")
    )
    assert body["tool_choice"] == {"type": "tool", "name": "get_time"}
    assert body["tools"][1] == {"name": "get_time", "input_schema": {"type": "object"}}


def test_gemini_conversation_and_content_in_its_own_form(fake: FakeProviderServer) -> None:
    spec = spec_of(
        tools=TOOLS,
        tool_choice="get_weather",
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "w", "schema": WEATHER, "strict": True},
        },
        params={
            "top_p": 0.5,
            "stop": ["END"],
            "seed": 7,
            "presence_penalty": 0.1,
            "frequency_penalty": 0.2,
            "reasoning_effort": "minimal",
        },
    )
    body, _ = send(fake, "gemini", CONVERSATION, spec)
    assert body["systemInstruction"]["parts"] == [
        {"text": "You are terse."},
        {"text": "Answer in French."},
    ]
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Weather and time in Paris?"}]},
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {
                        "id": "call_1",
                        "name": "get_weather",
                        "args": {"city": "Paris"},
                    }
                },
                {"functionCall": {"id": "call_2", "name": "get_time", "args": {}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {
                    "functionResponse": {
                        "id": "call_1",
                        "name": "get_weather",
                        "response": {"output": "sunny"},
                    }
                },
                {
                    "functionResponse": {
                        "id": "call_2",
                        "name": "get_time",
                        "response": {"output": "noon"},
                    }
                },
            ],
        },
        {"role": "user", "parts": [{"text": "Thanks"}]},
    ]
    # the library sends a declaration under its own field names (the API's JSON parser
    # accepts proto field names as well as camelCase)
    assert body["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Weather now",
                    "parameters_json_schema": WEATHER,
                },
                {"name": "get_time", "parameters_json_schema": {"type": "object"}},
            ]
        }
    ]
    assert body["toolConfig"] == {
        "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
    }
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == WEATHER
    assert (config["topP"], config["seed"], config["stopSequences"]) == (0.5, 7, ["END"])
    assert (config["presencePenalty"], config["frequencyPenalty"]) == (0.1, 0.2)
    assert config["thinkingConfig"] == {"thinking_level": "MINIMAL"}  # as the library sends it
    body, _ = send(fake, "gemini", CONVERSATION[2:3], spec_of(tools=TOOLS, tool_choice="none"))
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "NONE"}}
    body, _ = send(
        fake,
        "gemini",
        CONVERSATION[:1] + CONVERSATION[2:3],
        spec_of(response_format={"type": "json_object"}),
    )
    assert body["systemInstruction"] == {"parts": [{"text": "You are terse."}], "role": "user"}
    assert body["generationConfig"] == {
        "maxOutputTokens": 64,
        "responseMimeType": "application/json",
    }


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_tool_calls_read_back_are_sent_again(fake: FakeProviderServer, provider: str) -> None:
    """RunResult.tool_calls (ToolCall objects) go back into the next turn as they are."""
    calls = [ToolCall("call_9", "get_weather", {"city": "Oslo"})]
    messages = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": calls},
        {"role": "tool", "tool_call_id": "call_9", "content": "snow"},
    ]
    body, _ = send(fake, provider, messages, spec_of(tools=TOOLS))
    if provider == "openai":
        assert body["messages"][1]["tool_calls"][0]["function"]["arguments"] == '{"city":"Oslo"}'
        assert body["messages"][1]["content"] == "Checking."
    elif provider == "anthropic":
        assert body["messages"][1]["content"][0] == {"type": "text", "text": "Checking."}
        assert body["messages"][2]["content"][0]["tool_use_id"] == "call_9"
    else:
        assert body["contents"][1]["parts"][1]["functionCall"]["args"] == {"city": "Oslo"}
        assert body["contents"][2]["parts"][0]["functionResponse"]["name"] == "get_weather"


CASES = [
    ("anthropic", {"params": {"seed": 7}}, "params.seed"),
    ("anthropic", {"params": {"presence_penalty": 0.5}}, "params.presence_penalty"),
    ("anthropic", {"params": {"frequency_penalty": 0.5}}, "params.frequency_penalty"),
    ("anthropic", {"params": {"top_p": 0.5}}, "params.top_p"),  # anthropic 2.x has none
    ("anthropic", {"params": {"reasoning_effort": "minimal"}}, "params.reasoning_effort"),
    ("anthropic", {"response_format": {"type": "json_object"}}, "response_format"),
    (
        "gemini",
        {"tools": [{"type": "function", "function": {"name": "f", "strict": True}}]},
        "tools[0].function.strict",
    ),
]


@pytest.mark.parametrize(("provider", "fields", "field"), CASES)
def test_what_a_provider_cannot_express_fails_before_any_call(
    fake: FakeProviderServer, provider: str, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(UnsupportedFieldError) as info:
        get_provider(provider).build(
            [{"role": "user", "content": "hi"}],
            "m",
            None,
            None,
            {},
            False,
            False,
            spec_of(**fields),
        )
    assert (info.value.provider, info.value.field) == (provider, field)
    assert provider in str(info.value) and field in str(info.value)
    assert isinstance(info.value, ConfigurationError)


@pytest.mark.parametrize(
    ("provider", "messages", "field"),
    [
        ("anthropic", [{"role": "user", "content": "a", "name": "ada"}], "messages[0].name"),
        ("gemini", [{"role": "user", "content": "a", "name": "ada"}], "messages[0].name"),
        (
            "gemini",
            [{"role": "user", "content": "a"}, {"role": "system", "content": "late"}],
            "messages[1]",
        ),
    ],
)
def test_messages_a_provider_cannot_express(
    provider: str, messages: list[dict[str, Any]], field: str
) -> None:
    with pytest.raises(UnsupportedFieldError) as info:
        get_provider(provider).build(messages, "m", None, None, {}, False, False, CallSpec())
    assert info.value.field == field


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_malformed_messages_are_named(provider: str) -> None:
    adapter = get_provider(provider)
    orphan = [{"role": "user", "content": "a"}, {"role": "tool", "content": "r"}]
    with pytest.raises(ConfigurationError, match=r"messages\[1\]"):
        adapter.build(orphan, "m", None, None, {}, False, False, CallSpec())
    bad_args = [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "c", "name": "f", "arguments": "{x"}],
        }
    ]
    with pytest.raises(ConfigurationError, match=r"messages\[0\]\.tool_calls\[0\]\.arguments"):
        adapter.build(bad_args, "m", None, None, {}, False, False, CallSpec())
    with pytest.raises(ConfigurationError, match=r"messages\[0\]\.role"):
        adapter.build(
            [{"role": "robot", "content": "a"}], "m", None, None, {}, False, False, CallSpec()
        )


def test_call_spec_overrides_and_checks() -> None:
    prompt = Prompt.from_payload(
        {
            "slug": "p",
            "version": 1,
            "messages": [],
            "tools": TOOLS,
            "tool_choice": "auto",
            "response_format": {"type": "json_object"},
            "params": {"seed": 1, "top_p": 0.3},
        }
    )
    overrides: dict[str, Any] = {"seed": None, "tool_choice": "get_time", "user": "u"}
    spec = call_spec(prompt, overrides)
    assert overrides == {"user": "u"}  # the neutral names are taken, the others left
    assert spec.params == {"top_p": 0.3} and spec.tool_choice == "get_time"
    assert call_spec(prompt, {"stop": "END"}).params["stop"] == ["END"]
    assert spec.json_format == "json_object" and spec.schema is None
    dropped = call_spec(prompt, {"tools": None, "response_format": {"type": "text"}})
    assert dropped.tools is None and dropped.tool_choice is None  # "auto" without tools: left out
    assert dropped.response_format is None and dropped.json_format is None
    with pytest.raises(ConfigurationError, match="tool_choice: 'nope' is not one of the tools"):
        call_spec(prompt, {"tool_choice": "nope"})
    with pytest.raises(ConfigurationError, match="'required' needs tools"):
        call_spec(prompt, {"tools": None, "tool_choice": "required"})
    with pytest.raises(ConfigurationError, match=r"tools\[0\]"):
        call_spec(prompt, {"tools": [{"name": "flat"}]})
    with pytest.raises(ConfigurationError, match="response_format"):
        call_spec(prompt, {"response_format": {"type": "yaml"}})


def test_parse_output_checks_json_and_the_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    spec = spec_of(
        response_format={"type": "json_schema", "json_schema": {"name": "s", "schema": schema}}
    )
    assert parse_output('{"n": 3}', spec) == {"n": 3}
    with pytest.raises(InvalidOutputError) as info:
        parse_output('{"n": "three"}', spec)
    assert info.value.field == "parsed" and info.value.raw == '{"n": "three"}'
    assert "at n: 'three' is not of type 'integer'" in str(info.value)
    with pytest.raises(InvalidOutputError, match="not JSON"):
        parse_output("Sure! {", spec)
    with pytest.raises(InvalidOutputError, match="no text"):
        parse_output(None, spec)
    json_object = spec_of(response_format={"type": "json_object"})
    with pytest.raises(InvalidOutputError, match="not a JSON object"):
        parse_output("[1, 2]", json_object)
    assert parse_output("plain", spec_of()) is None
