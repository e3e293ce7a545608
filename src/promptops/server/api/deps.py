"""Dependencies shared by the routes: the app's state, the database, the acting key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator

from promptops.contract.text import clean_optional_text
from promptops.db.session import Database, Session
from promptops.domain.access import Actor
from promptops.domain.secretbox import SecretBox
from promptops.server.auth import KeyAuthenticator, bearer_token
from promptops.server.config import Settings

if TYPE_CHECKING:
    from promptops.server.hotpath import HotPath
    from promptops.server.notify import ChangeListener
    from promptops.server.streamhub import StreamHub
    from promptops.server.user_auth import UserAuthenticator

__all__ = [
    "ActorDep",
    "AppState",
    "Limit",
    "ProjectQuery",
    "ReadSession",
    "StateDep",
    "no_nul",
    "own_project",
    "state",
]


@dataclass
class AppState:
    settings: Settings
    db: Database
    auth: KeyAuthenticator
    hotpath: HotPath
    secrets: SecretBox  # seals provider keys and project secrets (server/secret_key.py)
    listener: ChangeListener | None = None  # PostgreSQL: changes made by other processes
    users: UserAuthenticator | None = None  # people: personal tokens, dashboard sessions
    stream_hub: StreamHub | None = None  # GET /v1/stream connections waiting for events


def state(request: Request) -> AppState:
    return request.app.state.po


_bearer = HTTPBearer(
    auto_error=False,
    description="A project API key, the instance admin key, or a user's personal token"
    " (po_user_…; name the project with the X-PromptOps-Project header)",
)


def current_actor(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> Actor:
    people = state(request).users
    if people is not None and (user := people.api_actor(request)) is not None:
        return user  # a personal token, or the dashboard session cookie (+ CSRF header)
    # Parsed here, not by HTTPBearer, so a malformed header gets our own clear message.
    token = bearer_token(request.headers.get("authorization"))
    return state(request).auth.authenticate(token)


def own_project(actor: Actor) -> str:
    """The acting key's project, for routes that have no ``project_id`` to name: the
    instance admin key is refused (403) rather than asked to name one (422)."""
    actor.require_project_key()
    return actor.project_for(None)


def read_session(request: Request) -> Iterator[Session]:
    with state(request).db.read() as session:
        yield session


ActorDep = Annotated[Actor, Depends(current_actor)]
ReadSession = Annotated[Session, Depends(read_session)]
# Writes open ``with st.db.write()`` inside the route, so the commit (and the change
# announcements it triggers) happens before the response is sent.
StateDep = Annotated[AppState, Depends(state)]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]


# Query text is checked by the one shared rule (promptops.contract.text); the request guard
# (promptops.server.guard) has already refused it, this keeps the contract in the schema.
no_nul = clean_optional_text


ProjectQuery = Annotated[
    str | None,
    Query(max_length=64, description="The project (instance admin key only)"),
    AfterValidator(no_nul),
]
