"""The request-log record builder against the language-neutral fixture
``promptops/contract/fixtures/logs/records.json`` (the TypeScript SDK runs the same cases):
each case's entry, its response or stream chunks turned into the provider library's own
objects, encodes to exactly the fixture's record; the fixture's price table is this SDK's."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import TypeAdapter

from promptops.sdk.logging_queue import LogEntry, encode_entry
from promptops.sdk.pricing import DEFAULT_PRICES, PriceTable
from promptops.sdk.providers.base import get_provider

FIXTURE = Path(__file__).parents[2] / "src/promptops/contract/fixtures/logs/records.json"
DATA: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))


def _library_object(provider: str, value: dict[str, Any], chunk: bool) -> Any:
    """Wire JSON as the provider library's own response (or stream chunk / event) object."""
    if provider == "openai":
        from openai.types.chat import ChatCompletion, ChatCompletionChunk

        return (ChatCompletionChunk if chunk else ChatCompletion).model_validate(value)
    if provider == "anthropic":
        from anthropic.types import Message, RawMessageStreamEvent

        if chunk:
            return TypeAdapter(RawMessageStreamEvent).validate_python(value)
        return Message.model_validate(value)
    from google.genai.types import GenerateContentResponse

    return GenerateContentResponse.model_validate(value)


def entry_of(case: dict[str, Any]) -> LogEntry:
    raw = case["entry"]
    provider = raw["provider"]
    request = json.loads(json.dumps(raw["request"]))
    if raw.get("repeat_content"):
        request["messages"][0]["content"] = "x" * raw["repeat_content"]
    chunks = raw["chunks"]
    return LogEntry(
        raw["id"],
        raw["created_ms"] / 1000,
        get_provider(provider),
        raw["model"],
        SimpleNamespace(**raw["prompt"]),  # type: ignore[arg-type]
        request,
        None if raw["response"] is None else _library_object(provider, raw["response"], False),
        None if chunks is None else [_library_object(provider, c, True) for c in chunks],
        raw["error"],
        raw["error_body"],
        raw["latency_ms"],
        raw["metadata"],
        raw["tags"],
    )


@pytest.mark.parametrize("case", DATA["records"], ids=[c["name"] for c in DATA["records"]])
def test_record(case: dict[str, Any]) -> None:
    encoded = encode_entry(entry_of(case), PriceTable.load(environ={}))
    assert json.loads(encoded) == case["record"]
    if "record_bytes" in case:
        assert len(encoded) == case["record_bytes"]


def test_prices_are_the_sdk_defaults() -> None:
    assert {m: [p.input, p.output] for m, p in DEFAULT_PRICES.items()} == DATA["prices"]


@pytest.mark.parametrize("case", DATA["costs"], ids=[c["model"] for c in DATA["costs"]])
def test_cost(case: dict[str, Any]) -> None:
    table = PriceTable.load(environ={})
    assert (
        table.cost(case["model"], case["input_tokens"], case["output_tokens"]) == case["cost_usd"]
    )
