"""Chat and text content (issue 11): messages, placeholders, tools, response format, params,
declared inputs, prompt types, and the older system_prompt/user_template shape."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.helpers import assert_error, row_counts
from tests.support import Api, Project

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}
CHAT: dict[str, Any] = {
    "messages": [
        {"role": "system", "content": "You help {{customer.name}}."},
        {"type": "placeholder", "name": "history"},
        {"role": "user", "content": "{{#items}}- {{.}}\n{{/items}}{{question}}", "name": "u1"},
    ],
    "model": "gpt-4o-mini",
    "temperature": 0.3,
    "params": {"top_p": 0.9, "stop": ["END"], "seed": 7, "reasoning_effort": "low"},
    "inputs": [
        {"name": "question", "type": "string", "description": "what is asked"},
        {"name": "tone", "type": "string", "required": False},
    ],
    "tools": [WEATHER],
    "tool_choice": "get_weather",
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": ANSWER_SCHEMA, "strict": True},
    },
}


def test_a_chat_version_keeps_every_field(api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    v = api.new_version(project.key, **CHAT)
    assert v["type"] == "chat" and v["created"] is True
    assert v["messages"] == CHAT["messages"]
    assert v["text"] is None
    # Not the older shape: a placeholder and a named message.
    assert v["system_prompt"] is None and v["user_template"] is None
    assert v["variables"] == ["customer", "items", "question", "tone"]
    assert v["inputs"] == [
        {"name": "question", "type": "string", "required": True, "description": "what is asked"},
        {"name": "tone", "type": "string", "required": False},
    ]
    assert v["params"] == CHAT["params"]
    assert v["tools"] == [WEATHER]
    assert v["tool_choice"] == "get_weather"
    assert v["response_format"] == CHAT["response_format"]
    assert v["snippets"] == []
    reader = api.as_(project.key)
    got = reader.get("/v1/prompts/greeting/versions/1").json()
    assert {k: got[k] for k in v if k != "created"} == {k: v[k] for k in v if k != "created"}
    active = reader.get("/v1/prompts/greeting/active").json()
    for field in ("messages", "tools", "tool_choice", "response_format", "params", "inputs"):
        assert active[field] == v[field], field


def test_the_older_shape_is_accepted_and_returned(api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    v = api.new_version(project.key, system_prompt="Be {{tone}}.", user_template="Hi {{name}}")
    assert v["system_prompt"] == "Be {{tone}}." and v["user_template"] == "Hi {{name}}"
    assert v["messages"] == [
        {"role": "system", "content": "Be {{tone}}."},
        {"role": "user", "content": "Hi {{name}}"},
    ]
    assert v["variables"] == ["tone", "name"]
    assert (v["tools"], v["tool_choice"], v["response_format"]) == (None, None, None)
    assert (v["params"], v["inputs"], v["text"]) == ({}, [], None)
    # Without a system prompt: one user message; system_prompt reads "" as before.
    w = api.new_version(project.key, user_template="Only {{name}}")
    assert w["messages"] == [{"role": "user", "content": "Only {{name}}"}]
    assert (w["system_prompt"], w["user_template"]) == ("", "Only {{name}}")
    # Messages of that shape are the same content as the older fields: nothing new is made.
    same = api.as_(project.key).post(
        "/v1/prompts/greeting/versions",
        json={"messages": [{"role": "user", "content": "Only {{name}}"}], "model": "gpt-4o-mini"},
    )
    assert same.status_code == 200 and same.json()["created"] is False, same.text
    assert same.json()["version"] == w["version"]


def test_pushing_identical_chat_content_creates_nothing(api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    first = api.new_version(project.key, **CHAT)
    again = api.as_(project.key).post(
        "/v1/prompts/greeting/versions", json={**CHAT, "commit_message": "retry"}
    )
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["version"] == first["version"]
    changed = api.new_version(project.key, **{**CHAT, "tool_choice": "auto"})
    assert changed["version"] == first["version"] + 1


def test_text_prompts_hold_text_only(api: Api, project: Project, app: Any) -> None:
    p = api.new_prompt(project.key, slug="footer", type="text")
    assert p["type"] == "text"
    v = api.new_version(project.key, slug="footer", text="Reply in {{language}}.")
    assert (v["type"], v["text"], v["messages"]) == ("text", "Reply in {{language}}.", None)
    assert (v["system_prompt"], v["user_template"], v["variables"]) == (None, None, ["language"])
    w = api.as_(project.key)
    before = row_counts(app)
    for body, field in (
        ({"messages": [{"role": "user", "content": "x"}]}, "messages"),
        ({"user_template": "x"}, "messages"),
        ({"text": "x", "tools": [WEATHER]}, "tools"),
        ({"text": "x", "response_format": {"type": "json_object"}}, "response_format"),
    ):
        r = w.post("/v1/prompts/footer/versions", json={"model": "m", **body})
        assert_error(r, 422, field=field)
    assert row_counts(app) == before
    # A chat prompt refuses text.
    api.new_prompt(project.key, slug="chat")
    r = w.post("/v1/prompts/chat/versions", json={"model": "m", "text": "x"})
    detail = assert_error(r, 422, field="text")
    assert "chat prompt" in detail["message"]


def test_the_type_is_fixed_at_creation(api: Api, project: Project) -> None:
    w = api.as_(project.key)
    r = w.post("/v1/prompts", json={"slug": "x", "name": "X", "type": "completion"})
    assert_error(r, 422, field="type")
    assert api.new_prompt(project.key, slug="x")["type"] == "chat"
    r = w.patch("/v1/prompts/x", json={"type": "text"})
    assert_error(r, 422, field="type")
    assert w.get("/v1/prompts/x").json()["type"] == "chat"


def _messages(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": "Hi"}, *extra]


BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages.0.role", "Input should be"),
    ({"messages": [{"role": "user"}]}, "messages.0.content", "Field required"),
    ({"messages": [{"role": "user", "content": "x", "extra": 1}]}, "messages.0.extra", ""),
    ({"messages": _messages({"type": "placeholder", "name": "9x"})}, "messages.1.name", ""),
    ({"messages": _messages({"type": "slot", "name": "h"})}, "messages.1.type", ""),
    (
        {"messages": _messages(*[{"type": "placeholder", "name": "h"}] * 2)},
        "messages",
        "same name",
    ),
    (
        {"messages": _messages({"role": "user", "content": "a\n {{#x}}"})},
        "messages.1.content",
        "line 2, column 2",
    ),
    ({"messages": [{"role": "user", "content": "{{=<% %>=}}"}]}, "messages.0.content", "delim"),
    ({"messages": []}, "messages", "at least 1"),
    ({"messages": _messages(), "user_template": "x"}, "messages", "not both"),
    ({"messages": _messages(), "text": "x"}, "text", "not both"),
    (
        {"messages": _messages(), "tools": [{**WEATHER, "type": "code"}]},
        "tools.0.type",
        "",
    ),
    (
        {
            "messages": _messages(),
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": 3}}}],
        },
        "tools.0.function.parameters",
        "JSON Schema",
    ),
    (
        {
            "messages": _messages(),
            "tools": [{"type": "function", "function": {"name": "bad name"}}],
        },
        "tools.0.function.name",
        "",
    ),
    ({"messages": _messages(), "tools": [WEATHER, WEATHER]}, "tools", "same name"),
    ({"messages": _messages(), "tools": [WEATHER], "tool_choice": "nope"}, "tool_choice", ""),
    ({"messages": _messages(), "tool_choice": "required"}, "tool_choice", "needs tools"),
    ({"messages": _messages(), "response_format": {"type": "xml"}}, "response_format", "tag"),
    (
        {
            "messages": _messages(),
            "response_format": {"type": "json_schema", "json_schema": {"name": "a"}},
        },
        "response_format.json_schema.schema",
        "Field required",
    ),
    ({"messages": _messages(), "params": {"top_p": 1.5}}, "params.top_p", "less than"),
    ({"messages": _messages(), "params": {"stop": ["a"] * 5}}, "params.stop", "at most 4"),
    (
        {"messages": _messages(), "params": {"reasoning_effort": "max"}},
        "params.reasoning_effort",
        "",
    ),
    ({"messages": _messages(), "params": {"temperature": 1}}, "params.temperature", ""),
    ({"messages": _messages(), "params": {"seed": 1.5}}, "params.seed", ""),
    ({"messages": _messages(), "inputs": [{"name": "a", "type": "date"}]}, "inputs.0.type", ""),
    ({"messages": _messages(), "inputs": [{"name": "a"}, {"name": "a"}]}, "inputs", "twice"),
    ({"messages": _messages({"role": "user", "content": "\x00"})}, "messages.1.content", "NUL"),
]


@pytest.mark.parametrize(("patch", "field", "words"), BAD, ids=[b[1] for b in BAD])
def test_bad_content_is_422_naming_the_field(
    api: Api, project: Project, app: Any, patch: dict[str, Any], field: str, words: str
) -> None:
    api.new_prompt(project.key)
    before = row_counts(app)
    r = api.as_(project.key).post(
        "/v1/prompts/greeting/versions", json={"model": "gpt-4o-mini", **patch}
    )
    detail = assert_error(r, 422, field=field)
    assert words in detail["message"], detail
    assert detail["message"].startswith(field), detail
    assert row_counts(app) == before
