"""Who is acting, and the rules of what they may do. Every service checks through here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from promptops.domain.errors import InvalidInputError, PermissionDeniedError

__all__ = [
    "APPROVER_ROLES",
    "ENVIRONMENTS",
    "MEMBER_ROLES",
    "ROLES",
    "Actor",
    "check_environment",
    "member_role_grants",
]

ENVIRONMENTS: tuple[str, ...] = ("dev", "staging", "production")
ROLES: tuple[str, ...] = ("read", "write")
_RANK = {"read": 1, "write": 2, "admin": 3}

Role = Literal["read", "write", "admin"]

# A person's role in a project, most powerful first. Viewers read; editors also create
# prompts/versions and promote (protected environments need an approval); admins and owners
# also approve, manage keys, members and settings; only owners grant owner or key bypass.
MEMBER_ROLES: tuple[str, ...] = ("owner", "admin", "editor", "viewer")
APPROVER_ROLES: tuple[str, ...] = ("owner", "admin")


def member_role_grants(member_role: str) -> Role:
    """The API role a project role acts with: viewer → read, the others → write."""
    return "read" if member_role == "viewer" else "write"


def check_environment(environment: str, field: str = "environment") -> str:
    if environment not in ENVIRONMENTS:
        raise InvalidInputError(
            f"unknown environment {environment[:40]!r}; expected one of {', '.join(ENVIRONMENTS)}",
            field=field,
        )
    return environment


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated caller: the instance admin key, a project key, or a user (a person
    signed in to the dashboard or using a personal token) acting in one project."""

    label: str  # what history and the audit log show (key prefix, or "user:<email>")
    role: Role
    project_id: str | None = None  # None for the instance admin
    environment: str | None = None  # None for users: every environment of the project
    key_id: int | None = None
    user_id: int | None = None
    member_role: str | None = None  # users: owner | admin | editor | viewer
    can_bypass_protection: bool = False  # may change protected environments directly

    @property
    def is_user(self) -> bool:
        return self.user_id is not None

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
        if self.project_id is None:  # a user who did not say which project
            raise InvalidInputError(
                "name the project: send the X-PromptOps-Project header", field="project_id"
            )
        if project_id and project_id != self.project_id:
            who = "you are acting in" if self.is_user else "this key belongs to"
            raise PermissionDeniedError(f"{who} another project")
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
            if self.is_user:
                raise PermissionDeniedError(
                    f"you are {self.member_role!r} in this project; the action needs 'editor'"
                    " or higher"
                )
            raise PermissionDeniedError("this key is read-only; the action needs role 'write'")

    def require_member_role(self, roles: tuple[str, ...], action: str) -> None:
        """Users need one of ``roles`` in the project (keys keep their own rules)."""
        if self.is_user and not self.is_admin and self.member_role not in roles:
            raise PermissionDeniedError(
                f"{action} needs role {' or '.join(repr(r) for r in roles)} in this project;"
                f" you are {self.member_role!r}"
            )

    def require_environment(self, environment: str) -> None:
        if self.is_user and self.environment is None:
            return  # a user acts in every environment of the project
        if not self.is_admin and environment != self.environment:
            raise PermissionDeniedError(
                f"this key is for environment {self.environment!r}, not {environment!r}"
            )

    def may_grant(self, role: str) -> bool:
        return _RANK[self.role] >= _RANK[role]
