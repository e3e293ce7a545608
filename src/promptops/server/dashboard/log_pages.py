"""Request logs: the list with filters, one log in detail, and the per-prompt usage charts.

Reading logs follows the API's rule (:mod:`promptops.domain.logs`): it needs write
permission (editor or higher), because logs hold end users' requests and responses.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from promptops.db.models import RequestLog
from promptops.domain import actors, log_metrics, logs
from promptops.domain.errors import InvalidInputError
from promptops.server.dashboard.charts import Chart, line_chart, usage_by_day
from promptops.server.dashboard.formatting import format_cost
from promptops.server.dashboard.web import PageRoute, ProjectCtx, ProjectDep, app_state, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CHART_DAYS = 14
PAGE = 50


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
    except ValueError:
        raise InvalidInputError("enter the date as YYYY-MM-DD", field="since") from None


@router.get("/p/{project_id}/logs")
def log_list(
    request: Request,
    ctx: ProjectDep,
    environment: Literal["", "dev", "staging", "production"] = "",
    prompt: Annotated[str, Query(max_length=100)] = "",
    version: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    status: Literal["", "ok", "error"] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    tag: Annotated[str, Query(max_length=100)] = "",
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    slug, tag = prompt.strip(), tag.strip()
    values = {
        "environment": environment,
        "prompt": slug,
        "version": version,
        "status": status,
        "since": since,
        "tag": tag,
    }
    errors: dict[str, str] = {}
    rows: list[RequestLog] = []
    cursor = None
    try:
        filters = logs.LogFilters(
            environment=environment or None,
            prompt_slug=slug or None,
            prompt_version=version,
            status=status or None,
            since=_since(since),
            tag=tag or None,
        )
        with app_state(request).db.read() as session:
            rows, cursor = logs.list_logs(
                session, ctx.actor, filters=filters, limit=PAGE, before=before
            )
    except InvalidInputError as exc:
        errors[exc.field or "since"] = exc.message
    query = urlencode({k: v for k, v in values.items() if v not in ("", None)})
    context = {
        "logs": rows,
        "next_cursor": cursor,
        "query": query,
        "section": "logs",
        "values": values,
        "errors": errors,
    }
    return render(request, "logs.html", context, ctx=ctx, status=422 if errors else 200)


@router.get("/p/{project_id}/logs/{log_id}")
def log_detail(log_id: str, request: Request, ctx: ProjectDep) -> Response:
    with app_state(request).db.read() as session:
        row = logs.get_log(session, ctx.actor, log_id)
        names = actors.display_names(session, ctx.id, [row.actor])
    pretty = {
        name: json.dumps(getattr(row, name), indent=2, ensure_ascii=False, sort_keys=True)
        for name in ("request", "response")
    }
    context = {"log": row, "pretty": pretty, "actor_names": names, "section": "logs"}
    return render(request, "log.html", context, ctx=ctx)


def prompt_charts(request: Request, ctx: ProjectCtx, slug: str) -> list[Chart] | None:
    """Requests, error rate, latency p50 and p95 and cost per day over the last two weeks,
    by version, from the metrics the API serves (``GET /v1/prompts/{slug}/metrics``); None
    when the viewer may not read logs, [] when there are none."""
    if not ctx.can_edit:
        return None
    today = datetime.now(UTC).date()
    start = datetime.combine(today - timedelta(days=CHART_DAYS - 1), time.min, tzinfo=UTC)
    with app_state(request).db.read() as session:
        rows = log_metrics.prompt_metrics(session, ctx.actor, slug, since=start, bucket="day")
    usage = usage_by_day(rows, days=CHART_DAYS, today=today)
    if usage.empty:
        return []
    return [
        line_chart("Requests", usage.days, usage.requests, lambda v: f"{v:g}", "chart-requests"),
        line_chart(
            "Error rate (%)", usage.days, usage.error_rate, lambda v: f"{v:.3g}", "chart-errors"
        ),
        line_chart(
            "Latency p50 (ms)",
            usage.days,
            usage.latency_p50_ms,
            lambda v: f"{v:.0f}",
            "chart-latency-p50",
        ),
        line_chart(
            "Latency p95 (ms)",
            usage.days,
            usage.latency_p95_ms,
            lambda v: f"{v:.0f}",
            "chart-latency-p95",
        ),
        line_chart("Cost (USD)", usage.days, usage.cost_usd, format_cost, "chart-cost"),
    ]
