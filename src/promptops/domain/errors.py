"""Domain errors. The server maps each ``code`` to an HTTP status through one handler."""

from __future__ import annotations

from promptops.errors import DomainError, InvalidInputError

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "DomainError",
    "InvalidInputError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
]


class NotFoundError(DomainError):
    code = "not_found"
    status = 404


class ConflictError(DomainError):
    code = "conflict"
    status = 409


class AuthenticationError(DomainError):
    code = "unauthenticated"
    status = 401


class PermissionDeniedError(DomainError):
    code = "forbidden"
    status = 403


class RateLimitedError(DomainError):
    """Too many attempts; ``retry_after`` (seconds) becomes the ``Retry-After`` header."""

    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after
