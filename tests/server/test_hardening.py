"""Hardening: text PostgreSQL cannot compare (NUL) is a 422 on every path; a database that
goes away is a JSON (or, on the dashboard, HTML) 503 with Retry-After on every path, the
hot path included; hot-path replies survive middleware that changes response messages."""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from starlette.middleware.cors import CORSMiddleware

from promptops.domain.bootstrap import ensure_admin_key
from promptops.server.app import create_app
from promptops.server.config import Settings
from tests.server.helpers import assert_error, row_counts
from tests.support import PG_ADMIN_URL, Api, LiveServer, Project, live_server

# ---- NUL in query strings, paths and headers --------------------------------------------


@pytest.fixture
def server(app: Any) -> Iterator[LiveServer]:
    with live_server(app) as s:
        yield s


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


NUL_QUERIES = [
    ("/v1/logs", "slug"),
    ("/v1/logs", "tag"),
    ("/v1/prompts", "q"),
    ("/v1/prompts", "cursor"),
    ("/v1/audit", "action"),
    ("/v1/logs", "project_id"),
    ("/v1/keys", "project_id"),
]


def test_nul_in_query_params_is_422_naming_the_param_and_keeps_the_connection(
    app: Any, http: httpx.Client, admin_key: str
) -> None:
    api = Api(http)
    project = api.new_project(admin_key)
    before = row_counts(app)
    for path, param in NUL_QUERIES:
        for value in ("\x00", "a\x00b", "greeting\x00"):
            r = api.as_(project.key).get(path, params={param: value})
            assert_error(r, 422, field=param)
            assert "NUL" in r.json()["error"]["message"]
    # The same connection still answers (a 500 from the database used to drop it).
    assert api.as_(project.key).get("/v1/logs", params={"slug": "greeting"}).status_code == 200
    assert row_counts(app) == before


def test_nul_in_path_params_and_the_project_header_is_422(
    app: Any, http: httpx.Client, admin_key: str
) -> None:
    api = Api(http)
    project = api.new_project(admin_key)
    for path in (
        "/v1/prompts/a%00b",
        "/v1/prompts/a%00b/versions",
        "/v1/keys/po_live_%00",
        "/v1/logs/%00",
        "/v1/webhooks/wh_%00",
        "/p/%00/logs",
    ):
        r = api.as_(admin_key).get(path)
        assert r.status_code in (404, 422), (path, r.text)
        assert_error(r, {404, 422})
    r = api.as_(admin_key).get("/v1/logs/%00")
    assert_error(r, 422, field="path")
    # HTTP clients and servers refuse a NUL byte in a header; an ASGI client can send one.
    with TestClient(app, raise_server_exceptions=False) as client:
        for token in (project.key, admin_key):
            r = client.get(
                "/v1/prompts",
                headers={"Authorization": f"Bearer {token}", "X-PromptOps-Project": "p\x00"},
            )
            assert_error(r, 422, field="X-PromptOps-Project")


# ---- the database goes away --------------------------------------------------------------


def _settings(url: str) -> Settings:
    return Settings(database_url=url, bcrypt_rounds=4, demo=False, embedded_worker=False)


