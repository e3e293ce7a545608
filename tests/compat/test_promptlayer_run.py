"""run() with OpenAI and Anthropic (streaming and not), log_request and the track calls,
through the unmodified promptlayer SDK; the logs as PromptOps stores them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.compat.conftest import Setup, no_socket_left_localhost


def _prompt(pl: Setup, slug: str, model: str, provider: str) -> None:
    pl.api.new_prompt(pl.project.key, slug)
    pl.api.new_version(
        pl.project.key,
        slug,
        messages=[
            {"role": "system", "content": "You are kind."},
            {"role": "user", "content": "Hello {{name}}"},
        ],
        model=model,
        temperature=0.5,
        max_tokens=50,
        metadata={"provider": provider},
    )


def _logs(pl: Setup) -> list[dict[str, Any]]:
    r = pl.api.as_(pl.project.key).get("/v1/logs")
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize(
    ("provider", "model"), [("openai", "gpt-4o-mini"), ("anthropic", "claude-3-5-haiku-latest")]
)
def test_run_logs_the_call(
    pl: Setup, connections: list[Any], provider: str, model: str, stream: bool
) -> None:
    _prompt(pl, "greet", model, provider)
    client = pl.client(pl.project.key)
    result = client.run(
        prompt_name="greet",
        input_variables={"name": "Ada Lovelace"},
        prompt_release_label="dev",
        tags=["compat"],
        metadata={"user": "u1"},
        stream=stream,
    )
    if stream:
        pieces = list(result)
        final = pieces[-1]
        request_id = final["request_id"]
        assert final["prompt_blueprint"]["prompt_name"] == "greet"
    else:
        request_id = result["request_id"]
        raw = result["raw_response"]
        text = raw.choices[0].message.content if provider == "openai" else raw.content[0].text
        assert text == "echo: Hello Ada Lovelace"
    assert isinstance(request_id, int)
    sent = pl.providers.requests[-1].body
    assert sent["model"] == model
    assert sent["max_tokens"] == 50
    if provider == "anthropic":
        assert sent["system"] == "You are kind."
        assert sent["messages"] == [{"role": "user", "content": "Hello Ada Lovelace"}]
    else:
        assert sent["messages"][1] == {"role": "user", "content": "Hello Ada Lovelace"}
    [log] = _logs(pl)
    assert log["provider"] == provider
    assert log["model"] == model
    assert (log["prompt_slug"], log["prompt_version"]) == ("greet", 1)
    assert log["status"] == "ok"
    assert log["input_tokens"] == 6 and log["output_tokens"] == 4, log
    assert log["cost_usd"] is not None and log["cost_usd"] > 0
    assert log["tags"] == ["compat"]
    if not stream:  # promptlayer 1.5.16 sends no metadata with a streamed run's log
        assert log["metadata"]["user"] == "u1"
    assert log["metadata"]["input_variables"] == {"name": "Ada Lovelace"}

    client.track.metadata(request_id, {"session": "s9"})
    client.track.score(request_id, 87)
    client.track.score(request_id, 40, "tone")
    group = client.group.create()
    client.track.group(request_id, group)
    [log] = _logs(pl)
    assert log["metadata"]["session"] == "s9"
    assert log["metadata"]["scores"] == {"default": 87, "tone": 40}
    assert log["metadata"]["promptlayer_group_id"] == group
    no_socket_left_localhost(connections)


def test_log_request_and_track_prompt(pl: Setup) -> None:
    _prompt(pl, "greet", "gpt-4o-mini", "openai")
    client = pl.client(pl.project.key)
    logged = client.log_request(
        provider="openai",
        model="gpt-4o-mini",
        input={
            "type": "chat",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        },
        output={
            "type": "chat",
            "messages": [{"role": "assistant", "content": [{"type": "text", "text": "yo"}]}],
        },
        request_start_time=1_700_000_000.0,
        request_end_time=1_700_000_001.5,
        input_tokens=3,
        output_tokens=1,
        price=0.25,
        tags=["manual"],
    )
    request_id = logged["request_id"]
    [log] = _logs(pl)
    assert log["prompt_slug"] is None
    assert log["latency_ms"] == 1500.0
    assert log["cost_usd"] == 0.25
    assert log["created_at"].startswith("2023-11-14T22:13:20")
    assert client.track.prompt(request_id, "greet", {"name": "Ada"}, version=1) is True
    [log] = _logs(pl)
    assert (log["prompt_slug"], log["prompt_version"]) == ("greet", 1)
    assert log["metadata"]["input_variables"] == {"name": "Ada"}
