"""Several server processes on one PostgreSQL database see each other's changes within 1 s."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest

from tests.support import PostgresDatabases, free_port

ADMIN = "multi-process-admin-key-0123456789abcdef"


@contextmanager
def server_process(database_url: str) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTOPS_")}
    env.update(
        PROMPTOPS_DATABASE_URL=database_url, PROMPTOPS_ADMIN_KEY=ADMIN, PROMPTOPS_BCRYPT_ROUNDS="4"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "promptops.server.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def within(seconds: float, check: Callable[[], bool]) -> float:
    """Poll ``check`` until true; return how long it took (fails after ``seconds``)."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < seconds, f"not within {seconds} s"
        time.sleep(0.01)
    return time.monotonic() - start


def two_servers_with_a_prompt(stack: ExitStack, url: str) -> tuple[str, str, dict[str, str]]:
    """Two server processes on one database, a project and its prompt `s` made through
    the first: (url A, url B, the project's write-key headers)."""
    a = stack.enter_context(server_process(url))
    b = stack.enter_context(server_process(url))
    admin = {"Authorization": f"Bearer {ADMIN}"}
    created = httpx.post(f"{a}/v1/projects", json={"name": "P"}, headers=admin).json()
    w = {"Authorization": f"Bearer {created['api_key']['key']}"}
    assert httpx.post(f"{a}/v1/prompts", json={"slug": "s", "name": "S"}, headers=w).is_success
    return a, b, w


@pytest.mark.postgres
def test_promotion_and_revocation_reach_other_processes(postgres: PostgresDatabases) -> None:
    postgres.reset()
    with ExitStack() as stack:
        a, b, w = two_servers_with_a_prompt(stack, postgres.url)
        for text in ("one", "two"):
            r = httpx.post(
                f"{a}/v1/prompts/s/versions", json={"user_template": text, "model": "m"}, headers=w
            )
            assert r.status_code == 201
        read = httpx.post(
            f"{a}/v1/keys", json={"environment": "dev", "role": "read"}, headers=w
        ).json()["key"]
        r_h = {"Authorization": f"Bearer {read}"}

        def active_on(url: str) -> int:
            return int(httpx.get(f"{url}/v1/prompts/s/active", headers=r_h).json()["version"])

        # B has the active version (and the key) in memory.
        assert active_on(b) == 2
        # A rollback through A is served by B's in-memory read path within 1 s.
        assert httpx.post(f"{a}/v1/prompts/s/deployments/dev/rollback", headers=w).is_success
        within(1.0, lambda: active_on(b) == 1)
        # And the other way round.
        r = httpx.post(f"{b}/v1/prompts/s/deployments/dev", json={"version": 2}, headers=w)
        assert r.status_code == 200
        within(1.0, lambda: active_on(a) == 2)

        # A key revoked through A is refused by B within 1 s, though B remembered it.
        prefix = read.rsplit("_", 1)[0]
        r = httpx.delete(f"{a}/v1/keys/{prefix}", headers=w)
        assert r.status_code == 200
        within(1.0, lambda: httpx.get(f"{b}/v1/prompts/s/active", headers=r_h).status_code == 401)
        assert httpx.get(f"{b}/v1/prompts", headers=r_h).status_code == 401


@pytest.mark.postgres
def test_revocation_through_one_process_ends_a_stream_held_by_another(
    postgres: PostgresDatabases,
) -> None:
    import json
    import threading

    postgres.reset()
    with ExitStack() as stack:
        a, b, w = two_servers_with_a_prompt(stack, postgres.url)
        read = httpx.post(
            f"{a}/v1/keys", json={"environment": "dev", "role": "read"}, headers=w
        ).json()["key"]
        events: list[str] = []
        ready, ended = threading.Event(), threading.Event()
        http = stack.enter_context(httpx.Client(timeout=httpx.Timeout(5.0, read=30.0)))
        response = stack.enter_context(
            http.stream("GET", f"{b}/v1/stream", headers={"Authorization": f"Bearer {read}"})
        )
        assert response.status_code == 200

        def consume() -> None:
            try:
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        events.append(line[7:])
                        if line == "event: ready":
                            ready.set()
            except httpx.HTTPError:
                pass
            ended.set()

        threading.Thread(target=consume, daemon=True).start()
        assert ready.wait(5)
        r = httpx.post(
            f"{a}/v1/prompts/s/versions", json={"user_template": "one", "model": "m"}, headers=w
        )
        assert r.status_code == 201
        within(5.0, lambda: "prompt_template_label_moved" in events)
        seen = len(events)

        prefix = read.rsplit("_", 1)[0]
        assert httpx.delete(f"{a}/v1/keys/{prefix}", headers=w).status_code == 200
        within(1.0, ended.is_set)
        r = httpx.post(
            f"{a}/v1/prompts/s/versions", json={"user_template": "two", "model": "m"}, headers=w
        )
        assert r.status_code == 201
        time.sleep(0.3)
        assert len(events) == seen, json.dumps(events)
