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
    api.new_prompt(project.key, "other")
    api.new_version(project.key, "other", user_template="other")
    with Client(project.key, server.base_url, cache=store) as one:
        one.get_prompt("other")  # stored
    # Another process (another client): its first answer from the server names the key's
    # environment (the key decides); from then on misses are read from the store.
    with Client(project.key, server.base_url, cache=store, environment="dev") as two:
        prompt = two.get_prompt("greeting")
        before = counted.count
        assert two.get_prompt("other").user_template == "other"
    assert prompt.user_template == "first" and prompt.version == 1
    assert counted.count == before

    # A webhook receiver writes a newer deployment; readers see it on their next miss.
    newer = httpx.get(
        f"{server.base_url}/v1/prompts/greeting/active",
        headers={"Authorization": f"Bearer {project.key}"},
    ).json()
    newer.update(
        version=7,
        messages=[{"role": "user", "content": "pushed"}],
        user_template="pushed",
        deployment_id=newer["deployment_id"] + 10,
    )
    assert store.set(newer) is True
    with Client(project.key, server.base_url, cache=store, environment="dev") as three:
        three.get_prompt("other")  # the server names the key's environment
        assert three.get_prompt("greeting").user_template == "pushed"


def test_store_outage_falls_back_to_the_server(
    server: LiveServer, api: Api, project: Project
) -> None:
    broken = RedisCache("redis://127.0.0.1:1/0", prefix="x:")  # nothing listens there
    api.new_prompt(project.key)
    api.new_version(project.key, user_template="from server")
    with Client(project.key, server.base_url, cache=broken, environment="dev") as client:
        assert client.get_prompt("greeting").user_template == "from server"


@pytest.mark.parametrize("with_store", [True, False])
def test_the_key_decides_the_environment_not_environment_arg(
    with_store: bool,
    redis_cache: RedisCache,
    server: LiveServer,
    api: Api,
    project: Project,
) -> None:
    """A dev key with environment="staging": never served staging from the shared cache;
    a ConfigurationError at the first answer (and every read after), with or without it."""
    from promptops import ConfigurationError

    api.new_prompt(project.key)
    api.new_version(project.key, user_template="dev text")
    dev = httpx.get(
        f"{server.base_url}/v1/prompts/greeting/active",
        headers={"Authorization": f"Bearer {project.key}"},
    ).json()
    assert dev["environment"] == "dev"
    staging = {**dev, "environment": "staging", "user_template": "staging text", "version": 9}
    assert redis_cache.set(staging) is True
    store = redis_cache if with_store else None
    with Client(project.key, server.base_url, cache=store, environment="staging") as client:
        for _ in range(2):
            with pytest.raises(ConfigurationError, match="'dev'"):
                client.get_prompt("greeting")
    # The right claim (or none) reads the key's environment.
    with Client(project.key, server.base_url, cache=store, environment="dev") as client:
        assert client.get_prompt("greeting").user_template == "dev text"
