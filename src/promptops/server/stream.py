"""``GET /v1/stream``: Server-Sent Events of the key's environment's changes.

Each event is a row of the event log (``promptops.domain.events``), sent as
``id: <event id>`` / ``event: <type>`` / ``data: <the webhook payload>``. Within a project
event ids grow in commit order, so a client that reconnects with ``Last-Event-ID`` is sent
every event after it: no gap. Without it, the stream starts at "now".

Wake-up: this process's commits and (on PostgreSQL) other processes' commits announce
``events_appended`` for a project (``Database.listeners`` / ``server.notify``); the
:class:`StreamHub` wakes the connections subscribed to that project, which then read the new
rows. A periodic re-read covers a lost wake-up; comments keep idle connections alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import weakref
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, or_, select

from promptops.db.models import Event
from promptops.db.session import Database
from promptops.domain.access import Actor
from promptops.domain.changes import Change
from promptops.domain.events import TEST_EVENT_TYPE
from promptops.server.api.deps import ActorDep, state

__all__ = ["StreamHub", "router"]

_KEEPALIVE_SECONDS = 15.0
_BATCH = 500

router = APIRouter(tags=["stream"])


class StreamHub:
    """Per process: which connections wait on which project, and waking them."""

    def __init__(self) -> None:
        # Re-entrant: shutdown() runs from a signal handler on the event loop's thread.
        self._lock = threading.RLock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        # Bumped by shutdown(): streams opened in an earlier epoch end.
        self.epoch = 0
        _HUBS.add(self)
        _install_shutdown_hook()

    def shutdown(self) -> None:
        """End every open stream (the server is stopping; clients reconnect elsewhere)."""
        with self._lock:
            self.epoch += 1
            projects = set(self._waiters)
        self._wake(projects)

    def subscribe(
        self, project_id: str, loop: asyncio.AbstractEventLoop, wake: asyncio.Event
    ) -> None:
        with self._lock:
            self._waiters.setdefault(project_id, set()).add((loop, wake))

    def unsubscribe(
        self, project_id: str, loop: asyncio.AbstractEventLoop, wake: asyncio.Event
    ) -> None:
        with self._lock:
            waiters = self._waiters.get(project_id)
            if waiters is not None:
                waiters.discard((loop, wake))
                if not waiters:
                    del self._waiters[project_id]

    def on_changes(self, changes: list[Change]) -> None:
        projects = {c.project_id for c in changes if c.kind == "events_appended"}
        if projects:
            self._wake(projects)

    def clear(self) -> None:
        """After a lost notification channel: wake everyone to re-read."""
        with self._lock:
            projects = set(self._waiters)
        self._wake(projects)

    def _wake(self, projects: set[str]) -> None:
        with self._lock:
            targets = [w for p in projects for w in self._waiters.get(p, ())]
        for loop, wake in targets:
            # A closed loop means that connection is gone.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)


_HUBS: weakref.WeakSet[StreamHub] = weakref.WeakSet()


def _install_shutdown_hook() -> None:
    """uvicorn waits for open responses before it shuts down, and a stream never ends by
    itself; so, as sse-starlette does, end the streams when uvicorn is asked to exit."""
    try:
        from uvicorn.server import Server
    except ImportError:  # served by something else
        return
    original = Server.handle_exit
    if getattr(original, "_promptops_streams", False):
        return

    def handle_exit(self: Any, sig: int, frame: Any) -> None:
        for hub in list(_HUBS):
            hub.shutdown()
        original(self, sig, frame)

    handle_exit._promptops_streams = True  # type: ignore[attr-defined]
    Server.handle_exit = handle_exit  # type: ignore[method-assign]


def _events_after(db: Database, actor: Actor, after: int) -> list[Event]:
    query = (
        select(Event)
        .where(Event.project_id == actor.project_id, Event.id > after)
        .where(Event.type != TEST_EVENT_TYPE)  # a webhook test is for that endpoint only
        .where(or_(Event.environment == actor.environment, Event.environment.is_(None)))
        .order_by(Event.id)
        .limit(_BATCH)
    )
    with db.read() as session:
        return list(session.scalars(query))


def _latest_id(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.max(Event.id))) or 0)


def _frame(event: Event) -> bytes:
    data = json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False)
    return f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n".encode()


async def _stream(request: Request, actor: Actor, after: int | None) -> AsyncIterator[bytes]:
    st = state(request)
    hub = st.stream_hub
    assert hub is not None
    db = st.db
    assert actor.project_id is not None
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    epoch = hub.epoch
    hub.subscribe(actor.project_id, loop, wake)
    try:
        last = after if after is not None else await anyio.to_thread.run_sync(_latest_id, db)
        # Tell the client where it stands (and that the stream is live) at once.
        yield f"retry: 1000\nevent: ready\ndata: {json.dumps({'last_event_id': last})}\n\n".encode()
        while True:
            wake.clear()
            while True:
                events = await anyio.to_thread.run_sync(_events_after, db, actor, last)
                for event in events:
                    yield _frame(event)
                    last = event.id
                if len(events) < _BATCH:
                    break
            if hub.epoch != epoch or await request.is_disconnected():
                return
            try:
                await asyncio.wait_for(wake.wait(), timeout=_KEEPALIVE_SECONDS)
            except TimeoutError:
                yield b": keep-alive\n\n"
            if hub.epoch != epoch:
                return
    finally:
        hub.unsubscribe(actor.project_id, loop, wake)


@router.get(
    "/v1/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE events"}},
)
async def stream(
    request: Request,
    actor: ActorDep,
    last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0, le=2**62)] = None,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="resume after")] = None,
) -> Any:
    """The key's environment's changes as Server-Sent Events; resume with Last-Event-ID."""
    actor.require_project_key()
    if actor.environment is None:
        from promptops.domain.errors import PermissionDeniedError

        raise PermissionDeniedError("the stream needs a project API key (it has an environment)")
    start = last_event_id if last_event_id is not None else after
    return StreamingResponse(
        _stream(request, actor, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
