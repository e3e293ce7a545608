"""The fakes' tool calls and tool checks, read by the official libraries' own accumulating
helpers (which would fail on a wire format they do not know)."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import openai
import pytest
from google import genai
from google.genai import types as genai_types

from .providers import FakeProviderServer, FakeToolCall

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}}
OPENAI_TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER}}]
CALLS = [
    FakeToolCall("get_weather", {"city": "Paris"}),
    FakeToolCall("get_weather", {"city": "Oslo"}),
]
USER = [{"role": "user", "content": "Weather?"}]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeProviderServer) -> Iterator[FakeProviderServer]:
    server.reset()
    yield server
    server.reset()


def test_openai_tool_calls_plain_and_streamed(fake: FakeProviderServer) -> None:
    fake.set_tool_calls("openai", CALLS)
    with openai.OpenAI(api_key="sk", base_url=fake.openai_base_url, max_retries=0) as client:
        plain = client.chat.completions.create(model="m", messages=USER, tools=OPENAI_TOOLS)  # type: ignore[arg-type]
        choice = plain.choices[0]
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        assert [c.function.arguments for c in choice.message.tool_calls or ()] == [  # type: ignore[union-attr]
            '{"city":"Paris"}',
            '{"city":"Oslo"}',
        ]
        with client.chat.completions.stream(
            model="m",
            messages=USER,
            tools=OPENAI_TOOLS,  # type: ignore[arg-type]
        ) as stream:
            final = stream.get_final_completion()
        calls = final.choices[0].message.tool_calls or []
        assert [c.function.arguments for c in calls] == ['{"city":"Paris"}', '{"city":"Oslo"}']  # type: ignore[union-attr]
        assert calls[0].id != calls[1].id


def test_anthropic_tool_use_plain_and_streamed(fake: FakeProviderServer) -> None:
    fake.set_tool_calls("anthropic", CALLS[:1])
    tools = [{"name": "get_weather", "input_schema": WEATHER}]
    with anthropic.Anthropic(
        api_key="k", base_url=fake.anthropic_base_url, max_retries=0
    ) as client:
        plain = client.messages.create(model="m", max_tokens=50, messages=USER, tools=tools)  # type: ignore[arg-type]
        assert plain.stop_reason == "tool_use"
        assert [(b.type, getattr(b, "input", None)) for b in plain.content] == [
            ("tool_use", {"city": "Paris"})
        ]
        fake.set_reply("anthropic", "Let me look.")  # text before the call
        with client.messages.stream(model="m", max_tokens=50, messages=USER, tools=tools) as s:  # type: ignore[arg-type]
            final = s.get_final_message()
        assert [b.type for b in final.content] == ["text", "tool_use"]
        assert final.content[1].input == {"city": "Paris"}  # type: ignore[union-attr]


def test_gemini_function_calls(fake: FakeProviderServer) -> None:
    fake.set_tool_calls("gemini", [FakeToolCall("get_weather", {"city": "Rome"}, id="fc_1")])
    client = genai.Client(
        api_key="g", http_options=genai_types.HttpOptions(base_url=fake.gemini_base_url)
    )
    try:
        response = client.models.generate_content(model="gemini-2.5-flash", contents="Weather?")
        (call,) = response.function_calls or []
        assert (call.id, call.name, call.args) == ("fc_1", "get_weather", {"city": "Rome"})
        chunks = list(client.models.generate_content_stream(model="g", contents="Weather?"))
        assert next(c.function_calls for c in chunks if c.function_calls)[0].name == "get_weather"
    finally:
        client.close()


def test_tool_mistakes_are_refused_as_the_apis_do(fake: FakeProviderServer) -> None:
    with openai.OpenAI(api_key="sk", base_url=fake.openai_base_url, max_retries=0) as client:
        with pytest.raises(openai.BadRequestError, match="only allowed when 'tools'"):
            client.chat.completions.create(model="m", messages=USER, tool_choice="auto")  # type: ignore[arg-type]
        orphan = [*USER, {"role": "tool", "content": "sunny"}]
        with pytest.raises(openai.BadRequestError, match="tool_call_id"):
            client.chat.completions.create(model="m", messages=orphan)  # type: ignore[arg-type]
    with anthropic.Anthropic(api_key="k", base_url=fake.anthropic_base_url, max_retries=0) as ant:
        answer = [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x"}]}]
        with pytest.raises(anthropic.BadRequestError, match="tool_result"):
            ant.messages.create(model="m", max_tokens=5, messages=answer)  # type: ignore[arg-type]
        with pytest.raises(anthropic.BadRequestError, match="input_schema"):
            ant.messages.create(
                model="m",
                max_tokens=5,
                messages=USER,
                tools=[{"name": "f", "input_schema": {}}],  # type: ignore[arg-type,typeddict-item]
            )
    assert [r.status for r in fake.requests] == [400, 400, 400, 400]
