"""Client against a real PromptOps server; requests are counted on the server side."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import promptops
from tests.sdk.conftest import FakeClock, Server

TTL = 60.0


def make_client(server: Server, clock: FakeClock, **kw: Any) -> promptops.Client:
    return promptops.Client(
        api_key=server.read_key, base_url=server.base_url, cache_ttl=TTL, clock=clock, **kw
    )


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "promptops" and r.levelno >= logging.WARNING]


def test_miss_is_one_request_then_hits_make_none(server: Server, clock: FakeClock) -> None:
    with make_client(server, clock) as client:
        prompt = client.get_prompt("greeting")
        assert [(r.path, r.status) for r in server.requests()] == [
            ("/v1/prompts/greeting/active", 200)
        ]
        assert server.requests()[0].headers["authorization"] == f"Bearer {server.read_key}"
        for _ in range(200):
            assert client.get_prompt("greeting") is prompt
        clock.advance(TTL * 0.9 - 0.001)  # within the jitter's lower bound
        assert client.get_prompt("greeting") is prompt
        assert len(server.requests()) == 1

    assert (prompt.slug, prompt.version, prompt.environment) == ("greeting", 1, "dev")
    assert prompt.system_prompt == "You are {{tone}}."
    assert prompt.user_template == "Hello {{name}}"
    assert prompt.model == "gpt-4o-mini"
    assert prompt.variables == ("tone", "name")
    assert prompt.commit_message == "first"
    assert not prompt.is_stale and not prompt.is_fallback
    assert prompt.render(tone="kind", name="Ada") == [
        {"role": "system", "content": "You are kind."},
        {"role": "user", "content": "Hello Ada"},
    ]


def test_concurrent_misses_share_one_request(server: Server, clock: FakeClock) -> None:
    client = make_client(server, clock)
    barrier = threading.Barrier(16)
    got: list[promptops.Prompt] = []

    def read() -> None:
        barrier.wait()
        got.append(client.get_prompt("greeting"))

    threads = [threading.Thread(target=read) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    assert len(got) == 16 and all(p.version == 1 for p in got)
    assert len(server.requests()) == 1


def test_expired_entry_revalidates_with_if_none_match_and_304_renews_it(
    server: Server, clock: FakeClock
) -> None:
    with make_client(server, clock, background_refresh=False) as client:
        first = client.get_prompt("greeting")
        clock.advance(TTL + 1)
        again = client.get_prompt("greeting")
        seen = server.requests()
        assert [r.status for r in seen] == [200, 304]
        assert seen[1].headers["if-none-match"] == client._entries[("greeting", None)].etag
        assert again is first  # renewed without a body: the same Prompt object
        # Renewed for another full TTL: no request until it runs out again.
        clock.advance(TTL * 0.9 - 1)  # within the jitter's lower bound
        client.get_prompt("greeting")
        assert len(server.requests()) == 2


def test_stale_while_revalidate_returns_old_value_then_new_one(
    server: Server, clock: FakeClock
) -> None:
    with make_client(server, clock) as client:
        assert client.get_prompt("greeting").version == 1
        server.new_version(user_template="Hi {{name}}!")  # v2 becomes active in dev
        clock.advance(TTL + 1)
        expired_read = client.get_prompt("greeting")
        # Answered at once from memory: the background refresh had not finished (it
        # would have brought version 2).
        assert expired_read.version == 1 and not expired_read.is_stale
        assert client.wait_for_refreshes(10)
        fresh = client.get_prompt("greeting")
        assert fresh.version == 2 and fresh.render_text(name="Ada") == "Hi Ada!"
        assert [r.status for r in server.requests()] == [200, 200]
        assert "if-none-match" in server.requests()[1].headers


def test_one_refresh_in_flight_per_key(server: Server, clock: FakeClock) -> None:
    with make_client(server, clock) as client:
        client.get_prompt("greeting")
        clock.advance(TTL + 1)
        for _ in range(50):
            assert client.get_prompt("greeting").version == 1
        assert client.wait_for_refreshes(10)
        assert len(server.requests()) == 2


def test_server_stopped_serves_stale_and_warns_once(
    server: Server, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="promptops")
    with make_client(server, clock) as client:
        good = client.get_prompt("greeting")
        server.stop()
        clock.advance(TTL + 1)
        served = []
        for _ in range(100):
            served.append(client.get_prompt("greeting"))
            client.wait_for_refreshes(10)
            clock.advance(0.5)  # crosses several backoff periods: retries happen, quietly
        assert all(p.version == 1 for p in served)
        assert all(p.is_stale for p in served[1:])
        assert client.get_prompt("greeting").render(tone="calm", name="Bo") == good.render(
            tone="calm", name="Bo"
        )
        failures = client._backoff.failures
        assert 2 <= failures < 20  # retried, but backed off rather than once per call
        stale_warnings = warnings_of(caplog)
        assert len(stale_warnings) == 1
        assert "greeting" in stale_warnings[0].getMessage()
        assert "unavailable" in stale_warnings[0].getMessage()

        # Back up: the next attempt revalidates (304) and the value is fresh again.
        server.restart()
        clock.advance(TTL * 2)
        client.get_prompt("greeting")
        client.wait_for_refreshes(10)
        recovered = client.get_prompt("greeting")
        assert recovered.version == 1 and not recovered.is_stale
        assert server.requests()[-1].status == 304
        assert any("answers again" in r.getMessage() for r in caplog.records)


def test_dead_server_costs_one_attempt_per_backoff_period(server: Server, clock: FakeClock) -> None:
    attempts: list[httpx.Request] = []

    class Spy(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            attempts.append(request)
            return super().handle_request(request)

    with make_client(server, clock, transport=Spy(), background_refresh=False) as client:
        client.get_prompt("greeting")
        server.stop()
        clock.advance(TTL + 1)
        for _ in range(1000):
            assert client.get_prompt("greeting").version == 1
        assert len(attempts) == 2  # the first fetch, then one failed revalidation
        with pytest.raises(promptops.PromptUnavailableError):
            client.get_prompt("other-prompt")  # nothing cached: fails without a request
        assert len(attempts) == 2


def test_start_while_server_down_serves_snapshot(
    server: Server, clock: FakeClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    snap = tmp_path / "prompts.json"
    with make_client(server, clock, snapshot_path=snap) as writer:
        writer.get_prompt("greeting")
        writer.get_prompt("greeting", version=1)
    doc = json.loads(snap.read_text())
    assert {(p["slug"], p["version"]) for p in doc["prompts"]} == {
        ("greeting", None),
        ("greeting", 1),
    }
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []

    server.stop()
    caplog.set_level(logging.WARNING, logger="promptops")
    with make_client(server, clock, snapshot_path=snap) as reader:
        served = [reader.get_prompt("greeting") for _ in range(20)]
        assert all(p.version == 1 and p.is_stale and not p.is_fallback for p in served)
        assert served[0].render_text(name="Ada") == "Hello Ada"
        assert len(warnings_of(caplog)) == 1
        assert "snapshot" in warnings_of(caplog)[0].getMessage()


def test_snapshot_etag_makes_a_cold_start_a_304(
    server: Server, clock: FakeClock, tmp_path: Path
) -> None:
    snap = tmp_path / "prompts.json"
    with make_client(server, clock, snapshot_path=snap) as writer:
        writer.get_prompt("greeting")
    server.app.reset()
    with make_client(server, clock, snapshot_path=snap) as reader:
        prompt = reader.get_prompt("greeting")
    assert prompt.version == 1 and not prompt.is_stale
    seen = server.requests()
    assert len(seen) == 1 and seen[0].status == 304 and seen[0].headers["if-none-match"]


def test_nothing_cached_returns_fallback_or_raises(server: Server, clock: FakeClock) -> None:
    server.stop()
    with make_client(server, clock) as client:
        text = client.get_prompt("greeting", fallback="Hi {{name}}")
        assert text.is_fallback and not text.is_stale
        assert text.render(name="Ada") == [{"role": "user", "content": "Hi Ada"}]
        fields = client.get_prompt(
            "greeting",
            fallback={"system_prompt": "Be {{tone}}", "user_template": "Yo", "model": "m"},
        )
        assert fields.is_fallback and fields.model == "m" and fields.variables == ("tone",)
        with pytest.raises(promptops.PromptUnavailableError) as caught:
            client.get_prompt("greeting")
        assert "'greeting'" in str(caught.value)
        assert "ConnectError" in str(caught.value)
        assert isinstance(caught.value.cause, httpx.ConnectError)
        assert caught.value.__cause__ is caught.value.cause
        assert isinstance(caught.value, promptops.PromptOpsError)

        # Fallbacks are never cached: once the server answers, the real prompt is served.
        server.restart()
        clock.advance(TTL)
        real = client.get_prompt("greeting", fallback="Hi {{name}}")
        assert real.version == 1 and not real.is_fallback


def test_unknown_prompt_raises_not_found(server: Server, clock: FakeClock) -> None:
    with make_client(server, clock) as client:
        with pytest.raises(promptops.PromptNotFoundError) as caught:
            client.get_prompt("nope", fallback="not used for a 404")
        assert caught.value.status_code == 404 and caught.value.slug == "nope"
        assert caught.value.code == "not_found"
        assert ("nope", None) not in client._entries


def test_404_on_revalidation_evicts(server: Server, clock: FakeClock, tmp_path: Path) -> None:
    snap = tmp_path / "prompts.json"
    with make_client(server, clock, background_refresh=False, snapshot_path=snap) as client:
        client.get_prompt("greeting")
        server.withdraw("greeting")
        clock.advance(TTL + 1)
        with pytest.raises(promptops.PromptNotFoundError):
            client.get_prompt("greeting")
        assert ("greeting", None) not in client._entries
        assert json.loads(snap.read_text())["prompts"] == []
        with pytest.raises(promptops.PromptNotFoundError):
            client.get_prompt("greeting")  # asks again: nothing stale is served
        assert [r.status for r in server.requests()] == [200, 404, 404]


def test_404_in_background_refresh_evicts(server: Server, clock: FakeClock) -> None:
    with make_client(server, clock) as client:
        client.get_prompt("greeting")
        server.withdraw("greeting")
        clock.advance(TTL + 1)
        assert client.get_prompt("greeting").version == 1  # served while revalidating
        client.wait_for_refreshes(10)
        assert ("greeting", None) not in client._entries
        with pytest.raises(promptops.PromptNotFoundError):
            client.get_prompt("greeting")


def test_revoked_key_raises_instead_of_serving_stale(server: Server, clock: FakeClock) -> None:
    created = server.api.as_(server.write_key).post(
        "/v1/keys", json={"environment": "dev", "role": "read"}
    )
    key, prefix = created.json()["key"], created.json()["prefix"]
    client = promptops.Client(
        api_key=key, base_url=server.base_url, clock=clock, background_refresh=False
    )
    client.get_prompt("greeting")
    assert server.api.as_(server.write_key).delete(f"/v1/keys/{prefix}").status_code == 200
    clock.advance(TTL + 1)
    with pytest.raises(promptops.AuthenticationError) as caught:
        client.get_prompt("greeting", fallback="not used for a 401")
    assert caught.value.status_code == 401
    assert ("greeting", None) not in client._entries
    client.close()


def test_wrong_environment_key_is_permission_or_not_found(server: Server, clock: FakeClock) -> None:
    with (
        promptops.Client(
            api_key="po_live_wrong_key_entirely", base_url=server.base_url, clock=clock
        ) as client,
        pytest.raises(promptops.AuthenticationError),
    ):
        client.get_prompt("greeting")


def test_pinned_version_is_cached_forever(server: Server, clock: FakeClock) -> None:
    with make_client(server, clock) as client:
        pinned = client.get_prompt("greeting", version=1)
        assert pinned.version == 1 and pinned.environment is None
        assert server.requests()[0].path == "/v1/prompts/greeting/versions/1"
        server.new_version(user_template="v2 {{name}}")
        clock.advance(365 * 24 * 3600.0)
        assert client.get_prompt("greeting", version=1) is pinned
        assert len(server.requests()) == 1
        # The active read is a separate entry and sees version 2.
        assert client.get_prompt("greeting").version == 2
        with pytest.raises(promptops.PromptNotFoundError):
            client.get_prompt("greeting", version=99)


def test_invalidate_forces_a_fetch(server: Server, clock: FakeClock) -> None:
    with make_client(server, clock) as client:
        client.get_prompt("greeting")
        server.new_version(user_template="v2 {{name}}")
        assert client.get_prompt("greeting").version == 1  # cached
        assert client.invalidate("greeting") == 1
        assert client.get_prompt("greeting").version == 2
        assert len(server.requests()) == 2


def test_closed_client_serves_cache_but_does_not_fetch(server: Server, clock: FakeClock) -> None:
    client = make_client(server, clock)
    prompt = client.get_prompt("greeting")
    client.close()
    client.close()  # idempotent
    assert client.get_prompt("greeting") is prompt
    with pytest.raises(promptops.ConfigurationError, match="closed"):
        client.get_prompt("other")


def test_a_server_that_never_answers_costs_one_short_timeout(clock: FakeClock) -> None:
    # A socket that accepts connections (through its backlog) and never answers.
    with socket.socket() as blackhole:
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(64)
        port = blackhole.getsockname()[1]
        with promptops.Client(
            api_key="k", base_url=f"http://127.0.0.1:{port}", timeout=0.3, clock=clock
        ) as client:
            t0 = time.perf_counter()
            first = client.get_prompt("greeting", fallback="Hi {{name}}")
            first_cost = time.perf_counter() - t0
            t0 = time.perf_counter()
            for _ in range(100):
                assert client.get_prompt("greeting", fallback="Hi {{name}}").is_fallback
            rest_cost = time.perf_counter() - t0
            with pytest.raises(promptops.PromptUnavailableError) as caught:
                client.get_prompt("greeting")
    assert first.is_fallback
    assert 0.25 <= first_cost < 2.0  # one read timeout
    assert rest_cost < 0.25  # no further attempt during the backoff
    assert isinstance(caught.value.cause, httpx.ReadTimeout)


def test_ttl_jitter_spreads_expiry_within_its_bounds(server: Server, clock: FakeClock) -> None:
    for n in range(20):
        server.api.new_prompt(server.write_key, f"p{n}")
        server.new_version(f"p{n}")
    with make_client(server, clock) as client:
        start = clock.now
        for n in range(20):
            client.get_prompt(f"p{n}")
        expiries = [client._entries[(f"p{n}", None)].expires - start for n in range(20)]
        assert all(TTL * 0.9 <= e <= TTL for e in expiries), expiries
        assert len(set(expiries)) > 1  # not all at the same instant
    with make_client(server, clock, ttl_jitter=0) as exact:
        exact.get_prompt("p0")
        assert exact._entries[("p0", None)].expires == clock.now + TTL
    with pytest.raises(promptops.ConfigurationError, match="ttl_jitter"):
        make_client(server, clock, ttl_jitter=1.5)


def test_background_refreshes_share_one_thread(server: Server, clock: FakeClock) -> None:
    for n in range(10):
        server.api.new_prompt(server.write_key, f"r{n}")
        server.new_version(f"r{n}")
    with make_client(server, clock) as client:
        for n in range(10):
            client.get_prompt(f"r{n}")
        before = {t.ident for t in threading.enumerate()}
        clock.advance(TTL + 1)
        for n in range(10):
            client.get_prompt(f"r{n}")  # each starts a background refresh
        refreshers = [
            t
            for t in threading.enumerate()
            if t.name == "promptops-refresh" and t.ident not in before
        ]
        assert client.wait_for_refreshes(10)
        assert len(refreshers) <= 1
        assert len(server.requests()) == 20
        for n in range(10):
            assert client._entries[(f"r{n}", None)].expires > clock.now
