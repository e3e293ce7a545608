"""The error body every failing request gets: ``{"error": {code, message, field}}``."""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["ErrorBody", "ErrorDetail"]


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail
