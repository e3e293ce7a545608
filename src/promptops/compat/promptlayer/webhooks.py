"""PromptLayer-format webhooks: PromptLayer's envelope and ``X-PromptLayer-Signature``.

PromptLayer (docs.promptlayer.com, "Webhooks") POSTs ``{"event_type", "details", "user_id",
"workspace_id", "timestamp"}`` and signs it with the endpoint's secret: the header is the hex
HMAC-SHA256 of ``json.dumps(payload, sort_keys=True)``, the secret's text as the key, and a
handler verifies by re-serialising the parsed body the same way. PromptOps sends exactly
that serialisation as the body, so handlers that hash the raw body verify too.

The scheme has no timestamp in the signed header (the payload's ``timestamp`` is signed
with the rest) and one signature: during a secret rotation only the current secret signs.
PromptOps event types map to PromptLayer's names (:data:`EVENT_TYPES`;
``agent_run_completed`` is PromptLayer's ``agent_run_finished``); ``details`` carries the
fields PromptLayer documents (``prompt_template_id`` is null: PromptOps names prompts by
slug) plus ``promptops``, the PromptOps event it came from (with the prompt as served).
Pure standard library.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["EVENT_TYPES", "SIGNATURE_HEADER", "body", "envelope", "headers", "sign", "verify"]

SIGNATURE_HEADER = "X-PromptLayer-Signature"

EVENT_TYPES: dict[str, str] = {
    "prompt_created": "prompt_template_created",
    "prompt_template_version_created": "prompt_template_version_created",
    "prompt_template_label_moved": "prompt_template_label_moved",
    "prompt_template_label_change_approved": "prompt_template_label_change_approved",
    "prompt_template_updated": "prompt_template_updated",
    "agent_run_completed": "agent_run_finished",
    "eval_result_created": "eval_result_created",  # PromptLayer has none: ours, as named
    "webhook_test": "webhook_test",
}


def _details(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    if kind == "agent_run_completed":
        return dict(data)
    if kind == "webhook_test":
        return {"message": data.get("message"), "endpoint_id": data.get("endpoint_id")}
    details: dict[str, Any] = {
        "prompt_template_id": None,
        "prompt_template_name": data.get("slug"),
    }
    if "version" in data:
        details["prompt_template_version_number"] = data["version"]
    if "environment" in data:
        details["prompt_template_label"] = data["environment"]
    if "previous_version" in data:
        details["old_prompt_template_version_number"] = data["previous_version"]
    snippet = data.get("snippet")
    if isinstance(snippet, Mapping):
        details["snippet_name"] = snippet.get("slug")
        details["snippet_version_number"] = snippet.get("version")
    return details


def envelope(event: Mapping[str, Any]) -> dict[str, Any]:
    """A PromptOps event (``{"id", "type", "timestamp", "project", "data"}``) in
    PromptLayer's envelope."""
    kind = str(event["type"])
    data = event.get("data") or {}
    details = _details(kind, data)
    details["promptops"] = dict(event)
    return {
        "event_type": EVENT_TYPES.get(kind, kind),
        "details": details,
        "user_id": None,
        "workspace_id": (event.get("project") or {}).get("id"),
        "timestamp": event["timestamp"],
    }


def body(event: Mapping[str, Any]) -> bytes:
    """The request body: the envelope as PromptLayer's verifier serialises it."""
    return json.dumps(envelope(event), sort_keys=True).encode("utf-8")


def sign(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def headers(secret: str, payload: bytes, *, msg_id: str) -> dict[str, str]:
    """The delivery's headers: the signature, and ``webhook-id`` (the same on retries) to
    deduplicate by."""
    return {SIGNATURE_HEADER: sign(secret, payload), "webhook-id": msg_id}


def verify(payload: bytes, signature: str, secret: str) -> bool:
    """PromptLayer's check, on the raw body."""
    return hmac.compare_digest(sign(secret, payload), signature)
