"""Every error answers in one JSON shape: ``{"error": {"code", "message", "field"?}}``;
under ``/compat/promptlayer``, in PromptLayer's ``{"success": false, "message"}``."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from promptops.contract.compat.promptlayer import error_payload as promptlayer_error
from promptops.contract.validation import describe
from promptops.domain.errors import DomainError

__all__ = [
    "RETRY_AFTER",
    "answer_exception",
    "error_body",
    "error_response",
    "install_error_handlers",
    "unexpected_error",
]

log = logging.getLogger("promptops.server")

RETRY_AFTER = "2"  # seconds, on a 503 while the database is unavailable

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


def error_body(code: str, message: str, field: str | None = None) -> bytes:
    detail: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        detail["field"] = field
    return json.dumps({"error": detail}, ensure_ascii=False).encode()


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers: Any = None
) -> Response:
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return Response(
        error_body(code, message, field),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


_PROMPTLAYER = "/compat/promptlayer/"
# The SDK's (sync) templates.publish raises only on a 400 and returns any other body as the
# published template: every refusal of a publish is a 400 there.
_PROMPTLAYER_PUBLISH = "/compat/promptlayer/rest/prompt-templates"


def _answer(
    request: Request,
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: Any = None,
) -> Response:
    path = request.url.path
    if not path.startswith(_PROMPTLAYER):
        return error_response(status, code, message, field, headers)
    if status == 422 or (path == _PROMPTLAYER_PUBLISH and 400 <= status < 500):
        status = 400
    return Response(
        promptlayer_error(f"{code}: {message}"),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


async def _domain(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return _answer(request, exc.status, exc.code, exc.message, exc.field, headers)


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first: dict[str, Any] = dict(errors[0]) if errors else {"msg": "invalid request"}
    if first.get("type") == "json_invalid":
        message = f"request body is not valid JSON: {first.get('ctx', {}).get('error', '')}"
        return _answer(request, 422, "invalid_json", message.strip().rstrip(":"))
    message, field = describe(errors)
    if field is None and first.get("type") in ("model_attributes_type", "dict_type"):
        message = "request body must be a JSON object (send Content-Type: application/json)"
    return _answer(request, 422, "validation_error", message, field)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return _answer(request, exc.status_code, code, message, headers=exc.headers)


async def _integrity(request: Request, exc: Exception) -> Response:
    log.info("integrity conflict: %s", exc)
    return _answer(request, 409, "conflict", "the change conflicts with existing data")


def _is_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached or is busy: connection refused or lost, a database
    dropped or locked (sqlalchemy wraps these as OperationalError, or as a DBAPIError
    flagged ``connection_invalidated``; psycopg's own OperationalError when unwrapped)."""
    if isinstance(exc, OperationalError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover - SQLite-only installs
        return False
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)


def _is_bad_data(exc: BaseException) -> bool:
    """Text or numbers the database refuses (PostgreSQL: NUL, out-of-range values) that no
    validator caught: the caller's input, so a 422, not a 500."""
    if isinstance(exc, DataError):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, psycopg.DataError)


def unexpected_error(exc: BaseException) -> tuple[int, str, str, dict[str, str] | None]:
    """(status, code, message, headers) for an exception no handler expected: the one
    mapping used by the FastAPI handlers, the hot path and the dashboard."""
    if _is_unavailable(exc):
        log.warning("database unavailable: %s", exc)
        message = "the database is busy or unavailable; retry"
        return 503, "unavailable", message, {"Retry-After": RETRY_AFTER}
    if _is_bad_data(exc):
        log.info("database refused a value: %s", exc)
        return 422, "validation_error", "a value cannot be stored or compared", None
    log.error("unhandled error", exc_info=exc)
    return 500, "internal_error", "internal server error", None


async def _unexpected(request: Request, exc: Exception) -> Response:
    status, code, message, headers = unexpected_error(exc)
    return _answer(request, status, code, message, headers=headers)


# Most specific first, as Starlette looks a handler up along the exception's class order.
_HANDLERS: tuple[tuple[type[Exception], Any], ...] = (
    (DomainError, _domain),
    (RequestValidationError, _validation),
    (StarletteHTTPException, _http),
    (IntegrityError, _integrity),
    # Database failures, and anything else (a JSON 500, never a plain-text one).
    (DBAPIError, _unexpected),
    (Exception, _unexpected),
)


def install_error_handlers(app: FastAPI) -> None:
    for cls, handler in _HANDLERS:
        app.add_exception_handler(cls, handler)


async def answer_exception(request: Request, exc: Exception) -> Response:
    """The response the app's handlers give ``exc``: for raw ASGI fronts
    (``server/ingest.py``) that call the routes' own code outside FastAPI. Looked up along
    the exception's class order, as Starlette does."""
    handlers = dict(_HANDLERS)
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            response: Response = await handler(request, exc)
            return response
    return await _unexpected(request, exc)  # pragma: no cover - Exception is in the table
