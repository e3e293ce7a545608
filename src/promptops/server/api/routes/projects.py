"""/v1/projects: create (instance admin key), list, get."""

from __future__ import annotations

from fastapi import APIRouter

from promptops.contract.projects import ProjectCreate, ProjectCreated, ProjectOut
from promptops.domain import keys, projects
from promptops.server.api.deps import ActorDep, ReadSession, StateDep
from promptops.server.serialize import key_created

router = APIRouter(prefix="/v1/projects", tags=["projects"])


@router.post("", status_code=201, response_model=ProjectCreated)
def create_project(body: ProjectCreate, actor: ActorDep, st: StateDep) -> ProjectCreated:
    """Create a project; the response carries its initial `write` key for `dev`, shown once."""
    actor.require_admin()  # before paying for bcrypt, which runs outside the transaction
    secret = keys.new_secret(st.settings.bcrypt_rounds)
    with st.db.write() as session:
        project, issued = projects.create_project(session, actor, name=body.name, secret=secret)
        return ProjectCreated(
            project=ProjectOut.model_validate(project),
            api_key=key_created(issued),
        )


@router.get("", response_model=list[ProjectOut])
def list_projects(actor: ActorDep, session: ReadSession) -> list[ProjectOut]:
    """All projects (instance admin key), or the key's own project."""
    return [ProjectOut.model_validate(p) for p in projects.list_projects(session, actor)]


@router.get("/{project_id}", response_model=ProjectOut)
def get_project(project_id: str, actor: ActorDep, session: ReadSession) -> ProjectOut:
    return ProjectOut.model_validate(projects.get_project(session, actor, project_id))
