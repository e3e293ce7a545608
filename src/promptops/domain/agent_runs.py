"""Agent runs as the API shows them: started here (the engine, ``promptops.worker.agents``,
executes them on DBOS under the workflow id = the run id), and the progress the engine
records step by step.

Who may do what: reading runs needs any key of the project; starting, cancelling and
sending input need role ``write`` (a run spends money through provider connections and
calls URLs), and cancelling and sending input a key of the run's environment. A key runs
the version active in its own environment (or ``version``).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from promptops.contract.agent_runs import FINISHED, RunCreate
from promptops.db.models import ActiveDeployment, AgentRun, AgentRunStep, Prompt, utcnow
from promptops.domain import agents, changes, prompts
from promptops.domain.access import Actor, check_environment
from promptops.domain.errors import ConflictError, InvalidInputError, NotFoundError
from promptops.domain.secretbox import SecretBox
from promptops.domain.ssrf import UrlRefusedError, check_url
from promptops.webhooks import generate_secret

__all__ = [
    "callback_place",
    "callback_secret",
    "cancel_run",
    "completed_data",
    "finish",
    "get_run",
    "has_unfinished",
    "list_runs",
    "new_run_id",
    "require_waiting",
    "seal_callback_secret",
    "start_child_run",
    "start_run",
    "steps_of",
]


def new_run_id() -> str:
    """``run_`` + 12 hex digits of milliseconds + 12 random: ids sort by creation."""
    return f"run_{int(time.time() * 1000):012x}{secrets.token_hex(6)}"


def _environment(actor: Actor, asked: str | None) -> str:
    if actor.environment is not None:
        if asked is not None:
            actor.require_environment(asked)
        return actor.environment
    return check_environment(asked or "production")


def _check_inputs(declared: list[dict[str, Any]], given: dict[str, Any]) -> None:
    names = {d["name"] for d in declared}
    for name in given:
        if name not in names:
            raise InvalidInputError(
                f"inputs.{name}: not an input of this agent", field=f"inputs.{name}"
            )
    for decl in declared:
        if decl.get("required", True) and decl["name"] not in given:
            raise InvalidInputError(
                f"inputs.{decl['name']}: required", field=f"inputs.{decl['name']}"
            )


def start_run(
    session: Session, actor: Actor, slug: str, body: RunCreate, *, allow_private: bool
) -> tuple[AgentRun, bool]:
    """A queued run (the caller hands it to the engine after the commit), or the run an
    earlier request with the same ``idempotency_key`` made (False). ``callback_url`` is
    checked against the webhooks' SSRF policy (``allow_private``: loopback and private
    addresses allowed)."""
    actor.require_write()
    project_id = actor.project_for(None)
    agent = agents.get_agent(session, project_id, slug)
    environment = _environment(actor, body.environment)
    if body.idempotency_key is not None:
        found = session.scalar(
            select(AgentRun).where(
                AgentRun.prompt_id == agent.id, AgentRun.idempotency_key == body.idempotency_key
            )
        )
        if found is not None:
            return found, False
    if body.version is not None:
        version = agents.get_agent_version(session, agent, body.version)
    else:
        active = session.get(ActiveDeployment, (agent.id, environment))
        if active is None:
            raise NotFoundError(f"agent {slug!r} has no version active in {environment!r}")
        version = agents.get_agent_version(session, agent, active.version)
    definition = agents.definition_of(version)
    _check_inputs([d.model_dump() for d in definition.inputs], body.inputs)
    if body.callback_url is not None:
        _check_callback(body.callback_url, allow_private)
    run = AgentRun(
        id=new_run_id(),
        project_id=project_id,
        prompt_id=agent.id,
        version=version.version,
        version_id=version.id,
        environment=environment,
        status="queued",
        inputs=body.inputs,
        idempotency_key=body.idempotency_key,
        callback_url=body.callback_url,
        started_by=actor.label,
        steps_run=0,
        input_tokens=0,
        output_tokens=0,
        cost=0.0,
        created_at=utcnow(),
    )
    session.add(run)
    session.flush()
    return run, True


def start_child_run(
    session: Session,
    project_id: str,
    slug: str,
    environment: str,
    inputs: dict[str, Any],
    *,
    started_by: str,
) -> AgentRun:
    """A run of agent ``slug`` that a run starts (a prompt step's tool bound to an agent):
    the version active in ``environment``, ``inputs`` checked against its declared inputs.
    The caller's workflow runs it as its child (not through the project's queue)."""
    agent = agents.get_agent(session, project_id, slug)
    active = session.get(ActiveDeployment, (agent.id, environment))
    if active is None:
        raise NotFoundError(f"agent {slug!r} has no version active in {environment!r}")
    version = agents.get_agent_version(session, agent, active.version)
    definition = agents.definition_of(version)
    _check_inputs([d.model_dump() for d in definition.inputs], inputs)
    run = AgentRun(
        id=new_run_id(),
        project_id=project_id,
        prompt_id=agent.id,
        version=version.version,
        version_id=version.id,
        environment=environment,
        status="queued",
        inputs=inputs,
        started_by=started_by[:200],
        steps_run=0,
        input_tokens=0,
        output_tokens=0,
        cost=0.0,
        created_at=utcnow(),
    )
    session.add(run)
    session.flush()
    return run


def _check_callback(url: str, allow_private: bool) -> None:
    """The webhooks' SSRF policy, now (and again at every delivery attempt)."""
    try:
        check_url(url, allow_private=allow_private)
    except UrlRefusedError as exc:
        raise InvalidInputError(f"callback_url: {exc.message}", field="callback_url") from None


