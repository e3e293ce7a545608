"""Assertions shared by the server tests: the error shape and "nothing stored half-way"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from promptops.db.models import Base

ERROR_CODES = {
    "bad_request",
    "unauthenticated",
    "forbidden",
    "not_found",
    "method_not_allowed",
    "conflict",
    "payload_too_large",
    "unsupported_media_type",
    "validation_error",
    "invalid_json",
    "invalid_input",
    "rate_limited",
}


def assert_error(
    r: httpx.Response,
    status: int | set[int],
    *,
    code: str | None = None,
    field: str | None = None,
) -> dict[str, Any]:
    """``r`` is an error with ``status`` in the one documented shape; returns its detail."""
    expected = {status} if isinstance(status, int) else status
    assert r.status_code in expected, f"{r.status_code} not in {expected}: {r.text[:500]}"
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"error"}, body
    detail = body["error"]
    assert isinstance(detail, dict)
    assert set(detail) <= {"code", "message", "field"}, detail
    assert isinstance(detail["code"], str) and detail["code"] in ERROR_CODES, detail
    assert isinstance(detail["message"], str) and detail["message"], detail
    if "field" in detail:
        assert isinstance(detail["field"], str) and detail["field"], detail
    if code is not None:
        assert detail["code"] == code, detail
    if field is not None:
        assert detail.get("field") == field, detail
    if r.status_code == 401:
        assert r.headers.get("www-authenticate") == "Bearer"
    return dict(detail)


def row_counts(app: Any) -> dict[str, int]:
    """Rows per table: equal before and after a refused request means nothing was stored.
    Not the tables the worker derives from the logs on its own schedule (log_rollups)."""
    derived = {"request_log_rollups", "request_log_cursors"}
    tables = [t for t in Base.metadata.sorted_tables if t.name not in derived]
    query = select(
        *[select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables]
    )
    with app.state.db.read() as session:
        row = session.execute(query).one()
    return {t.name: int(n) for t, n in zip(tables, row, strict=True)}


def quick_client(app: Any) -> Iterator[TestClient]:
    """A TestClient that skips the app's lifespan (the last-use flusher and, on PostgreSQL,
    the LISTEN thread, whose shutdown costs about half a second per test). For modules
    whose tests need neither; the engine is disposed at the end all the same."""
    client = TestClient(app, raise_server_exceptions=False)
    try:
        yield client
    finally:
        client.close()
        app.state.db.dispose()


# A version body with every field set and valid: the corpus and malformed-input tests vary it.
VALID_VERSION: dict[str, Any] = {
    "system_prompt": "s",
    "user_template": "Hi {{x}}",
    "model": "m",
    "temperature": 0.5,
    "max_tokens": 10,
    "metadata": {"k": "v"},
    "commit_message": "c",
    "author": "a",
}
