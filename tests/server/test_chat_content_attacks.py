"""A hostile or careless client's version bodies: every one is a 422 naming the field with
nothing stored (never a 500), or is stored as written; identical content creates nothing
and different content always creates a version."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.server.helpers import assert_error, row_counts
from tests.support import Api, Project


def _tool(parameters: dict[str, Any], name: str = "lookup") -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


def _push(api: Api, key: str, body: dict[str, Any]) -> Any:
    # Encoded here: the test client's encoder refuses what a hostile client can send.
    return api.as_(key).post(
        "/v1/prompts/greeting/versions",
        content=json.dumps({"model": "m", **body}),
        headers={"Content-Type": "application/json"},
    )


def _refused(api: Api, project: Project, app: Any, body: dict[str, Any], field: str) -> str:
    """``body`` is a 422 naming ``field`` and nothing is stored; returns the message."""
    api.new_prompt(project.key)
    before = row_counts(app)
    detail = assert_error(_push(api, project.key, body), 422, field=field)
    assert row_counts(app) == before
    assert detail["message"].startswith(f"{field}: "), detail
    return str(detail["message"])


@pytest.mark.parametrize(
    "pattern",
    [
        pytest.param("a{4294967296}", id="repetition-too-large"),  # OverflowError in re
        pytest.param("(" * 3000 + ")" * 3000, id="nested-parentheses"),  # RecursionError
    ],
)
def test_a_pattern_python_cannot_compile_is_a_422(
    api: Api, project: Project, app: Any, pattern: str
) -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string", "pattern": pattern}}}
    message = _refused(
        api,
        project,
        app,
        {"user_template": "x", "tools": [_tool(schema)]},
        "tools.0.function.parameters",
    )
    assert "not a valid JSON Schema (2020-12) at properties/q/pattern" in message
    assert len(message) < 500  # the schema is not echoed whole


def test_a_response_format_pattern_python_cannot_compile_is_a_422(
    api: Api, project: Project, app: Any
) -> None:
    schema = {"type": "object", "patternProperties": {"a{4294967296}": {}}}
    body = {
        "user_template": "x",
        "response_format": {"type": "json_schema", "json_schema": {"name": "r", "schema": schema}},
    }
    _refused(api, project, app, body, "response_format.json_schema.schema")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"top_p": "0.5"}, "params.top_p"),
        ({"top_p": True}, "params.top_p"),
        ({"presence_penalty": True}, "params.presence_penalty"),
        ({"frequency_penalty": "1"}, "params.frequency_penalty"),
    ],
    ids=["top_p-string", "top_p-bool", "presence-bool", "frequency-string"],
)
def test_params_take_numbers_not_bools_or_strings(
    api: Api, project: Project, app: Any, params: dict[str, Any], field: str
) -> None:
    _refused(api, project, app, {"user_template": "x", "params": params}, field)


def test_an_integer_is_a_number_for_params(api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    r = _push(api, project.key, {"user_template": "x", "params": {"top_p": 1, "seed": 3}})
    assert r.status_code == 201, r.text
    assert r.json()["params"] == {"top_p": 1.0, "seed": 3}


@pytest.mark.parametrize("choice", ["bad name!", 3, ""], ids=["pattern", "int", "empty"])
def test_a_bad_tool_choice_is_named_as_tool_choice(
    api: Api, project: Project, app: Any, choice: Any
) -> None:
    body = {"user_template": "x", "tools": [_tool({})], "tool_choice": choice}
    message = _refused(api, project, app, body, "tool_choice")
    assert "'auto', 'none', 'required' or the name of one of the tools" in message


def test_a_message_that_is_not_an_object_is_named_by_its_index(
    api: Api, project: Project, app: Any
) -> None:
    body = {"messages": [{"role": "user", "content": "x"}, "hello"]}
    _refused(api, project, app, body, "messages.1")


def test_a_placeholder_is_not_a_template_variable(api: Api, project: Project, app: Any) -> None:
    body = {
        "messages": [
            {"type": "placeholder", "name": "history"},
            {"role": "user", "content": "So far: {{history}}"},
        ]
    }
    message = _refused(api, project, app, body, "messages.1.content")
    assert "'history' is a placeholder" in message


def test_a_placeholder_declared_as_an_input_is_a_list(api: Api, project: Project, app: Any) -> None:
    body = {
        "messages": [{"type": "placeholder", "name": "history"}, {"role": "user", "content": "x"}],
        "inputs": [{"name": "history", "type": "string"}],
    }
    _refused(api, project, app, body, "inputs.0.type")


def test_an_optional_placeholder_declared_as_a_list_is_stored(api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    body = {
        "messages": [{"type": "placeholder", "name": "history"}, {"role": "user", "content": "x"}],
        "inputs": [{"name": "history", "type": "list", "required": False}],
    }
    r = _push(api, project.key, body)
    assert r.status_code == 201, r.text
    assert r.json()["inputs"] == [{"name": "history", "type": "list", "required": False}]


def test_remote_and_cyclic_refs_are_stored_as_written_never_resolved(
    api: Api, project: Project
) -> None:
    # Port 9 (discard) on this machine: a fetch would fail or hang; it must not happen.
    schema = {
        "$schema": "http://127.0.0.1:9/meta.json",
        "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}},
        "properties": {"x": {"$ref": "http://127.0.0.1:9/x.json"}, "y": {"$ref": "#/$defs/a"}},
    }
    api.new_prompt(project.key)
    r = _push(api, project.key, {"user_template": "x", "tools": [_tool(schema)]})
    assert r.status_code == 201, r.text
    assert r.json()["tools"][0]["function"]["parameters"] == schema


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ({"tools": [_tool({"const": 1})]}, {"tools": [_tool({"const": True})]}),
        ({"tools": [_tool({"enum": [0]})]}, {"tools": [_tool({"enum": [False]})]}),
        ({"metadata": {"flag": 1}}, {"metadata": {"flag": True}}),
    ],
    ids=["schema-const", "schema-enum", "metadata"],
)
def test_a_bool_is_other_content_than_a_number(
    api: Api, project: Project, first: dict[str, Any], then: dict[str, Any]
) -> None:
    api.new_prompt(project.key)
    assert _push(api, project.key, {"user_template": "x", **first}).status_code == 201
    r = _push(api, project.key, {"user_template": "x", **then})
    assert r.status_code == 201 and r.json()["created"] is True, r.text
    assert r.json()["version"] == 2


def test_key_order_and_defaults_do_not_defeat_idempotency(api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    schema = {"type": "object", "properties": {"a": {"type": "number", "maximum": 1e-7}}}
    reordered = {"properties": {"a": {"maximum": 0.0000001, "type": "number"}}, "type": "object"}
    first = _push(api, project.key, {"user_template": "x", "tools": [_tool(schema)]})
    assert first.status_code == 201, first.text
    again = _push(
        api,
        project.key,
        {
            "messages": [{"role": "user", "content": "x"}],
            "tools": [_tool(reordered)],
            "temperature": 1,
            "params": {},
            "metadata": {},
            "inputs": [],
        },
    )
    assert again.status_code == 200 and again.json()["created"] is False, again.text
    assert again.json()["version"] == 1


@pytest.mark.parametrize("where", ["tools", "response_format"])
def test_schemas_too_large_to_check_quickly_are_a_422(
    api: Api, project: Project, app: Any, where: str
) -> None:
    # 6,000 values in 100 kB: checking them against the metaschema would take seconds.
    schema = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(3000)}}
    body: dict[str, Any] = {"user_template": "x"}
    if where == "tools":
        body["tools"] = [_tool({}, "a"), _tool(schema, "b")]
    else:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "r", "schema": schema},
        }
    message = _refused(api, project, app, body, where)
    assert "hold more than 5000 values in all" in message
