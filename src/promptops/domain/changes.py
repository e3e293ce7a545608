"""Changes a write produces, announced to listeners after its transaction commits.

Services call :func:`record` inside a write; :class:`promptops.db.session.Database` hands
the collected changes to its listeners once the commit succeeded (nothing is announced for a
transaction that rolled back). The server's read-path snapshot listens here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

__all__ = ["Change", "ChangeKind", "pending", "record"]


class ChangeKind(StrEnum):
    """What a change is. A ``StrEnum``: equal to its string, and sent as that string in
    PostgreSQL notifications (``promptops.server.notify``)."""

    PROMPT_CREATED = "prompt_created"
    PROMPT_UPDATED = "prompt_updated"
    VERSION_CREATED = "version_created"
    LABEL_MOVED = "label_moved"
    LABEL_CHANGE_APPROVED = "label_change_approved"
    TEMPLATE_UPDATED = "template_updated"  # a snippet's label moved: a dependent's content
    AGENT_RUN_COMPLETED = "agent_run_completed"
    EVAL_RESULT_CREATED = "eval_result_created"  # CI recorded an eval result on a version
    KEY_REVOKED = "key_revoked"
    EVENTS_APPENDED = "events_appended"  # a commit added rows to the event log
    WEBHOOK_JOBS_QUEUED = "webhook_jobs_queued"  # new deliveries outside the event hook


@dataclass(frozen=True, slots=True)
class Change:
    # A ChangeKind once made; a plain string of a known kind is accepted and converted.
    kind: ChangeKind | str
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

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ChangeKind):  # ValueError for an unknown kind
            object.__setattr__(self, "kind", ChangeKind(self.kind))


def record(session: Session, change: Change) -> None:
    session.info.setdefault("changes", []).append(change)


def pending(session: Session) -> list[Change]:
    return list(session.info.get("changes", ()))
