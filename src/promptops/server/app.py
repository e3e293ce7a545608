"""The application factory.

Request flow: ``HotPath`` (raw ASGI; answers ``GET /v1/prompts/{slug}/active`` from memory)
→ ``TextGuard`` (422 for NUL in the path, query or checked headers) → ``BodyLimit`` (413
over the limit) → ``IngestFront`` (raw ASGI; ``POST /v1/logs`` with the route's own code)
→ FastAPI (routes → domain services → database).
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from sse_starlette.sse import AppStatus

from promptops import __version__
from promptops.db.session import Database, migrate
from promptops.domain import events
from promptops.domain.secretbox import box_from_settings
from promptops.server import sqlite_lock
from promptops.server.api.deps import AppState
from promptops.server.api.routes import (
    agent_runs,
    agents,
    approvals,
    audit,
    compat_promptlayer,
    deployments,
    evals,
    keys,
    log_metrics,
    logs,
    projects,
    prompts,
    secrets,
    sync,
    users,
    webhooks,
)
from promptops.server.auth import KeyAuthenticator
from promptops.server.config import Settings, get_settings
from promptops.server.dashboard import install_dashboard
from promptops.server.errors import install_error_handlers
from promptops.server.guard import TextGuard
from promptops.server.hotpath import ActiveSnapshot, HotPath
from promptops.server.ingest import IngestFront
from promptops.server.limits import BodyLimit
from promptops.server.notify import wire
from promptops.server.stream import router as stream_router
from promptops.server.streamhub import StreamHub
from promptops.server.user_auth import UserAuthenticator
from promptops.worker.agents.engine import Engine
from promptops.worker.runner import Worker, allow_private

__all__ = ["DOCS_ASSETS", "create_app"]

DOCS_ASSETS = "/docs-assets"

log = logging.getLogger("promptops.server")

_LAST_USED_FLUSH_SECONDS = 30.0


def create_app(settings: Settings | None = None, *, run_migrations: bool = True) -> HotPath:
    """Build the ASGI app. ``app.state`` is the :class:`AppState` (settings, db, auth)."""
    settings = settings or get_settings()
    if run_migrations:
        migrate(settings.database_url)
    db = Database(settings.database_url)
    auth = KeyAuthenticator(
        db,
        admin_key=settings.admin_key,
        cache_seconds=settings.key_cache_seconds,
        max_failures=settings.key_max_failures,
        failure_window=settings.key_failure_window_seconds,
    )
    snapshot = ActiveSnapshot(db)
    db.listeners.extend([auth, snapshot])  # change consumers: on_changes + clear
    # Events and webhook jobs, written inside each write transaction (before `wire` adds
    # its NOTIFY hook, so the notification names the events too).
    db.before_commit.append(events.before_commit)
    box = box_from_settings(settings)
    worker = Worker(db, settings, box=box) if settings.embedded_worker else None
    if worker is not None:
        db.listeners.append(worker)  # deliver as soon as a change commits
    hub = StreamHub(db, recheck_seconds=settings.stream_recheck_seconds)
    db.listeners.append(hub)
    # Other processes' commits (PostgreSQL) reach the same consumers through NOTIFY.
    listener = wire(db, settings.database_url, [auth, snapshot, hub, worker])

    # /docs (Swagger UI) loads its script and styles from this server (the fastapi-offline
    # package ships them), not from a CDN, so it works on an air-gapped install. No /redoc:
    # ReDoc still fetches its logo from its CDN.
    api = FastAPIOffline(
        redoc_url=None,
        static_url=DOCS_ASSETS,
        title="PromptOps",
        version=__version__,
        description="Versioned prompts, environments, promotions and rollbacks.",
        lifespan=_lifespan,
    )
    install_error_handlers(api)
    for module in (projects, keys, prompts, evals, deployments, audit, logs, log_metrics):
        api.include_router(module.router)
    for module in (users, approvals, secrets):  # people, protection, providers/secrets
        api.include_router(module.router)
    api.include_router(webhooks.router)
    api.include_router(agents.router)
    api.include_router(agent_runs.router)
    api.include_router(sync.router)
    api.include_router(stream_router)
    api.include_router(compat_promptlayer.router)  # /compat/promptlayer (not in openapi.json)

    @api.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    install_dashboard(api)  # pages at /, assets at /static

    hotpath = HotPath(
        TextGuard(
            BodyLimit(
                IngestFront(api),
                settings.max_body_bytes,
                {"/v1/sync": settings.max_sync_body_bytes},
            )
        ),
        auth,
        snapshot,
    )
    state = AppState(
        settings=settings,
        db=db,
        auth=auth,
        hotpath=hotpath,
        secrets=box,
        listener=listener,
    )
    state.users = UserAuthenticator(db, settings)
    state.stream_hub = hub
    api.state.po = state
    api.state.webhook_worker = worker
    api.state.agents = Engine(db, settings, box, allow_private(settings), name="local")
    hotpath.state = state
    return hotpath


@asynccontextmanager
async def _lifespan(api: FastAPI) -> AsyncIterator[None]:
    state: AppState = api.state.po
    # A SQLite file is served by one process (see server.sqlite_lock): refuse a second.
    sqlite_lock.acquire(state.settings.database_url)
    stop = threading.Event()
    # What start-up built lives as long as the process: keep it out of the garbage
    # collector's full passes (a large share of CPU under heavy log ingestion).
    gc.freeze()

    def flush_loop() -> None:
        while not stop.wait(_LAST_USED_FLUSH_SECONDS):
            _flush(state)

    flusher = threading.Thread(target=flush_loop, name="promptops-last-used", daemon=True)
    flusher.start()
    if state.listener is not None:
        state.listener.start()
    if state.stream_hub is not None:
        state.stream_hub.start()  # re-checks open streams' keys (a lost notification)
    # sse-starlette ends open streams when the server is asked to exit (a process-wide
    # flag that nothing resets); a server starting in this process is not exiting.
    AppStatus.should_exit = False
    worker: Worker | None = getattr(api.state, "webhook_worker", None)
    if worker is not None:
        worker.start()
    if state.settings.agents_embedded:
        api.state.agents.resume()
    try:
        yield
    finally:
        stop.set()
        if worker is not None:
            worker.stop()
        api.state.agents.shutdown()
        flusher.join(timeout=5)
        _flush(state)
        if state.listener is not None:
            state.listener.stop()
        if state.stream_hub is not None:
            state.stream_hub.stop()
        state.db.dispose()
        sqlite_lock.release(state.settings.database_url)


def _flush(state: AppState) -> None:
    try:
        state.auth.flush_last_used()
    except Exception:  # the flusher must outlive a database hiccup
        log.exception("could not record key last-use times")
