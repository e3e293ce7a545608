"""Content a careless author or a hostile server can hand the SDK: a placeholder used as a
template variable (rendered as JSON text into a message) or declared as another type than a
list (a prompt no call can render), and fallback dicts copied from a payload with nulls."""

from __future__ import annotations

from typing import Any

import pytest

from promptops import ConfigurationError, InvalidResponseError, Prompt

PAYLOAD: dict[str, Any] = {"slug": "p", "version": 1, "model": "m", "metadata": {}}
HISTORY = {"type": "placeholder", "name": "history"}


@pytest.mark.parametrize(
    "content",
    ["So far: {{history}}", "{{#history}}{{content}}{{/history}}"],
    ids=["variable", "section"],
)
def test_a_placeholder_used_as_a_variable_is_not_a_prompt(content: str) -> None:
    messages = [HISTORY, {"role": "user", "content": content}]
    with pytest.raises(InvalidResponseError, match="'history' is a placeholder"):
        Prompt.from_payload({**PAYLOAD, "messages": messages})
    with pytest.raises(ConfigurationError, match="'history' is a placeholder"):
        Prompt.from_fallback("p", None, {"messages": messages})


def test_a_placeholder_declared_as_a_string_is_not_a_prompt() -> None:
    payload = {
        **PAYLOAD,
        "messages": [HISTORY, {"role": "user", "content": "hi"}],
        "inputs": [{"name": "history", "type": "string"}],
    }
    with pytest.raises(InvalidResponseError, match="'history' is a placeholder: declare it"):
        Prompt.from_payload(payload)


def test_an_optional_placeholder_declared_as_a_list_renders() -> None:
    prompt = Prompt.from_payload(
        {
            **PAYLOAD,
            "messages": [HISTORY, {"role": "user", "content": "hi {{name}}"}],
            "inputs": [{"name": "history", "type": "list", "required": False}],
        }
    )
    assert prompt.render(name="Ann") == [{"role": "user", "content": "hi Ann"}]
    earlier = [{"role": "assistant", "content": "hello"}]
    assert prompt.render(name="Ann", history=earlier) == [
        *earlier,
        {"role": "user", "content": "hi Ann"},
    ]


def test_a_fallback_with_nulls_takes_the_defaults() -> None:
    # As a payload has them: a dict copied from one, with its nulls, is a fallback.
    prompt = Prompt.from_fallback(
        "p",
        None,
        {
            "user_template": "Hi {{name}}",
            "system_prompt": None,
            "messages": None,
            "inputs": None,
            "params": None,
            "metadata": None,
            "tools": None,
            "max_tokens": None,
        },
    )
    assert prompt.metadata == {} and prompt.params == {} and prompt.inputs == ()
    assert prompt.tools is None and prompt.max_tokens is None
    assert prompt.render(name="Ann") == [{"role": "user", "content": "Hi Ann"}]
