"""Dependencies shared by the routes: the app's state, the database, the acting key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Query, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from promptops.db.session import Database
from promptops.domain.access import Actor
from promptops.server.auth import KeyAuthenticator, bearer_token
from promptops.server.config import Settings

if TYPE_CHECKING:
    from promptops.server.hotpath import HotPath
    from promptops.server.notify import ChangeListener

__all__ = ["ActorDep", "AppState", "Limit", "ProjectQuery", "ReadSession", "StateDep", "state"]


@dataclass
class AppState:
    settings: Settings
    db: Database
    auth: KeyAuthenticator
    hotpath: HotPath
    listener: ChangeListener | None = None  # PostgreSQL: changes made by other processes


def state(request: Request) -> AppState:
    return request.app.state.po


_bearer = HTTPBearer(auto_error=False, description="A project API key or the instance admin key")


def current_actor(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> Actor:
    # Parsed here, not by HTTPBearer, so a malformed header gets our own clear message.
    token = bearer_token(request.headers.get("authorization"))
    return state(request).auth.authenticate(token)


def read_session(request: Request) -> Iterator[Session]:
    with state(request).db.read() as session:
        yield session


ActorDep = Annotated[Actor, Depends(current_actor)]
ReadSession = Annotated[Session, Depends(read_session)]
# Writes open ``with st.db.write()`` inside the route, so the commit (and the change
# announcements it triggers) happens before the response is sent.
StateDep = Annotated[AppState, Depends(state)]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
ProjectQuery = Annotated[
    str | None,
    Query(max_length=64, description="The project (instance admin key only)"),
]