def callback_place(run_id: str) -> str:
    """What a run's sealed callback secret is bound to (it opens for this run only)."""
    return f"agent_run:{run_id}:callback_secret"


def seal_callback_secret(run: AgentRun, box: SecretBox) -> str | None:
    """A new signing secret for the run's callback (``whsec_…``, as an endpoint's), sealed
    on the row; the caller shows it once (the 202). None without a ``callback_url``."""
    if run.callback_url is None:
        return None
    secret = generate_secret()
    run.callback_secret_sealed = box.seal(secret, callback_place(run.id))
    return secret


def callback_secret(run: AgentRun, box: SecretBox) -> str:
    assert run.callback_secret_sealed is not None
    return box.open(run.callback_secret_sealed, callback_place(run.id))


def has_unfinished(session: Session) -> bool:
    """Whether any run is queued, running or waiting (an engine must launch to go on)."""
    query = select(AgentRun.id).where(AgentRun.status.in_(("queued", "running", "waiting")))
    return session.scalar(query.limit(1)) is not None


def get_run(session: Session, project_id: str, slug: str, run_id: str) -> tuple[Prompt, AgentRun]:
    agent = agents.get_agent(session, project_id, slug)
    run = session.get(AgentRun, run_id[:40])
    if run is None or run.prompt_id != agent.id:
        raise NotFoundError(f"agent {slug!r} has no run {run_id[:40]!r}", field="run_id")
    return agent, run


def steps_of(session: Session, run: AgentRun) -> list[AgentRunStep]:
    return list(
        session.scalars(
            select(AgentRunStep).where(AgentRunStep.run_id == run.id).order_by(AgentRunStep.seq)
        )
    )


def list_runs(
    session: Session,
    project_id: str,
    slug: str,
    *,
    status: str | None = None,
    version: int | None = None,
    limit: int = 50,
    before: str | None = None,
) -> tuple[Prompt, list[AgentRun]]:
    """The agent's runs, newest first; ``before``: a run id (the previous page's cursor)."""
    agent = agents.get_agent(session, project_id, slug)
    query = select(AgentRun).where(AgentRun.prompt_id == agent.id)
    if status is not None:
        query = query.where(AgentRun.status == status)
    if version is not None:
        query = query.where(AgentRun.version == version)
    if before is not None:
        query = query.where(AgentRun.id < before)
    return agent, list(session.scalars(query.order_by(AgentRun.id.desc()).limit(limit)))


def finish(
    session: Session, run: AgentRun, status: str, *, output: Any = None, error: str | None = None
) -> bool:
    """Mark ``run`` finished (once: False when it already was) and announce
    ``agent_run_completed`` (webhooks and the stream) in this transaction."""
    if run.status in FINISHED:
        return False
    run.status = status
    run.output = output
    run.error = error
    run.finished_at = utcnow()
    slug = prompts.slug_of(session, run.prompt_id)
    changes.record(
        session,
        changes.Change(
            changes.ChangeKind.AGENT_RUN_COMPLETED,
            run.project_id,
            slug=slug,
            environment=run.environment,
            actor=run.started_by,
            data=completed_data(run, slug),
        ),
    )
    return True


def completed_data(run: AgentRun, slug: str) -> dict[str, Any]:
    """The ``data`` of ``agent_run_completed`` (and the callback's body)."""
    return {
        "run_id": run.id,
        "agent": slug,
        "version": run.version,
        "environment": run.environment,
        "status": run.status,
        "output": run.output,
        "error": run.error,
        "input_tokens": run.input_tokens,
        "output_tokens": run.output_tokens,
        "cost": run.cost,
    }


def cancel_run(session: Session, actor: Actor, slug: str, run_id: str) -> AgentRun:
    actor.require_write()
    _, run = get_run(session, actor.project_for(None), slug, run_id)
    actor.require_environment(run.environment)
    if run.status in FINISHED:
        raise ConflictError(f"run {run.id!r} has finished ({run.status})", field="run_id")
    finish(session, run, "cancelled", error="cancelled by " + actor.label)
    return run


def require_waiting(session: Session, actor: Actor, slug: str, run_id: str) -> AgentRun:
    """The run, which must be waiting for input (a wait step)."""
    actor.require_write()
    _, run = get_run(session, actor.project_for(None), slug, run_id)
    actor.require_environment(run.environment)
    if run.status != "waiting":
        raise ConflictError(
            f"run {run.id!r} is {run.status}, not waiting for input", field="run_id"
        )
    return run
