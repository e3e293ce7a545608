"""A snippet's move reaches a subscribed client's cache of a prompt including it at once,
through the stream's prompt_template_updated event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from promptops import Client
from tests.stream.test_stream import Reader, within
from tests.support import Api, LiveServer, Project, live_server


@pytest.fixture
def server(app: Any) -> Iterator[LiveServer]:
    with live_server(app) as srv:
        yield srv


def _text(api: Api, key: str, slug: str, text: str) -> None:
    r = api.as_(key).post(f"/v1/prompts/{slug}/versions", json={"model": "m", "text": text})
    assert r.status_code == 201, r.text


def test_a_snippet_move_updates_a_subscribed_clients_dependent(
    server: LiveServer, api: Api, project: Project
) -> None:
    w = project.key
    api.new_prompt(w, "tone", type="text")
    _text(api, w, "tone", "calm")
    api.new_prompt(w, "greet", type="text")
    _text(api, w, "greet", "Be {{> tone}}.")
    read = api.new_key(w, "dev", "read")
    reader = Reader(server.base_url, read)
    try:
        assert reader.ready.wait(5)
        with Client(read, server.base_url, cache_ttl=3600, subscribe=True) as client:
            assert client.wait_until_subscribed(5)
            assert client.get_prompt("greet").text == "Be calm."
            _text(api, w, "tone", "warm")
            within(3, lambda: client.get_prompt("greet").text == "Be warm.")
            assert client.get_prompt("greet").snippets == ({"slug": "tone", "version": 2},)
            # a promotion of the snippet (back to v1) reaches it too
            r = api.as_(w).post("/v1/prompts/tone/deployments/dev", json={"version": 1})
            assert r.status_code == 200, r.text
            within(3, lambda: client.get_prompt("greet").text == "Be calm.")

        def updates() -> list[Any]:
            return [d for _, e, d in reader.events if e == "prompt_template_updated"]

        within(3, lambda: len(updates()) == 2)
        first, second = updates()
        assert first["data"]["slug"] == "greet"
        assert first["data"]["snippet"] == {"slug": "tone", "version": 2}
        assert first["data"]["prompt"]["text"] == "Be warm."
        assert second["data"]["snippet"] == {"slug": "tone", "version": 1}
        assert second["data"]["prompt"]["text"] == "Be calm."
    finally:
        reader.close()
