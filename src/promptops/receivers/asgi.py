"""The receiver as a plain ASGI app (no dependency on Starlette).

FastAPI / Starlette::

    app.add_route("/webhooks/promptops", receiver.asgi(), methods=["POST"])

or serve it on its own: ``uvicorn myapp:hook_app``. The cache update runs in a worker
thread (``asyncio.to_thread``), so a Redis round trip never blocks the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from promptops.receivers.handler import Reply, WebhookReceiver, _json

__all__ = ["ASGIWebhookApp"]


class ASGIWebhookApp:
    def __init__(self, receiver: WebhookReceiver) -> None:
        self.receiver = receiver

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await _send(send, _json(405, {"error": "use POST"}), [("allow", "POST")])
            return
        body = await _read(receive, self.receiver.max_body_bytes)
        if body is None:
            await _send(send, _json(413, {"error": "body too large"}))
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        reply = await asyncio.to_thread(self.receiver.handle, body, headers)
        await _send(send, reply)


async def _read(receive: Any, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Any, reply: Reply, extra: list[tuple[str, str]] | None = None) -> None:
    headers = [(k.encode(), v.encode()) for k, v in [*reply.headers, *(extra or [])]]
    headers.append((b"content-length", str(len(reply.body)).encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