def _drain_notifications(listener: Any, url: str) -> None:
    """Wait until the change listener has handled every notification committed so far.

    Connecting clears what was remembered, and the notifications of the writes above also
    drop `greeting`'s snapshot entry when they arrive (after the local commit already did):
    a hit remembered before they are handled would be dropped again. PostgreSQL delivers
    notifications in commit order, so a barrier sent now arrives after all of them."""
    from promptops.domain.changes import Change, ChangeKind
    from promptops.server.notify import CHANNEL, encode

    assert listener.listening.wait(10), "the change listener never connected"
    seen = threading.Event()
    inner = listener._on_changes

    def watch(changes: list[Change]) -> None:
        inner(changes)
        if any(c.project_id == "barrier" for c in changes):
            seen.set()

    listener._on_changes = watch
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            barrier = encode([Change(ChangeKind.PROMPT_UPDATED, "barrier", slug="barrier")])
            conn.execute(text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": barrier})
    finally:
        engine.dispose()
    assert seen.wait(10), "the change listener did not hear the barrier notification"
    listener._on_changes = inner


class Down:
    """A live server whose database is made unavailable after start-up."""

    def __init__(self, url: str) -> None:
        self.app = create_app(_settings(url))
        with self.app.state.db.write() as session:
            key = ensure_admin_key(session, rounds=4)
        assert key is not None
        self.admin = key
        self.server = LiveServer(self.app).start()
        self.http = httpx.Client(base_url=self.server.base_url, timeout=30)
        api = Api(self.http)
        self.project: Project = api.new_project(key)
        api.new_prompt(self.project.key)
        api.new_version(self.project.key)
        listener = self.app.state.listener
        if listener is not None:
            _drain_notifications(listener, url)
        # The key is remembered and `greeting` is in the snapshot: a hot-path hit.
        assert api.as_(self.project.key).get("/v1/prompts/greeting/active").status_code == 200

    def close(self) -> None:
        self.http.close()
        self.server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def down(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Down]:
    if request.param == "sqlite":
        path = tmp_path / "gone.db"
        made = Down(f"sqlite:///{path}")
        made.app.state.db.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.mkdir()  # the database file is gone; nothing can open one there
        yield made
        made.close()
        shutil.rmtree(path)
        return
    name = f"promptops_down_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    made = Down(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    try:
        yield made
    finally:
        made.close()
        admin.dispose()


def _unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text[:300]
    assert r.headers.get("retry-after"), r.headers
    assert r.headers["content-type"].startswith("application/json"), r.headers
    assert r.json()["error"]["code"] == "unavailable"


def test_an_unavailable_database_is_a_503_on_every_path(down: Down) -> None:
    key = {"Authorization": f"Bearer {down.project.key}"}
    # The hot path: a remembered key, a prompt not in the snapshot (a miss loads it).
    _unavailable(down.http.get("/v1/prompts/other/active", headers=key))
    # The same miss through FastAPI (a query string skips the raw ASGI front).
    _unavailable(down.http.get("/v1/prompts/other/active?x=1", headers=key))
    # A hit is still served from memory.
    assert down.http.get("/v1/prompts/greeting/active", headers=key).status_code == 200
    # Normal routes, read and write, with a remembered key and with a new one.
    _unavailable(down.http.get("/v1/prompts", headers=key))
    _unavailable(down.http.post("/v1/prompts", headers=key, json={"slug": "x", "name": "X"}))
    unknown = down.project.key[:-4] + ("aaaa" if not down.project.key.endswith("aaaa") else "bbbb")
    _unavailable(down.http.get("/v1/prompts", headers={"Authorization": f"Bearer {unknown}"}))
    _unavailable(
        down.http.get("/v1/prompts/x/active", headers={"Authorization": f"Bearer {unknown}"})
    )
    _unavailable(down.http.get("/v1/logs", headers=key))
    # The dashboard: an HTML error page with the status, never a traceback.
    page = down.http.get("/projects", cookies={"promptops_session": "some-session"})
    assert page.status_code == 503, page.text[:300]
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers.get("retry-after")
    assert "Traceback" not in page.text and "unavailable" in page.text


# ---- hot-path replies and middleware that changes them -----------------------------------

ORIGINS = ["https://a.example", "https://b.example", "https://c.example"]


def test_hot_path_replies_are_fresh_messages_under_cors(settings: Settings, tmp_path: Path) -> None:
    inner = create_app(settings)
    with inner.state.db.write() as session:
        admin = ensure_admin_key(session, rounds=4)
    assert admin is not None
    app = CORSMiddleware(inner, allow_origins=ORIGINS, allow_methods=["*"], allow_headers=["*"])
    with live_server(app) as server, httpx.Client(base_url=server.base_url) as http:
        api = Api(http)
        project = api.new_project(admin)
        api.new_prompt(project.key)
        api.new_version(project.key)
        key = {"Authorization": f"Bearer {project.key}"}
        for _ in range(2):  # the second round is all snapshot hits
            for origin in ORIGINS:
                r = http.get("/v1/prompts/greeting/active", headers={**key, "Origin": origin})
                assert r.status_code == 200, r.text
                assert r.headers["access-control-allow-origin"] == origin
            plain = http.get("/v1/prompts/greeting/active", headers=key)
            assert "access-control-allow-origin" not in plain.headers
            # A 304 and an error reply are fresh too.
            etag = plain.headers["etag"]
            for origin in ORIGINS:
                r = http.get(
                    "/v1/prompts/greeting/active",
                    headers={**key, "Origin": origin, "If-None-Match": etag},
                )
                assert r.status_code == 304
                assert r.headers["access-control-allow-origin"] == origin
                missing = http.get("/v1/prompts/nope/active", headers={**key, "Origin": origin})
                assert missing.status_code == 404
                assert missing.headers["access-control-allow-origin"] == origin
            assert len(plain.headers.get_list("cache-control")) == 1


# ---- the safety net: a value the database refuses is the caller's 422 ----------------


def test_a_database_data_error_maps_to_422_and_a_lost_database_to_503(
    postgres: Any,
) -> None:
    from sqlalchemy.exc import DataError, OperationalError

    from promptops.server.errors import unexpected_error

    engine = create_engine(postgres.url)
    try:
        with engine.connect() as conn, pytest.raises(DataError) as bad:
            conn.execute(text("SELECT 1 WHERE 'a' = :v"), {"v": "a\x00b"})
    finally:
        engine.dispose()
    status, code, _, headers = unexpected_error(bad.value)
    assert (status, code, headers) == (422, "validation_error", None)
    gone = create_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + "/promptops_no_such_database")
    try:
        with pytest.raises(OperationalError) as lost:
            gone.connect()
    finally:
        gone.dispose()
    status, code, _, headers = unexpected_error(lost.value)
    assert (status, code) == (503, "unavailable") and headers and headers["Retry-After"]
