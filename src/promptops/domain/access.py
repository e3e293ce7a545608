"""Who is acting, and the rules of what they may do. Every service checks through here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from promptops.domain.errors import InvalidInputError, PermissionDeniedError

__all__ = ["ENVIRONMENTS", "ROLES", "Actor", "check_environment"]

ENVIRONMENTS: tuple[str, ...] = ("dev", "staging", "production")
ROLES: tuple[str, ...] = ("read", "write")
_RANK = {"read": 1, "write": 2, "admin": 3}

Role = Literal["read", "write", "admin"]


def check_environment(environment: str, field: str = "environment") -> str:
    if environment not in ENVIRONMENTS:
        raise InvalidInputError(
            f"unknown environment {environment[:40]!r}; expected one of {', '.join(ENVIRONMENTS)}",
            field=field,
        )
    return environment


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated caller: the instance admin key or a project key."""

    label: str  # what history and the audit log show (the key prefix)
    role: Role
    project_id: str | None = None  # None for the instance admin
    environment: str | None = None
    key_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def project_for(self, project_id: str | None) -> str:
        """The project this actor acts in; the admin names it, a key has its own."""
        if self.is_admin:
            if not project_id:
                raise InvalidInputError(
                    "the instance admin key must name the project (project_id)", field="project_id"
                )
            return project_id
        assert self.project_id is not None
        if project_id and project_id != self.project_id:
            raise PermissionDeniedError("this key belongs to another project")
        return self.project_id

    def require_admin(self) -> None:
        if not self.is_admin:
            raise PermissionDeniedError("this action needs the instance admin key")

    def require_project_key(self) -> None:
        if self.is_admin:
            raise PermissionDeniedError(
                "the instance admin key manages projects and keys; use a project key for this"
            )

    def require_write(self) -> None:
        self.require_project_key()
        if _RANK[self.role] < _RANK["write"]:
            raise PermissionDeniedError("this key is read-only; the action needs role 'write'")

    def require_environment(self, environment: str) -> None:
        if not self.is_admin and environment != self.environment:
            raise PermissionDeniedError(
                f"this key is for environment {self.environment!r}, not {environment!r}"
            )

    def may_grant(self, role: str) -> bool:
        return _RANK[self.role] >= _RANK[role]
