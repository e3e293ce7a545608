"""Changes a write produces, announced to listeners after its transaction commits.

Services call :func:`record` inside a write; :class:`promptops.db.session.Database` hands
the collected changes to its listeners once the commit succeeded (nothing is announced for a
transaction that rolled back). The server's read-path snapshot listens here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

__all__ = ["Change", "pending", "record"]


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # prompt_created | version_created | label_moved | key_revoked | ...
    project_id: str
    slug: str | None = None
    environment: str | None = None
    key_prefix: str | None = None
    # Detail for the event log and webhooks (promptops.domain.events); all optional.
    version: int | None = None
    previous_version: int | None = None
    action: str | None = None  # label moves: auto | promote | rollback
    actor: str | None = None  # who did it (key prefix or user label)
    deployment_id: int | None = None
    data: Mapping[str, Any] | None = field(default=None, hash=False, compare=False)


def record(session: Session, change: Change) -> None:
    session.info.setdefault("changes", []).append(change)


def pending(session: Session) -> list[Change]:
    return list(session.info.get("changes", ()))
