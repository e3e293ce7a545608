"""The language-neutral vectors of contract/fixtures/ (webhook signatures, SSE transcripts)
hold for the Python implementation; the TypeScript SDK runs the same files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promptops import webhooks
from promptops.sdk.subscription import parse_sse, sse_lines
from promptops.server.contract_files import CONTRACT_DIR

FIXTURES = CONTRACT_DIR / "fixtures"
ERRORS = {
    "missing_header": webhooks.MissingHeaderError,
    "malformed_header": webhooks.MalformedHeaderError,
    "timestamp_out_of_tolerance": webhooks.TimestampOutOfToleranceError,
    "invalid_signature": webhooks.InvalidSignatureError,
}


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


SIGNATURES = _load(FIXTURES / "webhooks/signatures.json")
TRANSCRIPTS = _load(FIXTURES / "sse/transcripts.json")["cases"]


@pytest.mark.parametrize("case", SIGNATURES["sign"], ids=lambda c: c["name"])
def test_signing_vectors(case: dict[str, Any]) -> None:
    made = webhooks.sign(case["secret"], case["id"], case["timestamp"], case["body"])
    assert made == case["signature"]


@pytest.mark.parametrize("case", SIGNATURES["verify"], ids=lambda c: c["name"])
def test_verification_vectors(case: dict[str, Any]) -> None:
    def check() -> Any:
        return webhooks.verify(
            case["body"].encode(),
            case["headers"],
            case["secrets"],
            now=case["now"],
            tolerance=case.get("tolerance", 300),
        )

    if case["ok"]:
        assert check() == json.loads(case["body"])
    else:
        with pytest.raises(ERRORS[case["error"]]):
            check()


def _events(chunks: list[str]) -> list[dict[str, Any]]:
    return [{"event": e.event, "data": e.data, "id": e.id} for e in parse_sse(sse_lines(chunks))]


@pytest.mark.parametrize("case", TRANSCRIPTS, ids=lambda c: c["name"])
def test_sse_transcripts_whole_and_in_every_split(case: dict[str, Any]) -> None:
    stream: str = case["stream"]
    assert _events([stream]) == case["events"]
    for size in (1, 2, 3, 7):  # any chunking gives the same events (CRLF split included)
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        assert _events(chunks) == case["events"], size
    last = [e["id"] for e in case["events"] if e["id"] is not None]
    assert (last[-1] if last else None) == case.get("last_event_id")


def test_the_sse_event_data_matches_the_published_event_schema() -> None:
    from jsonschema import Draft202012Validator

    checked = 0
    for case in TRANSCRIPTS:
        for event in case["events"]:
            path = CONTRACT_DIR / f"schemas/event.{event['event']}.json"
            if path.exists():
                schema = _load(path)
                assert not list(Draft202012Validator(schema).iter_errors(json.loads(event["data"])))
                checked += 1
    assert checked >= 1
