"""Webhook endpoints (create, update, rotate the secret), their deliveries and attempts.

Whether a URL may be delivered to (scheme, private addresses) is the domain's check
(:mod:`promptops.domain.webhooks`); its shape and length are checked here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool

from promptops.contract.fields import Environment, Input, Output, Str

__all__ = [
    "AttemptOut",
    "DeliveryDetail",
    "DeliveryList",
    "DeliveryOut",
    "DeliveryStatus",
    "EventType",
    "RotateRequest",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookFormat",
    "WebhookList",
    "WebhookOut",
    "WebhookUpdate",
]

# Kept equal to promptops.domain.events.EVENT_TYPES (a test holds it).
EventType = Literal[
    "prompt_created",
    "prompt_template_version_created",
    "prompt_template_label_moved",
    "prompt_template_label_change_approved",
    "prompt_template_updated",
    "agent_run_completed",
    "eval_result_created",
]
DeliveryStatus = Literal["pending", "succeeded", "failed", "cancelled"]
WebhookFormat = Literal["standard", "promptlayer"]
FORMAT_DESCRIPTION = (
    "standard: Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature);"
    " promptlayer: PromptLayer's body {event_type, details, timestamp, ...} signed in"
    " X-PromptLayer-Signature"
)
Url = Str(2048, 1)
Description = Str(1000)
Environments = Annotated[
    list[Environment],
    Field(
        min_length=1,
        max_length=3,
        description="The environments whose events it receives (project-wide events, such as"
        " prompt_created, go to every endpoint).",
    ),
]


class WebhookCreate(Input):
    url: Url  # type: ignore[valid-type]
    description: Description | None = None  # type: ignore[valid-type]
    event_types: list[EventType] = Field(
        default_factory=list, max_length=20, description="Event types to send; empty: all."
    )
    environments: Environments | None = Field(
        None, description="Default: the key's own environment (people, admin key: all)."
    )
    enabled: StrictBool = True
    format: WebhookFormat = Field("standard", description=FORMAT_DESCRIPTION)
    project_id: Str(64) | None = None  # type: ignore[valid-type]  # instance admin key only


class WebhookUpdate(Input):
    url: Url | None = None  # type: ignore[valid-type]
    description: Description | None = None  # type: ignore[valid-type]
    event_types: list[EventType] | None = Field(None, max_length=20)
    environments: Environments | None = None
    enabled: StrictBool | None = None
    format: WebhookFormat | None = Field(None, description=FORMAT_DESCRIPTION)


class RotateRequest(Input):
    overlap_seconds: Annotated[float, Field(ge=0, le=30 * 86400, allow_inf_nan=False)] | None = (
        Field(None, description="How long the old secret stays valid (default: the setting).")
    )


class WebhookOut(Output):
    id: str
    url: str
    description: str | None
    event_types: list[str]
    environments: list[str]
    enabled: bool
    format: WebhookFormat = Field(description=FORMAT_DESCRIPTION)
    disabled_reason: str | None
    failure_count: int = Field(description="Failed attempts in a row.")
    previous_secret_expires_at: datetime | None = Field(
        description="Until then deliveries are also signed with the secret before the last"
        " rotation."
    )
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret (whsec_…). Shown only here; store it.")


class WebhookList(BaseModel):
    data: list[WebhookOut]


class AttemptOut(Output):
    attempt: int
    worker: str | None
    started_at: datetime
    succeeded: bool
    status_code: int | None
    latency_ms: float | None
    response_excerpt: str | None = Field(description="The first 1 KiB of the response body.")
    error: str | None


class DeliveryOut(BaseModel):
    id: int
    endpoint_id: str
    event_id: str = Field(description="The webhook-id header of every attempt.")
    event_type: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    redelivery_of: int | None
    created_at: datetime
    completed_at: datetime | None
    attempts: list[AttemptOut]


class DeliveryDetail(DeliveryOut):
    payload: dict[str, Any] = Field(description="The request body sent.")


class DeliveryList(BaseModel):
    data: list[DeliveryOut]
    next_cursor: int | None
