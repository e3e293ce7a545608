"""A stream ends with its key (revoked through the API, or behind the server's back) and
with the server (graceful shutdown does not wait on it)."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from promptops import Client
from promptops.sdk import AuthenticationError
from tests.demo_server import serving
from tests.stream.test_stream import Reader, within
from tests.support import Api, LiveServer, Project, free_port, live_server


def _prefix(key: str) -> str:
    return key.rsplit("_", 1)[0]


def test_revoking_a_key_ends_its_streams_within_1s(app: Any, api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    read = api.new_key(project.key, "dev", "read")
    other = api.new_key(project.key, "dev", "read")
    with live_server(app) as server:
        doomed = [Reader(server.base_url, read) for _ in range(2)]
        kept = Reader(server.base_url, other)
        for reader in (*doomed, kept):
            assert reader.ready.wait(5)
        api.new_version(project.key)  # v1: seen by all
        within(5, lambda: all(r.moves() == [("dev", 1)] for r in (*doomed, kept)))

        r = api.as_(project.key).delete(f"/v1/keys/{_prefix(read)}")
        assert r.status_code == 200, r.text
        within(1.0, lambda: all(r.ended for r in doomed))
        api.new_version(project.key)  # v2, after the revocation
        within(5, lambda: kept.moves() == [("dev", 1), ("dev", 2)])
        for reader in doomed:
            assert reader.moves() == [("dev", 1)] and reader.error is None
        assert not kept.ended
        # Reconnecting with the revoked key is refused.
        again = Reader(server.base_url, read, last_event_id="0")
        assert again.response.status_code == 401
        for reader in (*doomed, kept, again):
            reader.close()


def test_a_subscribed_client_whose_key_is_revoked_stops_reconnecting(
    app: Any, api: Api, project: Project
) -> None:
    api.new_prompt(project.key)
    api.new_version(project.key)
    read = api.new_key(project.key, "dev", "read")
    with live_server(app) as server:
        client = Client(read, server.base_url, cache_ttl=3600, subscribe=True)
        try:
            assert client.wait_until_subscribed(5)
            assert client.subscription_error is None
            assert client.get_prompt("greeting").version == 1
            r = api.as_(project.key).delete(f"/v1/keys/{_prefix(read)}")
            assert r.status_code == 200, r.text
            # The stream ends; the reconnect is refused with 401 and the thread gives up
            # instead of retrying a dead key forever.
            within(5, lambda: client.subscription_error is not None)
            error = client.subscription_error
            assert isinstance(error, AuthenticationError) and error.status_code == 401
            assert not client.subscribed
            thread = client._subscription._thread
            within(2, lambda: not thread.is_alive())
        finally:
            client.close()


def test_server_stops_promptly_with_open_streams_and_they_end_cleanly(
    app: Any, api: Api, project: Project
) -> None:
    read = api.new_key(project.key, "dev", "read")
    server = LiveServer(app).start()
    readers = [Reader(server.base_url, read) for _ in range(3)]
    for reader in readers:
        assert reader.ready.wait(5)
    started = time.monotonic()
    server.stop()
    assert not server.thread.is_alive(), "the server waited on its open streams"
    assert time.monotonic() - started < 5.0
    within(2.0, lambda: all(r.ended for r in readers))
    assert [r.error for r in readers] == [None, None, None]  # a clean end, not a cut
    for reader in readers:
        reader.close()
    # A server started after it in this process streams normally (no sticky exit flag).
    with live_server(app) as again:
        reader = Reader(again.base_url, read)
        assert reader.ready.wait(5)
        time.sleep(0.5)
        assert not reader.ended
        reader.close()


def test_promptops_serve_stops_on_sigterm_with_an_open_stream(tmp_path: Path) -> None:
    port = free_port()
    with serving(tmp_path, port) as (proc, lines):
        read = next(ln.split()[-1] for ln in lines if "dev read key:" in ln)
        reader = Reader(f"http://127.0.0.1:{port}", read)
        assert reader.ready.wait(10)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)  # graceful shutdown did not wait on the stream
        assert time.monotonic() - started < 5.0
        within(2.0, lambda: reader.ended)
        assert reader.error is None  # the stream was ended, not cut
        reader.close()
