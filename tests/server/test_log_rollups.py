"""The worker's passes over the request logs (domain/log_rollups): metrics from rollups
plus the rows after them equal a naive computation, catch up after new and late rows; text
search finds rows before and after the search copy; time-range pages by call time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from promptops.db.models import RequestLog, RequestLogRollup
from promptops.domain import log_rollups
from tests.server.test_log_metrics import BASE, expected, same, seed
from tests.server.test_logs import accepted, listed_ids, post, record
from tests.support import Api, Project


def metrics(api: Api, project: Project, **params: Any) -> list[dict[str, Any]]:
    r = api.as_(project.key).get("/v1/prompts/greeting/metrics", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def check(api: Api, project: Project, made: list[dict[str, Any]]) -> None:
    ranges = [
        (None, None),
        (BASE + timedelta(minutes=30, seconds=0.5), BASE + timedelta(minutes=150)),
        (BASE + timedelta(hours=1), BASE + timedelta(hours=2)),  # whole hours
        (BASE - timedelta(days=2), BASE + timedelta(days=1, minutes=7)),
    ]
    for since, until in ranges:
        params = {k: v.isoformat() for k, v in (("since", since), ("until", until)) if v}
        for bucket in ("hour", "day"):
            same(
                metrics(api, project, bucket=bucket, **params), expected(made, bucket, since, until)
            )


def test_rollups_match_a_naive_computation_and_catch_up(
    api: Api, project: Project, app: Any
) -> None:
    db = app.state.db
    made = seed(api, project)
    check(api, project, made)  # rows only (or whatever the embedded worker rolled up)
    log_rollups.roll_up(db, chunk=37)  # several chunks
    with db.read() as session:
        top = session.scalar(select(func.max(RequestLog.seq)))
        assert log_rollups.cursor(session, log_rollups.ROLLUPS) == top
        spans = set(session.scalars(select(RequestLogRollup.span)))
    assert spans == {3600, 86400}
    check(api, project, made)
    # New rows, one of them late (an old call time): the fresh tail, then rolled up too.
    more = [
        record(
            prompt_slug="greeting",
            prompt_version=[1, 2, None][i % 3],
            created_at=(BASE + timedelta(minutes=7 * i)).isoformat(),
            latency_ms=100.0 + 37 * i,
            status="error" if i % 4 == 0 else "ok",
            input_tokens=i,
            output_tokens=2 * i,
            cost_usd=0.001 * i,
        )
        for i in range(20)
    ]
    late = (BASE - timedelta(days=1)).isoformat()
    more.append(
        record(
            prompt_slug="greeting",
            prompt_version=None,
            created_at=late,
            input_tokens=None,
            output_tokens=None,
            cost_usd=None,
        )
    )
    assert accepted(post(api, project.key, more)) == (21, 0)
    made += more
    check(api, project, made)
    assert log_rollups.roll_up(db) > 0
    assert log_rollups.roll_up(db) == 0  # nothing new: nothing twice
    check(api, project, made)


def test_percentiles_from_bins_stay_within_half_a_bin() -> None:
    summary = log_rollups.Summary(values=None)
    values = [0.0, 0.2, 3.0, 80.0, 81.0, 950.5, 1000.0, 20_000.0, 20_001.0]
    for value in values:
        summary.add_row(False, None, None, None, value)
    summary.values = None
    exact = log_rollups.Summary()
    for value in values:
        exact.add_row(False, None, None, None, value)
    for fraction in (0.0, 0.25, 0.5, 0.9, 0.95, 1.0):
        want = exact.percentile(fraction)
        got = summary.percentile(fraction)
        assert abs(got - want) <= want * (2 ** (1 / 32) - 1) + 1e-12, (fraction, got, want)


def test_text_search_finds_rows_before_and_after_the_worker_copies_them(
    api: Api, project: Project, app: Any
) -> None:
    db = app.state.db
    words = ["Zanzibar", "pending", "Zanzibar and more"]
    first = [record(response={"text": words[i % 3]}) for i in range(9)]
    assert accepted(post(api, project.key, first))[0] == 9

    def found(q: str) -> list[str]:
        return listed_ids(api, project.key, limit=2, q=q)

    want = [r["id"] for r in reversed(first) if "zanzibar" in r["response"]["text"].lower()]
    assert found("zanZIBAR") == want  # the rows themselves (nothing copied yet, maybe)
    log_rollups.fill_search(db, chunk=4)
    assert found("zanZIBAR") == want  # the copy
    later = [record(request={"messages": [{"role": "user", "content": "to Zanzibar?"}]})]
    assert accepted(post(api, project.key, later))[0] == 1
    assert found("zanzibar") == [later[0]["id"], *want]  # copy + the fresh row
    log_rollups.fill_search(db)
    assert found("zanzibar") == [later[0]["id"], *want]
    assert found("pending") == [
        r["id"] for r in reversed(first) if r["response"]["text"] == "pending"
    ]
    assert found("nowhere") == []
    if not db.is_sqlite:
        with db.read() as session:
            assert session.scalar(text("SELECT count(*) FROM request_log_search")) == 10


def test_time_range_pages_follow_call_time(api: Api, project: Project) -> None:
    """With since/until, pages are newest by created_at (not arrival), each row once."""
    made = [
        record(
            id=str(uuid.uuid4()), created_at=(BASE + timedelta(minutes=(i * 17) % 50)).isoformat()
        )
        for i in range(50)
    ]
    for start in range(0, 50, 10):
        assert accepted(post(api, project.key, made[start : start + 10]))[0] == 10
    order = {r["id"]: i for i, r in enumerate(made)}
    since = BASE + timedelta(minutes=5)
    until = BASE + timedelta(minutes=45)
    want = sorted(
        (r for r in made if since <= datetime.fromisoformat(r["created_at"]) < until),
        key=lambda r: (datetime.fromisoformat(r["created_at"]), order[r["id"]]),
        reverse=True,
    )
    for limit in (1, 3, 100):
        got = listed_ids(
            api, project.key, limit=limit, since=since.isoformat(), until=until.isoformat()
        )
        assert got == [r["id"] for r in want], limit
    assert datetime(2026, 1, 1, tzinfo=UTC) < BASE
