"""In-process measurements that complement the wrk figures (robust to machine noise).

- :func:`app_costs`: each ASGI app called in-process with a do-nothing ``send``: no server,
  no sockets, no HTTP parsing; what the app itself adds on top of uvicorn.
- :func:`load_costs`: the snapshot's miss path (``ActiveSnapshot.load``: the read path's one
  query plus encoding), which a warm server never takes but a cold one, or one whose entry a
  write just dropped, does: this is where the database's size could show.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["app_costs", "load_costs"]


def app_costs(
    factories: dict[str, Callable[[], Any]],
    env: dict[str, str],
    path: str,
    authorization: str,
    *,
    calls: int = 20_000,
    repeats: int = 7,
) -> dict[str, float]:
    """Best (lowest) microseconds per request of each app, over interleaved repeats."""
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        apps = {name: factory() for name, factory in factories.items()}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return asyncio.run(_measure(apps, path, authorization, calls, repeats))


async def _measure(
    apps: dict[str, Any], path: str, authorization: str, calls: int, repeats: int
) -> dict[str, float]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"user-agent", b"bench"),
            (b"authorization", authorization.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def discard(message: dict[str, Any]) -> None:
        return None

    bodies: dict[str, bytes] = {}
    for name, app in apps.items():  # first call: fills the snapshot; checks the answer
        sent: list[dict[str, Any]] = []

        async def keep(message: dict[str, Any], sent: list[dict[str, Any]] = sent) -> None:
            sent.append(message)

        await app(dict(scope), receive, keep)
        assert sent[0]["status"] == 200, (name, sent)
        bodies[name] = b"".join(m.get("body", b"") for m in sent[1:])
    assert len(set(bodies.values())) == 1, "the apps answer differently"

    best = dict.fromkeys(apps, float("inf"))
    for _ in range(repeats):
        for name, app in apps.items():
            started = time.perf_counter()
            for _ in range(calls):
                await app(dict(scope), receive, discard)
            best[name] = min(best[name], (time.perf_counter() - started) / calls * 1e6)
    return best


def load_costs(fixtures: dict[str, Any], repeats: int = 300) -> dict[str, float]:
    """Median microseconds of ``ActiveSnapshot.load`` on each fixture, interleaved."""
    from promptops.db.session import Database
    from promptops.server.hotpath import ActiveSnapshot

    dbs = {name: Database(f.database_url) for name, f in fixtures.items()}
    try:
        snapshots = {name: ActiveSnapshot(db) for name, db in dbs.items()}
        times: dict[str, list[float]] = {name: [] for name in fixtures}
        for i in range(repeats + 20):
            for name, f in fixtures.items():
                started = time.perf_counter()
                reply = snapshots[name].load(f.project_id, "dev", f.slug)
                elapsed = time.perf_counter() - started
                assert reply.status == 200, reply
                if i >= 20:  # the first loads warm the pool and the statement cache
                    times[name].append(elapsed * 1e6)
        return {name: statistics.median(values) for name, values in times.items()}
    finally:
        for db in dbs.values():
            db.dispose()
