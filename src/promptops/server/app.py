"""The application factory.

Request flow: ``HotPath`` (raw ASGI; answers ``GET /v1/prompts/{slug}/active`` from memory)
→ ``BodyLimit`` (413 over the limit) → FastAPI (routes → domain services → database).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from promptops import __version__
from promptops.db.session import Database, migrate
from promptops.server.api.deps import AppState
from promptops.server.api.routes import audit, deployments, keys, projects, prompts
from promptops.server.auth import KeyAuthenticator
from promptops.server.config import Settings, get_settings
from promptops.server.errors import install_error_handlers
from promptops.server.hotpath import ActiveSnapshot, HotPath
from promptops.server.limits import BodyLimit
from promptops.server.notify import wire

__all__ = ["create_app"]

log = logging.getLogger("promptops.server")

_LAST_USED_FLUSH_SECONDS = 30.0


def create_app(settings: Settings | None = None, *, run_migrations: bool = True) -> HotPath:
    """Build the ASGI app. ``app.state`` is the :class:`AppState` (settings, db, auth)."""
    settings = settings or get_settings()
    if run_migrations:
        migrate(settings.database_url)
    db = Database(settings.database_url)
    auth = KeyAuthenticator(
        db, admin_key=settings.admin_key, cache_seconds=settings.key_cache_seconds
    )
    snapshot = ActiveSnapshot(db)
    db.listeners.extend([auth.on_changes, snapshot.on_changes])
    listener = wire(db, settings.database_url, [auth, snapshot])

    api = FastAPI(
        title="PromptOps",
        version=__version__,
        description="Versioned prompts, environments, promotions and rollbacks.",
        lifespan=_lifespan,
    )
    install_error_handlers(api)
    for module in (projects, keys, prompts, deployments, audit):
        api.include_router(module.router)

    @api.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    hotpath = HotPath(BodyLimit(api, settings.max_body_bytes), auth, snapshot)
    state = AppState(settings=settings, db=db, auth=auth, hotpath=hotpath, listener=listener)
    api.state.po = state
    hotpath.state = state
    return hotpath


@asynccontextmanager
async def _lifespan(api: FastAPI) -> AsyncIterator[None]:
    state: AppState = api.state.po
    stop = threading.Event()

    def flush_loop() -> None:
        while not stop.wait(_LAST_USED_FLUSH_SECONDS):
            _flush(state)

    flusher = threading.Thread(target=flush_loop, name="promptops-last-used", daemon=True)
    flusher.start()
    if state.listener is not None:
        state.listener.start()
    try:
        yield
    finally:
        stop.set()
        flusher.join(timeout=5)
        _flush(state)
        if state.listener is not None:
            state.listener.stop()
        state.db.dispose()


def _flush(state: AppState) -> None:
    try:
        state.auth.flush_last_used()
    except Exception:  # the flusher must outlive a database hiccup
        log.exception("could not record key last-use times")
