"""The audit log as the API returns it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from promptops.contract.fields import Output

__all__ = ["AuditEventOut", "AuditList"]


class AuditEventOut(Output):
    id: int
    project_id: str | None
    actor: str | None
    action: str
    target_type: str
    target: str | None
    before: Any
    after: Any
    created_at: datetime


class AuditList(BaseModel):
    data: list[AuditEventOut]
    next_cursor: int | None
