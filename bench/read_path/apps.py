"""The ASGI apps under test, as uvicorn factories (``uvicorn --factory bench.read_path.apps:X``).

Configured through the environment so that every server is started by the same command line:

- ``BENCH_DATABASE_URL``: the database of :func:`promptops`;
- ``BENCH_BODY_FILE`` / ``BENCH_ETAG``: the response PromptOps gave, which the baselines serve.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["promptops", "raw_asgi", "starlette"]

ROUTE = "/v1/prompts/{slug}/active"


def promptops() -> Any:
    """The real application, exactly as ``create_app`` builds it."""
    from promptops.server.app import create_app
    from promptops.server.config import Settings

    settings = Settings(
        database_url=os.environ["BENCH_DATABASE_URL"], bcrypt_rounds=4, log_level="warning"
    )
    return create_app(settings, run_migrations=False)


def _reply() -> tuple[bytes, bytes]:
    return Path(os.environ["BENCH_BODY_FILE"]).read_bytes(), os.environ["BENCH_ETAG"].encode()


def starlette() -> Any:
    """A bare Starlette route returning the same JSON (encoded per request), no auth."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    body, etag = _reply()
    payload = json.loads(body)
    headers = {"cache-control": "no-cache", "etag": etag.decode()}

    async def active(request: Request) -> JSONResponse:
        return JSONResponse(payload, headers=headers)

    return Starlette(routes=[Route(ROUTE, active, methods=["GET"])])


def raw_asgi() -> Any:
    """The floor: one raw ASGI callable sending the same bytes and headers, encoded once."""
    body, etag = _reply()
    start = {
        "type": "http.response.start",
        "status": 200,
        "headers": [
            (b"cache-control", b"no-cache"),
            (b"etag", etag),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    message = {"type": "http.response.body", "body": body}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await send(start)
            await send(message)
        elif scope["type"] == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    return app
