"""The editor's form decoding (no database): a version's content as form fields and back,
the row buttons, and where an error of the contract is shown."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from promptops.contract.content import VersionCreate, stored_content
from promptops.contract.validation import parse
from promptops.errors import InvalidInputError
from promptops.server.dashboard import diffing
from promptops.server.dashboard.draft import Draft, field_error

CHAT = {
    "messages": [
        {"role": "system", "content": "Be kind.\nAlways."},
        {"type": "placeholder", "name": "history"},
        {"role": "tool", "content": "{{result}}", "name": "lookup", "tool_call_id": "call_1"},
    ],
    "model": "m",
    "temperature": 0.25,
    "max_tokens": 10,
    "params": {"top_p": 0.5, "stop": ["END", "\n\n"], "seed": 3, "reasoning_effort": "high"},
    "inputs": [{"name": "result", "type": "object", "required": False, "description": "d"}],
    "tools": [{"type": "function", "function": {"name": "lookup", "strict": True}}],
    "tool_choice": "lookup",
    "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {}}},
    "metadata": {"owner": "growth"},
}


def _version(body: dict[str, Any]) -> Any:
    stored = stored_content(parse(VersionCreate, body))
    return SimpleNamespace(**stored, version=1, commit_message=None)


def _fields(draft: Draft) -> dict[str, str]:
    """The draft as the form would post it (unchecked boxes absent)."""
    out = dict(draft.values)
    for group, rows in (("messages", draft.messages), ("inputs", draft.inputs)):
        for i, row in enumerate(rows):
            out.update({f"{group}.{i}.{k}": v for k, v in row.items() if v})
    return out


def test_a_version_goes_through_the_form_unchanged() -> None:
    for body in (CHAT, {"text": "Hi {{name}}", "model": "m", "inputs": [{"name": "name"}]}):
        version = _version(body)
        kind = "text" if "text" in body else "chat"
        again = Draft.of_fields(kind, _fields(Draft.of_version(kind, version)))
        assert stored_content(parse(VersionCreate, again.body())) == stored_content(
            parse(VersionCreate, body)
        )


def test_blank_boxes_are_left_out_and_text_boxes_keep_line_feeds() -> None:
    draft = Draft.of_fields(
        "chat",
        {
            "messages.0.kind": "message",
            "messages.0.role": "user",
            "messages.0.content": "a\r\nb",
            "model": " m ",
            "temperature": "",
            "params.top_p": " ",
            "inputs.0.name": "",
            "tools": "  ",
            "text": "ignored: a chat prompt has no text",
        },
    )
    assert draft.body() == {"model": "m", "messages": [{"role": "user", "content": "a\nb"}]}


def test_row_buttons_add_move_and_remove() -> None:
    draft = Draft.empty("chat")
    assert [m["role"] for m in draft.messages] == ["system", "user"]
    assert draft.apply("add-placeholder") and draft.apply("up:messages.2")
    assert [m["kind"] for m in draft.messages] == ["message", "placeholder", "message"]
    assert draft.apply("remove:messages.0") and len(draft.messages) == 2
    assert draft.apply("add-input") and draft.inputs[0]["required"] == "on"
    assert not draft.apply("remove:messages.9") and not draft.apply("drop:messages.0")
    assert draft.apply("up:messages.0")  # the first row stays first
    assert draft.messages[0]["kind"] == "placeholder"


def test_errors_are_shown_beside_the_nearest_box() -> None:
    names = Draft.of_fields("chat", {"messages.0.content": "x"}).field_names()

    def target(field: str | None) -> str:
        return field_error(InvalidInputError(f"{field}: bad", field=field), names).target

    assert target("messages.0.content") == "messages.0.content"
    assert target("tools.0.function.parameters") == "tools"
    assert target("response_format.json_schema.schema") == "response_format"
    assert target("params.top_p") == "params.top_p"
    assert target("messages.7.content") == "messages"  # no such row: the list
    assert target(None) == "form"
    error = field_error(InvalidInputError("tool_choice: nope", field="tool_choice"), names)
    assert error.text == "nope"


def test_the_diff_of_a_text_prompt_and_from_nothing() -> None:
    text = _version({"text": "Hi {{name}}", "model": "m"})
    sections = diffing.version_sections(None, text)
    assert [s.title for s in sections] == ["Text", "Parameters", "Metadata", "Commit message"]
    assert sections[0].rows[0].kind == "insert" and sections[0].changed
    chat = diffing.version_sections(_version(CHAT), _version(CHAT))
    assert not any(s.changed for s in chat)
    titles = [s.title for s in chat]
    assert titles[:5] == ["Messages", "Tools", "Tool choice", "Response format", "Parameters"]
    lines = diffing.messages_text(CHAT["messages"]).splitlines()  # type: ignore[arg-type]
    assert lines[3] == "── 2 · placeholder history ──"
    assert lines[4] == "── 3 · tool, name: lookup, tool_call_id: call_1 ──"
