"""``q`` (text in the request or response) under every plan it may take: the rows and the
pages (cursors) are those of the naive selection of what was sent, with each other filter,
before and after the worker's search copy, by arrival and by call time (domain/logs.py,
``_searched``; on SQLite the rows are scanned, so the plans are PostgreSQL's)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from promptops.domain import log_rollups, logs
from promptops.domain.access import Actor
from tests.server.test_logs import accepted, listed_ids, post, record
from tests.support import Api, Project

BASE = datetime(2026, 6, 1, tzinfo=UTC)

# Small enough that a few dozen rows take every branch: a rare word is probed through the
# trigram index, a common one walked, one with too many candidates walked after the probe.
SMALL = logs.SearchTuning(sample=60, min_sample=10, walk=20, probe=6, rounds=2)
TUNINGS = (None, SMALL, logs.SearchTuning(sample=60, min_sample=10, walk=1, probe=1000))


def made_records() -> list[dict[str, Any]]:
    out = []
    for i in range(90):
        word = "zanzibar" if i % 29 == 3 else "Delivered" if i % 2 else "medium" if i % 7 else "x"
        out.append(
            record(
                provider=["openai", "anthropic", "gemini"][i % 3],
                model=["gpt-4o", "claude", "gemini"][i % 3],
                prompt_slug=["greeting", "summary"][i % 2],
                status="error" if i % 5 == 0 else "ok",
                metadata={"user": f"u{i % 4}"},
                tags=["t"] if i % 3 else None,
                created_at=(BASE + timedelta(minutes=(i * 37) % 90)).isoformat(),
                request={"messages": [{"role": "user", "content": f"order {i}"}]},
                response={"choices": [{"text": f"Your order was {word}."}]} if i % 11 else None,
            )
        )
    return out


def naive(made: list[dict[str, Any]], params: dict[str, Any]) -> list[str]:
    def keep(r: dict[str, Any]) -> bool:
        text = (json.dumps(r["request"]) + json.dumps(r["response"])).lower()
        at = datetime.fromisoformat(r["created_at"])
        return (
            params["q"].lower() in text
            and params.get("provider", r["provider"]) == r["provider"]
            and params.get("slug", r["prompt_slug"]) == r["prompt_slug"]
            and params.get("status", r["status"]) == r["status"]
            and ("tag" not in params or params["tag"] in (r["tags"] or []))
            and params.get("metadata", "user=" + r["metadata"]["user"])
            == "user=" + r["metadata"]["user"]
            and ("since" not in params or at >= datetime.fromisoformat(params["since"]))
            and ("until" not in params or at < datetime.fromisoformat(params["until"]))
        )

    order = {r["id"]: i for i, r in enumerate(made)}
    kept = [r for r in made if keep(r)]
    if "since" in params or "until" in params:  # by call time, then arrival
        kept.sort(key=lambda r: (datetime.fromisoformat(r["created_at"]), order[r["id"]]))
    return [r["id"] for r in reversed(kept)]


def domain_ids(
    app: Any, project: Project, limit: int, tuning: logs.SearchTuning | None, **params: Any
) -> list[str]:
    """Every page through ``logs.list_logs`` with ``tuning``, following its cursors."""
    filters = logs.LogFilters(
        text=params["q"],
        provider=params.get("provider"),
        prompt_slug=params.get("slug"),
        status=params.get("status"),
        tag=params.get("tag"),
        metadata=(tuple(params["metadata"].split("=", 1)),) if "metadata" in params else (),
        since=datetime.fromisoformat(params["since"]) if "since" in params else None,
        until=datetime.fromisoformat(params["until"]) if "until" in params else None,
    )
    actor = Actor(label="test", role="admin")
    out: list[str] = []
    before = None
    for _ in range(200):
        with app.state.db.read() as session:
            rows, before = logs.list_logs(
                session,
                actor,
                project_id=project.id,
                filters=filters,
                limit=limit,
                before=before,
                search=tuning,
            )
        assert len(rows) <= limit
        out += [row.id for row in rows]
        if before is None:
            return out
        assert len(rows) == limit
    raise AssertionError("pagination does not end")


CASES: list[dict[str, Any]] = [
    {"q": "zanzibar"},
    {"q": "ZANZIBAR", "provider": "openai"},
    {"q": "delivered"},
    {"q": "delivered", "metadata": "user=u1", "status": "ok"},
    {"q": "medium"},
    {"q": "medium", "slug": "greeting", "tag": "t"},
    {"q": "order 1"},
    {"q": "nowhere"},
    {"q": "was", "since": (BASE + timedelta(minutes=20)).isoformat()},
    {
        "q": "zanzibar",
        "since": BASE.isoformat(),
        "until": (BASE + timedelta(minutes=80)).isoformat(),
    },
    {"q": "delivered", "until": (BASE + timedelta(minutes=45)).isoformat(), "provider": "gemini"},
]


def check_all(app: Any, api: Api, project: Project, made: list[dict[str, Any]]) -> None:
    for params in CASES:
        want = naive(made, params)
        for limit in (1, 4, 100):
            assert listed_ids(api, project.key, limit=limit, **params) == want, (params, limit)
            for tuning in TUNINGS:
                got = domain_ids(app, project, limit, tuning, **params)
                assert got == want, (params, limit, tuning)


def test_every_plan_gives_the_naive_rows_and_pages(api: Api, project: Project, app: Any) -> None:
    made = made_records()
    assert accepted(post(api, project.key, made[:70]))[0] == 70
    db = app.state.db
    log_rollups.fill_search(db, chunk=25)  # the copy up to here, then rows after the cursor
    assert accepted(post(api, project.key, made[70:]))[0] == 20
    check_all(app, api, project, made)
    if db.is_sqlite:
        return
    with db.read() as session:
        high = log_rollups.search_cursor(session)
        plan = logs.search_plan
        assert plan(session, project.id, "%zanzibar%", high, 4, SMALL) == "probe"
        assert plan(session, project.id, "%delivered%", high, 4, SMALL) == "walk"
        assert plan(session, project.id, "%zanzibar%", high, 4, logs.SEARCH_TUNING) == "walk"
        assert plan(session, "other-project", "%zanzibar%", high, 4, SMALL) == "walk"
    log_rollups.fill_search(db)  # all copied: the same again
    check_all(app, api, project, made)
