"""promptops.webhooks: Standard Webhooks signatures (pure; no server, no network)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from promptops.errors import PromptOpsError
from promptops.webhooks import (
    InvalidPayloadError,
    InvalidSecretError,
    InvalidSignatureError,
    MalformedHeaderError,
    MissingHeaderError,
    TimestampOutOfToleranceError,
    WebhookVerificationError,
    generate_secret,
    sign,
    sign_headers,
    verify,
)

# The known-answer vector of the Standard Webhooks reference implementation
# (standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = '{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

NOW = 1_700_000_000
BODY = b'{"id":"evt_1","type":"prompt_template_label_moved","data":{"slug":"greeting"}}'


def headers_for(secret: str | list[str], body: bytes = BODY, ts: int = NOW) -> dict[str, str]:
    return sign_headers(secret, body, msg_id="evt_1", timestamp=ts)


def test_known_answer_from_the_standard_webhooks_reference() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    assert verify(SPEC_BODY, headers, SPEC_SECRET, now=SPEC_TIMESTAMP) == {"test": 2432232314}


def test_signature_is_hmac_sha256_of_id_timestamp_body_with_the_decoded_secret() -> None:
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    expected = base64.b64encode(
        hmac.new(key, b"evt_1.1700000000." + BODY, hashlib.sha256).digest()
    ).decode()
    assert headers_for(secret) == {
        "webhook-id": "evt_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": "v1," + expected,
    }
    assert sign(secret, "evt_1", NOW, BODY) == sign(key, "evt_1", NOW, BODY.decode())


def test_verify_returns_the_parsed_body_and_accepts_any_header_case_or_pairs() -> None:
    secret = generate_secret()
    headers = headers_for(secret)
    assert verify(BODY, headers, secret, now=NOW)["data"] == {"slug": "greeting"}
    shouting = {k.upper(): v for k, v in headers.items()}
    assert verify(BODY.decode(), shouting, secret, now=NOW)["id"] == "evt_1"
    assert verify(bytearray(BODY), list(headers.items()), secret, now=NOW, parse=False) is None


def test_tampered_body_is_refused() -> None:
    secret = generate_secret()
    headers = headers_for(secret)
    with pytest.raises(InvalidSignatureError, match="does not match"):
        verify(BODY.replace(b"greeting", b"greetinG"), headers, secret, now=NOW)
    with pytest.raises(InvalidSignatureError):
        verify(BODY + b" ", headers, secret, now=NOW)


def test_tampered_id_or_timestamp_is_refused() -> None:
    secret = generate_secret()
    headers = headers_for(secret)
    with pytest.raises(InvalidSignatureError):
        verify(BODY, {**headers, "webhook-id": "evt_2"}, secret, now=NOW)
    with pytest.raises(InvalidSignatureError):
        verify(BODY, {**headers, "webhook-timestamp": str(NOW + 1)}, secret, now=NOW)


def test_wrong_secret_is_refused() -> None:
    with pytest.raises(InvalidSignatureError):
        verify(BODY, headers_for(generate_secret()), generate_secret(), now=NOW)


@pytest.mark.parametrize("offset", [-301, 301, -86400, 86400])
def test_old_and_future_timestamps_are_refused(offset: int) -> None:
    secret = generate_secret()
    headers = headers_for(secret, ts=NOW + offset)
    with pytest.raises(TimestampOutOfToleranceError) as caught:
        verify(BODY, headers, secret, now=NOW)
    assert ("old" if offset < 0 else "future") in caught.value.message
    assert caught.value.timestamp == NOW + offset


def test_timestamps_within_tolerance_pass_and_the_tolerance_is_configurable() -> None:
    secret = generate_secret()
    for offset in (-300, 300, 0):
        verify(BODY, headers_for(secret, ts=NOW + offset), secret, now=NOW)
    with pytest.raises(TimestampOutOfToleranceError):
        verify(BODY, headers_for(secret, ts=NOW - 31), secret, now=NOW, tolerance=30)


def test_a_real_clock_is_used_by_default() -> None:
    secret = generate_secret()
    assert verify(BODY, sign_headers(secret, BODY, msg_id="evt_1"), secret)["id"] == "evt_1"
    with pytest.raises(TimestampOutOfToleranceError):
        verify(BODY, headers_for(secret, ts=NOW), secret)  # 2023: long ago


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_named(missing: str) -> None:
    secret = generate_secret()
    headers = headers_for(secret)
    del headers[missing]
    with pytest.raises(MissingHeaderError) as caught:
        verify(BODY, headers, secret, now=NOW)
    assert caught.value.header == missing
    assert missing in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("webhook-timestamp", "1700000000.5"),
        ("webhook-timestamp", "yesterday"),
        ("webhook-signature", "v1a,abc v2,abc"),
        ("webhook-signature", "v1,not base64!"),
    ],
)
def test_malformed_headers_are_refused(name: str, value: str) -> None:
    secret = generate_secret()
    with pytest.raises(MalformedHeaderError) as caught:
        verify(BODY, {**headers_for(secret), name: value}, secret, now=NOW)
    assert caught.value.header == name


def test_one_valid_signature_among_several_is_enough() -> None:
    secret = generate_secret()
    valid = headers_for(secret)["webhook-signature"]
    junk = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
    header = f"{junk} v1a,{junk[3:]} v2,{junk[3:]} {valid} {junk}"
    assert verify(BODY, {**headers_for(secret), "webhook-signature": header}, secret, now=NOW)


def test_rotation_both_signatures_sent_and_either_secret_verifies() -> None:
    old, new = generate_secret(), generate_secret()
    headers = headers_for([new, old])  # what the server sends during the overlap
    assert len(headers["webhook-signature"].split()) == 2
    assert verify(BODY, headers, old, now=NOW)
    assert verify(BODY, headers, new, now=NOW)
    # a receiver that was given both secrets accepts a message signed with either alone
    assert verify(BODY, headers_for(old), [new, old], now=NOW)
    assert verify(BODY, headers_for(new), [new, old], now=NOW)
    # after the overlap the server signs with the new secret only: the old one fails
    with pytest.raises(InvalidSignatureError):
        verify(BODY, headers_for(new), old, now=NOW)


def test_secrets_with_and_without_prefix_and_bad_secrets() -> None:
    secret = generate_secret()
    headers = headers_for(secret)
    assert verify(BODY, headers, secret.removeprefix("whsec_"), now=NOW)
    for bad in ("whsec_", "whsec_not*base64", "", []):
        with pytest.raises(InvalidSecretError) as caught:
            verify(BODY, headers, bad, now=NOW)  # type: ignore[arg-type]
        assert isinstance(caught.value, ValueError)


def test_valid_signature_but_not_json() -> None:
    secret = generate_secret()
    with pytest.raises(InvalidPayloadError):
        verify(b"not json", headers_for(secret, body=b"not json"), secret, now=NOW)


def test_generated_secrets_follow_the_scheme() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 32
    assert len(base64.b64decode(generate_secret(24)[6:])) == 24
    assert generate_secret() != generate_secret()
    with pytest.raises(InvalidSecretError):
        generate_secret(8)


def test_ids_with_dots_cannot_be_signed() -> None:
    with pytest.raises(ValueError, match=r"'\.'"):
        sign(generate_secret(), "evt.1", NOW, BODY)


def test_errors_belong_to_the_package_tree() -> None:
    for cls in (
        MissingHeaderError,
        MalformedHeaderError,
        TimestampOutOfToleranceError,
        InvalidSignatureError,
        InvalidPayloadError,
    ):
        assert issubclass(cls, WebhookVerificationError)
    assert issubclass(WebhookVerificationError, PromptOpsError)
    assert issubclass(InvalidSecretError, PromptOpsError)


def test_body_signed_is_the_body_sent() -> None:
    """Re-serialising the JSON before verifying breaks the signature (documented pitfall)."""
    secret = generate_secret()
    body = b'{"b": 1, "a": 2}'
    headers = headers_for(secret, body=body)
    with pytest.raises(InvalidSignatureError):
        verify(json.dumps(json.loads(body), separators=(",", ":")), headers, secret, now=NOW)
