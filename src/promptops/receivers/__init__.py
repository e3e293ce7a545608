"""Receive PromptOps webhooks in your application and keep a prompt cache fresh.

    from promptops.receivers import RedisCache, WebhookReceiver

    cache = RedisCache("redis://localhost:6379/0")        # pip install "promptops[redis]"
    receiver = WebhookReceiver("whsec_...", cache)
    app.add_route("/webhooks/promptops", receiver.asgi(), methods=["POST"])   # FastAPI

Part of the SDK: imports nothing of the server, and ``redis`` only when a RedisCache is made.
See docs/webhooks.md.
"""

from __future__ import annotations

from promptops.receivers.asgi import ASGIWebhookApp
from promptops.receivers.cache import MemoryCache, MissingDependencyError, PromptCache
from promptops.receivers.handler import Reply, WebhookReceiver
from promptops.receivers.redis_cache import RedisCache
from promptops.receivers.wsgi import WSGIWebhookApp

__all__ = [
    "ASGIWebhookApp",
    "MemoryCache",
    "MissingDependencyError",
    "PromptCache",
    "RedisCache",
    "Reply",
    "WSGIWebhookApp",
    "WebhookReceiver",
]
