"""Test helpers: databases on SQLite and PostgreSQL, a live uvicorn server, an API client."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text

import promptops
from promptops.db.models import Base

PG_ADMIN_URL = os.environ.get(
    "PROMPTOPS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresDatabases:
    """One scratch database per test session; tables are emptied between tests."""

    def __init__(self, tag: str = "") -> None:
        # Unique per session; ``tag`` (the xdist worker id) only makes the name readable.
        # Other sessions on the same server (parallel workers, other checkouts) never clash.
        label = f"{tag}_" if tag and tag.isidentifier() else ""
        self.name = f"promptops_test_{label}{uuid.uuid4().hex[:10]}"
        self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
            # A scratch database need not survive a crash of the server: commits return
            # without waiting for the WAL flush (this database only; nothing else changes).
            conn.execute(text(f'ALTER DATABASE "{self.name}" SET synchronous_commit = off'))
        self.url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.name}"
        self._engine = create_engine(self.url)

    def reset(self) -> None:
        # request_log_ids: PostgreSQL's log idempotency table (migration 0010), no model
        # and request_log_search its text-search copy (0016)
        tables = [t.name for t in Base.metadata.sorted_tables] + [
            "request_log_ids",
            "request_log_search",
        ]
        with self._engine.begin() as conn:
            present = {
                row[0]
                for row in conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            }
            names = ", ".join(f'"{t}"' for t in tables if t in present)
            if names:
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))

    def drop(self) -> None:
        self._engine.dispose()
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


class LiveServer:
    """A real uvicorn server in a thread on 127.0.0.1 (a free port)."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        # As a signal would: uvicorn's exit path (sse-starlette ends open event streams).
        self.server.handle_exit(signal.SIGINT, None)
        self.thread.join(timeout=10)


@contextmanager
def live_server(app: Any, port: int | None = None) -> Iterator[LiveServer]:
    server = LiveServer(app, port).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Project:
    id: str
    key: str  # the initial dev write key
    prefix: str


class Api:
    """A thin client: ``api.as_(key).get(...)`` sends ``Authorization: Bearer key``."""

    def __init__(
        self, http: httpx.Client, key: str | None = None, made: dict[str, int] | None = None
    ) -> None:
        self.http = http
        self.key = key
        self._made = {} if made is None else made  # default-content versions per slug

    def as_(self, key: str | None) -> Api:
        return Api(self.http, key, self._made)

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.key is not None:
            headers.setdefault("Authorization", f"Bearer {self.key}")
        return headers

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        kw["headers"] = self._headers(kw.get("headers"))
        return self.http.request(method, url, **kw)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", url, **kw)

    # -- shortcuts ------------------------------------------------------------------------

    def new_project(self, admin_key: str, name: str = "Acme") -> Project:
        r = self.as_(admin_key).post("/v1/projects", json={"name": name})
        assert r.status_code == 201, r.text
        body = r.json()
        return Project(body["project"]["id"], body["api_key"]["key"], body["api_key"]["prefix"])

    def new_key(self, creator: str, environment: str, role: str = "read", **extra: Any) -> str:
        r = self.as_(creator).post(
            "/v1/keys", json={"environment": environment, "role": role, **extra}
        )
        assert r.status_code == 201, r.text
        return str(r.json()["key"])

    def new_prompt(self, key: str, slug: str = "greeting", **extra: Any) -> dict[str, Any]:
        r = self.as_(key).post("/v1/prompts", json={"slug": slug, "name": slug.title(), **extra})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def new_version(self, key: str, slug: str = "greeting", **fields: Any) -> dict[str, Any]:
        """A new version. Content equal to dev's version would create nothing (200), so
        without a ``user_template`` the n-th call for a slug uses "Hello {{name}}" with
        " (n)" appended from the second call on."""
        if not {"user_template", "messages", "text"} & set(fields):
            n = self._made[slug] = self._made.get(slug, 0) + 1
            fields["user_template"] = "Hello {{name}}" + (f" ({n})" if n > 1 else "")
        body = {"model": "gpt-4o-mini", **fields}
        r = self.as_(key).post(f"/v1/prompts/{slug}/versions", json=body)
        assert r.status_code == 201, r.text
        return dict(r.json())


CONTRACT_FIXTURES = Path(promptops.__file__).parent / "contract" / "fixtures"


def contract_fixture_cases(name: str) -> list[Any]:
    """The ``cases`` of every ``contract/fixtures/<name>/*.json``, as pytest params whose id
    is ``<file stem>: <case name>``."""
    params = []
    for path in sorted((CONTRACT_FIXTURES / name).glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            params.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return params
