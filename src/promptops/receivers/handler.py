"""The framework-free core of a webhook receiver: verify, update the cache, answer.

Answers: 200 when the event was verified and applied (also for event types it has nothing
to cache for), 400 when verification fails (PromptOps does not retry a 4xx any differently,
but the log shows why), 413 for an oversized body, 500 when the cache or ``on_event`` failed
(so PromptOps retries the delivery later).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from promptops.receivers.cache import PromptCache
from promptops.webhooks import DEFAULT_TOLERANCE_SECONDS, WebhookVerificationError, verify
from promptops.webhooks import _keys as _check_secrets

__all__ = ["Reply", "WebhookReceiver"]

log = logging.getLogger("promptops.receivers")

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(
        default_factory=lambda: [("content-type", "application/json")]
    )


def _json(status: int, data: Mapping[str, Any]) -> Reply:
    return Reply(status, json.dumps(data, separators=(",", ":")).encode())


class WebhookReceiver:
    """Verifies PromptOps webhooks and writes the prompt each one carries into ``cache``.

    ``secret``: the endpoint secret (``whsec_…``), or a list while rotating.
    ``project_id``: when given, events of other projects are acknowledged and ignored.
    ``on_event(event)``: called after the cache update with the verified event (a dict).
    """

    def __init__(
        self,
        secret: str | Sequence[str],
        cache: PromptCache | None = None,
        *,
        tolerance: float = DEFAULT_TOLERANCE_SECONDS,
        project_id: str | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        max_body_bytes: int = 1024 * 1024,
    ) -> None:
        _check_secrets(secret)  # a wrong secret is a startup error, not a 400 per request
        self.secret = secret
        self.cache = cache
        self.tolerance = tolerance
        self.project_id = project_id
        self.on_event = on_event
        self.max_body_bytes = max_body_bytes

    def apply(self, event: Mapping[str, Any]) -> str:
        """Update the cache from a verified event: ``"updated"``, ``"stale"`` (a newer
        deployment is cached: kept) or ``"ignored"`` (nothing to cache)."""
        project = event.get("project")
        if self.project_id is not None and (
            not isinstance(project, Mapping) or project.get("id") != self.project_id
        ):
            return "ignored"
        data = event.get("data")
        prompt = data.get("prompt") if isinstance(data, Mapping) else None
        if self.cache is None or not isinstance(prompt, Mapping):
            return "ignored"
        return "updated" if self.cache.set(prompt) else "stale"

    def handle(self, body: bytes, headers: Headers) -> Reply:
        """Handle one request (raw body, headers); never raises."""
        if len(body) > self.max_body_bytes:
            return _json(413, {"error": "body too large"})
        try:
            event = verify(body, headers, self.secret, tolerance=self.tolerance)
        except WebhookVerificationError as exc:
            log.warning("refused a webhook: %s", exc.message)
            return _json(400, {"error": exc.message})
        if not isinstance(event, dict):
            return _json(400, {"error": "the webhook body is not a JSON object"})
        try:
            result = self.apply(event)
            if self.on_event is not None:
                self.on_event(event)
        except Exception as exc:  # make PromptOps retry: the event was not taken in
            log.exception("could not apply webhook %s", event.get("id"))
            return _json(500, {"error": f"could not apply the event: {type(exc).__name__}"})
        return _json(200, {"ok": True, "id": event.get("id"), "cache": result})

    def asgi(self) -> Any:
        """This receiver as an ASGI app (Starlette, FastAPI; see ASGIWebhookApp)."""
        from promptops.receivers.asgi import ASGIWebhookApp

        return ASGIWebhookApp(self)

    def wsgi(self) -> Any:
        """This receiver as a WSGI app (Flask, Django; see WSGIWebhookApp)."""
        from promptops.receivers.wsgi import WSGIWebhookApp

        return WSGIWebhookApp(self)
