"""Client(cache=RedisCache(...)): processes share one store that webhooks keep fresh."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from promptops import Client
from promptops.receivers import MemoryCache, RedisCache
from tests.support import Api, LiveServer, Project, live_server


class Counting:
    """An ASGI wrapper counting requests that reach the server."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state = app.state
        self.count = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.count += 1
        await self.app(scope, receive, send)


@pytest.fixture
def counted(app: Any) -> Counting:
    return Counting(app)


@pytest.fixture
def server(counted: Counting) -> Iterator[LiveServer]:
    with live_server(counted) as srv:
        yield srv


@pytest.fixture
def redis_cache() -> Iterator[RedisCache]:
    cache = RedisCache("redis://127.0.0.1:6379/0", prefix=f"promptops-test-{uuid.uuid4().hex}:")
    yield cache
    cache.clear()  # this test's prefix only


@pytest.mark.parametrize("store_kind", ["memory", "redis"])
def test_second_process_reads_the_store_not_the_server(
    store_kind: str,
    redis_cache: RedisCache,
    server: LiveServer,
    counted: Counting,
    api: Api,
    project: Project,
) -> None:
    store: Any = MemoryCache() if store_kind == "memory" else redis_cache
    api.new_prompt(project.key)
    api.new_version(project.key, user_template="first")
    with Client(project.key, server.base_url, cache=store) as one:
        assert one.get_prompt("greeting").user_template == "first"  # fetched, then stored
    before = counted.count
    # Another process (another client) with only the store: no request to the server.
    with Client(project.key, server.base_url, cache=store, environment="dev") as two:
        prompt = two.get_prompt("greeting")
    assert prompt.user_template == "first" and prompt.version == 1
    assert counted.count == before

    # A webhook receiver writes a newer deployment; readers see it on their next miss.
    newer = httpx.get(
        f"{server.base_url}/v1/prompts/greeting/active",
        headers={"Authorization": f"Bearer {project.key}"},
    ).json()
    newer.update(version=7, user_template="pushed", deployment_id=newer["deployment_id"] + 10)
    assert store.set(newer) is True
    with Client(project.key, server.base_url, cache=store, environment="dev") as three:
        assert three.get_prompt("greeting").user_template == "pushed"


def test_store_outage_falls_back_to_the_server(
    server: LiveServer, api: Api, project: Project
) -> None:
    broken = RedisCache("redis://127.0.0.1:1/0", prefix="x:")  # nothing listens there
    api.new_prompt(project.key)
    api.new_version(project.key, user_template="from server")
    with Client(project.key, server.base_url, cache=broken, environment="dev") as client:
        assert client.get_prompt("greeting").user_template == "from server"
