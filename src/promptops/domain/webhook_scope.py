"""Who sees and who changes which webhook endpoint: endpoints are scoped by environment.

An endpoint lists the environments whose events it receives (``environments``). The rules:

- A project key sees, and (with role ``write``) changes, only endpoints whose environments
  are all its own: a ``dev`` key manages endpoints listening to ``dev`` alone. Others are
  invisible to it: not listed, and ``404`` by id (the same answer as for an id that does not
  exist, so their existence does not leak). An endpoint it creates listens to its own
  environment unless it says so; naming another environment is ``403`` (field
  ``environments``).
- People (personal token, dashboard session) see every endpoint of their project; only
  project admins and owners change them (editors can move labels, but an endpoint's secret
  would let its holder forge events for every environment it listens to).
- The instance admin key sees and changes every endpoint; it names the project.

Deliveries follow their endpoint, and a key never sees a delivery of an event of another
environment (an endpoint whose environments were narrowed keeps its older deliveries).
"""

from __future__ import annotations

from collections.abc import Iterable

from promptops.db.models import WebhookEndpoint
from promptops.domain.access import APPROVER_ROLES, ENVIRONMENTS, Actor, check_environment
from promptops.domain.errors import InvalidInputError, PermissionDeniedError

__all__ = [
    "check_environments",
    "default_environments",
    "require_changer",
    "require_environments_allowed",
    "sees",
]

FIELD = "environments"


def check_environments(values: Iterable[str]) -> list[str]:
    """Validate a list of environment names; returned in the canonical order."""
    if isinstance(values, str):
        raise InvalidInputError("environments must be a list of environment names", field=FIELD)
    names = list(values)
    if not names:
        raise InvalidInputError(
            "environments must name at least one of " + ", ".join(ENVIRONMENTS), field=FIELD
        )
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise InvalidInputError("environments must be names", field=f"{FIELD}.{i}")
        check_environment(name, field=f"{FIELD}.{i}")
    if len(set(names)) != len(names):
        raise InvalidInputError("environments lists an environment twice", field=FIELD)
    return [env for env in ENVIRONMENTS if env in names]


def default_environments(actor: Actor) -> list[str]:
    """What an endpoint created without ``environments`` listens to: a key's own
    environment; every environment for people and the instance admin."""
    return [actor.environment] if actor.environment is not None else list(ENVIRONMENTS)


def sees(actor: Actor, endpoint: WebhookEndpoint) -> bool:
    """Whether ``actor`` (already known to act in the endpoint's project) sees it."""
    if actor.environment is None:  # the instance admin, or a person: the whole project
        return True
    return set(endpoint.environments or ()) <= {actor.environment}


def require_changer(actor: Actor) -> None:
    """Changes (create, update, rotate, delete, test, redeliver): the instance admin, a
    project admin/owner, or a ``write`` key (for its own environment's endpoints)."""
    if actor.is_admin:
        return
    actor.require_member_role(APPROVER_ROLES, "managing webhooks")  # people only
    actor.require_write()


def require_environments_allowed(actor: Actor, environments: list[str]) -> None:
    """A key may make an endpoint listen only to its own environment."""
    if actor.environment is None:
        return
    foreign = [env for env in environments if env != actor.environment]
    if foreign:
        raise PermissionDeniedError(
            f"this key is for environment {actor.environment!r}; its webhooks can listen only"
            f" to {actor.environment!r}, not {', '.join(repr(e) for e in foreign)}",
            field=FIELD,
        )
