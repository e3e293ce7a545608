"""GET /v1/prompts/{slug}/metrics: the figures per version and bucket equal a naive
computation over what was logged (both databases), with the logs' access rules."""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.server.helpers import assert_error
from tests.server.test_logs import accepted, post, record
from tests.support import Api, Project

BASE = datetime(2026, 4, 7, 9, 0, tzinfo=UTC)
P_ERROR = 2 ** (1 / 32) - 1  # half a bin of 16 per doubling: 2.2%


def naive_p(values: list[float], fraction: float) -> float:
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[round(fraction * 100) - 1]


def seed(api: Api, project: Project) -> list[dict[str, Any]]:
    rng = random.Random(5)
    made = []
    for i in range(90):
        made.append(
            record(
                prompt_slug="greeting" if i % 9 else "other",
                prompt_version=[1, 2, None][i % 3],
                created_at=(BASE + timedelta(minutes=rng.randint(0, 179))).isoformat(),
                status="error" if rng.random() < 0.2 else "ok",
                latency_ms=round(rng.uniform(50, 3000), 3),
                input_tokens=rng.choice([None, rng.randint(1, 500)]),
                output_tokens=rng.randint(0, 300),
                cost_usd=rng.choice([None, round(rng.uniform(0, 0.01), 6)]),
            )
        )
    assert accepted(post(api, project.key, made)) == (90, 0)
    return made


def expected(
    made: list[dict[str, Any]],
    bucket: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, datetime], list[dict[str, Any]]] = defaultdict(list)
    for r in made:
        at = datetime.fromisoformat(r["created_at"])
        if r["prompt_slug"] != "greeting" or (since and at < since) or (until and at >= until):
            continue
        start = (
            at.replace(minute=0, second=0, microsecond=0)
            if bucket == "hour"
            else at.replace(hour=0, minute=0, second=0, microsecond=0)
        )
        groups[(r["prompt_version"], start)].append(r)
    out = []
    for (version, start), rows in sorted(
        groups.items(), key=lambda kv: (kv[0][0] is None, kv[0][0] or 0, kv[0][1])
    ):
        latencies = [r["latency_ms"] for r in rows]
        out.append(
            {
                "version": version,
                "bucket": start,
                "requests": len(rows),
                "errors": sum(r["status"] == "error" for r in rows),
                "latency_p50_ms": naive_p(latencies, 0.5),
                "latency_p95_ms": naive_p(latencies, 0.95),
                "input_tokens": sum(r["input_tokens"] or 0 for r in rows),
                "output_tokens": sum(r["output_tokens"] or 0 for r in rows),
                "cost_usd": sum(r["cost_usd"] or 0 for r in rows),
            }
        )
    return out


def same(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert datetime.fromisoformat(g["bucket"]) == w["bucket"]
        for name in ("version", "requests", "errors", "input_tokens", "output_tokens"):
            assert g[name] == w[name], (name, g, w)
        assert g["cost_usd"] == pytest.approx(w["cost_usd"], rel=1e-9, abs=1e-12), (g, w)
        for name in ("latency_p50_ms", "latency_p95_ms"):
            # Exact from the rows; from the worker's rollups (which it may have made by
            # now), within half a histogram bin (domain/log_rollups).
            assert g[name] == pytest.approx(w[name], rel=P_ERROR), (name, g, w)


def test_metrics_match_a_naive_computation(api: Api, project: Project) -> None:
    made = seed(api, project)
    key = api.as_(project.key)
    for bucket in ("hour", "day"):
        r = key.get("/v1/prompts/greeting/metrics", params={"bucket": bucket})
        assert r.status_code == 200, r.text
        assert r.json()["bucket"] == bucket
        same(r.json()["data"], expected(made, bucket))
    since, until = BASE + timedelta(minutes=30), BASE + timedelta(minutes=150)
    r = key.get(
        "/v1/prompts/greeting/metrics",
        params={"since": since.isoformat(), "until": until.isoformat(), "environment": "dev"},
    )
    same(r.json()["data"], expected(made, "hour", since, until))
    assert sum(row["requests"] for row in r.json()["data"]) > 0
    assert key.get("/v1/prompts/nothing-logged/metrics").json()["data"] == []


def test_metrics_follow_the_logs_access_rules(
    api: Api, project: Project, keys: dict[str, str]
) -> None:
    seed(api, project)
    assert_error(api.get("/v1/prompts/greeting/metrics"), 401)
    assert_error(api.as_(keys["dev-read"]).get("/v1/prompts/greeting/metrics"), 403)
    other = api.as_(keys["staging-write"]).get("/v1/prompts/greeting/metrics")
    assert other.status_code == 200 and other.json()["data"] == []  # another environment
    assert_error(
        api.as_(project.key).get("/v1/prompts/greeting/metrics", params={"bucket": "week"}), 422
    )
