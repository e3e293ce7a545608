"""/v1/keys: create (shown once), list (never the key or its hash), revoke."""

from __future__ import annotations

from fastapi import APIRouter

from promptops.contract.projects import KeyCreate, KeyCreated, KeyOut
from promptops.domain import keys
from promptops.server.api.deps import ActorDep, ProjectQuery, ReadSession, StateDep
from promptops.server.serialize import key_created

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.post("", status_code=201, response_model=KeyCreated)
def create_key(body: KeyCreate, actor: ActorDep, st: StateDep) -> KeyCreated:
    """Create a key. A project key creates keys for its own environment with a role no
    higher than its own; the instance admin key names the project in `project_id`."""
    # bcrypt (~190 ms) runs before the write transaction, and only for a caller who may.
    keys.check_create(
        actor,
        environment=body.environment,
        role=body.role,
        can_bypass_protection=body.can_bypass_protection,
    )
    secret = keys.new_secret(st.settings.bcrypt_rounds)
    with st.db.write() as session:
        issued = keys.create_key(
            session,
            actor,
            environment=body.environment,
            role=body.role,
            name=body.name,
            project_id=body.project_id,
            secret=secret,
            can_bypass_protection=body.can_bypass_protection,
        )
        return key_created(issued)


@router.get("", response_model=list[KeyOut])
def list_keys(
    actor: ActorDep, session: ReadSession, project_id: ProjectQuery = None
) -> list[KeyOut]:
    return [KeyOut.model_validate(k) for k in keys.list_keys(session, actor, project_id)]


@router.delete("/{prefix}", response_model=KeyOut)
def revoke_key(
    prefix: str, actor: ActorDep, st: StateDep, project_id: ProjectQuery = None
) -> KeyOut:
    """Revoke a key; it is refused from the next request on."""
    with st.db.write() as session:
        return KeyOut.model_validate(keys.revoke_key(session, actor, prefix, project_id))
