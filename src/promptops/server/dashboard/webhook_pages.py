"""Webhooks: endpoints (create: the signing secret is shown once; enable/disable), their
deliveries with each attempt, redeliver and test events. Rules are the API's
(:mod:`promptops.domain.webhooks`, :mod:`promptops.domain.webhook_scope`): members see every
endpoint of the project; changes need a project admin or owner. The form picks the
environments an endpoint listens to (none checked: every environment) and offers the event
types that are actually sent (``events.SENT_EVENT_TYPES``). Rotating the secret and
deleting an endpoint each pass a confirmation page; a rotated secret is shown once."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from promptops.contract.validation import parse
from promptops.contract.webhooks import WebhookCreate
from promptops.domain import actors, webhook_scope, webhooks
from promptops.domain.access import ENVIRONMENTS
from promptops.domain.errors import DomainError
from promptops.domain.events import SENT_EVENT_TYPES
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
from promptops.worker.runner import allow_private

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _list(request: Request, ctx: ProjectCtx, **extra: Any) -> Response:
    status = int(extra.pop("status", 200))
    with app_state(request).db.read() as session:
        endpoints = webhooks.list_endpoints(session, ctx.actor)
    context = {
        "endpoints": endpoints,
        "event_types": SENT_EVENT_TYPES,
        "environments": ENVIRONMENTS,
        "section": "webhooks",
        **extra,
    }
    return render(request, "webhooks.html", context, ctx=ctx, status=status)


@router.get("/p/{project_id}/webhooks")
def webhook_list(request: Request, ctx: ProjectDep) -> Response:
    return _list(request, ctx)


@router.post("/p/{project_id}/webhooks")
def create_webhook(request: Request, ctx: ProjectDep, form: CheckedForm) -> Response:
    url, description = text(form, "url").strip(), text(form, "description").strip()
    chosen = [t for t in SENT_EVENT_TYPES if text(form, f"event.{t}") == "on"]
    envs = [e for e in ENVIRONMENTS if text(form, f"env.{e}") == "on"]
    chosen_format = text(form, "format") or "standard"
    values = {
        "url": url,
        "description": description,
        "events": chosen,
        "envs": envs,
        "format": chosen_format,
    }
    st = app_state(request)
    try:
        body = parse(  # the API's rules and messages
            WebhookCreate,
            {
                "url": url,
                "description": description or None,
                "event_types": chosen,
                "environments": envs or None,
                "format": chosen_format,
            },
        )
        with st.db.write() as session:
            endpoint, secret = webhooks.create_endpoint(
                session,
                ctx.actor,
                url=body.url,
                allow_private=allow_private(st.settings),
                description=body.description,
                event_types=list(body.event_types),
                environments=body.environments,
                format=body.format,
                box=st.secrets,
            )
            created = {"id": endpoint.id, "secret": secret}
    except DomainError as exc:
        if exc.status == 403:
            raise
        errors = field_errors(exc, "url")
        return _list(request, ctx, errors=errors, values=values, status=exc.status)
    return _list(request, ctx, created=created, status=201)


def _detail(request: Request, ctx: ProjectCtx, endpoint_id: str, **extra: Any) -> Response:
    status = int(extra.pop("status", 200))
    with app_state(request).db.read() as session:
        endpoint = webhooks.find_endpoint(session, ctx.actor, endpoint_id)
        deliveries = webhooks.list_deliveries(session, endpoint, limit=50)
        names = actors.display_names(session, ctx.id, [endpoint.created_by])
    context = {
        "endpoint": endpoint,
        "deliveries": deliveries,
        "actor_names": names,
        "section": "webhooks",
        **extra,
    }
    return render(request, "webhook.html", context, ctx=ctx, status=status)


@router.get("/p/{project_id}/webhooks/{endpoint_id}")
def webhook_detail(endpoint_id: str, request: Request, ctx: ProjectDep) -> Response:
    return _detail(request, ctx, endpoint_id)


@router.get("/p/{project_id}/webhooks/{endpoint_id}/{action}")
def confirm_action(
    endpoint_id: str, action: Literal["rotate", "delete"], request: Request, ctx: ProjectDep
) -> Response:
    """Rotate the secret or delete the endpoint: a page that asks first (to those who may)."""
    webhook_scope.require_changer(ctx.actor)
    with app_state(request).db.read() as session:
        endpoint = webhooks.find_endpoint(session, ctx.actor, endpoint_id)
    overlap = app_state(request).settings.webhook_secret_overlap_seconds
    context = {"endpoint": endpoint, "action": action, "overlap": overlap, "section": "webhooks"}
    return render(request, "webhook_confirm.html", context, ctx=ctx)


@router.post("/p/{project_id}/webhooks/{endpoint_id}/rotate")
def rotate_secret(
    endpoint_id: str, request: Request, ctx: ProjectDep, form: CheckedForm
) -> Response:
    """A new signing secret, shown once on the endpoint's page; the old one stays valid for
    the overlap (deliveries carry both signatures until then)."""
    st = app_state(request)
    with st.db.write() as session:
        endpoint, secret = webhooks.rotate_secret(
            session,
            ctx.actor,
            endpoint_id,
            overlap_seconds=st.settings.webhook_secret_overlap_seconds,
            box=st.secrets,
        )
        rotated = {"secret": secret, "until": endpoint.previous_secret_expires_at}
    return _detail(request, ctx, endpoint_id, rotated=rotated)


@router.post("/p/{project_id}/webhooks/{endpoint_id}/delete")
def delete_webhook(
    endpoint_id: str, request: Request, ctx: ProjectDep, form: CheckedForm
) -> Response:
    with app_state(request).db.write() as session:
        webhooks.delete_endpoint(session, ctx.actor, endpoint_id)
    return redirect(f"/p/{ctx.id}/webhooks", f"Webhook {endpoint_id} deleted, with its deliveries.")


@router.post("/p/{project_id}/webhooks/{endpoint_id}/{action}")
def webhook_action(
    endpoint_id: str, action: str, request: Request, ctx: ProjectDep, form: CheckedForm
) -> Response:
    st = app_state(request)
    back = f"/p/{ctx.id}/webhooks/{endpoint_id}"
    try:
        with st.db.write() as session:
            if action == "redeliver":
                raw = text(form, "delivery")
                delivery_id = int(raw) if raw.isdigit() and len(raw) < 18 else 0
                webhooks.redeliver(session, ctx.actor, endpoint_id, delivery_id)
                message = f"Delivery {delivery_id} queued again."
            elif action == "test":
                webhooks.send_test(session, ctx.actor, endpoint_id)
                message = "A test event is on its way."
            elif action in ("enable", "disable"):
                webhooks.update_endpoint(
                    session,
                    ctx.actor,
                    endpoint_id,
                    fields={"enabled": action == "enable"},
                    allow_private=allow_private(st.settings),
                )
                message = f"Webhook {action}d."
            else:
                return _detail(request, ctx, endpoint_id, status=404)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        return _detail(request, ctx, endpoint_id, errors={"action": exc.message}, status=409)
    return redirect(back, message)
