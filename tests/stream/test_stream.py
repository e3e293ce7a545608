"""GET /v1/stream and Client(subscribe=True): pushes, resume without gaps, fallback to TTL."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from promptops import Client
from promptops.sdk.subscription import parse_sse, sse_lines
from tests.support import Api, LiveServer, Project, live_server


def within(seconds: float, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(0.005)


@pytest.fixture
def server(app: Any) -> Iterator[LiveServer]:
    with live_server(app) as srv:
        yield srv


class Reader:
    """Reads an SSE stream in a thread, collecting (id, event, data)."""

    def __init__(self, url: str, key: str, last_event_id: str | None = None) -> None:
        self.events: list[tuple[str | None, str, Any]] = []
        self.ready = threading.Event()
        self.error: Exception | None = None
        headers = {"Authorization": f"Bearer {key}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self._http = httpx.Client(timeout=httpx.Timeout(5.0, read=30.0))
        self._cm = self._http.stream("GET", f"{url}/v1/stream", headers=headers)
        self.response = self._cm.__enter__()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for sse in parse_sse(sse_lines(self.response.iter_text())):
                self.events.append((sse.id, sse.event, json.loads(sse.data)))
                if sse.event == "ready":
                    self.ready.set()
        except httpx.HTTPError as exc:
            self.error = exc

    @property
    def ended(self) -> bool:
        return not self._thread.is_alive()

    def close(self) -> None:
        self.response.close()
        self._http.close()

    def moves(self) -> list[tuple[str, int]]:
        return [
            (d["data"]["environment"], d["data"]["version"])
            for _, e, d in self.events
            if e == "prompt_template_label_moved"
        ]


def test_stream_sends_environment_changes_and_resumes_without_gap(
    server: LiveServer, api: Api, project: Project
) -> None:
    w = project.key
    api.new_prompt(w)
    api.new_version(w)  # v1 → dev, before anyone listens
    read = api.new_key(w, "dev", "read")
    first = Reader(server.base_url, read)
    assert first.ready.wait(5)
    api.new_version(w)  # v2 → dev
    within(5, lambda: first.moves() == [("dev", 2)])
    moved = next(d for _, e, d in first.events if e == "prompt_template_label_moved")
    assert moved["data"]["prompt"]["version"] == 2
    assert moved["data"]["prompt"]["user_template"] == "Hello {{name}} (2)"
    last_id = [i for i, e, _ in first.events if e == "prompt_template_label_moved"][-1]
    first.close()

    # While nobody listens: two more changes.
    api.new_version(w)  # v3
    assert api.as_(w).post("/v1/prompts/greeting/deployments/dev/rollback").status_code == 200
    resumed = Reader(server.base_url, read, last_event_id=last_id)
    within(5, lambda: resumed.moves() == [("dev", 3), ("dev", 2)])
    ids = [int(i) for i, e, _ in resumed.events if i is not None]
    assert ids == sorted(ids) and int(last_id) < ids[0]
    resumed.close()


def test_stream_is_scoped_to_project_and_environment(
    server: LiveServer, api: Api, project: Project, admin_key: str
) -> None:
    api.new_prompt(project.key)
    staging = api.new_key(admin_key, "staging", "write", project_id=project.id)
    other = api.new_project(admin_key, name="Other")
    dev_reader = Reader(server.base_url, api.new_key(project.key, "dev", "read"))
    staging_reader = Reader(server.base_url, staging)
    other_reader = Reader(server.base_url, other.key)
    for r in (dev_reader, staging_reader, other_reader):
        assert r.ready.wait(5)
    api.new_version(project.key)  # → dev
    r = api.as_(staging).post("/v1/prompts/greeting/deployments/staging", json={"version": 1})
    assert r.status_code == 200
    within(5, lambda: dev_reader.moves() == [("dev", 1)])
    within(5, lambda: staging_reader.moves() == [("staging", 1)])
    time.sleep(0.3)
    assert dev_reader.moves() == [("dev", 1)]
    assert other_reader.moves() == []
    for r in (dev_reader, staging_reader, other_reader):
        r.close()


def test_stream_requires_a_key(server: LiveServer) -> None:
    assert httpx.get(f"{server.base_url}/v1/stream").status_code == 401


def test_subscribed_client_serves_a_promotion_at_once_without_requests(
    server: LiveServer, api: Api, project: Project
) -> None:
    api.new_prompt(project.key)
    api.new_version(project.key, user_template="one")
    with Client(project.key, server.base_url, cache_ttl=3600, subscribe=True) as client:
        assert client.wait_until_subscribed(5)
        assert client.get_prompt("greeting").version == 1
        api.new_version(project.key, user_template="two")
        within(2, lambda: client.get_prompt("greeting").version == 2)
        assert client.get_prompt("greeting").user_template == "two"
        # A rollback reaches it too, long before the hour-long TTL.
        assert (
            api.as_(project.key).post("/v1/prompts/greeting/deployments/dev/rollback").status_code
            == 200
        )
        within(2, lambda: client.get_prompt("greeting").version == 1)


def test_subscribed_client_reconnects_and_catches_up(app: Any, api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    api.new_version(project.key, user_template="one")
    server = LiveServer(app).start()
    port = server.port
    client = Client(project.key, server.base_url, cache_ttl=3600, subscribe=True)
    try:
        assert client.wait_until_subscribed(5)
        assert client.get_prompt("greeting").version == 1
        server.stop()
        within(5, lambda: not client.subscribed)
        # Disconnected: back to TTL behaviour; the cached value is still served.
        assert client.get_prompt("greeting").version == 1
        api.new_version(project.key, user_template="two")  # missed while down
        server = LiveServer(app, port=port).start()
        assert client.wait_until_subscribed(10)
        within(3, lambda: client.get_prompt("greeting").version == 2)
    finally:
        client.close()
        server.stop()


def test_text_with_unicode_line_separators_reaches_a_subscribed_client(
    server: LiveServer, api: Api, project: Project
) -> None:
    """U+2028, U+2029 and U+0085 are line ends for str.splitlines (and httpx's iter_lines)
    but not for SSE: the server escapes them in event data and the SDK splits lines the SSE
    way, so such a prompt arrives whole."""
    api.new_prompt(project.key)
    api.new_version(project.key, user_template="one")
    tricky = "Dear {{name}},\u2028next\u2029zqx\x85end \u00e9"
    with Client(project.key, server.base_url, cache_ttl=3600, subscribe=True) as client:
        assert client.wait_until_subscribed(5)
        assert client.get_prompt("greeting").version == 1
        raw = httpx.Client(timeout=httpx.Timeout(5.0, read=10.0))
        with raw.stream(
            "GET",
            f"{server.base_url}/v1/stream",
            headers={"Authorization": f"Bearer {project.key}", "Last-Event-ID": "0"},
        ) as response:
            api.new_version(project.key, user_template=tricky)
            within(2, lambda: client.get_prompt("greeting").version == 2)
            assert client.get_prompt("greeting").user_template == tricky
            body = ""
            for chunk in response.iter_text():
                body += chunk
                at = body.find("zqx")  # the new version's event: read to its end
                if at != -1 and "\n\n" in body[at:]:
                    break
        raw.close()
        assert "\\u2028" in body and "\u2028" not in body and "\x85" not in body
