"""templates.get / publish / all through the unmodified promptlayer SDK."""

from __future__ import annotations

from typing import Any

from tests.compat.conftest import Setup


def _publish_body(name: str = "welcome", **extra: Any) -> dict[str, Any]:
    return {
        "prompt_name": name,
        "prompt_template": {
            "type": "chat",
            "messages": [
                {"role": "system", "content": [{"type": "text", "text": "You are kind."}]},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "Hello {name}"}],
                    "template_format": "f-string",
                },
            ],
        },
        "commit_message": "first",
        "metadata": {
            "model": {
                "provider": "openai",
                "name": "gpt-4o-mini",
                "parameters": {"temperature": 0.2},
            }
        },
        **extra,
    }


def test_publish_then_get_by_label_and_version(pl: Setup) -> None:
    writer = pl.client(pl.project.key)  # the project's first key: dev, write
    out = writer.templates.publish(_publish_body())
    assert out["version"] == 1, out
    assert out["release_labels"] == ["dev"]
    got = writer.templates.get("welcome", {"label": "dev", "input_variables": {"name": "Ada"}})
    messages = got["prompt_template"]["messages"]
    assert messages[1]["content"] == [{"type": "text", "text": "Hello Ada"}]
    assert got["llm_kwargs"]["messages"][1] == {"role": "user", "content": "Hello Ada"}
    assert got["metadata"]["model"] == {
        "provider": "openai",
        "name": "gpt-4o-mini",
        "parameters": {"temperature": 0.2},
    }
    raw = writer.templates.get("welcome", {"version": 1})
    assert raw["prompt_template"]["messages"][1]["content"][0]["text"] == "Hello {{name}}"
    listed = writer.templates.all()
    assert [t["prompt_name"] for t in listed] == ["welcome"]
