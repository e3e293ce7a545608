"""Request logs (/v1/logs): batches stored whole or not at all, idempotent re-sends (also
racing, also across a kill -9 of the server), filters and cursor pages, project and
environment scoping, and log writes that never take the threads the read path needs."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from promptops.db.models import RequestLog
from tests.server.helpers import assert_error, row_counts
from tests.support import Api, Project, free_port, live_server

ROOT = Path(__file__).resolve().parents[2]

# ---- helpers ------------------------------------------------------------------------------


def record(**fields: Any) -> dict[str, Any]:
    """A valid record as the SDK sends it; ``fields`` override or add."""
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "provider": "openai",
        "model": "gpt-4o-mini",
        "request": {"messages": [{"role": "user", "content": "Hi Ada"}], "temperature": 0.2},
        "response": {"choices": [{"message": {"role": "assistant", "content": "Hello!"}}]},
        "status": "ok",
        "latency_ms": 123.5,
    }
    base.update(fields)
    return base


def post(api: Api, key: str, records: list[dict[str, Any]]) -> httpx.Response:
    return api.as_(key).post("/v1/logs", json={"records": records})


def accepted(r: httpx.Response) -> tuple[int, int]:
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"accepted", "duplicates"}, body
    return body["accepted"], body["duplicates"]


def stored_ids(app: Any) -> list[str]:
    with app.state.db.read() as session:
        return list(session.scalars(select(RequestLog.id)))


def pages(api: Api, key: str, limit: int, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page of ``GET /v1/logs`` with ``params``, following ``next_cursor``."""
    out: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        r = api.as_(key).get("/v1/logs", params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        out.append(body["data"])
        assert len(body["data"]) <= limit
        cursor = body["next_cursor"]
        if cursor is None:
            return out
        assert isinstance(cursor, str) and len(body["data"]) == limit
        assert len(out) < 1000, "pagination does not end"


def listed_ids(api: Api, key: str, limit: int = 7, **params: Any) -> list[str]:
    return [row["id"] for page in pages(api, key, limit, **params) for row in page]


def raw_post(api: Api, key: str, body: str) -> httpx.Response:
    return api.as_(key).post(
        "/v1/logs", content=body.encode(), headers={"Content-Type": "application/json"}
    )


# ---- storing a batch ----------------------------------------------------------------------


def test_batch_is_stored_with_every_field(api: Api, project: Project, app: Any) -> None:
    full = record(
        created_at="2026-03-01T12:30:00+02:00",
        provider="anthropic",
        model="claude-3-5-sonnet",
        prompt_slug="onboarding-email",
        prompt_version=3,
        environment="dev",
        response=None,
        status="error",
        error="rate limited (429)",
        latency_ms=0,
        input_tokens=120,
        output_tokens=0,
        cost_usd=0.00042,
        metadata={"user": "u_1", "trace": {"id": "t-9", "spans": [1, 2.5, None, True]}},
        tags=["beta", "eu"],
    )
    minimal = {k: v for k, v in record().items() if k != "response"}
    before = datetime.now(UTC)

    assert accepted(post(api, project.key, [full, minimal])) == (2, 0)

    got = api.as_(project.key).get(f"/v1/logs/{full['id']}").json()
    assert got == {
        "id": full["id"],
        "environment": "dev",
        "received_at": got["received_at"],
        "created_at": "2026-03-01T10:30:00Z",
        "provider": "anthropic",
        "model": "claude-3-5-sonnet",
        "prompt_slug": "onboarding-email",
        "prompt_version": 3,
        "status": "error",
        "error": "rate limited (429)",
        "latency_ms": 0.0,
        "input_tokens": 120,
        "output_tokens": 0,
        "cost_usd": 0.00042,
        "request": full["request"],
        "response": None,
        "metadata": full["metadata"],
        "tags": ["beta", "eu"],
        "actor": project.prefix,
    }
    received = datetime.fromisoformat(got["received_at"])
    assert before - timedelta(seconds=1) <= received <= datetime.now(UTC)

    bare = api.as_(project.key).get(f"/v1/logs/{minimal['id']}").json()
    # Without a client time, the call is dated by its arrival; optional fields are null.
    assert bare["created_at"] == bare["received_at"]
    for field in ("prompt_slug", "prompt_version", "error", "response", "metadata", "tags"):
        assert bare[field] is None, field
    assert bare["request"] == minimal["request"] and bare["environment"] == "dev"
    assert sorted(stored_ids(app)) == sorted([full["id"], minimal["id"]])


def test_ids_are_uuids_in_one_canonical_form(api: Api, project: Project, app: Any) -> None:
    log_id = uuid.uuid4()
    assert accepted(post(api, project.key, [record(id=str(log_id).upper())])) == (1, 0)
    # The same UUID spelled another way is the same record.
    assert accepted(post(api, project.key, [record(id=log_id.hex)])) == (0, 1)
    assert stored_ids(app) == [str(log_id)]
    for spelling in (str(log_id), str(log_id).upper()):
        r = api.as_(project.key).get(f"/v1/logs/{spelling}")
        assert r.status_code == 200 and r.json()["id"] == str(log_id)
    assert_error(api.as_(project.key).get("/v1/logs/not-a-uuid"), 404, code="not_found")
    assert_error(api.as_(project.key).get(f"/v1/logs/{uuid.uuid4()}"), 404, code="not_found")


def test_resending_stores_nothing_twice(api: Api, project: Project, app: Any) -> None:
    batch = [record(model=f"m{i}") for i in range(4)]
    assert accepted(post(api, project.key, batch)) == (4, 0)
    assert accepted(post(api, project.key, batch)) == (0, 4)

    new = [record(), record()]
    changed = dict(batch[0], model="changed", status="error")
    mixed = [batch[1], new[0], changed, new[1], new[0]]  # new[0] twice within the batch
    assert accepted(post(api, project.key, mixed)) == (2, 3)

    ids = stored_ids(app)
    assert len(ids) == len(set(ids)) == 6
    # A re-sent id never overwrites what was stored first.
    first = api.as_(project.key).get(f"/v1/logs/{batch[0]['id']}").json()
    assert (first["model"], first["status"]) == ("m0", "ok")


def test_resends_across_the_fast_path_and_the_contract_store_nothing_twice(
    api: Api, project: Project, app: Any
) -> None:
    """Ordinary batches take the fast decoder; one it declines (here: nesting it leaves to
    the contract) takes the pydantic path. Either way an id is stored once, with what was
    sent first, and the stored JSON reads back as sent."""
    from promptops.server.api.log_decode import decode_batch

    inner: list[Any] = [1]
    for _ in range(110):  # deeper than the fast decoder judges, shallower than the contract
        inner = [inner]
    deep = {"x": inner}
    fast = [record(model=f"fast{i}", metadata={"i": i, "text": "café 😀"}) for i in range(3)]
    slow = [record(model=f"slow{i}", request=deep, metadata={"i": i}) for i in range(3)]
    for batch, taken in ((fast, True), (slow, False)):
        assert (decode_batch(json.dumps({"records": batch}).encode()) is not None) is taken

    assert accepted(post(api, project.key, fast)) == (3, 0)
    assert accepted(post(api, project.key, slow)) == (3, 0)
    # The fast path's records re-sent in a body only the contract takes, and the reverse.
    assert accepted(post(api, project.key, [dict(r, request=deep) for r in fast])) == (0, 3)
    assert accepted(post(api, project.key, [dict(r, request={}) for r in slow])) == (0, 3)
    assert accepted(post(api, project.key, fast + slow + [record()])) == (1, 6)

    ids = stored_ids(app)
    assert len(ids) == len(set(ids)) == 7
    for sent in fast + slow:
        got = api.as_(project.key).get(f"/v1/logs/{sent['id']}").json()
        assert (got["model"], got["request"], got["metadata"]) == (
            sent["model"],
            sent["request"],
            sent["metadata"],
        )


def test_a_refused_fast_path_batch_stores_nothing(api: Api, project: Project, app: Any) -> None:
    """A NUL escaped in a JSON field is found by the domain after the fast decoder took the
    batch: the error names the record and field, and no record of the batch is stored."""
    from promptops.server.api.log_decode import decode_batch

    batch = [record() for _ in range(5)]
    batch[2] = record(response={"choices": [{"text": "a\u0000b"}]})
    assert decode_batch(json.dumps({"records": batch}).encode()) is not None
    detail = assert_error(post(api, project.key, batch), 422, field="records.2.response")
    assert detail["message"].startswith("records.2.response: must not contain NUL")
    assert stored_ids(app) == []


def test_concurrent_resends_store_each_record_once(app: Any, project: Project) -> None:
    batch = [record(model=f"m{i}") for i in range(200)]
    copies = 8
    barrier = threading.Barrier(copies)

    with live_server(app) as server:

        def send(_: int) -> tuple[int, int]:
            with httpx.Client(base_url=server.base_url, timeout=60) as http:
                barrier.wait()
                r = http.post(
                    "/v1/logs",
                    json={"records": batch},
                    headers={"Authorization": f"Bearer {project.key}"},
                )
                return accepted(r)

        with ThreadPoolExecutor(copies) as pool:
            results = list(pool.map(send, range(copies)))

    assert sum(a for a, _ in results) == len(batch)
    assert sum(d for _, d in results) == len(batch) * (copies - 1)
    ids = stored_ids(app)
    assert len(ids) == len(set(ids)) == len(batch)
    assert set(ids) == {r["id"] for r in batch}


# ---- refusing bad input -------------------------------------------------------------------

BAD_RECORDS = [
    pytest.param({"latency_ms": -1}, "records.3.latency_ms", id="negative-latency"),
    pytest.param({"latency_ms": "12"}, "records.3.latency_ms", id="latency-as-text"),
    pytest.param({"cost_usd": -0.01}, "records.3.cost_usd", id="negative-cost"),
    pytest.param({"input_tokens": True}, "records.3.input_tokens", id="bool-tokens"),
    pytest.param({"id": "not-a-uuid"}, "records.3.id", id="bad-id"),
    pytest.param({"id": None}, "records.3.id", id="null-id"),
    pytest.param({"provider": "x" * 51}, "records.3.provider", id="provider-too-long"),
    pytest.param({"provider": ""}, "records.3.provider", id="empty-provider"),
    pytest.param({"status": "failed"}, "records.3.status", id="unknown-status"),
    pytest.param({"request": ["not", "an", "object"]}, "records.3.request", id="request-list"),
    pytest.param({"response": "text"}, "records.3.response", id="response-text"),
    pytest.param({"metadata": {"k": "a\u0000b"}}, "records.3.metadata", id="nul-in-json"),
    pytest.param({"error": "a\u0000b"}, "records.3.error", id="nul-in-text"),
    pytest.param({"tags": ["t"] * 51}, "records.3.tags", id="too-many-tags"),
    pytest.param({"tags": ["ok", ""]}, "records.3.tags.1", id="empty-tag"),
    pytest.param({"prompt_version": 0}, "records.3.prompt_version", id="version-zero"),
    pytest.param({"created_at": "yesterday"}, "records.3.created_at", id="bad-time"),
    pytest.param({"environment": "qa"}, "records.3.environment", id="unknown-environment"),
    pytest.param({"colour": "red"}, "records.3.colour", id="unknown-field"),
]


@pytest.mark.parametrize(("change", "field"), BAD_RECORDS)
def test_one_bad_record_refuses_the_whole_batch(
    api: Api, project: Project, app: Any, change: dict[str, Any], field: str
) -> None:
    assert accepted(post(api, project.key, [record()])) == (1, 0)
    before = row_counts(app)
    batch = [record() for _ in range(6)]
    batch[3] = {**batch[3], **change}

    detail = assert_error(post(api, project.key, batch), 422, field=field)
    assert detail["message"].startswith(field), detail
    assert row_counts(app) == before


def test_missing_field_is_named(api: Api, project: Project, app: Any) -> None:
    batch = [record(), {k: v for k, v in record().items() if k != "latency_ms"}]
    detail = assert_error(post(api, project.key, batch), 422, field="records.1.latency_ms")
    assert "required" in detail["message"].lower()
    assert stored_ids(app) == []


@pytest.mark.parametrize(
    ("field", "literal"),
    [
        ("request", '{"x": NaN}'),
        ("response", '{"x": [1, Infinity]}'),
        ("metadata", '{"a": {"b": -Infinity}}'),
        ("latency_ms", "NaN"),
        ("cost_usd", "Infinity"),
    ],
)
def test_non_finite_numbers_are_refused(
    api: Api, project: Project, app: Any, field: str, literal: str
) -> None:
    """JSON has no NaN/Infinity, but lenient encoders (Python's json) write them."""
    body = json.dumps({"records": [record(), record(**{field: "@@"})]}).replace('"@@"', literal)
    assert_error(raw_post(api, project.key, body), 422, field=f"records.1.{field}")
    assert stored_ids(app) == []


def test_malformed_bodies_get_clear_errors(api: Api, project: Project, app: Any) -> None:
    key = api.as_(project.key)
    assert_error(raw_post(api, project.key, '{"records": ['), 422, code="invalid_json")
    assert_error(raw_post(api, project.key, '{"records": {}}'), 422, field="records")
    assert_error(raw_post(api, project.key, "{}"), 422, field="records")
    assert_error(raw_post(api, project.key, '{"records": [], "x": 1}'), 422, field="x")
    lone = '{"records": [' + json.dumps(record())[:-1] + ', "error": "\\ud800"}]}'
    assert_error(raw_post(api, project.key, lone), 422)
    for content_type in (None, "text/plain", "application/x-www-form-urlencoded"):
        headers = {"Content-Type": content_type} if content_type else {}
        r = key.post("/v1/logs", content=b'{"records": []}', headers=headers)
        assert "Content-Type: application/json" in assert_error(r, 422)["message"]
    assert stored_ids(app) == []
    assert accepted(raw_post(api, project.key, '{"records": []}')) == (0, 0)


def test_oversized_batches_are_refused(api: Api, project: Project, app: Any) -> None:
    small = {"provider": "openai", "model": "m", "request": {}, "status": "ok", "latency_ms": 1}
    too_many = [{**small, "id": str(uuid.uuid4())} for _ in range(1001)]
    detail = assert_error(post(api, project.key, too_many), 422, field="records")
    assert "1000" in detail["message"]
    big = [record(request={"prompt": "x" * 300_000}) for _ in range(4)]  # > 1 MiB
    assert_error(post(api, project.key, big), 413, code="payload_too_large")
    assert stored_ids(app) == []
    # The limit itself is fine.
    assert accepted(post(api, project.key, too_many[:1000])) == (1000, 0)


# ---- who may log, and where -----------------------------------------------------------------


def test_read_key_can_log_but_not_read_logs(api: Api, keys: dict[str, str], app: Any) -> None:
    rec = record()
    assert accepted(post(api, keys["dev-read"], [rec])) == (1, 0)
    assert_error(api.as_(keys["dev-read"]).get("/v1/logs"), 403, code="forbidden")
    assert_error(api.as_(keys["dev-read"]).get(f"/v1/logs/{rec['id']}"), 403)
    got = api.as_(keys["dev-write"]).get(f"/v1/logs/{rec['id']}").json()
    assert keys["dev-read"].startswith(got["actor"] + "_")  # the sending key's prefix


def test_environment_comes_from_the_key(
    api: Api, project: Project, keys: dict[str, str], admin_key: str
) -> None:
    prod, dev = record(), record()
    assert accepted(post(api, keys["production-read"], [prod])) == (1, 0)
    assert accepted(post(api, keys["dev-read"], [dev, record(environment="dev")])) == (2, 0)
    # Naming another environment than the key's refuses the batch.
    r = post(api, keys["dev-read"], [record(), record(environment="production")])
    assert_error(r, 403, code="forbidden", field="records.1.environment")

    prod_write, dev_write = keys["production-write"], keys["dev-write"]
    assert api.as_(prod_write).get(f"/v1/logs/{prod['id']}").json()["environment"] == "production"
    assert listed_ids(api, prod_write) == [prod["id"]]
    assert prod["id"] not in listed_ids(api, dev_write)
    assert_error(api.as_(dev_write).get(f"/v1/logs/{prod['id']}"), 404)
    assert_error(api.as_(dev_write).get("/v1/logs", params={"environment": "production"}), 403)
    assert listed_ids(api, dev_write, environment="dev") == listed_ids(api, dev_write)

    # The instance admin key names the project and sees every environment.
    project_id = project.id
    everything = listed_ids(api, admin_key, project_id=project_id)
    assert set(everything) >= {prod["id"], dev["id"]} and len(everything) == 3
    assert listed_ids(api, admin_key, project_id=project_id, environment="production") == [
        prod["id"]
    ]
    assert_error(api.as_(admin_key).get("/v1/logs"), 422, field="project_id")
    assert_error(api.as_(admin_key).post("/v1/logs", json={"records": []}), 403)


def test_logs_are_scoped_to_their_project(
    api: Api, project: Project, other: Project, app: Any
) -> None:
    mine = record()
    assert accepted(post(api, project.key, [mine])) == (1, 0)

    assert listed_ids(api, other.key) == []
    assert_error(api.as_(other.key).get(f"/v1/logs/{mine['id']}"), 404, code="not_found")
    assert_error(api.as_(other.key).get("/v1/logs", params={"project_id": project.id}), 403)
    # Ids are idempotency keys per project: the same id elsewhere is another record.
    assert accepted(post(api, other.key, [dict(mine, model="theirs")])) == (1, 0)
    assert api.as_(project.key).get(f"/v1/logs/{mine['id']}").json()["model"] == mine["model"]
    assert api.as_(other.key).get(f"/v1/logs/{mine['id']}").json()["model"] == "theirs"
    assert listed_ids(api, project.key) == listed_ids(api, other.key) == [mine["id"]]
    assert len(stored_ids(app)) == 2


def test_authentication_is_required(api: Api, project: Project, app: Any) -> None:
    assert_error(api.post("/v1/logs", json={"records": [record()]}), 401)
    assert_error(api.as_("po_live_nope_x").post("/v1/logs", json={"records": [record()]}), 401)
    assert_error(api.get("/v1/logs"), 401)
    assert stored_ids(app) == []


# ---- reading: filters and pages -----------------------------------------------------------


def test_filters_and_pages_cover_everything_exactly_once(api: Api, project: Project) -> None:
    base = datetime(2026, 5, 1, tzinfo=UTC)
    made: list[dict[str, Any]] = []
    for i in range(61):
        made.append(
            record(
                prompt_slug=["greeting", "summary", None][i % 3],
                prompt_version=[1, 2][i % 2] if i % 3 != 2 else None,
                status="error" if i % 5 == 0 else "ok",
                error="boom" if i % 5 == 0 else None,
                tags=[["a"], ["a", "b"], [], None][i % 4],
                created_at=(base + timedelta(minutes=i)).isoformat(),
            )
        )
    for start in range(0, len(made), 25):  # several batches
        assert accepted(post(api, project.key, made[start : start + 25]))[0] > 0
    newest_first = [r["id"] for r in reversed(made)]

    def expect(keep: Any) -> list[str]:
        return [r["id"] for r in reversed(made) if keep(r)]

    cases: list[tuple[dict[str, Any], Any]] = [
        ({}, lambda r: True),
        ({"slug": "greeting"}, lambda r: r["prompt_slug"] == "greeting"),
        (
            {"slug": "summary", "version": 2},
            lambda r: r["prompt_slug"] == "summary" and r["prompt_version"] == 2,
        ),
        ({"version": 1}, lambda r: r["prompt_version"] == 1),
        ({"status": "error"}, lambda r: r["status"] == "error"),
        ({"tag": "b"}, lambda r: "b" in (r["tags"] or [])),
        ({"tag": "a", "status": "ok"}, lambda r: "a" in (r["tags"] or []) and r["status"] == "ok"),
        ({"tag": "zzz"}, lambda r: False),
        ({"slug": "nope"}, lambda r: False),
        (
            {"since": (base + timedelta(minutes=10)).isoformat()},
            lambda r: r["created_at"] >= (base + timedelta(minutes=10)).isoformat(),
        ),
        (
            {
                "since": "2026-05-01T02:20:00+02:00",  # 00:20 UTC
                "until": (base + timedelta(minutes=40)).isoformat(),
                "slug": "greeting",
            },
            lambda r: (
                r["prompt_slug"] == "greeting"
                and (base + timedelta(minutes=20)).isoformat()
                <= r["created_at"]
                < (base + timedelta(minutes=40)).isoformat()
            ),
        ),
        ({"environment": "dev"}, lambda r: True),
    ]
    assert expect(lambda r: True) == newest_first
    for params, keep in cases:
        for limit in (1, 7, 200):
            got = listed_ids(api, project.key, limit=limit, **params)
            assert got == expect(keep), (params, limit)
            assert len(got) == len(set(got))

    # The last full page does not promise a next one that is empty.
    assert [len(p) for p in pages(api, project.key, 61)] == [61]
    r = api.as_(project.key).get("/v1/logs", params={"limit": 2})
    rows = r.json()["data"]
    assert [row["id"] for row in rows] == newest_first[:2]
    assert set(rows[0]) >= {"id", "request", "response", "metadata", "tags", "created_at"}


def test_provider_model_metadata_and_text_filters(api: Api, project: Project) -> None:
    """Each filter alone and combined with others, paged at several sizes, against the
    naive selection of what was sent."""
    made: list[dict[str, Any]] = []
    for i in range(40):
        made.append(
            record(
                provider=["openai", "anthropic", "gemini"][i % 3],
                model=["gpt-4o-mini", "claude-3-5", "gemini-2"][i % 3] + ("-x" if i % 4 else ""),
                prompt_slug=["greeting", "summary"][i % 2],
                status="error" if i % 5 == 0 else "ok",
                metadata=[
                    {"user": f"u{i % 4}", "region": "eu"},
                    {"user": f"u{i % 4}", "n": 5},
                    None,
                    {"region": "us", "deep": {"user": "u1"}},
                ][i % 4],
                request={"messages": [{"role": "user", "content": f"Order {i} Where_Is 100%"}]},
                response=(
                    {"choices": [{"text": "Shipped TODAY" if i % 3 == 0 else "pending"}]}
                    if i % 6
                    else None
                ),
                tags=["t"] if i % 2 else None,
            )
        )
    for start in range(0, len(made), 15):
        assert accepted(post(api, project.key, made[start : start + 15]))[0] > 0

    def meta(r: dict[str, Any], key: str, value: str) -> bool:
        return (r["metadata"] or {}).get(key) == value

    def text_of(r: dict[str, Any]) -> str:
        return (json.dumps(r["request"]) + json.dumps(r["response"])).lower()

    cases: list[tuple[dict[str, Any], Any]] = [
        ({"provider": "anthropic"}, lambda r: r["provider"] == "anthropic"),
        ({"model": "gpt-4o-mini"}, lambda r: r["model"] == "gpt-4o-mini"),
        (
            {"model": "claude-3-5-x", "status": "ok"},
            lambda r: r["model"] == "claude-3-5-x" and r["status"] == "ok",
        ),
        ({"metadata": "user=u1"}, lambda r: meta(r, "user", "u1")),
        (
            {"metadata": ["user=u1", "region=eu"]},
            lambda r: meta(r, "user", "u1") and meta(r, "region", "eu"),
        ),
        ({"metadata": "n=5"}, lambda r: False),  # a number is not the text "5"
        (
            {"metadata": "region=us", "provider": "gemini"},
            lambda r: meta(r, "region", "us") and r["provider"] == "gemini",
        ),
        ({"q": "shipped today"}, lambda r: "shipped today" in text_of(r)),
        ({"q": "ORDER 7 "}, lambda r: "order 7 " in text_of(r)),
        ({"q": "where_is 100%"}, lambda r: True),  # _ and % are literal, not wildcards
        ({"q": "where1is"}, lambda r: False),
        (
            {"q": "100%", "slug": "summary", "tag": "t"},
            lambda r: r["prompt_slug"] == "summary" and r["tags"] == ["t"],
        ),
        (
            {"q": "pending", "metadata": "user=u2", "provider": "gemini"},
            lambda r: (
                "pending" in text_of(r) and meta(r, "user", "u2") and r["provider"] == "gemini"
            ),
        ),
    ]
    for params, keep in cases:
        want = [r["id"] for r in reversed(made) if keep(r)]
        for limit in (1, 6, 100):
            assert listed_ids(api, project.key, limit=limit, **params) == want, (params, limit)
    for bad in ({"metadata": "novalue"}, {"metadata": "=x"}, {"q": ""}, {"provider": "x" * 51}):
        assert_error(api.as_(project.key).get("/v1/logs", params=bad), 422)


def test_list_parameters_are_validated(api: Api, project: Project) -> None:
    key = api.as_(project.key)
    for params, field in [
        ({"cursor": "abc"}, "cursor"),
        ({"cursor": "9" * 30}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"status": "bad"}, "status"),
        ({"since": "not a time"}, "since"),
        ({"environment": "qa"}, "environment"),
        ({"version": 0}, "version"),
    ]:
        assert_error(key.get("/v1/logs", params=params), 422, field=field)
    r = key.get("/v1/logs", params={"cursor": "999999999999999999"})
    assert r.status_code == 200 and r.json() == {"data": [], "next_cursor": None}


