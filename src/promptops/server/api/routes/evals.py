"""/v1/prompts/{slug}/versions/{n}/evals: eval results recorded on a version."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from promptops.contract.evals import EvalCreate, EvalResultList, EvalResultOut
from promptops.domain import evals
from promptops.server.api.deps import ActorDep, Limit, ReadSession, StateDep, own_project

router = APIRouter(prefix="/v1/prompts", tags=["evals"])

VersionNumber = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.post("/{slug}/versions/{number}/evals", status_code=201, response_model=EvalResultOut)
def record_eval(
    slug: str, number: VersionNumber, body: EvalCreate, actor: ActorDep, st: StateDep
) -> EvalResultOut:
    """Record an eval result on the version (a write key of the project, any environment;
    or an editor). Results are never changed: the latest of each `name` is the one an
    environment's `required_evals` checks. Announced as `eval_result_created`."""
    with st.db.write() as session:
        prompt, row = evals.record(session, actor, slug, number, body)
        return evals.result_out(prompt.slug, row)


@router.get("/{slug}/versions/{number}/evals", response_model=EvalResultList)
def list_evals(
    slug: str,
    number: VersionNumber,
    actor: ActorDep,
    session: ReadSession,
    limit: Limit = 100,
    cursor: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> EvalResultList:
    """The version's eval results, newest first (any key of the project)."""
    version = evals.version_of(session, own_project(actor), slug, number)
    rows = evals.list_results(session, version, limit=limit, before_id=cursor)
    return EvalResultList(
        data=[evals.result_out(slug, r) for r in rows],
        next_cursor=rows[-1].id if len(rows) == limit else None,
    )
