"""PromptLayer-format endpoints: PromptLayer's envelope, verified the way PromptLayer's docs
verify ``X-PromptLayer-Signature``; Standard Webhooks stays the default."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from promptops.compat.promptlayer import webhooks as plw
from tests.server.helpers import assert_error
from tests.support import Api, Project
from tests.webhooks.helpers import Receiver


def promptlayer_handler_accepts(body: bytes, signature: str, secret_key: str) -> bool:
    """Verification as PromptLayer documents it (docs.promptlayer.com, Webhooks)."""
    payload = json.loads(body)
    payload_str = json.dumps(payload, sort_keys=True)
    expected_signature = hmac.new(
        key=secret_key.encode(), msg=payload_str.encode("utf-8"), digestmod=hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected_signature, signature)


def test_promptlayer_format_delivery(api: Api, project: Project, receiver: Receiver) -> None:
    r = api.as_(project.key).post(
        "/v1/webhooks", json={"url": receiver.url, "format": "promptlayer"}
    )
    assert r.status_code == 201, r.text
    endpoint = r.json()
    assert endpoint["format"] == "promptlayer"
    api.new_prompt(project.key)
    api.new_version(project.key)
    got = receiver.wait_ok(3)
    by_type: dict[str, dict[str, Any]] = {}
    for request in got:
        signature = request.headers["x-promptlayer-signature"]
        assert promptlayer_handler_accepts(request.body, signature, endpoint["secret"])
        assert not promptlayer_handler_accepts(request.body, signature, endpoint["secret"] + "x")
        assert "webhook-signature" not in request.headers
        payload = json.loads(request.body)
        assert set(payload) == {"event_type", "details", "user_id", "workspace_id", "timestamp"}
        assert payload["workspace_id"] == project.id
        by_type[payload["event_type"]] = payload
    assert set(by_type) == {
        "prompt_template_created",
        "prompt_template_version_created",
        "prompt_template_label_moved",
    }
    moved = by_type["prompt_template_label_moved"]["details"]
    assert moved["prompt_template_name"] == "greeting"
    assert moved["prompt_template_version_number"] == 1
    assert moved["prompt_template_label"] == "dev"
    assert moved["old_prompt_template_version_number"] is None
    assert moved["promptops"]["data"]["prompt"]["version"] == 1


def test_format_is_chosen_and_changed(api: Api, project: Project, receiver: Receiver) -> None:
    key = api.as_(project.key)
    r = key.post("/v1/webhooks", json={"url": receiver.url})
    assert r.json()["format"] == "standard"
    endpoint_id = r.json()["id"]
    r = key.patch(f"/v1/webhooks/{endpoint_id}", json={"format": "promptlayer"})
    assert r.status_code == 200 and r.json()["format"] == "promptlayer"
    r = key.post("/v1/webhooks", json={"url": receiver.url, "format": "svix"})
    assert_error(r, 422, code="validation_error", field="format")
    r = key.patch(f"/v1/webhooks/{endpoint_id}", json={"format": None})
    assert_error(r, 422, field="format")
    assert key.get(f"/v1/webhooks/{endpoint_id}").json()["format"] == "promptlayer"


def test_agent_run_completed_is_agent_run_finished() -> None:
    event = {
        "id": "evt_1",
        "type": "agent_run_completed",
        "timestamp": "2026-12-02T10:00:00Z",
        "project": {"id": "p1", "name": "Acme"},
        "data": {"actor": None},
    }
    body = plw.body(event)
    assert json.loads(body)["event_type"] == "agent_run_finished"
    assert plw.verify(body, plw.sign("whsec_x", body), "whsec_x")
    assert promptlayer_handler_accepts(body, plw.sign("whsec_x", body), "whsec_x")
    # a fixed vector: the scheme is HMAC-SHA256 hex over the sorted-keys JSON text
    assert plw.sign("secret", b'{"a": 1}') == hmac.new(b"secret", b'{"a": 1}', "sha256").hexdigest()
    assert set(plw.EVENT_TYPES) >= {
        "prompt_template_version_created",
        "prompt_template_label_moved",
        "prompt_template_label_change_approved",
        "prompt_template_updated",
        "agent_run_completed",
    }
