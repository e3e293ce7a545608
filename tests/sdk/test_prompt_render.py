"""Prompt.render of the new content beyond the language-neutral fixtures: Python values
(tuples, mappings), what is copied, strictness, render_text/render_system per shape, and
that nothing is parsed per render."""

from __future__ import annotations

from typing import Any

import pytest

from promptops import MissingVariablesError, Prompt, TemplateError, UnknownVariablesError
from promptops.errors import InputTypeError, PlaceholderValueError, PromptShapeError
from promptops.templating import compile_template

SYSTEM = {"role": "system", "content": "You are {{tone}}."}
HISTORY = {"type": "placeholder", "name": "history"}
USER = {"role": "user", "content": "{{question}}"}


def chat(*messages: dict[str, Any], inputs: list[dict[str, Any]] | None = None) -> Prompt:
    return Prompt(slug="p", version=1, messages=messages, inputs=tuple(inputs or ()))


def test_placeholder_values_are_inserted_as_given_but_copied() -> None:
    prompt = chat(SYSTEM, HISTORY, USER)
    turn = {"role": "user", "content": "{{tone}} is {{not}} a template here", "extra": [1]}
    out = prompt.render(tone="kind", question="Q", history=(turn,))  # a tuple is a list
    assert out[1] == turn and out[1] is not turn
    out[1]["content"] = "changed"
    assert turn["content"] == "{{tone}} is {{not}} a template here"
    again = prompt.render({"tone": "kind"}, question="Q", history=[turn])
    assert again[1] == turn and again[0] == {"role": "system", "content": "You are kind."}


def test_keywords_and_a_mapping_share_one_namespace() -> None:
    prompt = chat({"role": "system", "content": "{{strict}}"}, HISTORY)
    history = [{"role": "user", "content": "hi"}]
    assert prompt.render({"strict": "yes", "history": history}) == [
        {"role": "system", "content": "yes"},
        *history,
    ]
    assert prompt.render({"strict": "a"}, strict=False, history=history, other=1)[1] == history[0]
    with pytest.raises(UnknownVariablesError) as caught:
        prompt.render({"strict": "a"}, hsitory=history)
    assert caught.value.names == ["hsitory"]


def test_errors_name_what_is_wrong_and_are_template_errors() -> None:
    prompt = chat(
        SYSTEM,
        HISTORY,
        USER,
        inputs=[
            {"name": "question", "type": "string", "required": True},
            {"name": "history", "type": "list", "required": True},
        ],
    )
    with pytest.raises(MissingVariablesError) as missing:
        prompt.render(tone="kind", question="Q")
    assert missing.value.names == ["history"] and "history" in str(missing.value)
    with pytest.raises(InputTypeError) as typed:
        prompt.render(tone="kind", question=["Q"], history=[])
    assert (typed.value.name, typed.value.expected, typed.value.got) == (
        "question",
        "string",
        "list",
    )
    assert str(typed.value) == "variable 'question' is declared as string, got list"
    with pytest.raises(PlaceholderValueError) as bad:
        prompt.render(tone="kind", question="Q", history=[{"role": "user", "content": 3}])
    assert (bad.value.name, bad.value.index) == ("history", 0)
    assert str(bad.value) == "placeholder history[0]: 'content' must be a string, got number"
    for error in (missing.value, typed.value, bad.value):
        assert isinstance(error, TemplateError)
    assert isinstance(typed.value, TypeError)


def test_an_object_that_is_not_json_is_named_by_its_python_type() -> None:
    prompt = chat(USER, inputs=[{"name": "question", "type": "string"}])
    with pytest.raises(InputTypeError, match="got bytes"):
        prompt.render(question=b"Q")
    with pytest.raises(PlaceholderValueError, match="must be a list of messages, got object"):
        chat(HISTORY).render(history={"role": "user", "content": "hi"})


def test_assistant_tool_calls_may_carry_content_too() -> None:
    call = {"id": "c1", "function": {"name": "f", "arguments": "{}"}}  # type is optional
    message = {"role": "assistant", "content": "Looking.", "tool_calls": [call]}
    assert chat(HISTORY).render(history=[message]) == [message]
    for bad in ([], [{"id": "c1", "type": "other", "function": call["function"]}], "x"):
        with pytest.raises(PlaceholderValueError, match="tool_calls"):
            chat(HISTORY).render(
                history=[{"role": "assistant", "content": None, "tool_calls": bad}]
            )
    with pytest.raises(PlaceholderValueError, match="'name' must be a string"):
        chat(HISTORY).render(history=[{"role": "user", "content": "a", "name": 1}])


def test_render_text_and_render_system_per_shape() -> None:
    older = Prompt(slug="p", version=1, system_prompt="You are {{tone}}.", user_template="{{q}}")
    assert older.render_text(q="Q") == "Q" and older.render_system(tone="kind") == "You are kind."
    text = Prompt(slug="t", version=1, text="Hello {{name}}")
    assert text.type == "text"
    assert text.render(name="Ada") == text.render_text(name="Ada") == "Hello Ada"
    assert text.render_system() == ""
    declared = Prompt(slug="t", version=1, text="Hi", inputs=({"name": "user_id"},))
    for method in (declared.render, declared.render_text):
        with pytest.raises(MissingVariablesError, match="user_id"):
            method()
    newer = chat(SYSTEM, HISTORY, USER)
    for method in (newer.render_text, newer.render_system):
        with pytest.raises(PromptShapeError) as caught:
            method(tone="kind", question="Q")
        assert caught.value.slug == "p" and "use render()" in str(caught.value)
        assert isinstance(caught.value, TemplateError)


def test_render_text_of_the_older_shape_with_declared_inputs() -> None:
    prompt = Prompt(
        slug="p",
        version=1,
        messages=(SYSTEM, {"role": "user", "content": "{{question}}{{#n}} ({{n}}){{/n}}"}),
        inputs=({"name": "n", "type": "number", "required": False},),
    )
    assert prompt.user_template.startswith("{{question}}")
    assert prompt.render_text(question="Q") == "Q"
    assert prompt.render_text(question="Q", n=2) == "Q (2)"
    with pytest.raises(InputTypeError):
        prompt.render_text(question="Q", n="2")
    assert prompt.render(tone="kind", question="Q") == [
        {"role": "system", "content": "You are kind."},
        {"role": "user", "content": "Q"},
    ]


def test_nothing_is_parsed_per_render() -> None:
    prompt = chat(SYSTEM, HISTORY, USER, inputs=[{"name": "tone", "required": False}])
    assert prompt._content.parts[0][1] is compile_template(SYSTEM["content"])
    prompt.render(question="Q")
    before = compile_template.cache_info()
    for _ in range(3):
        prompt.render(question="Q", history=[])
        prompt.render(tone="kind", question="Q")
    after = compile_template.cache_info()
    assert (after.hits, after.misses) == (before.hits, before.misses)


def test_names_a_render_takes() -> None:
    prompt = chat(SYSTEM, HISTORY, USER, inputs=[{"name": "user_id", "required": False}])
    assert prompt.variables == ("tone", "question")
    assert prompt._names == {"tone", "question", "history", "user_id"}
    older = Prompt(slug="p", version=1, system_prompt="{{a}}", user_template="{{b}}")
    assert older._names == {"a", "b"}
