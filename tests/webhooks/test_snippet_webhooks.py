"""A snippet's move sends prompt_template_updated to the webhooks of its dependents'
environment, and a receiver's cache takes the dependent's new content."""

from __future__ import annotations

import json
from typing import Any

import pytest

from promptops.receivers import MemoryCache, PromptCache, WebhookReceiver
from tests.support import Api, Project
from tests.webhooks.helpers import Receiver
from tests.webhooks.test_receivers import prompt, redis_cache  # noqa: F401 (fixture)


def _text(api: Api, key: str, slug: str, text: str) -> None:
    r = api.as_(key).post(f"/v1/prompts/{slug}/versions", json={"model": "m", "text": text})
    assert r.status_code == 201, r.text


def test_a_snippet_move_reaches_webhook_receivers_of_its_dependents(
    api: Api, project: Project, receiver: Receiver
) -> None:
    w = project.key
    r = api.as_(w).post(
        "/v1/webhooks",
        json={
            "url": receiver.url,
            "event_types": ["prompt_template_label_moved", "prompt_template_updated"],
        },
    )
    assert r.status_code == 201, r.text
    cache = MemoryCache()
    app_receiver = WebhookReceiver(r.json()["secret"], cache, project_id=project.id)
    api.new_prompt(w, "tone", type="text")
    _text(api, w, "tone", "calm")
    api.new_prompt(w, "greet", type="text")
    _text(api, w, "greet", "Be {{> tone}}.")
    _text(api, w, "tone", "warm")  # v2 in dev: greet's content changes there
    r = api.as_(w).post("/v1/prompts/tone/deployments/dev", json={"version": 1})
    assert r.status_code == 200, r.text  # promoted back to v1: and again

    def kinds() -> list[tuple[str, str]]:
        return [
            (json.loads(x.body)["type"], json.loads(x.body)["data"]["slug"]) for x in receiver.ok()
        ]

    got = receiver.wait_ok(6)
    assert sorted(kinds()) == [
        ("prompt_template_label_moved", "greet"),
        ("prompt_template_label_moved", "tone"),
        ("prompt_template_label_moved", "tone"),
        ("prompt_template_label_moved", "tone"),
        ("prompt_template_updated", "greet"),
        ("prompt_template_updated", "greet"),
    ]
    # the application's receiver applies them in the order they were sent
    for item in sorted(got, key=lambda x: json.loads(x.body)["timestamp"]):
        reply = app_receiver.handle(item.body, item.headers)
        assert reply.status == 200, reply.body
    cached: dict[str, Any] | None = cache.get("greet", environment="dev")
    assert cached is not None
    assert cached["text"] == "Be calm." and cached["snippets"] == [{"slug": "tone", "version": 1}]
    active = api.as_(w).get("/v1/prompts/greet/active").json()
    assert cached == active


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_the_same_deployment_with_new_content_replaces_the_cached_one(
    store: str, request: pytest.FixtureRequest
) -> None:
    cache: PromptCache = (
        MemoryCache() if store == "memory" else request.getfixturevalue("redis_cache")
    )
    before = prompt(10, version=3)
    assert cache.set(before) is True
    assert cache.set(before) is False  # the same again: nothing to do
    after = {**before, "user_template": "resolved anew", "snippets": [{"slug": "s", "version": 2}]}
    assert cache.set(after) is True  # prompt_template_updated: same deployment, new content
    assert cache.get("greeting", environment="dev") == after
    assert cache.set(prompt(9, version=2)) is False  # an older deployment still never wins
