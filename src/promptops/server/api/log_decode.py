"""The fast path of ``POST /v1/logs``: a batch decoded and checked in one msgspec pass.

The pydantic models in :mod:`promptops.server.api.routes.logs` are the contract (schema,
OpenAPI, error messages). This module decodes the same shape about five times faster and
encodes each record's JSON fields once, with msgspec; it is only ever *stricter*: whenever
it has any doubt (a msgspec error, a text or number it does not want to judge, deep nesting)
it returns None and the route validates the body with the pydantic models instead, which
either refuse it with the usual error naming ``records.<index>.<field>`` or accept it (then
the slow path stores it). So an error message always comes from the contract, and a batch
the contract refuses is never stored.

``tests/server/test_log_decode.py`` holds the "only ever stricter" rule against a list of
tricky inputs.
"""

from __future__ import annotations

import math
import re
import sys
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from promptops.contract.text import text_problem
from promptops.domain.logs import MAX_BATCH

__all__ = ["decode_batch"]

_MAX_INT = 2_147_483_647
_MAX_FLOAT = sys.float_info.max
# The contract's JSON parser refuses nesting deeper than about 200 levels; below this many
# brackets in a field the nesting is certainly shallower, above it the contract decides.
_MAX_BRACKETS = 100

_NULL = msgspec.Raw(b"null")
_NonNegative = Annotated[float, Meta(ge=0, le=_MAX_FLOAT)]
_Count = Annotated[int, Meta(ge=0, le=_MAX_INT)]


def _str(max_length: int, min_length: int = 0) -> Any:
    return Annotated[str, Meta(min_length=min_length, max_length=max_length)]


class _Record(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    id: uuid.UUID
    provider: _str(50, 1)  # type: ignore[valid-type]
    model: _str(200, 1)  # type: ignore[valid-type]
    request: msgspec.Raw  # JSON fields stay the client's text: checked, never re-encoded
    status: Literal["ok", "error"]
    latency_ms: _NonNegative
    created_at: _str(64) | None = None  # type: ignore[valid-type]  # parsed in _record
    prompt_slug: _str(100, 1) | None = None  # type: ignore[valid-type]
    prompt_version: Annotated[int, Meta(ge=1, le=_MAX_INT)] | None = None
    environment: Literal["dev", "staging", "production"] | None = None
    response: msgspec.Raw = _NULL
    error: _str(200_000) | None = None  # type: ignore[valid-type]
    input_tokens: _Count | None = None
    output_tokens: _Count | None = None
    cost_usd: _NonNegative | None = None
    metadata: msgspec.Raw = _NULL
    tags: Annotated[list[_str(100, 1)], Meta(max_length=50)] | None = None  # type: ignore[valid-type]


class _Batch(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    records: Annotated[list[_Record], Meta(max_length=MAX_BATCH)]


class _Doubt(Exception):
    """The fast path declines; the contract decides."""


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not finite")
    return value


_DECODER = msgspec.json.Decoder(_Batch)
_CHECK = msgspec.json.Decoder(float_hook=_finite)  # the precise number check
_ENCODE = msgspec.json.Encoder().encode
_IDS = msgspec.json.Decoder(list[str]).decode
_SUBMICRO = re.compile(r"\.[0-9]{7}")
# Every digit as "0": a number that may not fit a float (the contract's parser makes it
# infinite, which JSON cannot carry back) has an exponent of 3+ digits or 309+ digits; text
# with a 3-digit exponent or a 20-digit run (rare) gets the precise check. (A long needle
# costs more than the search: Python preprocesses it on every call.)
_DIGITS = bytes.maketrans(b"123456789E{", b"000000000e[")  # and "{" as "[", to count
_HUGE_EXPONENT, _HUGE_DIGITS = b"e000", b"0" * 20
_NUL_ESCAPE = b"\\u0000"


def decode_batch(body: bytes) -> list[dict[str, Any]] | None:
    """The batch's records (API field names; ``request``, ``response``, ``metadata`` and
    ``tags`` as JSON text, ``id`` in canonical form, ``created_at`` aware UTC or None), or None
    when the contract must judge the body."""
    try:
        records = _DECODER.decode(body).records
        # Canonical id text for the whole batch in two C calls (str(UUID) is Python code).
        ids = _IDS(_ENCODE([r.id for r in records]))
        # msgspec refuses lone surrogates in strings, so only a NUL, which JSON carries
        # only as the escape ``\u0000``, needs the per-record text check: one C-speed
        # search of the whole body says whether any record may hold one.
        nul = _NUL_ESCAPE in body
        return [_record(r, log_id, nul) for r, log_id in zip(records, ids, strict=True)]
    except (msgspec.MsgspecError, _Doubt, ValueError, OverflowError, RecursionError):
        # ValueError covers UnicodeDecodeError and the number check
        return None


def _record(r: _Record, log_id: str, nul: bool) -> dict[str, Any]:
    if nul:
        texts = [r.provider, r.model]
        if r.prompt_slug is not None:
            texts.append(r.prompt_slug)
        if r.error is not None:
            texts.append(r.error)
        if r.tags is not None:
            texts += r.tags
        if text_problem("".join(texts)) is not None:  # one check for all: NUL, surrogates
            raise _Doubt
    created = None if r.created_at is None else _time(r.created_at)
    return {
        "id": log_id,
        "created_at": created,
        "provider": r.provider,
        "model": r.model,
        "prompt_slug": r.prompt_slug,
        "prompt_version": r.prompt_version,
        "environment": r.environment,
        "request": _json(r.request, optional=False),
        "response": _json(r.response),
        "status": r.status,
        "error": r.error,
        "latency_ms": r.latency_ms,
        "input_tokens": r.input_tokens,
        "output_tokens": r.output_tokens,
        "cost_usd": r.cost_usd,
        "metadata": _json(r.metadata),
        "tags": None if r.tags is None else _ENCODE(r.tags).decode(),
    }


def _time(text: str) -> datetime:
    """RFC 3339 as msgspec reads it, aware UTC; finer than microseconds (which msgspec rounds
    and the contract truncates) is left to the contract."""
    if _SUBMICRO.search(text):
        raise _Doubt
    value = msgspec.convert(text, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _json(raw: msgspec.Raw, *, optional: bool = True) -> str | None:
    """A JSON object field as the client's text, or None for null (where allowed). NUL
    (``\\u0000``) is left to the domain, which checks the text it stores; msgspec already
    refused lone surrogates and control characters."""
    data = bytes(raw)
    if data[:1] != b"{":
        if optional and data == b"null":
            return None
        raise _Doubt
    zeros = data.translate(_DIGITS, b"+")
    if zeros.count(b"[") > _MAX_BRACKETS:
        raise _Doubt
    if _HUGE_EXPONENT in zeros or _HUGE_DIGITS in zeros:
        _CHECK.decode(data)  # a number that overflows: ValueError, so the contract decides
    return data.decode()  # strict: invalid UTF-8 raises, so the contract decides
