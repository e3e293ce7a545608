"""Prompt content: construction (the older fields and messages kept in step), payloads that
are not prompts, fallbacks with the new fields, and the snapshot file with new payloads."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import promptops
from promptops import ConfigurationError, InvalidResponseError, Prompt
from tests.sdk.conftest import FakeClock, Server
from tests.sdk.test_client_mock import Recorder, client_for, ok

FIXTURES = Path(promptops.__file__).parent / "contract" / "fixtures" / "active"
CHAT = json.loads((FIXTURES / "chat.json").read_text(encoding="utf-8"))
TEXT = json.loads((FIXTURES / "text.json").read_text(encoding="utf-8"))
HISTORY = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]


def test_the_older_fields_become_messages_and_back() -> None:
    older = Prompt(slug="p", version=1, system_prompt="S {{a}}", user_template="U {{b}}")
    assert older.messages == (
        {"role": "system", "content": "S {{a}}"},
        {"role": "user", "content": "U {{b}}"},
    )
    assert Prompt(slug="p", version=1, user_template="U").messages == (
        {"role": "user", "content": "U"},
    )
    same = Prompt(slug="p", version=1, messages=older.messages)
    assert (same.system_prompt, same.user_template) == ("S {{a}}", "U {{b}}")
    assert same == older and hash(same) == hash(older)
    newer = Prompt(
        slug="p", version=1, messages=[*older.messages, {"role": "assistant", "content": "A"}]
    )
    assert (newer.system_prompt, newer.user_template, newer.type) == ("", "", "chat")
    assert isinstance(newer.messages, tuple) and newer != older
    assert newer.with_flags(is_stale=True).render(a=1, b=2)[2] == {
        "role": "assistant",
        "content": "A",
    }
    with pytest.raises(ValueError, match="give one of them"):
        Prompt(slug="p", version=1, messages=newer.messages, user_template="U")
    with pytest.raises(ValueError, match="do not match"):
        Prompt(slug="p", version=1, messages=older.messages, user_template="other")


def test_a_text_prompt() -> None:
    prompt = Prompt.from_payload(TEXT["payload"])
    assert (prompt.type, prompt.messages, prompt.system_prompt, prompt.user_template) == (
        "text",
        (),
        "",
        "",
    )
    assert prompt.variables == ("forbidden",)
    assert Prompt(slug="t", version=1, type="text", text="x") == Prompt(
        slug="t", version=1, text="x"
    )
    with pytest.raises(ValueError, match="needs its text"):
        Prompt(slug="t", version=1, type="text")
    with pytest.raises(ValueError, match="not messages"):
        Prompt(slug="t", version=1, text="x", messages=({"role": "user", "content": "u"},))


def _with(**changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(CHAT["payload"])
    payload.update(changes)
    return payload


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        (_with(messages=[{"role": "bot", "content": "x"}]), "messages.0.role"),
        (_with(messages=[{"role": "user", "content": 3}]), "messages.0.content"),
        (_with(messages=[{"role": "user", "content": "{{#a}}"}]), "messages.0.content"),
        (_with(messages=[{"role": "user", "content": "x", "name": 1}]), "messages.0.name"),
        (_with(messages=[{"type": "other", "name": "h"}]), "messages.0.type"),
        (_with(messages=[{"type": "placeholder"}]), "messages.0.name"),
        (_with(messages=[{"type": "placeholder", "name": "h"}] * 2), "messages.1.name"),
        (_with(messages="hi"), "messages"),
        (_with(inputs=[{"name": "a", "type": "date"}]), "inputs.0.type"),
        (_with(inputs=[{"name": "a", "required": "yes"}]), "inputs.0.required"),
        (_with(inputs=[{"name": "a"}, {"name": "a"}]), "inputs.1.name"),
        (_with(inputs=[{"type": "string"}]), "inputs.0.name"),
        (_with(type="image"), "type"),
        (_with(type="text", messages=None, text=None), "text"),
        (_with(messages=None, text=5), "text"),
    ],
)
def test_payloads_that_are_not_prompts_name_the_field(payload: Any, named: str) -> None:
    with pytest.raises(InvalidResponseError) as caught:
        Prompt.from_payload(payload)
    assert named in str(caught.value)


def test_fallbacks_with_the_new_fields() -> None:
    fallback = {
        "messages": [
            {"role": "system", "content": "Be {{tone}}."},
            {"type": "placeholder", "name": "history"},
        ],
        "inputs": [{"name": "tone", "type": "string", "required": False}],
        "model": "gpt-4o-mini",
        "params": {"top_p": 0.5},
    }
    prompt = Prompt.from_fallback("s", None, fallback)
    assert prompt.is_fallback and prompt.params == {"top_p": 0.5}
    assert prompt.render(history=HISTORY) == [{"role": "system", "content": "Be ."}, *HISTORY]
    with pytest.raises(ConfigurationError, match=r"'user_template': .* not closed"):
        Prompt.from_fallback("s", None, "Hi {{#name}}")
    text = Prompt.from_fallback("s", 2, {"text": "Hello {{name}}"})
    assert (text.type, text.render(name="Ada"), text.version) == ("text", "Hello Ada", 2)
    bads: list[tuple[dict[str, Any], str]] = [
        ({"messages": [{"role": "user"}]}, "messages.0.content"),
        ({"messages": [{"role": "user", "content": "x"}], "text": "y"}, "not messages"),
        ({"messages": "hi"}, "'messages' is not a list"),
        ({"text": "{{unclosed"}, "text"),
        ({"inputs": [{"name": "x", "type": "int"}]}, "inputs.0.type"),
        ({"user_template": 3}, "user_template"),
    ]
    for bad, named in bads:
        with pytest.raises(ConfigurationError) as caught:
            Prompt.from_fallback("s", None, bad)
        assert "fallback for 's'" in str(caught.value) and named in str(caught.value)


def test_a_snapshot_of_new_payloads_round_trips(tmp_path: Path) -> None:
    snap = tmp_path / "s.json"
    case = CHAT["renders"][0]
    with client_for(Recorder(ok(CHAT["payload"])), snapshot_path=snap) as writer:
        fetched = writer.get_prompt("support-reply")
    assert json.loads(snap.read_text())["prompts"][0]["data"] == CHAT["payload"]
    down = Recorder(httpx.ConnectError("down"))
    with client_for(down, snapshot_path=snap) as reader:
        served = reader.get_prompt("support-reply")
    assert served.is_stale and served.with_flags() == fetched
    assert (served.tools, served.response_format) == (fetched.tools, fetched.response_format)
    assert served.render(case["variables"]) == case["expected"]


def test_new_content_from_a_live_server(server: Server, clock: FakeClock, tmp_path: Path) -> None:
    """Versions created through the API, read by the SDK, rendered; then from the snapshot
    with the server down."""
    writer = server.api.as_(server.write_key)
    body = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are {{tone}}.{{#vip}} VIP.{{/vip}}"},
            {"type": "placeholder", "name": "history"},
            {"role": "user", "content": "{{question}}"},
        ],
        "inputs": [
            {"name": "vip", "type": "boolean", "required": False},
            {"name": "history", "type": "list", "required": True},
        ],
        "tools": [{"type": "function", "function": {"name": "lookup"}}],
        "tool_choice": "lookup",
    }
    assert writer.post("/v1/prompts/greeting/versions", json=body).status_code == 201
    server.api.new_prompt(server.write_key, "rules", type="text")
    text_body = {"model": "gpt-4o-mini", "text": "Be {{tone}}."}
    assert writer.post("/v1/prompts/rules/versions", json=text_body).status_code == 201
    snap = tmp_path / "snap.json"
    kw: dict[str, Any] = {"api_key": server.read_key, "base_url": server.base_url, "clock": clock}
    with promptops.Client(snapshot_path=snap, **kw) as client:
        chat, text = client.get_prompt("greeting"), client.get_prompt("rules")
    expected = [
        {"role": "system", "content": "You are kind. VIP."},
        *HISTORY,
        {"role": "user", "content": "Q"},
    ]
    assert chat.render(tone="kind", vip=True, question="Q", history=HISTORY) == expected
    with pytest.raises(promptops.MissingVariablesError, match="history"):
        chat.render(tone="kind", question="Q")
    assert chat.tool_choice == "lookup" and chat.tools is not None
    assert text.type == "text" and text.render(tone="brief") == "Be brief."
    server.stop()
    with promptops.Client(snapshot_path=snap, **kw) as offline:
        stale = offline.get_prompt("greeting")
        assert (
            stale.is_stale
            and stale.render(tone="kind", vip=True, question="Q", history=HISTORY) == expected
        )
        assert offline.get_prompt("rules").render(tone="brief") == "Be brief."
