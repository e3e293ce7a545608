"""Bench-only diagnostics: a prototype of a leaner hot path, and a floor in a big process.

Not product code: it wraps the real app from ``create_app`` (same snapshot, same key memory,
same invalidation) and changes only how a hit is served:

- a remembered key and a snapshot hit are resolved synchronously, without creating the
  ``resolve``/``_active`` coroutines (the async path is kept for misses and errors);
- the two ASGI messages of a 200 reply are built once per snapshot entry and reused, instead
  of building the header list, ``content-length`` and both dicts on every request.

Served as ``proto-fastpath`` next to ``promptops`` (``--prototype``); the gap between the two
is what the change would buy. The responses are byte-identical (checked before timing).
``raw_asgi_in_app_process`` (``--app-process-floor``) is the raw floor served by a process that
has also built the whole app.
"""

from __future__ import annotations

from typing import Any

from promptops.domain.errors import DomainError
from promptops.server.auth import bearer_token
from promptops.server.hotpath import _PREFIX, _SUFFIX, HotPath, Reply, send_reply

__all__ = ["promptops_prototype", "raw_asgi_in_app_process"]


class FastHotPath(HotPath):
    def __init__(self, inner: HotPath) -> None:
        super().__init__(inner.app, inner.auth, inner.snapshot)
        self.state = inner.state
        # id(reply) -> (reply, start message, body message); the reply is kept alive here, so
        # its id cannot be reused while the entry exists.
        self._messages: dict[int, tuple[Reply, dict[str, Any], dict[str, Any]]] = {}

    def _encoded(self, reply: Reply) -> tuple[dict[str, Any], dict[str, Any]]:
        entry = self._messages.get(id(reply))
        if entry is None or entry[0] is not reply:
            assert reply.etag is not None
            headers = [
                (b"cache-control", b"no-cache"),
                (b"etag", reply.etag),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(reply.body)).encode()),
            ]
            if len(self._messages) > 10_000:
                self._messages.clear()
            entry = (
                reply,
                {"type": "http.response.start", "status": 200, "headers": headers},
                {"type": "http.response.body", "body": reply.body},
            )
            self._messages[id(reply)] = entry
        return entry[1], entry[2]

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
        if "/" in slug:
            await self.app(scope, receive, send)
            return
        authorization = if_none_match = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value
        reply = None
        try:
            actor = self.auth.cached(bearer_token(authorization))
        except DomainError:
            actor = None
        if actor is not None and actor.project_id is not None and actor.environment is not None:
            reply = self.snapshot.get(actor.project_id, actor.environment, slug)
        if reply is not None and reply.status == 200 and if_none_match is None:
            start, body = self._encoded(reply)
            await send(start)
            await send(body)
            return
        if reply is None:
            reply = await self.resolve(authorization, slug)
        await send_reply(send, reply, if_none_match)


def promptops_prototype() -> Any:
    from bench.read_path.apps import promptops

    return FastHotPath(promptops())


def raw_asgi_in_app_process() -> Any:
    """The raw floor, served by a process that has also built the whole PromptOps app and
    runs its lifespan (same imports, heap, ``gc.freeze`` and background threads): separates
    the cost of a big process from the cost of the hot-path code. HTTP requests go to the
    raw app through one extra function call."""
    from bench.read_path import apps

    raw, full = apps.raw_asgi(), apps.promptops()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await raw(scope, receive, send)
        else:
            await full(scope, receive, send)

    return app
