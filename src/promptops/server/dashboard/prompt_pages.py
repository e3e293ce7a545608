"""Prompts: the list (search, create), a prompt's page, a version, and the diff of two."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from promptops.contract.catalog import PromptCreate
from promptops.contract.validation import parse
from promptops.db.models import ActiveDeployment, Deployment, Prompt
from promptops.db.session import Session
from promptops.domain import (
    actors,
    approvals,
    deployments,
    evals,
    prompts,
    protection,
    snippets,
    versions,
)
from promptops.domain.errors import DomainError
from promptops.server.dashboard import diffing, log_pages
from promptops.server.dashboard.web import (
    CheckedForm,
    PageRoute,
    ProjectCtx,
    ProjectDep,
    app_state,
    field_errors,
    redirect,
    render,
    text,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Number = Annotated[int, Query(ge=1, le=2_147_483_647)]


def _active_by_prompt(session: Session, rows: list[Prompt]) -> dict[int, dict[str, int]]:
    """Per prompt, the environments where a version is active (only those)."""
    active = deployments.active_versions_of(session, [p.id for p in rows])
    return {pid: {e: v for e, v in envs.items() if v is not None} for pid, envs in active.items()}


def _prompt_list(request: Request, ctx: ProjectCtx, q: str | None, **extra: Any) -> Response:
    status = int(extra.pop("status", 200))
    with app_state(request).db.read() as session:
        rows = prompts.list_prompts(session, ctx.id, limit=200, search=q or None)
        active = _active_by_prompt(session, rows)
    context = {"prompts": rows, "active": active, "q": q or "", "section": "prompts", **extra}
    return render(request, "prompts.html", context, ctx=ctx, status=status)


@router.get("/p/{project_id}/prompts")
def prompt_list(
    request: Request, ctx: ProjectDep, q: Annotated[str | None, Query(max_length=100)] = None
) -> Response:
    return _prompt_list(request, ctx, (q or "").strip())


@router.post("/p/{project_id}/prompts")
def create_prompt(request: Request, ctx: ProjectDep, form: CheckedForm) -> Response:
    values = {
        "slug": text(form, "slug").strip(),
        "name": text(form, "name").strip(),
        "description": text(form, "description").strip(),
        "type": text(form, "type", "chat"),
    }
    errors = {}
    try:
        body = parse(PromptCreate, {**values, "description": values["description"] or None})
        with app_state(request).db.write() as session:
            prompts.create_prompt(
                session,
                ctx.actor,
                slug=body.slug,
                name=body.name,
                description=body.description,
                type=body.type,
            )
    except DomainError as exc:
        if exc.status == 403:
            raise
        errors = field_errors(exc, "slug")
    if errors:
        return _prompt_list(request, ctx, None, errors=errors, values=values, status=422)
    return redirect(
        f"/p/{ctx.id}/prompts/{values['slug']}/edit",
        f"Prompt {values['slug']} created. Write its first version.",
    )


@router.get("/p/{project_id}/prompts/{slug}")
def prompt_page(slug: str, request: Request, ctx: ProjectDep) -> Response:
    with app_state(request).db.read() as session:
        prompt = prompts.get_prompt(session, ctx.id, slug, kind="prompt")
        context = release_context(session, ctx, prompt)
        # What each environment serves now: its active version in full.
        texts = {
            env: versions.get_version(session, prompt, row.version)
            for env, row in context["active"].items()
            if row is not None
        }
        # A text prompt may be a snippet: the prompts whose templates include it.
        dependents = snippets.direct_dependents(session, prompt) if prompt.type == "text" else []
    charts = log_pages.prompt_charts(request, ctx, slug)
    context |= {
        "prompt": prompt,
        "texts": texts,
        "charts": charts,
        "dependents": dependents,
        "section": "prompts",
    }
    return render(request, "prompt.html", context, ctx=ctx)


def release_context(session: Session, ctx: ProjectCtx, prompt: Prompt) -> dict[str, Any]:
    """What a prompt's page and an agent's page share: versions, what each environment
    serves, which can roll back, protection, deployment history and pending requests."""
    rows = versions.list_versions(session, prompt, limit=200)
    active = deployments.active_deployments(session, prompt)
    history = deployments.recent_with_approvals(session, prompt)
    pending = approvals.list_requests(session, ctx.id, status="pending", slug=prompt.slug)
    labels = [v.author for v in rows] + [d.actor for d, _ in history]
    labels += [cr.requested_by for _, cr in history if cr is not None]
    labels += [view.request.requested_by for view in pending]
    active_in: dict[int, list[str]] = {}
    for env, row in active.items():
        if row is not None:
            active_in.setdefault(row.version, []).append(env)
    return {
        "versions": rows,
        "active": active,
        "active_in": active_in,
        "environments": protection.environment_settings(session, ctx.id),
        "rollbackable": {
            env: row is not None and _previous_version(session, row) is not None
            for env, row in active.items()
        },
        "history": history,
        "pending": pending,
        "actor_names": actors.display_names(session, ctx.id, labels),
    }


def _previous_version(session: Session, active: ActiveDeployment) -> int | None:
    row = session.get(Deployment, active.deployment_id)
    if row is None or row.previous_deployment_id is None:
        return None
    previous = session.get(Deployment, row.previous_deployment_id)
    return previous.version if previous else None


@router.get("/p/{project_id}/prompts/{slug}/versions/{number}")
def version_page(
    slug: str,
    number: Annotated[int, Path(ge=1, le=2_147_483_647)],
    request: Request,
    ctx: ProjectDep,
) -> Response:
    with app_state(request).db.read() as session:
        prompt = prompts.get_prompt(session, ctx.id, slug, kind="prompt")
        version = versions.get_version(session, prompt, number)
        active = deployments.active_deployments(session, prompt)
        results = evals.results_of(session, version)
        required = protection.all_required_evals(session, ctx.id)
        gates = [
            (env, evals.unmet(session, version, needs)) for env, needs in required.items() if needs
        ]
        names = actors.display_names(
            session, ctx.id, [version.author, *(r.created_by for r in results)]
        )
    envs = [env for env, row in active.items() if row is not None and row.version == number]
    context = {
        "prompt": prompt,
        "version": version,
        "active_in": envs,
        "actor_names": names,
        "eval_results": results,
        "required": required,
        "gates": gates,
        "section": "prompts",
    }
    return render(request, "version.html", context, ctx=ctx)


@router.get("/p/{project_id}/prompts/{slug}/diff")
def diff_page(
    slug: str,
    request: Request,
    ctx: ProjectDep,
    a: Number | None = None,
    b: Number | None = None,
) -> Response:
    with app_state(request).db.read() as session:
        prompt = prompts.get_prompt(session, ctx.id, slug, kind="prompt")
        numbers = [v.version for v in versions.list_versions(session, prompt, limit=500)]
        if b is None:
            b = numbers[0] if numbers else 1
        if a is None:
            a = b - 1 if b > 1 else b
        left = versions.get_version(session, prompt, a)
        right = versions.get_version(session, prompt, b)
        latest = evals.latest_by_name(session, [left.id, right.id])
    by_name = [{r.name: r for r in latest[v.id]} for v in (left, right)]
    eval_rows = [
        (name, by_name[0].get(name), by_name[1].get(name))
        for name in sorted(by_name[0].keys() | by_name[1].keys())
    ]
    context = {
        "eval_rows": eval_rows,
        "prompt": prompt,
        "numbers": numbers,
        "left": left,
        "right": right,
        "sections": diffing.version_sections(left, right),
        "section": "prompts",
    }
    return render(request, "diff.html", context, ctx=ctx)
