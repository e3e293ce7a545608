"""The bridge's HTTP side: a small ASGI application (``POST <path>`` takes PromptOps'
webhooks, ``GET /healthz`` says it is up) and :func:`serve`, which runs it with uvicorn.

The work of a webhook (git and the forge, seconds) runs in a thread; the event loop only
reads bodies and writes answers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from promptops.gitops.bridge.config import BridgeConfig
from promptops.gitops.bridge.errors import BridgeError
from promptops.gitops.bridge.forge import Forge, make_forge
from promptops.gitops.bridge.handler import Bridge, Reply
from promptops.gitops.bridge.repo import GitRepo, Identity, auth_config
from promptops.gitops.bridge.source import PromptOpsSource

__all__ = ["MAX_BODY_BYTES", "asgi_app", "build_bridge", "serve"]

log = logging.getLogger("promptops.gitops.bridge")

MAX_BODY_BYTES = 8 * 1024 * 1024  # an event holds one prompt version (at most 1 MiB of text)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def build_bridge(
    config: BridgeConfig, *, forge: Forge | None = None, work_dir: Path | None = None
) -> Bridge:
    """The bridge of ``config``: its clone (in ``--work-dir``, else a new temporary folder),
    its forge and its PromptOps client."""
    folder = work_dir or config.work_dir or Path(tempfile.mkdtemp(prefix="promptops-bridge-"))
    user = "x-access-token" if config.provider == "github" else "oauth2"
    repo = GitRepo(
        config.repo,
        folder,
        committer=Identity(config.committer_name, config.committer_email),
        extra_env=auth_config(config.repo, user, config.token),
    )
    source = PromptOpsSource(config.promptops_url, config.promptops_key, timeout=config.timeout)
    return Bridge(config, repo=repo, forge=forge or make_forge(config), source=source)


async def _answer(send: Send, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _read(receive: Receive) -> bytes | None:
    """The request body, or None when it is over :data:`MAX_BODY_BYTES`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b""
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def asgi_app(bridge: Bridge) -> ASGIApp:
    path = bridge.config.path

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await asyncio.to_thread(bridge.source.close)
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        method, where = scope["method"], scope["path"]
        if where == "/healthz" and method in ("GET", "HEAD"):
            await _answer(send, 200, {"status": "ok"})
            return
        if where != path:
            await _answer(send, 404, {"error": f"not found; webhooks go to POST {path}"})
            return
        if method != "POST":
            await _answer(send, 405, {"error": "use POST"})
            return
        body = await _read(receive)
        if body is None:
            await _answer(send, 413, {"error": f"body over {MAX_BODY_BYTES} bytes"})
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        try:
            reply = await asyncio.to_thread(bridge.handle, body, headers)
        except Exception:  # answered 500 (and redelivered), never a dropped connection
            log.exception("webhook failed")
            reply = Reply(500, {"error": "internal error in the bridge (see its log)"})
        await _answer(send, reply.status, reply.body)

    return app


def serve(config: BridgeConfig) -> None:
    """Run the bridge until interrupted (SIGINT/SIGTERM)."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    bridge = build_bridge(config)
    try:
        bridge.repo.fetch()  # a wrong --repo shows at once; a passing outage does not stop it
    except BridgeError as exc:
        log.warning("the first fetch failed (it is tried again per webhook): %s", exc.message)
    log.info(
        "promptops gitops-bridge: %s %s, base %s, listening on http://%s:%s%s",
        config.provider,
        config.forge_repo,
        config.base_branch,
        config.host,
        config.port,
        config.path,
    )
    uvicorn.run(asgi_app(bridge), host=config.host, port=config.port, log_level="warning")
