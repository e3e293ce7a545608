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
        within(3, lambda: any(e == "prompt_template_updated" for _, e, _ in reader.events))
        [(_, _, event)] = [x for x in reader.events if x[1] == "prompt_template_updated"]
        assert event["data"]["slug"] == "greet"
        assert event["data"]["snippet"] == {"slug": "tone", "version": 2}
        assert event["data"]["prompt"]["text"] == "Be warm."
    finally:
        reader.close()
