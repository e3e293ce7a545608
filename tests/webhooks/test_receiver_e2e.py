"""End to end: the server sends webhooks to an application's receiver on 127.0.0.1, which
keeps a cache fresh that other processes read (ASGI + Redis; WSGI/Flask + in-process)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from flask import Flask, request
from werkzeug.serving import make_server
from werkzeug.test import Client

from promptops.receivers import MemoryCache, RedisCache, WebhookReceiver
from tests.support import Api, LiveServer, Project, free_port
from tests.webhooks.helpers import deliveries, settled, wait_until


@pytest.fixture
def redis_cache() -> Iterator[RedisCache]:
    cache = RedisCache("redis://127.0.0.1:6379/0", prefix=f"test-{uuid.uuid4().hex}:")
    yield cache
    cache.clear()
    cache.client.close()


def test_server_webhook_asgi_receiver_redis_cache_read_back(
    api: Api, project: Project, admin_key: str, redis_cache: RedisCache
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/promptops"
    # it listens to dev and staging: a key manages its own environment's endpoints only
    endpoint = (
        api.as_(admin_key)
        .post(
            "/v1/webhooks",
            json={"url": url, "environments": ["dev", "staging"], "project_id": project.id},
        )
        .json()
    )
    scope = {"project_id": project.id}

    # the application: FastAPI with the ready ASGI handler, writing into Redis
    receiver = WebhookReceiver(endpoint["secret"], redis_cache, project_id=project.id)
    application = FastAPI()
    application.add_route("/webhooks/promptops", receiver.asgi(), methods=["POST"])
    server = LiveServer(application, port=port).start()
    try:
        # another process of the application: its own Redis client, same prefix
        reader = RedisCache("redis://127.0.0.1:6379/0", prefix=redis_cache.prefix)
        staging = api.new_key(admin_key, "staging", "write", project_id=project.id)
        api.new_prompt(project.key)
        api.new_version(project.key, user_template="one {{name}}")
        api.new_version(project.key, user_template="two {{name}}")
        api.as_(staging).post("/v1/prompts/greeting/deployments/staging", json={"version": 1})

        def cached(environment: str) -> dict[str, Any] | None:
            return reader.get("greeting", environment=environment)

        wait_until(lambda: (c := cached("dev")) and c["version"] == 2, what="dev v2 in Redis")
        wait_until(lambda: cached("staging"), what="staging in Redis")
        dev = api.as_(project.key).get("/v1/prompts/greeting/active").json()
        stage = api.as_(staging).get("/v1/prompts/greeting/active").json()
        assert cached("dev") == dev and cached("staging") == stage
        assert reader.get("greeting", version=1)["user_template"] == "one {{name}}"  # type: ignore[index]

        # a late, older label move (a redelivery) must not move the cache backwards
        rows = settled(api, admin_key, endpoint["id"], 6, **scope)
        first_move = next(
            d for d in reversed(rows) if d["event_type"] == "prompt_template_label_moved"
        )
        r = api.as_(admin_key).post(
            f"/v1/webhooks/{endpoint['id']}/deliveries/{first_move['id']}/redeliver",
            params=scope,
        )
        assert r.status_code == 202
        done = wait_until(
            lambda: (
                (d := deliveries(api, admin_key, endpoint["id"], **scope)[0])["status"]
                == "succeeded"
                and d
            ),
            what="the redelivery",
        )
        assert '"cache":"stale"' in done["attempts"][0]["response_excerpt"]
        assert cached("dev") == dev  # still v2
        reader.client.close()
    finally:
        server.stop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_server_webhook_flask_receiver(api: Api, project: Project) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/promptops"
    endpoint = api.as_(project.key).post("/v1/webhooks", json={"url": url}).json()
    cache = MemoryCache()
    receiver = WebhookReceiver(endpoint["secret"], cache)

    flask_app = Flask("receiver")

    @flask_app.post("/webhooks/promptops")
    def promptops_webhook() -> Any:
        reply = receiver.handle(request.get_data(), request.headers)
        return reply.body, reply.status, reply.headers

    server = make_server("127.0.0.1", port, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        api.new_prompt(project.key)
        api.new_version(project.key, user_template="flask {{name}}")
        wait_until(lambda: cache.get("greeting", environment="dev"), what="the cache update")
        active = api.as_(project.key).get("/v1/prompts/greeting/active").json()
        assert cache.get("greeting", environment="dev") == active
        rows = settled(api, project.key, endpoint["id"], 3)
        assert {d["status"] for d in rows} == {"succeeded"}
    finally:
        server.shutdown()
        thread.join(5)


def test_plain_wsgi_app_answers_method_size_and_signature_errors() -> None:
    receiver = WebhookReceiver("whsec_" + "A" * 44, MemoryCache(), max_body_bytes=100)
    client = Client(receiver.wsgi())
    assert client.get("/").status_code == 405
    assert client.post("/", data=b"x" * 101).status_code == 413
    r = client.post("/", data=b"{}", headers={"webhook-id": "evt_1"})
    assert r.status_code == 400 and b"webhook-timestamp" in r.data
