"""Webhook signatures per the Standard Webhooks scheme (https://www.standardwebhooks.com).

Pure standard library: the SDK uses it to verify what PromptOps sends, the server imports it
to sign. Every delivery carries three headers:

- ``webhook-id``: the event id (the same on every retry and redelivery: an idempotency key);
- ``webhook-timestamp``: when this attempt was sent, integer Unix seconds;
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, several
  space-separated while a secret is being rotated (one per valid secret).

The key is the base64 part of the endpoint secret ``whsec_<base64>`` (decoded).

    from promptops.webhooks import verify

    event = verify(body, headers, "whsec_...")   # the parsed JSON, or raises

Errors (all derive from :class:`promptops.errors.PromptOpsError`)::

    WebhookVerificationError             the request is not a valid PromptOps webhook
    ├── MissingHeaderError               a webhook-* header is absent (``.header``)
    ├── MalformedHeaderError             a header is not in the expected form (``.header``)
    ├── TimestampOutOfToleranceError     too old (a replay?) or too far in the future
    ├── InvalidSignatureError            no signature matches any of the secrets
    └── InvalidPayloadError              signed correctly, but the body is not JSON
    InvalidSecretError (also ValueError) the secret is not ``whsec_<base64>``
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets as _secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from promptops.errors import PromptOpsError

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "SECRET_PREFIX",
    "InvalidPayloadError",
    "InvalidSecretError",
    "InvalidSignatureError",
    "MalformedHeaderError",
    "MissingHeaderError",
    "TimestampOutOfToleranceError",
    "WebhookVerificationError",
    "generate_secret",
    "sign",
    "sign_headers",
    "verify",
]

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300
_MAX_SIGNATURES = 16  # more than this in one header is not a rotation, it is an attack

Secrets = str | bytes | Sequence[str | bytes]


class WebhookVerificationError(PromptOpsError):
    """The request is not a valid PromptOps webhook; answer it with 400 and ignore it."""


class MissingHeaderError(WebhookVerificationError):
    def __init__(self, header: str) -> None:
        super().__init__(f"missing webhook header {header!r}")
        self.header = header


class MalformedHeaderError(WebhookVerificationError):
    def __init__(self, header: str, problem: str) -> None:
        super().__init__(f"webhook header {header!r} {problem}")
        self.header = header


class TimestampOutOfToleranceError(WebhookVerificationError):
    """``webhook-timestamp`` is further than the tolerance from now (either direction)."""

    def __init__(self, timestamp: int, now: float, tolerance: float) -> None:
        age = now - timestamp
        when = f"{age:.0f} s old" if age > 0 else f"{-age:.0f} s in the future"
        super().__init__(
            f"webhook timestamp is {when}; accepted: within {tolerance:.0f} s of now"
            " (a replayed request, or a clock that is off)"
        )
        self.timestamp = timestamp
        self.tolerance = tolerance


class InvalidSignatureError(WebhookVerificationError):
    """No ``v1`` signature in ``webhook-signature`` matches the body with any secret."""


class InvalidPayloadError(WebhookVerificationError):
    """The signature is valid but the body is not JSON."""


class InvalidSecretError(PromptOpsError, ValueError):
    """A secret is not ``whsec_`` followed by base64 (configuration, not the request)."""


def generate_secret(nbytes: int = 32) -> str:
    """A new endpoint secret: ``whsec_`` + base64 of ``nbytes`` random bytes (24 to 64)."""
    if not 24 <= nbytes <= 64:
        raise InvalidSecretError("a webhook secret has 24 to 64 random bytes")
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(nbytes)).decode()


def _key(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        if not secret:
            raise InvalidSecretError("the webhook secret is empty")
        return secret
    text = secret.strip()
    if text.startswith(SECRET_PREFIX):
        text = text[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSecretError(
            "the webhook secret must be 'whsec_' followed by base64 (as shown when the"
            " endpoint was created)"
        ) from None
    if not key:
        raise InvalidSecretError("the webhook secret is empty")
    return key


def _keys(secret: Secrets) -> list[bytes]:
    items: Iterable[str | bytes] = [secret] if isinstance(secret, str | bytes) else secret
    keys = [_key(s) for s in items]
    if not keys:
        raise InvalidSecretError("no webhook secret given")
    return keys


def _as_bytes(body: bytes | bytearray | memoryview | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign(secret: str | bytes, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """The signature ``v1,<base64>`` of one message with one secret."""
    if "." in msg_id:
        raise ValueError("a webhook id must not contain '.'")
    digest = _digest(_key(secret), msg_id, int(timestamp), _as_bytes(body))
    return "v1," + base64.b64encode(digest).decode()


def sign_headers(
    secret: Secrets, body: bytes | str, *, msg_id: str, timestamp: int | None = None
) -> dict[str, str]:
    """The three ``webhook-*`` headers, signed with every secret given (rotation)."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    items: Iterable[str | bytes] = [secret] if isinstance(secret, str | bytes) else secret
    signatures = [sign(s, msg_id, ts, body) for s in items]
    if not signatures:
        raise InvalidSecretError("no webhook secret given")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": " ".join(signatures),
    }


def _header(headers: Mapping[str, str] | Iterable[tuple[str, str]], name: str) -> str:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in pairs:
        if key.lower() == name:
            value = value.decode("latin-1") if isinstance(value, bytes) else value
            if value.strip():
                return value.strip()
            break
    raise MissingHeaderError(name)


def _timestamp(value: str) -> int:
    if not value.isdigit() or len(value) > 12:
        raise MalformedHeaderError("webhook-timestamp", "must be integer Unix seconds")
    return int(value)


def _signatures(value: str) -> list[bytes]:
    found: list[bytes] = []
    for item in value.split()[:_MAX_SIGNATURES]:
        version, _, encoded = item.partition(",")
        if version != "v1" or not encoded:
            continue  # another scheme (e.g. v1a): not ours to check
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def verify(
    body: bytes | bytearray | memoryview | str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
    secret: Secrets,
    *,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
    parse: bool = True,
) -> Any:
    """Check a webhook request and return its parsed JSON body (``parse=False``: None).

    ``body`` is the raw request body, exactly as received (do not parse and re-serialise
    it first). ``headers`` is any mapping (looked up case-insensitively) or list of pairs.
    ``secret`` is the endpoint secret, or a list of them while rotating: a signature made
    with any one of them is accepted. The timestamp must be within ``tolerance`` seconds of
    ``now`` in either direction. Raises a :class:`WebhookVerificationError` subclass.
    """
    keys = _keys(secret)  # a bad secret is a configuration error: raise it first
    msg_id = _header(headers, "webhook-id")
    timestamp = _timestamp(_header(headers, "webhook-timestamp"))
    signature = _header(headers, "webhook-signature")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise TimestampOutOfToleranceError(timestamp, current, tolerance)
    given = _signatures(signature)
    if not given:
        raise MalformedHeaderError("webhook-signature", "has no 'v1,<base64>' signature")
    raw = _as_bytes(body)
    matched = False
    for key in keys:
        expected = _digest(key, msg_id, timestamp, raw)
        for candidate in given:
            # compare every pair (no early exit) so timing says nothing about which matched
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise InvalidSignatureError(
            "the webhook signature does not match: wrong secret, or the body was changed"
            " (verify the raw body, before any JSON parsing)"
        )
    if not parse:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidPayloadError(f"the webhook body is not JSON: {exc}") from None
