"""The receiver as a plain WSGI app (no dependency on Flask or Werkzeug).

Flask, as a view::

    @app.post("/webhooks/promptops")
    def promptops_webhook():
        reply = receiver.handle(request.get_data(), request.headers)
        return reply.body, reply.status, reply.headers

or mounted: ``DispatcherMiddleware(app.wsgi_app, {"/webhooks/promptops": receiver.wsgi()})``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from promptops.receivers.handler import Reply, WebhookReceiver, _json

__all__ = ["WSGIWebhookApp"]


class WSGIWebhookApp:
    def __init__(self, receiver: WebhookReceiver) -> None:
        self.receiver = receiver

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return _respond(start_response, _json(405, {"error": "use POST"}), [("Allow", "POST")])
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > self.receiver.max_body_bytes:
            return _respond(start_response, _json(413, {"error": "body too large"}))
        body = environ["wsgi.input"].read(length) if length else b""
        headers = [
            (key[5:].replace("_", "-").lower(), str(value))
            for key, value in environ.items()
            if key.startswith("HTTP_")
        ]
        return _respond(start_response, self.receiver.handle(body, headers))


def _respond(
    start_response: Callable[..., Any], reply: Reply, extra: list[tuple[str, str]] | None = None
) -> list[bytes]:
    status = f"{reply.status} {HTTPStatus(reply.status).phrase}"
    headers = [*reply.headers, *(extra or []), ("Content-Length", str(len(reply.body)))]
    start_response(status, headers)
    return [reply.body]
