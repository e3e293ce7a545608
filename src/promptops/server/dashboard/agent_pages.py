"""Agents: the list, an agent's page (environments, versions, deployment history, pending
requests, its workflow), a version's workflow, and runs: the list (filter by status, pages
of 50 as the API's), a run's step-by-step timeline, cancel, and input for a waiting run.

Promote and roll back are the prompts' pages (:mod:`.change_pages`, under ``/agents/``);
everything here reads and acts through :mod:`promptops.domain.agents` and
:mod:`promptops.domain.agent_runs`, as the API does, then hands the engine what the API's
routes hand it (``app.state.agents``: cancel, send input).
"""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from promptops.contract.agent_runs import FINISHED, RUN_STATUSES, RunInput, RunStatus
from promptops.contract.agents import WaitStep
from promptops.contract.validation import parse
from promptops.db.models import AgentRun
from promptops.domain import actors, agent_runs, agents, deployments
from promptops.domain.errors import ConflictError, InvalidInputError
from promptops.server.dashboard.prompt_pages import release_context
from promptops.server.dashboard.web import (
    CheckedForm,
    PageRoute,
    ProjectCtx,
    ProjectDep,
    app_state,
    redirect,
    render,
    text,
)
from promptops.server.dashboard.workflow import pretty_json, workflow_graph, workflow_steps

router = APIRouter(route_class=PageRoute, include_in_schema=False)

RUNS_PAGE = 50
VersionNumber = Annotated[int, Path(ge=1, le=2_147_483_647)]
RunId = Annotated[str, Path(max_length=40, pattern=r"^run_[0-9a-f]+$")]


@router.get("/p/{project_id}/agents")
def agent_list(request: Request, ctx: ProjectDep) -> Response:
    with app_state(request).db.read() as session:
        rows = agents.list_agents(session, ctx.id, limit=200)
        active = deployments.active_versions_of(session, [a.id for a in rows])
    active_only = {pid: {e: v for e, v in envs.items() if v} for pid, envs in active.items()}
    context = {"agents": rows, "active": active_only, "section": "agents"}
    return render(request, "agents.html", context, ctx=ctx)


@router.get("/p/{project_id}/agents/{slug}")
def agent_page(slug: str, request: Request, ctx: ProjectDep) -> Response:
    with app_state(request).db.read() as session:
        agent = agents.get_agent(session, ctx.id, slug)
        context = release_context(session, ctx, agent)
        shown = context["versions"][0] if context["versions"] else None
        _, runs = agent_runs.list_runs(session, ctx.id, slug, limit=10)
    context |= {
        "agent": agent,
        "shown": shown,
        "steps": workflow_steps(agents.definition_of(shown)) if shown else [],
        "runs": runs,
        "section": "agents",
    }
    return render(request, "agent.html", context, ctx=ctx)


@router.get("/p/{project_id}/agents/{slug}/versions/{number}")
def agent_version_page(
    slug: str, number: VersionNumber, request: Request, ctx: ProjectDep
) -> Response:
    with app_state(request).db.read() as session:
        agent = agents.get_agent(session, ctx.id, slug)
        version = agents.get_agent_version(session, agent, number)
        active = deployments.active_deployments(session, agent)
        names = actors.display_names(session, ctx.id, [version.author])
    definition = agents.definition_of(version)
    steps = workflow_steps(definition)
    context = {
        "agent": agent,
        "version": version,
        "definition": definition,
        "steps": steps,
        "graph": workflow_graph(steps),
        "source": pretty_json(version.definition),
        "active_in": [e for e, row in active.items() if row and row.version == number],
        "actor_names": names,
        "section": "agents",
    }
    return render(request, "agent_version.html", context, ctx=ctx)


