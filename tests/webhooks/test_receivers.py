"""The SDK's receiving side: cache stores (in-process, Redis), the receiver core, the public
surface and its imports. Redis is the real server on 127.0.0.1:6379."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import promptops
import promptops.receivers
import promptops.webhooks
from promptops.receivers import MemoryCache, PromptCache, RedisCache, WebhookReceiver
from promptops.sdk.prompt import Prompt
from promptops.webhooks import InvalidSecretError, generate_secret, sign_headers


def prompt(deployment_id: int | None, version: int = 1, environment: str | None = "dev") -> dict:
    return {
        "slug": "greeting",
        "version": version,
        "system_prompt": "",
        "user_template": f"Hello v{version} {{{{name}}}}",
        "variables": ["name"],
        "model": "gpt-4o-mini",
        "temperature": 1.0,
        "max_tokens": None,
        "metadata": {},
        "commit_message": None,
        "author": "po_live_x",
        "created_at": "2026-01-01T00:00:00Z",
        "environment": environment,
        "deployed_at": None if environment is None else "2026-01-02T00:00:00Z",
        "deployment_id": deployment_id,
    }


@pytest.fixture
def redis_cache() -> Iterator[RedisCache]:
    cache = RedisCache("redis://127.0.0.1:6379/0", prefix=f"test-{uuid.uuid4().hex}:")
    yield cache
    cache.clear()
    cache.client.close()


@pytest.fixture(params=["memory", "redis"])
def cache(request: pytest.FixtureRequest) -> PromptCache:
    if request.param == "memory":
        return MemoryCache()
    return request.getfixturevalue("redis_cache")  # type: ignore[no-any-return]


def test_stores_follow_the_protocol(cache: PromptCache) -> None:
    assert isinstance(cache, PromptCache)
    assert cache.get("greeting", environment="dev") is None
    assert cache.set(prompt(7, version=2)) is True
    assert cache.get("greeting", environment="dev") == prompt(7, version=2)
    assert cache.get("greeting", version=2) == prompt(None, version=2, environment=None)
    assert cache.get("greeting", environment="production") is None
    assert cache.get("greeting", version=1) is None
    cache.delete("greeting", environment="dev")
    assert cache.get("greeting", environment="dev") is None
    assert cache.get("greeting", version=2) is not None
    cache.delete("greeting", version=2)
    assert cache.get("greeting", version=2) is None


def test_an_older_deployment_never_replaces_a_newer_one(cache: PromptCache) -> None:
    assert cache.set(prompt(10, version=3)) is True
    assert cache.set(prompt(9, version=2)) is False  # late: a retry of an earlier move
    assert cache.set(prompt(10, version=3)) is False  # the same again: nothing to do
    assert cache.get("greeting", environment="dev")["version"] == 3  # type: ignore[index]
    assert cache.get("greeting", version=2) is not None  # versions are immutable: kept
    assert cache.set(prompt(11, version=2)) is True  # a rollback is a newer deployment
    assert cache.get("greeting", environment="dev")["version"] == 2  # type: ignore[index]


def test_concurrent_writers_end_at_the_newest(cache: PromptCache) -> None:
    ids = list(range(1, 61))
    random.shuffle(ids)
    threads = [threading.Thread(target=cache.set, args=(prompt(i, version=i),)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get("greeting", environment="dev")["deployment_id"] == 60  # type: ignore[index]


def test_bad_keys_and_payloads(cache: PromptCache) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        cache.get("greeting")
    with pytest.raises(ValueError, match="exactly one"):
        cache.get("greeting", environment="dev", version=1)
    with pytest.raises(ValueError, match="not a prompt"):
        cache.set({"slug": "greeting"})
    with pytest.raises(ValueError, match="deployment_id"):
        cache.set(prompt(None))


def test_stores_keep_chat_and_text_payloads_whole(cache: PromptCache) -> None:
    """The new content (messages, placeholders, tools, text) survives a store, and the SDK
    renders what it reads back."""
    fixtures = Path(promptops.__file__).parent / "contract" / "fixtures" / "active"
    for name in ("chat", "text"):
        doc = json.loads((fixtures / f"{name}.json").read_text(encoding="utf-8"))
        payload = doc["payload"]
        assert cache.set(payload) is True
        stored = cache.get(payload["slug"], environment=payload["environment"])
        assert stored == payload
        case = doc["renders"][0]
        assert Prompt.from_payload(stored).render(case["variables"]) == case["expected"]


def test_redis_cache_is_shared_between_clients_and_expires(redis_cache: RedisCache) -> None:
    other = RedisCache(
        client=redis.Redis(host="127.0.0.1", port=6379, decode_responses=True),
        prefix=redis_cache.prefix,
    )
    redis_cache.set(prompt(4))
    assert other.get("greeting", environment="dev") == prompt(4)
    assert other.set(prompt(3)) is False
    short = RedisCache(client=redis_cache.client, prefix=redis_cache.prefix + "ttl:", ttl=0.2)
    short.set(prompt(1, environment="staging"))
    assert 0 < redis_cache.client.pttl(redis_cache.prefix + "ttl:env:greeting:staging") <= 200
    assert redis_cache.clear() == 4
    other.client.close()
    with pytest.raises(ValueError):
        RedisCache("redis://127.0.0.1:6379/0", client=redis_cache.client)


def _request(secret: str, event: dict[str, Any], **kw: Any) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    return body, sign_headers(secret, body, msg_id=event["id"], **kw)


def _event(deployment_id: int | None, version: int = 1, project: str = "p1") -> dict[str, Any]:
    environment = None if deployment_id is None else "dev"
    kind = "version_created" if deployment_id is None else "label_moved"
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": f"prompt_template_{kind}",
        "timestamp": "2026-01-02T00:00:00Z",
        "project": {"id": project, "name": "Acme"},
        "data": {"slug": "greeting", "prompt": prompt(deployment_id, version, environment)},
    }


def test_receiver_verifies_then_updates_the_cache() -> None:
    secret, cache = generate_secret(), MemoryCache()
    seen: list[dict[str, Any]] = []
    receiver = WebhookReceiver(secret, cache, project_id="p1", on_event=seen.append)
    reply = receiver.handle(*_request(secret, _event(5, version=2)))
    assert reply.status == 200 and json.loads(reply.body)["cache"] == "updated"
    assert cache.get("greeting", environment="dev")["version"] == 2  # type: ignore[index]
    assert json.loads(receiver.handle(*_request(secret, _event(4))).body)["cache"] == "stale"
    assert json.loads(receiver.handle(*_request(secret, _event(None, 3))).body)["cache"] == (
        "updated"
    )
    assert cache.get("greeting", version=3) is not None
    other = _event(99, version=9, project="p2")
    assert json.loads(receiver.handle(*_request(secret, other)).body)["cache"] == "ignored"
    assert cache.get("greeting", environment="dev")["version"] == 2  # type: ignore[index]
    assert len(seen) == 4


def test_receiver_refuses_what_does_not_verify() -> None:
    secret, cache = generate_secret(), MemoryCache()
    receiver = WebhookReceiver(secret, cache, max_body_bytes=10_000)
    body, headers = _request(secret, _event(5))
    assert receiver.handle(body.replace(b"Hello", b"Hacked"), headers).status == 400
    assert receiver.handle(body, {**headers, "webhook-signature": "v1,AAAA"}).status == 400
    old = _request(secret, _event(5), timestamp=1_600_000_000)
    reply = receiver.handle(*old)
    assert reply.status == 400 and b"old" in reply.body
    assert receiver.handle(body, {}).status == 400
    assert receiver.handle(b"x" * 10_001, headers).status == 413
    assert len(cache) == 0
    with pytest.raises(InvalidSecretError):
        WebhookReceiver("whsec_***")


def test_receiver_answers_500_when_it_cannot_take_the_event_in() -> None:
    secret = generate_secret()

    def broken(event: dict[str, Any]) -> None:
        raise RuntimeError("database down")

    reply = WebhookReceiver(secret, MemoryCache(), on_event=broken).handle(
        *_request(secret, _event(1))
    )
    assert reply.status == 500  # so PromptOps retries the delivery


def test_public_surface() -> None:
    assert set(promptops.webhooks.__all__) == {
        "DEFAULT_TOLERANCE_SECONDS",
        "SECRET_PREFIX",
        "InvalidPayloadError",
        "InvalidSecretError",
        "InvalidSignatureError",
        "MalformedHeaderError",
        "MissingHeaderError",
        "TimestampOutOfToleranceError",
        "WebhookVerificationError",
        "generate_secret",
        "sign",
        "sign_headers",
        "verify",
    }
    assert set(promptops.receivers.__all__) == {
        "ASGIWebhookApp",
        "MemoryCache",
        "MissingDependencyError",
        "PromptCache",
        "RedisCache",
        "Reply",
        "WSGIWebhookApp",
        "WebhookReceiver",
    }
    for module in (promptops.webhooks, promptops.receivers):
        for name in module.__all__:
            assert hasattr(module, name), name


def test_receiving_side_imports_nothing_of_the_server() -> None:
    code = (
        "import sys, promptops.webhooks, promptops.receivers\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'sqlalchemy', 'fastapi', 'starlette', 'pydantic', 'alembic', 'uvicorn', 'redis',"
        " 'httpx'} or m.startswith(('promptops.server', 'promptops.db', 'promptops.domain',"
        " 'promptops.worker')))\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"
