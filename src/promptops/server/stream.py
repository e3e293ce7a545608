"""``GET /v1/stream``: Server-Sent Events of the key's environment's changes.

Each event is a row of the event log (``promptops.domain.events``), sent as
``id: <event id>`` / ``event: <type>`` / ``data: <the webhook payload>``. Within a project
event ids grow in commit order, so a client that reconnects with ``Last-Event-ID`` is sent
every event after it: no gap. Without it, the stream starts at "now".

Wake-up: this process's commits and (on PostgreSQL) other processes' commits announce
``events_appended`` for a project (``Database.listeners`` / ``server.notify``); the
:class:`~promptops.server.streamhub.StreamHub` wakes the connections subscribed to that
project, which then read the new rows. A periodic re-read covers a lost wake-up; comments
keep idle connections alive.

Ending: a revoked key's streams end (the hub; see ``streamhub``), and each batch of events
is read together with its key's state, so no event committed after the revocation is sent.
On server shutdown sse-starlette's ``EventSourceResponse`` sets the stream's shutdown event
and the stream ends cleanly (the server does not wait on it).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, or_, select
from sse_starlette import EventSourceResponse

from promptops.db.models import ApiKey, Event
from promptops.db.session import Database
from promptops.domain.access import Actor
from promptops.domain.events import TEST_EVENT_TYPE
from promptops.server.api.deps import ActorDep, state
from promptops.server.streamhub import StreamHub, Subscription

__all__ = ["StreamHub", "router"]  # StreamHub: re-exported from streamhub

_KEEPALIVE_SECONDS = 15.0
_BATCH = 500

router = APIRouter(tags=["stream"])


def _events_after(db: Database, actor: Actor, after: int) -> list[Event] | None:
    """The next events, or None when the key is no longer valid. The key is read after
    the events, in the same read: an event visible here committed before a revocation
    that the key read does not see (so none committed after a revocation is sent)."""
    query = (
        select(Event)
        .where(Event.project_id == actor.project_id, Event.id > after)
        .where(Event.type != TEST_EVENT_TYPE)  # a webhook test is for that endpoint only
        .where(or_(Event.environment == actor.environment, Event.environment.is_(None)))
        .order_by(Event.id)
        .limit(_BATCH)
    )
    with db.read() as session:
        events = list(session.scalars(query))
        if events and actor.key_id is not None:
            revoked = session.scalar(select(ApiKey.revoked_at).where(ApiKey.id == actor.key_id))
            if revoked is not None:
                return None
        return events


def _latest_id(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.max(Event.id))) or 0)


# Characters that some line splitters (Python's str.splitlines, httpx's iter_lines) treat as
# line ends although SSE does not: escaped in the JSON data (where they can only be inside
# strings), so that no client splits an event's data line.
_SPLITTERS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _frame(event: Event) -> bytes:
    data = json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False)
    if not data.isascii():
        data = data.translate(_SPLITTERS)
    return f"id: {event.id}\nevent: {event.type}\ndata: {data}\n\n".encode()


async def _stream(
    request: Request, actor: Actor, after: int | None, shutdown: anyio.Event
) -> AsyncIterator[bytes]:
    st = state(request)
    hub = st.stream_hub
    assert hub is not None
    db = st.db
    assert actor.project_id is not None
    sub = hub.open(actor.project_id, actor.label)
    watcher = asyncio.ensure_future(_end_on(shutdown, sub))
    try:
        last = after if after is not None else await anyio.to_thread.run_sync(_latest_id, db)
        if sub.ended:
            return
        # Tell the client where it stands (and that the stream is live) at once.
        yield f"retry: 1000\nevent: ready\ndata: {json.dumps({'last_event_id': last})}\n\n".encode()
        while True:
            sub.wake.clear()
            while True:
                events = await anyio.to_thread.run_sync(_events_after, db, actor, last)
                if events is None:
                    sub.end("revoked")
                    return
                for event in events:
                    if sub.ended:
                        return
                    yield _frame(event)
                    last = event.id
                if len(events) < _BATCH:
                    break
            if sub.ended:
                return
            try:
                await asyncio.wait_for(sub.wake.wait(), timeout=_KEEPALIVE_SECONDS)
            except TimeoutError:
                yield b": keep-alive\n\n"
            if sub.ended:
                return
    finally:
        watcher.cancel()
        hub.close(sub)


async def _end_on(shutdown: anyio.Event, sub: Subscription) -> None:
    await shutdown.wait()
    sub.end("shutdown")


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
    shutdown = anyio.Event()
    return EventSourceResponse(
        _stream(request, actor, start, shutdown),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        ping=0,  # the stream sends its own keep-alive comments (when idle)
        sep="\n",
        # On server shutdown: the stream sees `shutdown`, ends and closes the response.
        shutdown_event=shutdown,
        shutdown_grace_period=2.0,
    )
