"""Promote and roll back (each behind a confirmation page), and change requests of protected
environments (approve, reject, withdraw), each shown with the diff it would make: on its card
in the list, and in full on its own page (``/p/{project}/changes/{id}``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from promptops.contract.deployments import Decision, PromoteRequest
from promptops.contract.validation import parse
from promptops.db.models import ActiveDeployment, ChangeRequest, Deployment, Prompt
from promptops.db.session import Session
from promptops.domain import actors, approvals, deployments, prompts, protection, versions
from promptops.domain.access import ENVIRONMENTS
from promptops.domain.approvals import ChangeRequestView
from promptops.domain.errors import ConflictError, DomainError, InvalidInputError
from promptops.server.dashboard import diffing
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

router = APIRouter(route_class=PageRoute, include_in_schema=False)

RequestId = Annotated[int, Path(ge=1, le=2_147_483_647)]
Number = Annotated[int, Query(ge=1, le=2_147_483_647)]
# Prompts and agents are promoted and rolled back by the same pages (and services).
Kind = Literal["prompts", "agents"]


def _of_kind(session: Session, ctx: ProjectCtx, kind: str, slug: str) -> Prompt:
    """The prompt or agent ``slug`` (each only under its own URL)."""
    return prompts.get_prompt(session, ctx.id, slug, kind="agent" if kind == "agents" else "prompt")


def _outcome(row: Deployment | ChangeRequest, environment: str, ctx: ProjectCtx) -> str:
    if isinstance(row, ChangeRequest):
        return (
            f"{environment} is protected: change request #{row.id} is waiting for another"
            " admin or owner to approve it."
        )
    return f"v{row.version} is now active in {environment}."


def _confirm(
    request: Request, ctx: ProjectCtx, kind: str, slug: str, template: str, **extra: Any
) -> Response:
    status = int(extra.pop("status", 200))
    with app_state(request).db.read() as session:
        prompt = _of_kind(session, ctx, kind, slug)
        active = deployments.active_deployments(session, prompt)
        environments = protection.environment_settings(session, ctx.id)
        required = protection.all_required_evals(session, ctx.id)
        numbers = [v.version for v in versions.list_versions(session, prompt, limit=500)]
    context = {
        "prompt": prompt,
        "active": active,
        "environments": environments,
        "required": required,
        "numbers": numbers,
        "kind": kind,
        "base": f"/p/{ctx.id}/{kind}/{prompt.slug}",
        "section": kind,
        **extra,
    }
    return render(request, template, context, ctx=ctx, status=status)


@router.get("/p/{project_id}/{kind}/{slug}/promote")
def confirm_promote(
    kind: Kind,
    slug: str,
    request: Request,
    ctx: ProjectDep,
    version: Number | None = None,
    environment: Literal["dev", "staging", "production"] | None = None,
) -> Response:
    values = {"version": version, "environment": environment}
    return _confirm(request, ctx, kind, slug, "promote.html", values=values)


@router.post("/p/{project_id}/{kind}/{slug}/promote")
def promote(
    kind: Kind, slug: str, request: Request, ctx: ProjectDep, form: CheckedForm
) -> Response:
    with app_state(request).db.read() as session:
        _of_kind(session, ctx, kind, slug)
    environment, raw = text(form, "environment"), text(form, "version")
    comment = text(form, "comment").strip() or None
    values: dict[str, Any] = {"version": int(raw) if raw.isdigit() and len(raw) < 10 else None}
    values["environment"] = environment
    values["comment"] = comment or ""
    try:
        if environment not in ENVIRONMENTS:
            raise InvalidInputError("choose the environment to promote to", field="environment")
        if values["version"] is None:
            raise InvalidInputError("choose a version", field="version")
        parse(PromoteRequest, {"version": values["version"], "comment": comment})
        with app_state(request).db.write() as session:
            row = deployments.promote(
                session, ctx.actor, slug, environment, version=values["version"], comment=comment
            )
            message = _outcome(row, environment, ctx)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        shown = exc.field if exc.field in ("version", "comment") else "environment"
        errors = {shown: exc.message}  # required_evals too: a rule of the environment
        return _confirm(
            request,
            ctx,
            kind,
            slug,
            "promote.html",
            values=values,
            errors=errors,
            status=exc.status,
        )
    return redirect(f"/p/{ctx.id}/{kind}/{slug}", message)


@router.get("/p/{project_id}/{kind}/{slug}/rollback")
def confirm_rollback(
    kind: Kind,
    slug: str,
    request: Request,
    ctx: ProjectDep,
    environment: Literal["dev", "staging", "production"],
) -> Response:
    target = _rollback_target(request, ctx, kind, slug, environment)
    return _confirm(
        request, ctx, kind, slug, "rollback.html", environment=environment, target=target
    )


def _rollback_target(
    request: Request, ctx: ProjectCtx, kind: str, slug: str, environment: str
) -> int | None:
    with app_state(request).db.read() as session:
        prompt = _of_kind(session, ctx, kind, slug)
        current = deployments.active_deployments(session, prompt)[environment]
        row = session.get(Deployment, current.deployment_id) if current else None
        previous = (
            session.get(Deployment, row.previous_deployment_id)
            if row is not None and row.previous_deployment_id is not None
            else None
        )
        return previous.version if previous else None


@router.post("/p/{project_id}/{kind}/{slug}/rollback")
def rollback(
    kind: Kind, slug: str, request: Request, ctx: ProjectDep, form: CheckedForm
) -> Response:
    with app_state(request).db.read() as session:
        _of_kind(session, ctx, kind, slug)
    environment = text(form, "environment")
    comment = parse(Decision, {"comment": text(form, "comment").strip() or None}).comment
    if environment not in ENVIRONMENTS:
        raise InvalidInputError("choose the environment to roll back")
    try:
        with app_state(request).db.write() as session:
            row = deployments.rollback(session, ctx.actor, slug, environment, comment=comment)
            message = _outcome(row, environment, ctx)
    except ConflictError as exc:
        return _confirm(
            request,
            ctx,
            kind,
            slug,
            "rollback.html",
            environment=environment,
            target=None,
            errors={"environment": exc.message},
            status=409,
        )
    return redirect(f"/p/{ctx.id}/{kind}/{slug}", message)


# ---- change requests -------------------------------------------------------------------------


def _what_changes(session: Session, ctx: ProjectCtx, view: ChangeRequestView) -> dict[str, Any]:
    """The diff a request would make: from the environment's current version (pending; the
    version it replaced once decided) to the requested one."""
    r = view.request
    prompt = prompts.get_prompt(session, ctx.id, view.slug)
    if r.status == "pending":
        active = session.get(ActiveDeployment, (prompt.id, r.environment))
        current = active.version if active else None
    else:
        current = r.from_version
    left = versions.get_version(session, prompt, current) if current is not None else None
    right = versions.get_version(session, prompt, r.version)
    return {
        "view": view,
        "kind": "agents" if prompt.type == "agent" else "prompts",
        "current": current,
        "sections": diffing.version_sections(left, right),
    }


def _labels(views: list[ChangeRequestView]) -> list[str | None]:
    return [v.request.requested_by for v in views] + [v.request.decided_by for v in views]


def _changes(request: Request, ctx: ProjectCtx, status: str, **extra: Any) -> Response:
    code = int(extra.pop("code", 200))
    with app_state(request).db.read() as session:
        rows = approvals.list_requests(
            session, ctx.id, status=None if status == "all" else status, limit=100
        )
        items = [_what_changes(session, ctx, view) for view in rows]
        names = actors.display_names(session, ctx.id, _labels(rows))
    context = {
        "items": items,
        "status": status,
        "actor_names": names,
        "section": "changes",
        **extra,
    }
    return render(request, "changes.html", context, ctx=ctx, status=code)


@router.get("/p/{project_id}/changes/{request_id}")
def change_page(request_id: RequestId, request: Request, ctx: ProjectDep) -> Response:
    """One change request in full: the whole diff, and approve / reject / withdraw."""
    with app_state(request).db.read() as session:
        view = approvals.get_request(session, ctx.id, request_id)
        item = _what_changes(session, ctx, view)
        names = actors.display_names(session, ctx.id, _labels([view]))
    context = {"item": item, "actor_names": names, "section": "changes"}
    return render(request, "change.html", context, ctx=ctx)


@router.get("/p/{project_id}/changes")
def change_list(
    request: Request,
    ctx: ProjectDep,
    status: Literal["pending", "approved", "rejected", "withdrawn", "all"] = "pending",
) -> Response:
    return _changes(request, ctx, status)


@router.post("/p/{project_id}/changes/{request_id}/{decision}")
def decide(
    request_id: RequestId,
    decision: Literal["approve", "reject", "withdraw"],
    request: Request,
    ctx: ProjectDep,
    form: CheckedForm,
) -> Response:
    comment = text(form, "comment").strip() or None
    try:
        parse(Decision, {"comment": comment})  # the API's rule
        with app_state(request).db.write() as session:
            if decision == "approve":
                cr, row = approvals.approve(session, ctx.actor, request_id, comment=comment)
                message = f"Approved #{cr.id}: v{row.version} is now active in {cr.environment}."
            elif decision == "reject":
                cr = approvals.reject(session, ctx.actor, request_id, comment=comment)
                message = f"Rejected change request #{cr.id}."
            else:
                cr = approvals.withdraw(session, ctx.actor, request_id)
                message = f"Withdrew change request #{cr.id}."
    except DomainError as exc:
        if exc.status == 404:
            raise
        errors = {f"request-{request_id}": exc.message}
        return _changes(request, ctx, "pending", errors=errors, code=exc.status)
    return redirect(f"/p/{ctx.id}/changes", message)
