"""/v1/webhooks: endpoints (secret shown on creation), their delivery log, redeliver, test.

Endpoints are scoped by environment (:mod:`promptops.domain.webhook_scope`): a key sees and
(``write``) changes only endpoints whose environments are all its own, others are 404 to it;
people see all of their project's, project admins/owners change them; the instance admin key
sees and changes all, naming the project with ``project_id``. Keys of another project see
nothing (404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from promptops.contract.webhooks import (
    AttemptOut,
    DeliveryDetail,
    DeliveryList,
    DeliveryOut,
    DeliveryStatus,
    RotateRequest,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookOut,
    WebhookUpdate,
)
from promptops.db.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from promptops.domain import webhooks
from promptops.server.api.deps import ActorDep, Limit, ProjectQuery, ReadSession, StateDep
from promptops.worker.runner import allow_private

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

WebhookId = Annotated[str, Path(max_length=40, description="The endpoint id (wh_…)")]
DeliveryId = Annotated[int, Path(ge=1, le=2**62)]


def _delivery(row: WebhookDelivery, event: Event, attempts: list[WebhookAttempt]) -> dict[str, Any]:
    return {
        "id": row.id,
        "endpoint_id": row.endpoint_id,
        "event_id": event.uid,
        "event_type": event.type,
        "status": row.status,
        "attempt_count": row.attempts,
        "next_attempt_at": row.next_attempt_at if row.status == "pending" else None,
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "redelivery_of": row.redelivery_of,
        "created_at": row.created_at,
        "completed_at": row.completed_at,
        "attempts": [AttemptOut.model_validate(a) for a in attempts],
    }


def _created(endpoint: WebhookEndpoint, secret: str) -> WebhookCreated:
    return WebhookCreated(**WebhookOut.model_validate(endpoint).model_dump(), secret=secret)


@router.post("", status_code=201, response_model=WebhookCreated)
def create_webhook(body: WebhookCreate, actor: ActorDep, st: StateDep) -> WebhookCreated:
    """Create an endpoint. The response carries its signing secret, shown only this once."""
    with st.db.write() as session:
        endpoint, secret = webhooks.create_endpoint(
            session,
            actor,
            url=body.url,
            description=body.description,
            event_types=body.event_types,
            environments=body.environments,
            enabled=body.enabled,
            allow_private=allow_private(st.settings),
            project_id=body.project_id,
            format=body.format,
            box=st.secrets,
        )
        return _created(endpoint, secret)


@router.get("", response_model=WebhookList)
def list_webhooks(
    actor: ActorDep, session: ReadSession, project_id: ProjectQuery = None
) -> WebhookList:
    rows = webhooks.list_endpoints(session, actor, project_id)
    return WebhookList(data=[WebhookOut.model_validate(r) for r in rows])


@router.get("/{webhook_id}", response_model=WebhookOut)
def get_webhook(
    webhook_id: WebhookId, actor: ActorDep, session: ReadSession, project_id: ProjectQuery = None
) -> WebhookOut:
    endpoint = webhooks.find_endpoint(session, actor, webhook_id, project_id=project_id)
    return WebhookOut.model_validate(endpoint)


@router.patch("/{webhook_id}", response_model=WebhookOut)
def update_webhook(
    webhook_id: WebhookId,
    body: WebhookUpdate,
    actor: ActorDep,
    st: StateDep,
    project_id: ProjectQuery = None,
) -> WebhookOut:
    """Change url, description, event_types, environments or enabled (enabling resets the
    failure count)."""
    with st.db.write() as session:
        endpoint = webhooks.update_endpoint(
            session,
            actor,
            webhook_id,
            fields=body.model_dump(exclude_unset=True),
            allow_private=allow_private(st.settings),
            project_id=project_id,
        )
        return WebhookOut.model_validate(endpoint)


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(
    webhook_id: WebhookId, actor: ActorDep, st: StateDep, project_id: ProjectQuery = None
) -> Response:
    with st.db.write() as session:
        webhooks.delete_endpoint(session, actor, webhook_id, project_id=project_id)
    return Response(status_code=204)


@router.post("/{webhook_id}/rotate-secret", response_model=WebhookCreated)
def rotate_secret(
    webhook_id: WebhookId,
    actor: ActorDep,
    st: StateDep,
    body: RotateRequest | None = None,
    project_id: ProjectQuery = None,
) -> WebhookCreated:
    """A new secret (shown only here). The old one stays valid for `overlap_seconds`:
    until then every delivery carries both signatures."""
    overlap = body.overlap_seconds if body and body.overlap_seconds is not None else None
    with st.db.write() as session:
        endpoint, secret = webhooks.rotate_secret(
            session,
            actor,
            webhook_id,
            overlap_seconds=st.settings.webhook_secret_overlap_seconds
            if overlap is None
            else overlap,
            project_id=project_id,
            box=st.secrets,
        )
        return _created(endpoint, secret)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryList)
def list_deliveries(
    webhook_id: WebhookId,
    actor: ActorDep,
    session: ReadSession,
    project_id: ProjectQuery = None,
    limit: Limit = 50,
    cursor: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    status: DeliveryStatus | None = None,
) -> DeliveryList:
    """The delivery log, newest first: each delivery with its attempts."""
    endpoint = webhooks.find_endpoint(session, actor, webhook_id, project_id=project_id)
    rows = webhooks.list_deliveries(
        session,
        endpoint,
        limit=limit,
        before_id=cursor,
        status=status,
        environment=actor.environment,
    )
    return DeliveryList(
        data=[DeliveryOut(**_delivery(*row)) for row in rows],
        next_cursor=rows[-1][0].id if len(rows) == limit else None,
    )


@router.get("/{webhook_id}/deliveries/{delivery_id}", response_model=DeliveryDetail)
def get_delivery(
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    actor: ActorDep,
    session: ReadSession,
    project_id: ProjectQuery = None,
) -> DeliveryDetail:
    endpoint = webhooks.find_endpoint(session, actor, webhook_id, project_id=project_id)
    row, event, attempts = webhooks.get_delivery(
        session, endpoint, delivery_id, environment=actor.environment
    )
    return DeliveryDetail(**_delivery(row, event, attempts), payload=event.payload)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryOut,
)
def redeliver(
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    actor: ActorDep,
    st: StateDep,
    project_id: ProjectQuery = None,
) -> DeliveryOut:
    """Send the delivery's event again (a new delivery, same webhook-id)."""
    with st.db.write() as session:
        row, event = webhooks.redeliver(
            session, actor, webhook_id, delivery_id, project_id=project_id
        )
        return DeliveryOut(**_delivery(row, event, []))


@router.post("/{webhook_id}/test", status_code=202, response_model=DeliveryOut)
def send_test(
    webhook_id: WebhookId, actor: ActorDep, st: StateDep, project_id: ProjectQuery = None
) -> DeliveryOut:
    """Queue a `webhook_test` event to this endpoint; follow it in the delivery log."""
    with st.db.write() as session:
        row, event = webhooks.send_test(session, actor, webhook_id, project_id=project_id)
        return DeliveryOut(**_delivery(row, event, []))
