"""/v1/agents/{slug}/runs: start, read, list and cancel runs, and send input to a waiting
one. Execution is the engine's (promptops.worker.agents): this only records and enqueues."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import AfterValidator

from promptops.contract.agent_runs import (
    RunCreate,
    RunCreated,
    RunInput,
    RunList,
    RunOut,
    RunStatus,
    StepOut,
)
from promptops.db.models import AgentRun
from promptops.db.session import Session
from promptops.domain import agent_runs
from promptops.server.api.deps import ActorDep, Limit, ReadSession, StateDep, no_nul, own_project
from promptops.worker.runner import allow_private

router = APIRouter(prefix="/v1/agents/{slug}/runs", tags=["agents"])


def _out(session: Session, slug: str, run: AgentRun, steps: bool = True) -> RunOut:
    out = RunOut.model_validate(run).model_copy(update={"agent": slug})
    if steps:
        out.steps = [StepOut.model_validate(s) for s in agent_runs.steps_of(session, run)]
    return out


@router.post("", status_code=202, response_model=RunCreated)
def start_run(
    slug: str, body: RunCreate, actor: ActorDep, st: StateDep, request: Request
) -> RunCreated:
    """Queue a run of the version active in the key's environment (or `version`); `202`
    with its id. The same `idempotency_key` again returns the same run (`created: false`).
    With `callback_url`, `callback_secret` (shown once) verifies the signed POST it gets."""
    with st.db.write() as session:
        run, created = agent_runs.start_run(
            session, actor, slug, body, allow_private=allow_private(st.settings)
        )
        secret = agent_runs.seal_callback_secret(run, st.secrets) if created else None
        run_id, status, project_id = run.id, run.status, run.project_id
    if created:
        request.app.state.agents.enqueue(run_id, project_id)
    return RunCreated(run_id=run_id, status=status, created=created, callback_secret=secret)


@router.get("", response_model=RunList)
def list_runs(
    slug: str,
    actor: ActorDep,
    session: ReadSession,
    limit: Limit = 50,
    status: RunStatus | None = None,
    version: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    cursor: Annotated[
        str | None, Query(max_length=40, description="next_cursor"), AfterValidator(no_nul)
    ] = None,
) -> RunList:
    _, rows = agent_runs.list_runs(
        session,
        own_project(actor),
        slug,
        status=status,
        version=version,
        limit=limit,
        before=cursor,
    )
    return RunList(
        data=[_out(session, slug, r, steps=False) for r in rows],
        next_cursor=rows[-1].id if len(rows) == limit else None,
    )


@router.get("/{run_id}", response_model=RunOut)
def get_run(slug: str, run_id: str, actor: ActorDep, session: ReadSession) -> RunOut:
    """The run: status, every step's status, input, output, error, attempts, timing,
    tokens and cost, and the run's output."""
    _, run = agent_runs.get_run(session, own_project(actor), slug, run_id)
    return _out(session, slug, run)


@router.post("/{run_id}/cancel", response_model=RunOut)
def cancel_run(slug: str, run_id: str, actor: ActorDep, st: StateDep, request: Request) -> RunOut:
    with st.db.write() as session:
        run = agent_runs.cancel_run(session, actor, slug, run_id)
        out = _out(session, slug, run)
    request.app.state.agents.cancel(out.id)
    return out


@router.post("/{run_id}/input", status_code=202, response_model=RunOut)
def send_input(
    slug: str, run_id: str, body: RunInput, actor: ActorDep, st: StateDep, request: Request
) -> RunOut:
    """What the waiting step receives (its output); the run goes on."""
    with st.db.read() as session:
        run = agent_runs.require_waiting(session, actor, slug, run_id)
        out = _out(session, slug, run)
    request.app.state.agents.send_input(out.id, body.input)
    return out