@router.get("/p/{project_id}/agents/{slug}/runs")
def run_list(
    slug: str,
    request: Request,
    ctx: ProjectDep,
    status: RunStatus | None = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    with app_state(request).db.read() as session:
        agent, rows = agent_runs.list_runs(
            session, ctx.id, slug, status=status, limit=RUNS_PAGE, before=cursor
        )
    context = {
        "agent": agent,
        "runs": rows,
        "status": status or "",
        "statuses": RUN_STATUSES,
        "cursor": cursor,
        "next_cursor": rows[-1].id if len(rows) == RUNS_PAGE else None,
        "section": "agents",
    }
    return render(request, "runs.html", context, ctx=ctx)


def _run_page(request: Request, ctx: ProjectCtx, slug: str, run_id: str, **extra: Any) -> Response:
    status = int(extra.pop("status", 200))
    with app_state(request).db.read() as session:
        agent, run = agent_runs.get_run(session, ctx.id, slug, run_id)
        steps = agent_runs.steps_of(session, run)
        definition = agents.definition_of(agents.get_agent_version(session, agent, run.version))
        names = actors.display_names(session, ctx.id, [run.started_by])
    waiting = [s for s in steps if s.status == "waiting"]
    asked = None
    if waiting and isinstance(definition.steps.get(waiting[-1].name), WaitStep):
        asked = definition.steps[waiting[-1].name].prompt  # type: ignore[union-attr]
    unfinished = run.status in ("queued", "running")
    taking = bool(waiting) and waiting[-1].key == extra.get("sent")
    context = {
        "agent": agent,
        "run": run,
        "reload": unfinished or taking,
        "taking": taking,
        "steps": steps,
        "finished": run.status in FINISHED,
        "waiting_step": waiting[-1] if waiting else None,
        "asked": asked,
        "json": pretty_json,
        "actor_names": names,
        "section": "agents",
        **extra,
    }
    return render(request, "run.html", context, ctx=ctx, status=status)


@router.get("/p/{project_id}/agents/{slug}/runs/{run_id}")
def run_page(
    slug: str,
    run_id: RunId,
    request: Request,
    ctx: ProjectDep,
    sent: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """``sent``: the step that input was just sent to (the page reloads until the run
    takes it)."""
    return _run_page(request, ctx, slug, run_id, sent=sent)


@router.post("/p/{project_id}/agents/{slug}/runs/{run_id}/cancel")
def cancel_run(
    slug: str, run_id: RunId, request: Request, ctx: ProjectDep, form: CheckedForm
) -> Response:
    try:
        with app_state(request).db.write() as session:
            run: AgentRun = agent_runs.cancel_run(session, ctx.actor, slug, run_id)
    except ConflictError as exc:
        return _run_page(request, ctx, slug, run_id, errors={"cancel": exc.message}, status=409)
    request.app.state.agents.cancel(run.id)
    return redirect(f"/p/{ctx.id}/agents/{slug}/runs/{run_id}", f"Run {run_id} cancelled.")


def _parsed_input(raw: str) -> Any:
    """The form's JSON text as a value (the API's ``RunInput`` rules), or a 422 naming
    ``input`` with where the JSON breaks."""
    if not raw.strip():
        raise InvalidInputError('input: write a JSON value, e.g. {"approved": true}', field="input")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"input: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno});"
            " nothing was sent",
            field="input",
        ) from None
    return parse(RunInput, {"input": value}).input


@router.post("/p/{project_id}/agents/{slug}/runs/{run_id}/input")
def send_input(
    slug: str, run_id: RunId, request: Request, ctx: ProjectDep, form: CheckedForm
) -> Response:
    raw = text(form, "input")
    try:
        with app_state(request).db.read() as session:
            run = agent_runs.require_waiting(session, ctx.actor, slug, run_id)
            waiting = [s.key for s in agent_runs.steps_of(session, run) if s.status == "waiting"]
        value = _parsed_input(raw)
    except (InvalidInputError, ConflictError) as exc:
        return _run_page(
            request,
            ctx,
            slug,
            run_id,
            errors={"input": exc.message},
            values={"input": raw},
            status=exc.status,
        )
    request.app.state.agents.send_input(run.id, value)
    sent = f"?sent={quote(waiting[-1])}" if waiting else ""
    return redirect(
        f"/p/{ctx.id}/agents/{slug}/runs/{run_id}{sent}", f"Input sent to run {run_id}."
    )
