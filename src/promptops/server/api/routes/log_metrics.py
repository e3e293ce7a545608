"""GET /v1/prompts/{slug}/metrics: per version and time bucket, from the request logs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from promptops.contract.errors import ErrorBody
from promptops.contract.fields import Environment
from promptops.domain import log_metrics
from promptops.server.api.deps import ActorDep, ProjectQuery, ReadSession
from promptops.server.api.routes.logs import UTCDateTime

__all__ = ["MetricsOut", "MetricsRowOut", "router"]

router = APIRouter(prefix="/v1/prompts", tags=["logs"])

_PERCENTILE = (
    "Linear interpolation between closest ranks; exact for buckets read from the logs"
    " alone, within 2.2% where the worker's rollups (latency histograms) answer"
)


class MetricsRowOut(BaseModel):
    version: int | None = Field(description="Prompt version; null for logs that named none")
    bucket: datetime = Field(description="Start of the bucket (UTC)")
    requests: int
    errors: int = Field(description="Logs with status `error`")
    latency_p50_ms: float = Field(description=_PERCENTILE)
    latency_p95_ms: float = Field(description=_PERCENTILE)
    input_tokens: int
    output_tokens: int
    cost_usd: float


class MetricsOut(BaseModel):
    slug: str
    bucket: str
    data: list[MetricsRowOut] = Field(description="By version (null last), then bucket")


@router.get(
    "/{slug}/metrics",
    response_model=MetricsOut,
    responses={code: {"model": ErrorBody} for code in (401, 403, 404, 422)},
)
def prompt_metrics(
    slug: str,
    actor: ActorDep,
    session: ReadSession,
    project_id: ProjectQuery = None,
    environment: Environment | None = None,
    since: Annotated[UTCDateTime | None, Query(description="created_at >= since")] = None,
    until: Annotated[UTCDateTime | None, Query(description="created_at < until")] = None,
    bucket: Literal["minute", "hour", "day"] = "hour",
) -> MetricsOut:
    """Requests, errors, latency p50/p95, tokens and cost of the prompt's logged calls, per
    version and bucket of call time. Same access as `GET /v1/logs`."""
    rows = log_metrics.prompt_metrics(
        session,
        actor,
        slug,
        project_id=project_id,
        environment=environment,
        since=since,
        until=until,
        bucket=bucket,
    )
    return MetricsOut(
        slug=slug,
        bucket=bucket,
        data=[MetricsRowOut.model_validate(row, from_attributes=True) for row in rows],
    )