# ---- log writes and the read path -----------------------------------------------------------


@contextmanager
def logs_blocked(app: Any) -> Iterator[None]:
    """Hold the lock a log insert needs (SQLite: the write lock; PostgreSQL: the table)."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with app.state.db.write() as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(text("LOCK TABLE request_logs IN EXCLUSIVE MODE"))
            else:
                session.execute(text("DELETE FROM request_logs WHERE 0"))
            held.set()
            release.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join(30)


@pytest.mark.slow
def test_blocked_log_writes_do_not_hold_up_reads(app: Any, api: Api, project: Project) -> None:
    """Sixty log batches stuck behind a lock must not take the worker threads that the
    rest of the API (and the read path's cache misses) run on."""
    api.new_prompt(project.key)
    api.new_version(project.key)
    api.new_prompt(project.key, slug="second")
    api.new_version(project.key, slug="second")
    auth = {"Authorization": f"Bearer {project.key}"}
    batches = [[record() for _ in range(5)] for _ in range(60)]

    with live_server(app) as server, logs_blocked(app):
        stuck = ThreadPoolExecutor(len(batches))
        sent = [
            stuck.submit(
                httpx.post,
                f"{server.base_url}/v1/logs",
                json={"records": b},
                headers=auth,
                timeout=60,
            )
            for b in batches
        ]
        time.sleep(1.0)  # every batch is now waiting for the lock
        assert not any(f.done() for f in sent)
        with httpx.Client(base_url=server.base_url, headers=auth, timeout=10) as http:
            for path in ("/v1/prompts", "/v1/prompts/second/active", "/v1/prompts/greeting"):
                started = time.monotonic()
                r = http.get(path)
                assert r.status_code == 200, r.text
                assert time.monotonic() - started < 2.0, path
        assert not any(f.done() for f in sent)
    results = [f.result() for f in sent]  # the lock is released: every batch lands
    stuck.shutdown()
    assert all(accepted(r) == (5, 0) for r in results)
    assert len(stored_ids(app)) == 300


# ---- a server killed mid-stream -------------------------------------------------------------

_SERVER = """
import os, uvicorn
from promptops.server.app import create_app
uvicorn.run(create_app(), host="127.0.0.1", port=int(os.environ["TEST_PORT"]), log_level="warning")
"""


class ServerProcess:
    """The real server (create_app under uvicorn) in a subprocess, on ``database_url``."""

    def __init__(self, database_url: str, admin_key: str, log: Path) -> None:
        self.env = {
            **os.environ,
            "PROMPTOPS_DATABASE_URL": database_url,
            "PROMPTOPS_ADMIN_KEY": admin_key,
            "PROMPTOPS_BCRYPT_ROUNDS": "4",
            "PROMPTOPS_DEMO": "false",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),  # this checkout
        }
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = ""

    def start(self) -> ServerProcess:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _SERVER],
                env={**self.env, "TEST_PORT": str(port)},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError(f"server did not start: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.mark.slow
def test_kill_9_mid_stream_loses_no_acknowledged_record(database_url: str, tmp_path: Path) -> None:
    admin = "po_admin_" + secrets.token_hex(16)
    server = ServerProcess(database_url, admin, tmp_path / "server.log").start()
    try:
        project = httpx.post(
            f"{server.base_url}/v1/projects",
            json={"name": "crash"},
            headers={"Authorization": f"Bearer {admin}"},
        ).json()
        key = httpx.post(
            f"{server.base_url}/v1/keys",
            json={"environment": "dev", "role": "read", "project_id": project["project"]["id"]},
            headers={"Authorization": f"Bearer {admin}"},
        ).json()["key"]
        auth = {"Authorization": f"Bearer {key}"}
        batches = [[record(model=f"b{b}") for _ in range(100)] for b in range(150)]
        acked: dict[int, tuple[int, int]] = {}
        lock = threading.Lock()
        queue = iter(range(len(batches)))
        dead = threading.Event()

        def sender() -> None:  # sends until the server dies; failures stay unacknowledged
            with httpx.Client(base_url=server.base_url, headers=auth, timeout=30) as http:
                while not dead.is_set():
                    with lock:
                        index = next(queue, None)
                    if index is None:
                        return
                    try:
                        r = http.post("/v1/logs", json={"records": batches[index]})
                    except httpx.TransportError:
                        return
                    if r.status_code == 200:
                        with lock:
                            acked[index] = accepted(r)

        threads = [threading.Thread(target=sender) for _ in range(3)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acked) < 15 and time.monotonic() < deadline:
            time.sleep(0.005)
        server.kill()  # mid-stream: other batches are in flight
        dead.set()
        for thread in threads:
            thread.join(30)
        first_acked = dict(acked)
        assert 15 <= len(first_acked) < len(batches)

        # Every acknowledged record survived the kill, exactly once.
        engine = create_engine(database_url)
        try:
            with engine.connect() as conn:
                present = list(conn.scalars(select(RequestLog.id)))
            assert len(present) == len(set(present))
            for index in first_acked:
                assert {r["id"] for r in batches[index]} <= set(present), index

            # A batch whose reply was lost is in whole (committed before the kill) or not at
            # all; its re-send (after a restart on the same database, as the SDK does) says
            # which: all duplicates, or all accepted.
            server = ServerProcess(database_url, admin, tmp_path / "server.log").start()
            committed_unacked = 0
            with httpx.Client(base_url=server.base_url, headers=auth, timeout=30) as http:
                for index, batch in enumerate(batches):
                    if index in first_acked:
                        continue
                    already = len({r["id"] for r in batch} & set(present))
                    assert already in (0, len(batch)), f"batch {index} half stored"
                    committed_unacked += already
                    acked[index] = accepted(http.post("/v1/logs", json={"records": batch}))
                    assert acked[index] == (len(batch) - already, already)

            with engine.connect() as conn:
                total = conn.scalar(select(func.count()).select_from(RequestLog))
                distinct = conn.scalar(select(func.count(func.distinct(RequestLog.id))))
                ids = set(conn.scalars(select(RequestLog.id)))
        finally:
            engine.dispose()
        everything = {r["id"] for batch in batches for r in batch}
        assert total == distinct == len(everything) == 150 * 100
        assert ids == everything
        # Each record was reported new exactly once, except those whose reply the kill lost.
        assert sum(a for a, _ in acked.values()) + committed_unacked == len(everything)
        assert all(a + d == 100 for a, d in acked.values())
    finally:
        server.stop()
