"""The SDK read path: ``GET /v1/prompts/{slug}/active``.

Served by a raw ASGI handler in front of the FastAPI app, from an in-process snapshot of
encoded responses: a remembered key and a snapshot hit cost two dict lookups and one send,
with no database query and no bcrypt. The snapshot is filled on first read and dropped
entry by entry when a committed write announces a change to that prompt (see
``promptops.domain.changes``; a snippet's move announces a ``template_updated`` change for
each prompt including it, so their entries go too); a generation counter stops a read
that raced with a write from storing what it loaded before the write. Snippets are resolved
when an entry is loaded, never per request.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread

from promptops.contract.prompts import ActivePromptOut
from promptops.contract.slugs import SLUG_PATTERN
from promptops.db.session import Database
from promptops.domain import deployments, snippets
from promptops.domain.access import Actor
from promptops.domain.changes import Change
from promptops.domain.errors import DomainError, NotFoundError
from promptops.domain.payloads import resolved_out
from promptops.server.auth import KeyAuthenticator, bearer_token

__all__ = ["ActiveSnapshot", "HotPath", "Reply"]

_JSON = b"application/json"
_MAX_NEGATIVE = 50_000  # beyond this many entries, "not found" answers are not remembered
_PREFIX = "/v1/prompts/"
_SUFFIX = "/active"


@dataclass(frozen=True, slots=True)
class Reply:
    """An encoded answer: body and header byte-strings are built once per entry; each
    request gets fresh ASGI messages (:meth:`start`), since middleware may change them
    (Starlette's CORSMiddleware adds headers to the start message it is sent)."""

    status: int
    body: bytes
    etag: bytes | None = None
    extra: tuple[tuple[bytes, bytes], ...] = ()  # e.g. Retry-After on a 503
    headers: tuple[tuple[bytes, bytes], ...] = field(init=False, repr=False, compare=False)
    headers_304: tuple[tuple[bytes, bytes], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        base: list[tuple[bytes, bytes]] = [(b"cache-control", b"no-cache")]
        if self.etag is not None:
            base.append((b"etag", self.etag))
        full = [*base, (b"content-type", _JSON), (b"content-length", b"%d" % len(self.body))]
        if self.status == 401:
            full.append((b"www-authenticate", b"Bearer"))
        full.extend(self.extra)
        object.__setattr__(self, "headers", tuple(full))
        object.__setattr__(self, "headers_304", tuple(base))

    def start(self) -> dict[str, Any]:
        return {"type": "http.response.start", "status": self.status, "headers": [*self.headers]}

    def start_304(self) -> dict[str, Any]:
        return {"type": "http.response.start", "status": 304, "headers": [*self.headers_304]}


def error_reply(exc: DomainError) -> Reply:
    from promptops.server.errors import error_body

    retry_after = getattr(exc, "retry_after", None)
    extra = ((b"retry-after", b"%d" % retry_after),) if retry_after is not None else ()
    return Reply(exc.status, error_body(exc.code, exc.message, exc.field), extra=extra)


def failure_reply(exc: Exception) -> Reply:
    """An unexpected failure (the database unavailable: 503 + Retry-After) in the one JSON
    error shape, never uvicorn's plain-text 500."""
    from promptops.server.errors import error_body, unexpected_error

    status, code, message, headers = unexpected_error(exc)
    extra = tuple((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())
    return Reply(status, error_body(code, message), extra=extra)


class ActiveSnapshot:
    """Encoded active-prompt responses keyed by (project, environment, slug)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._entries: dict[tuple[str, str, str], Reply] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def get(self, project_id: str, environment: str, slug: str) -> Reply | None:
        return self._entries.get((project_id, environment, slug))

    def load(self, project_id: str, environment: str, slug: str) -> Reply:
        generation = self._generation
        missing: DomainError | None = None
        with self._db.read() as session:
            found = deployments.active_version(session, project_id, slug, environment)
            if found is None:
                missing = deployments.no_active_error(session, project_id, slug, environment)
            else:  # snippets resolved here, once per load, never per request
                try:
                    out = resolved_out(session, found[0], found[1], environment)
                except snippets.SnippetError as exc:
                    missing = snippets.unservable(found[0], environment, exc)
        if found is None or missing is not None:
            assert missing is not None
            reply = error_reply(missing)
        else:
            active = found[2]
            body = (
                ActivePromptOut(
                    **out.model_dump(),
                    environment=environment,
                    deployed_at=active.updated_at,
                    deployment_id=active.deployment_id,
                )
                .model_dump_json()
                .encode()
            )
            etag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
            reply = Reply(200, body, etag)
        with self._lock:
            remember = reply.status == 200 or len(self._entries) < _MAX_NEGATIVE
            if remember and generation == self._generation:
                self._entries[(project_id, environment, slug)] = reply
        return reply

    def on_changes(self, changes: list[Change]) -> None:
        touched = {(c.project_id, c.slug) for c in changes if c.slug is not None}
        if not touched:
            return
        with self._lock:
            self._generation += 1
            for key in [k for k in self._entries if (k[0], k[2]) in touched]:
                del self._entries[key]

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class HotPath:
    """Resolves an active-prompt request to a :class:`Reply`; also a raw ASGI front."""

    def __init__(self, app: Any, auth: KeyAuthenticator, snapshot: ActiveSnapshot) -> None:
        self.app = app
        self.auth = auth
        self.snapshot = snapshot
        self.state: Any = None  # the AppState, set by create_app

    async def resolve(self, authorization: str | None, slug: str) -> Reply:
        try:
            token = bearer_token(authorization)
            actor = self.auth.cached(token)
            if actor is None:
                actor = await anyio.to_thread.run_sync(self.auth.authenticate, token)
            return await self._active(actor, slug)
        except DomainError as exc:
            return error_reply(exc)
        except Exception as exc:  # e.g. the database went away: JSON, with Retry-After
            return failure_reply(exc)

    async def _active(self, actor: Actor, slug: str) -> Reply:
        actor.require_project_key()
        assert actor.project_id is not None and actor.environment is not None
        reply = self.snapshot.get(actor.project_id, actor.environment, slug)
        if reply is None:
            if not SLUG_PATTERN.match(slug):
                raise NotFoundError(f"prompt {slug[:60]!r} not found")
            reply = await anyio.to_thread.run_sync(
                self.snapshot.load, actor.project_id, actor.environment, slug
            )
        return reply

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not path.startswith(_PREFIX)
            or not path.endswith(_SUFFIX)
            or scope.get("query_string")
        ):
            await self.app(scope, receive, send)
            return
        slug = path[len(_PREFIX) : -len(_SUFFIX)]
        if not slug or "/" in slug:  # e.g. /v1/prompts/active is the prompt "active"
            await self.app(scope, receive, send)
            return
        authorization = if_none_match = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value
        reply = self._hit(authorization, slug)
        if reply is None:  # first sight of the key or the prompt, or an error to explain
            reply = await self.resolve(authorization, slug)
        await send_reply(send, reply, if_none_match)

    def _hit(self, authorization: str | None, slug: str) -> Reply | None:
        """The common case without a coroutine: a remembered project key and a snapshot
        entry. Anything else (None) takes :meth:`resolve`, which explains refusals."""
        if authorization is None:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return None
        actor = self.auth.cached(token.strip())
        if actor is None or actor.project_id is None or actor.environment is None:
            return None
        return self.snapshot.get(actor.project_id, actor.environment, slug)


def not_modified(reply: Reply, if_none_match: bytes | None) -> bool:
    if reply.etag is None or if_none_match is None:
        return False
    if if_none_match.strip() == b"*":
        return True
    return any(tag.strip().removeprefix(b"W/") == reply.etag for tag in if_none_match.split(b","))


async def send_reply(send: Any, reply: Reply, if_none_match: bytes | None) -> None:
    if if_none_match is not None and not_modified(reply, if_none_match):
        await send(reply.start_304())
        await send({"type": "http.response.body", "body": b""})
        return
    await send(reply.start())
    await send({"type": "http.response.body", "body": reply.body})
