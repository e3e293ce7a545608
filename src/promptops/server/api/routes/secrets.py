"""/v1/providers (LLM provider connections) and /v1/secrets (project secrets).

The API key or value is write-only: sealed at rest (domain/secretbox.py), returned in full
only by the call that set it, then as its last four characters. Listing: anyone of the
project; changes: a project owner/admin, a production write key, or the instance admin key
naming the project (``project_id``). See :mod:`promptops.domain.secrets`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from promptops.contract.secrets import (
    ProviderCreate,
    ProviderList,
    ProviderOut,
    ProviderSet,
    ProviderUpdate,
    SecretList,
    SecretName,
    SecretOut,
    SecretSet,
    SecretSetOut,
)
from promptops.domain import secrets
from promptops.server.api.deps import ActorDep, ProjectQuery, ReadSession, StateDep

router = APIRouter(tags=["providers and secrets"])

ProviderName = Annotated[str, Path(max_length=100, description="The connection's name")]
SecretPath = Annotated[SecretName, Path()]


@router.get("/v1/providers", response_model=ProviderList)
def list_providers(
    actor: ActorDep, session: ReadSession, project_id: ProjectQuery = None
) -> ProviderList:
    rows = secrets.list_providers(session, actor, project_id)
    return ProviderList(data=[ProviderOut.model_validate(r) for r in rows])


@router.post("/v1/providers", status_code=201, response_model=ProviderSet)
def create_provider(
    body: ProviderCreate, actor: ActorDep, st: StateDep, project_id: ProjectQuery = None
) -> ProviderSet:
    """Connect a provider. The response shows the API key in full, this once."""
    with st.db.write() as session:
        row = secrets.create_provider(
            session,
            actor,
            st.secrets,
            name=body.name,
            provider=body.provider,
            api_key=body.api_key,
            base_url=body.base_url,
            project_id=project_id,
        )
        return ProviderSet(**ProviderOut.model_validate(row).model_dump(), api_key=body.api_key)


@router.get("/v1/providers/{name}", response_model=ProviderOut)
def get_provider(
    name: ProviderName, actor: ActorDep, session: ReadSession, project_id: ProjectQuery = None
) -> ProviderOut:
    return ProviderOut.model_validate(secrets.get_provider(session, actor, name, project_id))


@router.patch("/v1/providers/{name}", response_model=ProviderOut)
def update_provider(
    name: ProviderName,
    body: ProviderUpdate,
    actor: ActorDep,
    st: StateDep,
    project_id: ProjectQuery = None,
) -> ProviderOut:
    """Rotate the API key (``api_key``) or change ``base_url``."""
    with st.db.write() as session:
        row = secrets.update_provider(
            session, actor, st.secrets, name, body.model_dump(exclude_unset=True), project_id
        )
        return ProviderOut.model_validate(row)


@router.delete("/v1/providers/{name}", status_code=204)
def delete_provider(
    name: ProviderName, actor: ActorDep, st: StateDep, project_id: ProjectQuery = None
) -> Response:
    with st.db.write() as session:
        secrets.delete_provider(session, actor, name, project_id)
    return Response(status_code=204)


@router.get("/v1/secrets", response_model=SecretList)
def list_secrets(
    actor: ActorDep, session: ReadSession, project_id: ProjectQuery = None
) -> SecretList:
    rows = secrets.list_secrets(session, actor, project_id)
    return SecretList(data=[SecretOut.model_validate(r) for r in rows])


@router.put("/v1/secrets/{name}", response_model=SecretSetOut)
def set_secret(
    name: SecretPath,
    body: SecretSet,
    actor: ActorDep,
    st: StateDep,
    response: Response,
    project_id: ProjectQuery = None,
) -> SecretSetOut:
    """Create or replace a secret (201 created, 200 replaced); the value is shown this once."""
    with st.db.write() as session:
        row, created = secrets.set_secret(session, actor, st.secrets, name, body.value, project_id)
        response.status_code = 201 if created else 200
        return SecretSetOut(
            **SecretOut.model_validate(row).model_dump(), value=body.value, created=created
        )


@router.delete("/v1/secrets/{name}", status_code=204)
def delete_secret(
    name: SecretPath, actor: ActorDep, st: StateDep, project_id: ProjectQuery = None
) -> Response:
    with st.db.write() as session:
        secrets.delete_secret(session, actor, name, project_id)
    return Response(status_code=204)
