"""The fast decoder of ``POST /v1/logs`` is only ever stricter than the pydantic contract:
whatever it accepts, the contract accepts with the same values, and ordinary batches (the
SDK's, the bench's) do take the fast path. Pure: no database (the route's tests in
test_logs.py run the stored result on both databases)."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from bench.log_ingest import encode, make_records
from pydantic import ValidationError

from promptops.server.api.log_decode import decode_batch
from promptops.server.api.routes.logs import LogBatch


def record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "provider": "openai",
        "model": "gpt-4o-mini",
        "request": {"messages": [{"role": "user", "content": "Hi"}], "temperature": 0.2},
        "status": "ok",
        "latency_ms": 12.5,
    }
    base.update(fields)
    return base


def body(*records: dict[str, Any]) -> bytes:
    return json.dumps({"records": list(records)}, ensure_ascii=False).encode()


def spliced(field: str, literal: str) -> bytes:
    """A one-record batch whose ``field`` is the raw JSON ``literal``."""
    return body(record(**{field: "@@"})).replace(b'"@@"', literal.encode())


def nested(depth: int) -> str:
    return '{"x": ' + "[" * depth + "]" * depth + "}"


TRICKY: list[bytes] = [
    # numbers
    spliced("request", '{"x": NaN}'),
    spliced("request", '{"x": Infinity}'),
    spliced("request", '{"x": 1e400}'),
    spliced("request", '{"x": -1E+400}'),
    spliced("request", '{"x": 1e0400}'),
    spliced("request", '{"x": 1e-400}'),
    spliced("request", '{"x": 1e300, "y": "e123"}'),
    spliced("request", '{"x": ' + "9" * 400 + "}"),
    spliced("request", '{"x": ' + "9" * 400 + ".5}"),
    spliced("metadata", '{"x": ' + "1" * 25 + "}"),
    spliced("latency_ms", "1e400"),
    spliced("latency_ms", '"12"'),
    spliced("latency_ms", "true"),
    spliced("latency_ms", "-0.0"),
    spliced("cost_usd", "NaN"),
    spliced("input_tokens", "1.0"),
    spliced("input_tokens", "2147483648"),
    spliced("prompt_version", "0"),
    # nesting
    spliced("request", nested(60)),
    spliced("request", nested(120)),
    spliced("request", nested(250)),
    spliced("request", nested(1500)),
    # shapes
    spliced("request", "[1, 2]"),
    spliced("request", "null"),
    spliced("request", '"text"'),
    spliced("response", "null"),
    spliced("response", "[]"),
    spliced("metadata", "1"),
    spliced("tags", '["a", ""]'),
    spliced("tags", "[" + ", ".join(['"t"'] * 51) + "]"),
    spliced("tags", "null"),
    body(record(colour="red")),
    body({k: v for k, v in record().items() if k != "latency_ms"}),
    b'{"records": [], "x": 1}',
    b'{"records": {}}',
    b"{}",
    b'{"records": [',
    b'{"records": null}',
    body(*[record() for _ in range(1001)]),
    # text
    spliced("request", '{"x": "a\\u0000b"}'),
    spliced("request", '{"x": "a\\\\u0000b"}'),  # an escaped backslash, then "u0000"
    spliced("request", '{"x": "\\ud800"}'),
    spliced("request", '{"x": "\\udc00"}'),
    spliced("request", '{"x": "\\ud83d\\ude00"}'),
    spliced("request", '{"x": "caf\u00e9 \U0001f600"}'),
    spliced("provider", '"op\\u0000enai"'),
    spliced("error", '"\\ud800"'),
    spliced("model", '"' + "\u00e9" * 200 + '"'),
    spliced("model", '"' + "\u00e9" * 201 + '"'),
    spliced("provider", '""'),
    spliced("status", '"failed"'),
    spliced("environment", '"qa"'),
    spliced("environment", '"staging"'),
    body(record()).replace(b"Hi", b"H\xffi"),
    body(record()).replace(b"Hi", b"H\xed\xa0\x80i"),  # a surrogate encoded as UTF-8
    body(record()).replace(b"Hi", b"H\x01i"),
    # duplicate keys
    body(record()).replace(b'"status": "ok"', b'"status": "ok", "status": "error"'),
    # ids
    spliced("id", f'"{str(uuid.uuid4()).upper()}"'),
    spliced("id", f'"{uuid.uuid4().hex}"'),
    spliced("id", f'"{{{uuid.uuid4()}}}"'),
    spliced("id", f'"urn:uuid:{uuid.uuid4()}"'),
    spliced("id", '"not-a-uuid"'),
    spliced("id", "null"),
    spliced("id", "12"),
    # times
    spliced("created_at", '"2026-03-01T12:30:00+02:00"'),
    spliced("created_at", '"2026-03-01T12:30:00"'),
    spliced("created_at", '"2026-03-01T12:30:00Z"'),
    spliced("created_at", '"2026-03-01t12:30:00z"'),
    spliced("created_at", '"2026-03-01 12:30:00"'),
    spliced("created_at", '"2026-03-01T12:30:00.1234567Z"'),
    spliced("created_at", '"2026-03-01T23:59:60Z"'),
    spliced("created_at", '"2026-03-01"'),
    spliced("created_at", "1700000000"),
    spliced("created_at", '"0001-01-01T00:00:00+01:00"'),
    spliced("created_at", '"9999-12-31T23:59:59-01:00"'),
    spliced("created_at", '"yesterday"'),
    spliced("created_at", "null"),
]


def contract(data: bytes) -> list[dict[str, Any]] | None:
    """What the pydantic contract makes of ``data`` (None: refused)."""
    try:
        return [vars(r) for r in LogBatch.model_validate_json(data).records]
    except ValidationError:
        return None


@pytest.mark.parametrize("data", TRICKY, ids=range(len(TRICKY)))
def test_what_the_fast_path_accepts_the_contract_accepts_alike(data: bytes) -> None:
    fast = decode_batch(data)
    if fast is None:
        return  # declined: the contract decides (the route's tests cover its answers)
    slow = contract(data)
    assert slow is not None, f"the fast path accepted what the contract refuses: {data[:300]!r}"
    assert len(fast) == len(slow)
    for got, want in zip(fast, slow, strict=True):
        assert got["id"] == str(want["id"])
        assert got["created_at"] == want["created_at"]
        for name in ("request", "response", "metadata", "tags"):
            value = got[name]
            assert (json.loads(value) if value is not None else None) == want[name], name
        for name in set(want) - {"id", "created_at", "request", "response", "metadata", "tags"}:
            assert got[name] == want[name], name
            assert type(got[name]) is type(want[name]), name


def test_the_fast_path_refuses_what_it_must() -> None:
    """Spot checks that the loop above is not vacuous: these are declined, and these taken."""
    declined = [
        spliced("request", '{"x": 1e400}'),
        spliced("request", nested(250)),
        spliced("request", "[1, 2]"),
        spliced("provider", '"op\\u0000enai"'),
        body(record()).replace(b"Hi", b"H\xffi"),
        body(record(colour="red")),
    ]
    for data in declined:
        assert decode_batch(data) is None, data[:200]
    taken = [
        spliced("request", '{"x": 1e300, "y": "e123"}'),
        spliced("request", '{"x": "\\ud83d\\ude00"}'),
        spliced("request", nested(20)),
        spliced("response", "null"),
        spliced("id", f'"{uuid.uuid4().hex.upper()}"'),
        spliced("created_at", '"2026-03-01T12:30:00+02:00"'),
    ]
    for data in taken:
        assert decode_batch(data) is not None, data[:200]
    [one] = decode_batch(spliced("created_at", '"2026-03-01T12:30:00+02:00"')) or []
    assert one["created_at"] == datetime(2026, 3, 1, 10, 30, tzinfo=UTC)


def test_ordinary_batches_take_the_fast_path() -> None:
    """The SDK's and the bench's batches (compact or spaced JSON, uuid7 ids) are decoded by
    the fast path, with the contract's values."""
    records = make_records(200, random.Random(3))
    for data in [*encode(records, 100), json.dumps({"records": records[:50]}).encode()]:
        fast = decode_batch(data)
        assert fast is not None
        slow = contract(data)
        assert slow is not None and [r["id"] for r in fast] == [str(r["id"]) for r in slow]
    compact = json.dumps({"records": records}, separators=(",", ":")).encode()
    assert decode_batch(compact) is not None
