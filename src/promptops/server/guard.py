"""A raw ASGI middleware applying the shared text rule (``promptops.contract.text``) to the
parts of a request no model sees: the path (path parameters), every query parameter and
the headers whose values reach queries. A NUL character there would otherwise reach
PostgreSQL, which refuses it with an error (a 500 and a dropped connection); here it is a
422 naming the parameter, on the API, the dashboard and the stream alike.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from promptops.contract.text import text_problem
from promptops.server.errors import error_body

__all__ = ["TextGuard"]

# Headers whose values reach queries (the project a personal token acts in).
_CHECKED_HEADERS = {b"x-promptops-project": "X-PromptOps-Project"}


def request_problem(scope: Any) -> tuple[str, str] | None:
    """(field, problem) for the first text of the request that cannot reach a query."""
    problem = text_problem(scope.get("path", ""))
    if problem is not None:
        return "path", problem
    query: bytes = scope.get("query_string", b"")
    if query:
        # Parsed as Starlette parses it, so the values checked are the values routes get.
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            problem = text_problem(name) or text_problem(value)
            if problem is not None:
                return (name if text_problem(name) is None else "query"), problem
    for name, value in scope.get("headers", ()):
        label = _CHECKED_HEADERS.get(name)
        if label is not None:
            problem = text_problem(value.decode("latin-1"))
            if problem is not None:
                return label, problem
    return None


class TextGuard:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            found = request_problem(scope)
            if found is not None:
                field, problem = found
                body = error_body("validation_error", f"{field}: {problem}", field)
                await send(
                    {
                        "type": "http.response.start",
                        "status": 422,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", b"%d" % len(body)),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
