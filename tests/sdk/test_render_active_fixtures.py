"""Every payload of ``promptops/contract/fixtures/active``: it is what the contract says (for
a current one), ``Prompt.from_payload`` carries its fields, and its render cases hold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import promptops
from promptops.contract.prompts import ActivePromptOut
from promptops.sdk.prompt import Prompt
from tests.sdk.test_render_chat_fixtures import assert_renders

CONTRACT = Path(promptops.__file__).parent / "contract"
FIXTURES = CONTRACT / "fixtures" / "active"
DOCS = {
    path.stem: json.loads(path.read_text(encoding="utf-8"))
    for path in sorted(FIXTURES.glob("*.json"))
}
RENDERS = [
    pytest.param(doc["payload"], case, id=f"{stem}: {case['name']}")
    for stem, doc in DOCS.items()
    for case in doc["renders"]
]


def test_the_fixtures_are_there() -> None:
    assert set(DOCS) == {"chat", "text", "older_shape", "older_server"}
    assert (FIXTURES / "README.md").is_file()
    assert [stem for stem, doc in DOCS.items() if not doc["current"]] == ["older_server"]


@pytest.mark.parametrize("stem", sorted(stem for stem, doc in DOCS.items() if doc["current"]))
def test_current_payloads_follow_the_contract(stem: str) -> None:
    doc = DOCS[stem]
    ActivePromptOut.model_validate(doc["payload"])
    schema = json.loads((CONTRACT / "schemas" / "prompt.json").read_text(encoding="utf-8"))
    errors = list(Draft202012Validator(schema).iter_errors(doc["payload"]))
    assert errors == []


@pytest.mark.parametrize("stem", sorted(DOCS))
def test_from_payload_carries_every_field(stem: str) -> None:
    payload = DOCS[stem]["payload"]
    prompt = Prompt.from_payload(payload)
    assert (prompt.slug, prompt.version, prompt.environment) == (
        payload["slug"],
        payload["version"],
        payload["environment"],
    )
    assert prompt.type == payload.get("type", "chat")
    assert prompt.variables == tuple(payload["variables"])
    assert list(prompt.inputs) == payload.get("inputs", [])
    assert prompt.params == payload.get("params", {})
    tools = payload.get("tools")
    assert prompt.tools == (None if tools is None else tuple(tools))
    assert prompt.tool_choice == payload.get("tool_choice")
    assert prompt.response_format == payload.get("response_format")
    assert list(prompt.snippets) == payload.get("snippets", [])
    assert (prompt.model, prompt.temperature, prompt.max_tokens) == (
        payload["model"],
        payload["temperature"],
        payload["max_tokens"],
    )
    assert (prompt.deployment_id, prompt.metadata) == (
        payload["deployment_id"],
        payload["metadata"],
    )
    if prompt.type == "text":
        assert (prompt.text, prompt.messages) == (payload["text"], ())
    elif payload.get("messages") is not None:
        assert list(prompt.messages) == payload["messages"]
    # the older fields, when the shape has them (an older server sends only them)
    assert prompt.system_prompt == (payload.get("system_prompt") or "")
    assert prompt.user_template == (payload.get("user_template") or "")


@pytest.mark.parametrize(("payload", "case"), RENDERS)
def test_active_render(payload: dict[str, Any], case: dict[str, Any]) -> None:
    assert_renders(Prompt.from_payload(payload), case)
