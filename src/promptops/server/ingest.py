"""The SDK write path: ``POST /v1/logs``, served by a raw ASGI front before FastAPI.

A log batch of 100 records (the SDK's size) spent about as much server CPU on the request
itself (Starlette's routing, FastAPI's dependency solving and its thread hops) as on its
records. This front answers ``POST /v1/logs`` with the route's own code
(``promptops.server.api.routes.logs``: the content-type rule, the decoder and the
contract, the one write transaction that commits before the reply), the same key
authenticator (a remembered key without a thread hop) and the app's own exception
handlers (``promptops.server.errors.answer_exception``), so every reply is the route's,
byte for byte. It sits inside ``TextGuard`` and ``BodyLimit``, so those apply as before.

Anything else goes on to FastAPI: other paths and methods, a query string (tests use one
to reach the route itself), a person's token (``po_user_…``) or a dashboard session cookie
(``server/user_auth.py`` resolves those).
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from starlette.requests import Request

from promptops.server.api.deps import AppState
from promptops.server.api.routes.logs import limiters_for, parse, require_json, store
from promptops.server.auth import bearer_token
from promptops.server.errors import answer_exception

__all__ = ["IngestFront"]

_PATH = "/v1/logs"
_JSON_HEADERS = (b"content-type", b"application/json")


class IngestFront:
    """Raw ASGI: ``POST /v1/logs`` here, everything else to ``app`` (the FastAPI app)."""

    def __init__(self, app: Any) -> None:
        self.app = app  # the FastAPI app: its state holds the AppState and the limiters
        self.answered = 0  # requests answered here (not passed on): tests check the path

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != _PATH
            or scope["method"] != "POST"
            or scope.get("query_string")
        ):
            await self.app(scope, receive, send)
            return
        authorization = content_type = None
        cookie = False
        for name, value in scope["headers"]:  # the first of each, as Starlette's .get()
            if name == b"authorization":
                if authorization is None:
                    authorization = value.decode("latin-1")
            elif name == b"content-type":
                if content_type is None:
                    content_type = value.decode("latin-1")
            elif name == b"cookie":
                cookie = True
        if (authorization is None and cookie) or (
            authorization is not None and "po_user_" in authorization
        ):  # a person: user_auth decides (in the route's dependency)
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:  # BodyLimit has read and bounded it already: one message
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self.answered += 1
        try:
            reply = await self._ingest(authorization, content_type, body)
        except Exception as exc:  # the app's own handlers: the same status, body, headers
            response = await answer_exception(Request(scope), exc)
            await response(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"%d" % len(reply)), _JSON_HEADERS],
            }
        )
        await send({"type": "http.response.body", "body": reply})

    async def _ingest(
        self, authorization: str | None, content_type: str | None, body: bytes
    ) -> bytes:
        st: AppState = self.app.state.po
        token = bearer_token(authorization)
        actor = st.auth.cached(token)
        if actor is None:  # first sight, or a refusal to explain: as the route's dependency
            actor = await anyio.to_thread.run_sync(st.auth.authenticate, token)
        require_json(content_type)
        parsers, writers = limiters_for(self.app.state, st)
        records, encoded = await anyio.to_thread.run_sync(parse, body, limiter=parsers)
        result = await anyio.to_thread.run_sync(store, st, actor, records, encoded, limiter=writers)
        # As FastAPI encodes the route's LogBatchResult (JSONResponse: compact separators).
        return b'{"accepted":%d,"duplicates":%d}' % (result.accepted, result.duplicates)
