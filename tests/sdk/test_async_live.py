"""AsyncClient against a real PromptOps server (anyio's pytest plugin, asyncio backend)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

import promptops
from tests.sdk.conftest import FakeClock, Server

pytestmark = pytest.mark.anyio

TTL = 60.0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_client(server: Server, clock: FakeClock, **kw: Any) -> promptops.AsyncClient:
    return promptops.AsyncClient(
        api_key=server.read_key, base_url=server.base_url, cache_ttl=TTL, clock=clock, **kw
    )


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "promptops" and r.levelno >= logging.WARNING]


async def test_miss_is_one_request_then_hits_make_none(server: Server, clock: FakeClock) -> None:
    async with make_client(server, clock) as client:
        prompt = await client.get_prompt("greeting")
        for _ in range(100):
            assert await client.get_prompt("greeting") is prompt
    assert prompt.version == 1 and prompt.render_text(name="Ada") == "Hello Ada"
    assert [(r.path, r.status) for r in server.requests()] == [("/v1/prompts/greeting/active", 200)]


async def test_concurrent_misses_share_one_request(server: Server, clock: FakeClock) -> None:
    async with make_client(server, clock) as client:
        got = await asyncio.gather(*(client.get_prompt("greeting") for _ in range(20)))
    assert all(p is got[0] for p in got)
    assert len(server.requests()) == 1


async def test_revalidation_304_renews(server: Server, clock: FakeClock) -> None:
    async with make_client(server, clock, background_refresh=False) as client:
        first = await client.get_prompt("greeting")
        clock.advance(TTL + 1)
        assert await client.get_prompt("greeting") is first
        clock.advance(TTL * 0.9 - 1)  # within the jitter's lower bound
        await client.get_prompt("greeting")
    seen = server.requests()
    assert [r.status for r in seen] == [200, 304]
    assert seen[1].headers["if-none-match"]


async def test_stale_while_revalidate_in_a_task(server: Server, clock: FakeClock) -> None:
    async with make_client(server, clock) as client:
        await client.get_prompt("greeting")
        server.new_version(user_template="Hi {{name}}!")
        clock.advance(TTL + 1)
        old = await client.get_prompt("greeting")
        assert old.version == 1 and not old.is_stale
        assert len(client._tasks) == 1
        assert await client.wait_for_refreshes(10)
        new = await client.get_prompt("greeting")
        assert new.version == 2
    assert [r.status for r in server.requests()] == [200, 200]


async def test_server_stopped_serves_stale_and_warns_once(
    server: Server, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="promptops")
    async with make_client(server, clock) as client:
        await client.get_prompt("greeting")
        server.stop()
        clock.advance(TTL + 1)
        served = []
        for _ in range(60):
            served.append(await client.get_prompt("greeting"))
            await client.wait_for_refreshes(10)
            clock.advance(0.5)
        assert all(p.version == 1 for p in served)
        assert all(p.is_stale for p in served[1:])
        assert len(warnings_of(caplog)) == 1


async def test_start_while_server_down_serves_snapshot(
    server: Server, clock: FakeClock, tmp_path: Path
) -> None:
    snap = tmp_path / "snap.json"
    async with make_client(server, clock, snapshot_path=snap) as writer:
        await writer.get_prompt("greeting")
    assert json.loads(snap.read_text())["prompts"][0]["slug"] == "greeting"
    server.stop()
    async with make_client(server, clock, snapshot_path=snap) as reader:
        prompt = await reader.get_prompt("greeting")
    assert prompt.version == 1 and prompt.is_stale


async def test_nothing_cached_fallback_or_error(server: Server, clock: FakeClock) -> None:
    server.stop()
    async with make_client(server, clock) as client:
        fb = await client.get_prompt("greeting", fallback="Hi {{name}}")
        assert fb.is_fallback and fb.render_text(name="Ada") == "Hi Ada"
        with pytest.raises(promptops.PromptUnavailableError) as caught:
            await client.get_prompt("greeting")
        assert isinstance(caught.value.cause, httpx.ConnectError)


async def test_404_evicts(server: Server, clock: FakeClock) -> None:
    async with make_client(server, clock, background_refresh=False) as client:
        await client.get_prompt("greeting")
        server.withdraw("greeting")
        clock.advance(TTL + 1)
        with pytest.raises(promptops.PromptNotFoundError):
            await client.get_prompt("greeting")
        assert ("greeting", None) not in client._entries


async def test_pinned_version_cached_forever(server: Server, clock: FakeClock) -> None:
    async with make_client(server, clock) as client:
        pinned = await client.get_prompt("greeting", version=1)
        server.new_version(user_template="v2")
        clock.advance(10**7)
        assert await client.get_prompt("greeting", version=1) is pinned
    assert len(server.requests()) == 1


async def test_close_alias_and_idempotent(server: Server, clock: FakeClock) -> None:
    client = make_client(server, clock)
    await client.get_prompt("greeting")
    await client.close()
    await client.aclose()
    with pytest.raises(promptops.ConfigurationError):
        await client.get_prompt("other")
