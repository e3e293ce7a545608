"""/v1/me (the acting user and its personal tokens), /v1/users, /v1/members."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Response

from promptops.contract.users import (
    MemberOut,
    MemberSet,
    MembershipOut,
    MeOut,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserCreated,
    UserOut,
)
from promptops.db.models import User
from promptops.db.session import Session
from promptops.domain import sessions, users
from promptops.domain.access import Actor
from promptops.domain.errors import PermissionDeniedError
from promptops.server.api.deps import ActorDep, ProjectQuery, ReadSession, StateDep

router = APIRouter(tags=["users"])


def _me(session: Session, actor: Actor) -> User:
    user = users.get_user(session, actor.user_id)
    if user is None:
        raise PermissionDeniedError(
            "this needs a user (a personal token or a dashboard session), not an API key"
        )
    return user


@router.get("/v1/me", response_model=MeOut)
def me(actor: ActorDep, session: ReadSession) -> MeOut:
    """The user behind the request, and its projects with its role in each."""
    user = _me(session, actor)
    return MeOut(
        id=user.id,
        email=user.email,
        is_instance_admin=user.is_instance_admin,
        projects=[
            MembershipOut(project_id=p.id, project_name=p.name, role=role)
            for p, role in users.projects_of(session, user)
        ],
    )


@router.post("/v1/me/tokens", status_code=201, response_model=TokenCreated)
def create_token(body: TokenCreate, actor: ActorDep, st: StateDep) -> TokenCreated:
    """A personal API token (`po_user_…`), shown once; it acts as you, in the project named
    by the `X-PromptOps-Project` header."""
    with st.db.write() as session:
        issued = sessions.create_token(session, _me(session, actor), name=body.name)
        return TokenCreated(
            **TokenOut.model_validate(issued.record).model_dump(), token=issued.token
        )


@router.get("/v1/me/tokens", response_model=list[TokenOut])
def list_tokens(actor: ActorDep, session: ReadSession) -> list[TokenOut]:
    return [TokenOut.model_validate(t) for t in sessions.list_tokens(session, _me(session, actor))]


@router.delete("/v1/me/tokens/{prefix}", response_model=TokenOut)
def revoke_token(prefix: str, actor: ActorDep, st: StateDep) -> TokenOut:
    with st.db.write() as session:
        return TokenOut.model_validate(sessions.revoke_token(session, _me(session, actor), prefix))


@router.post("/v1/users", status_code=201, response_model=UserCreated)
def create_user(body: UserCreate, actor: ActorDep, st: StateDep) -> UserCreated:
    """Create a user (the instance admin). Without `password` one is generated and returned
    once."""
    password = body.password or secrets.token_urlsafe(12)
    hasher = st.users.hasher if st.users else users.DEFAULT_HASHER
    actor.require_admin()  # checked (with the email) before argon2, outside the transaction
    users.normalize_email(body.email)
    hashed = users.hash_password(password, hasher)
    with st.db.write() as session:
        user = users.create_user(
            session,
            actor,
            email=body.email,
            password=hashed,
            is_instance_admin=body.is_instance_admin,
        )
        out = UserOut.model_validate(user).model_dump()
    return UserCreated(**out, password=None if body.password else password)


@router.get("/v1/users", response_model=list[UserOut])
def list_users(actor: ActorDep, session: ReadSession) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in users.list_users(session, actor)]


@router.get("/v1/members", response_model=list[MemberOut])
def list_members(
    actor: ActorDep, session: ReadSession, project_id: ProjectQuery = None
) -> list[MemberOut]:
    """The project's members and their roles."""
    return [
        MemberOut(email=u.email, role=m.role, created_at=m.created_at)
        for u, m in users.list_members(session, actor.project_for(project_id))
    ]


@router.put("/v1/members", response_model=MemberOut)
def set_member(
    body: MemberSet, actor: ActorDep, st: StateDep, project_id: ProjectQuery = None
) -> MemberOut:
    """Give an existing user a role in the project (admins and owners; only owners grant
    or take away `owner`; a project keeps at least one owner)."""
    with st.db.write() as session:
        row = users.set_member(session, actor, project_id, email=body.email, role=body.role)
        return MemberOut(email=body.email.strip().lower(), role=row.role, created_at=row.created_at)


@router.delete("/v1/members/{email}", status_code=204)
def remove_member(
    email: str, actor: ActorDep, st: StateDep, project_id: ProjectQuery = None
) -> Response:
    with st.db.write() as session:
        users.remove_member(session, actor, project_id, email=email)
    return Response(status_code=204)
