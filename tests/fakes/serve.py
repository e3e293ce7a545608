"""The fake LLM providers as a process, for test suites in other languages (the TypeScript
SDK's): ``python -m tests.fakes.serve`` (from the repository root).

It serves :class:`~tests.fakes.providers.FakeProviderServer`'s app on a free port of
127.0.0.1, prints ``fake providers listening on http://127.0.0.1:PORT`` once it accepts
connections, and exits when its standard input closes (so it never outlives the test run that
started it). The fake's test controls are reachable over HTTP under ``/_control/``:

- ``POST /_control/reset``: forget requests, failures and reply overrides;
- ``POST /_control/reply`` ``{"provider", "text"}`` (``text`` null: the echo again);
- ``POST /_control/tool_calls`` ``{"provider", "calls": [{"name", "arguments", "id"?}]}``
  (``calls`` null: plain replies again);
- ``POST /_control/fail`` ``{"provider", "status", "body"?, "times"?}``;
- ``GET /_control/requests``: ``[{"provider", "path", "body", "status", "stream"}]``.
"""

from __future__ import annotations

import sys
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from tests.fakes.providers import FakeProviderServer, FakeToolCall
from tests.support import LiveServer

__all__ = ["control_app", "main"]


def control_app(fake: FakeProviderServer) -> Starlette:
    """The fake's app with its controls under ``/_control/``."""

    async def reset(request: Request) -> JSONResponse:
        fake.reset()
        return JSONResponse({"ok": True})

    async def reply(request: Request) -> JSONResponse:
        body: dict[str, Any] = await request.json()
        fake.set_reply(body["provider"], body.get("text"))
        return JSONResponse({"ok": True})

    async def tool_calls(request: Request) -> JSONResponse:
        body: dict[str, Any] = await request.json()
        calls = body.get("calls")
        fake.set_tool_calls(
            body["provider"],
            None
            if calls is None
            else [FakeToolCall(c["name"], c["arguments"], c.get("id")) for c in calls],
        )
        return JSONResponse({"ok": True})

    async def fail(request: Request) -> JSONResponse:
        body: dict[str, Any] = await request.json()
        fake.fail_next(
            body["provider"], body.get("status", 500), body.get("body"), body.get("times", 1)
        )
        return JSONResponse({"ok": True})

    async def requests(request: Request) -> JSONResponse:
        return JSONResponse(
            [
                {
                    "provider": r.provider,
                    "path": r.path,
                    "body": r.body,
                    "status": r.status,
                    "stream": r.stream,
                }
                for r in fake.requests
            ]
        )

    return Starlette(
        routes=[
            Route("/_control/reset", reset, methods=["POST"]),
            Route("/_control/reply", reply, methods=["POST"]),
            Route("/_control/tool_calls", tool_calls, methods=["POST"]),
            Route("/_control/fail", fail, methods=["POST"]),
            Route("/_control/requests", requests, methods=["GET"]),
            Mount("/", app=fake.app),
        ]
    )


def main() -> None:
    live = LiveServer(control_app(FakeProviderServer())).start()
    print(f"fake providers listening on {live.base_url}", flush=True)
    try:
        sys.stdin.read()  # until the parent closes the pipe (or dies)
    finally:
        live.stop()


if __name__ == "__main__":
    main()
