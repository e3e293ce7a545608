"""Concurrent writers against a real uvicorn server: version numbers and slugs stay unique."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.server.helpers import assert_error
from tests.support import LiveServer, live_server

WRITERS = 20


@pytest.fixture
def server(app: Any) -> Iterator[LiveServer]:
    with live_server(app) as s:
        yield s


@pytest.fixture
def write_key(server: LiveServer, admin_key: str) -> str:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        r = http.post(
            "/v1/projects",
            json={"name": "Concurrent"},
            headers={"Authorization": f"Bearer {admin_key}"},
        )
        assert r.status_code == 201, r.text
        key = str(r.json()["api_key"]["key"])
        r = http.post(
            "/v1/prompts",
            json={"slug": "greeting", "name": "Greeting"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 201, r.text
    return key


def _all_at_once(n: int, call: Callable[[httpx.Client, int], httpx.Response]) -> list[Any]:
    """Run ``call`` in ``n`` threads released together; each has its own connection."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int, base: httpx.Client) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = call(base, i)
        except Exception as exc:  # reported by the assertions below
            results[i] = exc

    clients = [httpx.Client(timeout=60) for _ in range(n)]
    threads = [threading.Thread(target=run, args=(i, clients[i])) for i in range(n)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
    finally:
        for c in clients:
            c.close()
    assert not any(t.is_alive() for t in threads), "a writer hung"
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors
    return results


def test_concurrent_versions_get_numbers_1_to_n(server: LiveServer, write_key: str) -> None:
    headers = {"Authorization": f"Bearer {write_key}"}

    def create(http: httpx.Client, i: int) -> httpx.Response:
        return http.post(
            f"{server.base_url}/v1/prompts/greeting/versions",
            headers=headers,
            json={"user_template": f"writer {i}: {{{{name}}}}", "model": "m", "author": str(i)},
        )

    responses = _all_at_once(WRITERS, create)
    statuses = [r.status_code for r in responses]
    assert statuses == [201] * WRITERS, [r.text for r in responses if r.status_code != 201]
    numbers = sorted(r.json()["version"] for r in responses)
    assert numbers == list(range(1, WRITERS + 1))
    by_number = {r.json()["version"]: r.json()["author"] for r in responses}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
        listed = http.get("/v1/prompts/greeting/versions", params={"limit": 200}).json()["data"]
        assert [v["version"] for v in listed] == list(range(WRITERS, 0, -1))
        # Each stored version is the one its writer was told about.
        assert {v["version"]: v["author"] for v in listed} == by_number
        for v in listed:
            assert v["user_template"] == f"writer {v['author']}: {{{{name}}}}"
        prompt = http.get("/v1/prompts/greeting").json()
        assert prompt["latest_version"] == WRITERS
        assert prompt["deployments"]["dev"] == WRITERS
        active = http.get("/v1/prompts/greeting/active")
        assert active.status_code == 200 and active.json()["version"] == WRITERS
        history = http.get(
            "/v1/prompts/greeting/deployments/dev/history", params={"limit": 200}
        ).json()["data"]
        assert sorted(h["version"] for h in history) == list(range(1, WRITERS + 1))
        # Each auto-deployment replaced exactly the one before it.
        assert [h["previous_version"] for h in reversed(history)] == [None, *range(1, WRITERS)]
        audit = http.get("/v1/audit", params={"action": "version.created", "limit": 200}).json()
        assert sorted(e["after"]["version"] for e in audit["data"]) == numbers


def test_concurrent_creation_of_one_slug_has_one_winner(server: LiveServer, write_key: str) -> None:
    headers = {"Authorization": f"Bearer {write_key}"}

    def create(http: httpx.Client, i: int) -> httpx.Response:
        return http.post(
            f"{server.base_url}/v1/prompts",
            headers=headers,
            json={"slug": "contested", "name": f"Writer {i}"},
        )

    responses = _all_at_once(WRITERS, create)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (WRITERS - 1), [r.text for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert_error(r, 409, code="conflict")
    winner = next(r for r in responses if r.status_code == 201).json()
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
        found = http.get("/v1/prompts", params={"q": "contested"}).json()["data"]
        assert [p["slug"] for p in found] == ["contested"]
        assert found[0]["name"] == winner["name"]
        audit = http.get("/v1/audit", params={"action": "prompt.created", "limit": 200}).json()
        assert [e["target"] for e in audit["data"]].count("contested") == 1
