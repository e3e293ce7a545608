"""Prompt: rendering, strictness, immutability, fallbacks."""

from __future__ import annotations

import dataclasses

import pytest

from promptops import (
    ConfigurationError,
    InvalidResponseError,
    MissingVariablesError,
    Prompt,
    TemplateError,
    UnknownVariablesError,
)
from promptops.templating import compile_template


def make(system: str = "You are {{tone}}.", user: str = "Hi {{name}}, {{tone}}?") -> Prompt:
    return Prompt(slug="p", version=1, system_prompt=system, user_template=user)


def test_render_chat_messages() -> None:
    prompt = make()
    assert prompt.variables == ("tone", "name")
    assert prompt.render(tone="kind", name="Ada") == [
        {"role": "system", "content": "You are kind."},
        {"role": "user", "content": "Hi Ada, kind?"},
    ]
    assert prompt.render_text(tone="kind", name="Ada") == "Hi Ada, kind?"
    assert prompt.render_system(tone="kind") == "You are kind."


def test_no_system_message_when_system_prompt_is_empty() -> None:
    prompt = make(system="", user="Hello")
    assert prompt.render() == [{"role": "user", "content": "Hello"}]


def test_missing_variable_is_named() -> None:
    with pytest.raises(MissingVariablesError) as caught:
        make().render(tone="kind")
    assert caught.value.names == ["name"]
    assert "name" in str(caught.value)
    # render_text needs only the user template's variables.
    with pytest.raises(MissingVariablesError, match="tone"):
        make(user="{{tone}}").render_text()
    assert make(user="Hi {{name}}").render_text(name="Ada") == "Hi Ada"


def test_unknown_variables_raise_unless_not_strict() -> None:
    prompt = make()
    with pytest.raises(UnknownVariablesError) as caught:
        prompt.render(tone="kind", name="Ada", nmae="typo")
    assert caught.value.names == ["nmae"]
    assert isinstance(caught.value, TemplateError)
    assert prompt.render_text(tone="k", name="A", extra=1, strict=False) == "Hi A, k?"
    # A variable of the system prompt is not "unknown" to render_text.
    assert prompt.render_text(name="A", tone="k") == "Hi A, k?"


def test_values_as_a_mapping_allow_any_name() -> None:
    prompt = Prompt(slug="p", version=1, user_template="{{strict}} {{self}} {{values}}")
    assert prompt.render_text({"strict": 1, "self": 2}, values=3) == "1 2 3"


def test_templates_are_parsed_once_per_prompt() -> None:
    prompt = make()
    assert prompt._user is compile_template(prompt.user_template)
    stale = prompt.with_flags(is_stale=True)
    assert stale._user is prompt._user and stale.is_stale and not prompt.is_stale
    assert prompt.with_flags() is prompt


def test_prompt_is_immutable() -> None:
    prompt = make()
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(prompt, "version", 2)  # noqa: B010
    same = Prompt(
        slug="p", version=1, system_prompt=prompt.system_prompt, user_template=prompt.user_template
    )
    assert same == prompt and hash(same) == hash(prompt)
    assert len({prompt, same, prompt.with_flags(is_stale=True)}) == 2


def test_from_payload_rejects_what_is_not_a_prompt() -> None:
    bads: list[object] = [
        [],
        {"slug": "p"},
        {"slug": "p", "version": "1", "user_template": ""},
        {"slug": "p", "version": 1, "user_template": 5},
        {"slug": "p", "version": 1, "user_template": "{{unclosed"},
        {"slug": "p", "version": 1, "user_template": "", "metadata": []},
    ]
    for bad in bads:
        with pytest.raises(InvalidResponseError):
            Prompt.from_payload(bad)


def test_fallback_forms() -> None:
    text = Prompt.from_fallback("s", None, "Hi {{name}}")
    assert (text.slug, text.version, text.is_fallback) == ("s", None, True)
    fields = Prompt.from_fallback("s", 2, {"system_prompt": "S", "user_template": "U"})
    assert fields.render() == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "U"},
    ]
    assert fields.version == 2
    with pytest.raises(ConfigurationError, match="unknown field"):
        Prompt.from_fallback("s", None, {"is_stale": True})
    with pytest.raises(ConfigurationError):
        Prompt.from_fallback("s", None, ["U"])
