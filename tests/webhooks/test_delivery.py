"""Delivery by the embedded worker to a real receiver on 127.0.0.1: signing, retries, the
delivery log, disabling, redelivery, test events, rotation, SSRF at delivery time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from promptops.server.config import Settings
from promptops.webhooks import InvalidSignatureError, verify
from promptops.worker.delivery import Sender
from promptops.worker.queue import Job
from tests.server.helpers import assert_error
from tests.support import Api, Project, free_port
from tests.webhooks.helpers import Receiver, deliveries, settled, wait_until


def test_delivered_signed_with_the_event_as_payload(
    api: Api, project: Project, receiver: Receiver, endpoint: dict[str, Any]
) -> None:
    api.new_prompt(project.key)
    api.new_version(project.key)
    got = receiver.wait_ok(3)
    by_type = {}
    for request in got:
        event = verify(request.body, request.headers, endpoint["secret"])
        assert request.headers["webhook-id"] == event["id"]
        assert request.headers["content-type"] == "application/json"
        assert request.headers["user-agent"].startswith("PromptOps-Webhooks/")
        assert len(request.headers["webhook-signature"].split()) == 1
        by_type[event["type"]] = event
    assert set(by_type) == {
        "prompt_created",
        "prompt_template_version_created",
        "prompt_template_label_moved",
    }
    active = api.as_(project.key).get("/v1/prompts/greeting/active").json()
    assert by_type["prompt_template_label_moved"]["data"]["prompt"] == active
    rows = settled(api, project.key, endpoint["id"], 3)
    for row in rows:
        assert row["status"] == "succeeded" and row["attempt_count"] == 1
        assert row["last_status_code"] == 200 and row["next_attempt_at"] is None
        (attempt,) = row["attempts"]
        assert attempt["succeeded"] and attempt["status_code"] == 200
        assert attempt["response_excerpt"] == "answered 200" and attempt["latency_ms"] > 0
        assert attempt["worker"]
    one = api.as_(project.key).get(f"/v1/webhooks/{endpoint['id']}/deliveries/{rows[0]['id']}")
    assert one.json()["payload"]["id"] == rows[0]["event_id"]


def test_500_then_200_is_retried_and_logged(
    api: Api, project: Project, receiver: Receiver, endpoint: dict[str, Any]
) -> None:
    receiver.script = [500]
    api.new_prompt(project.key)
    receiver.wait_ok(1)
    assert [r.status for r in receiver.arrived] == [500, 200]
    assert receiver.arrived[0].id == receiver.arrived[1].id  # a retry: same webhook-id
    for request in receiver.arrived:
        verify(request.body, request.headers, endpoint["secret"])
    (row,) = settled(api, project.key, endpoint["id"], 1)
    assert row["status"] == "succeeded" and row["attempt_count"] == 2
    first, second = row["attempts"]
    assert (first["attempt"], first["succeeded"], first["status_code"]) == (1, False, 500)
    assert "HTTP 500" in first["error"] and first["response_excerpt"] == "answered 500"
    assert (second["attempt"], second["succeeded"], second["status_code"]) == (2, True, 200)
    assert row["last_error"] is None


def test_receiver_down_for_a_while_then_up(api: Api, project: Project) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    made = api.as_(project.key).post("/v1/webhooks", json={"url": url}).json()
    api.new_prompt(project.key)

    def failed_twice() -> bool:
        rows = deliveries(api, project.key, made["id"])
        return bool(rows) and len(rows[0]["attempts"]) >= 2

    wait_until(failed_twice, what="two failed attempts")
    with Receiver(port) as receiver:
        (request,) = receiver.wait_ok(1)
        verify(request.body, request.headers, made["secret"])
        (row,) = settled(api, project.key, made["id"], 1)
    assert row["status"] == "succeeded" and row["attempt_count"] >= 3
    for attempt in row["attempts"][:-1]:
        assert not attempt["succeeded"] and attempt["status_code"] is None
        assert attempt["error"]
    assert row["attempts"][-1]["succeeded"]
    assert [a["attempt"] for a in row["attempts"]] == list(range(1, row["attempt_count"] + 1))


def test_endpoint_disabled_after_a_run_of_failures(
    api: Api, project: Project, receiver: Receiver, endpoint: dict[str, Any], settings: Settings
) -> None:
    settings.webhook_disable_after_failures = 3
    receiver.status = 503
    api.new_prompt(project.key)
    path = f"/v1/webhooks/{endpoint['id']}"
    state = wait_until(
        lambda: (r := api.as_(project.key).get(path).json())["enabled"] is False and r,
        what="the endpoint to be disabled",
    )
    assert "3 failed attempts in a row" in state["disabled_reason"]
    assert "HTTP 503" in state["disabled_reason"] and state["failure_count"] == 3
    assert len(receiver.arrived) == 3
    (row,) = settled(api, project.key, endpoint["id"], 1)
    assert row["status"] == "cancelled" and "endpoint disabled" in row["last_error"]
    audit = api.as_(project.key).get("/v1/audit", params={"action": "webhook.disabled"}).json()
    (entry,) = audit["data"]
    assert entry["target"] == endpoint["id"] and entry["actor"] == "system:webhooks"
    # nothing is queued for a disabled endpoint
    api.new_prompt(project.key, slug="second")
    assert len(deliveries(api, project.key, endpoint["id"])) == 1
    assert_error(api.as_(project.key).post(f"{path}/deliveries/{row['id']}/redeliver"), 409)
    # enabled again: the count starts over and a redelivery goes through
    receiver.status = 200
    enabled = api.as_(project.key).patch(path, json={"enabled": True}).json()
    assert (enabled["failure_count"], enabled["disabled_reason"]) == (0, None)
    r = api.as_(project.key).post(f"{path}/deliveries/{row['id']}/redeliver")
    assert r.status_code == 202, r.text
    assert receiver.wait_ok(1)[0].id == row["event_id"]


def test_410_gone_disables_at_once(
    api: Api, project: Project, receiver: Receiver, endpoint: dict[str, Any]
) -> None:
    receiver.status = 410
    api.new_prompt(project.key)
    (row,) = settled(api, project.key, endpoint["id"], 1)
    assert row["status"] == "failed" and row["attempt_count"] == 1
    state = api.as_(project.key).get(f"/v1/webhooks/{endpoint['id']}").json()
    assert state["enabled"] is False and "410" in state["disabled_reason"]


def test_redeliver_sends_the_same_event_again(
    api: Api, project: Project, receiver: Receiver, endpoint: dict[str, Any]
) -> None:
    api.new_prompt(project.key)
    (first,) = receiver.wait_ok(1)
    (row,) = settled(api, project.key, endpoint["id"], 1)
    path = f"/v1/webhooks/{endpoint['id']}/deliveries/{row['id']}/redeliver"
    r = api.as_(project.key).post(path)
    assert r.status_code == 202, r.text
    again = r.json()
    assert again["redelivery_of"] == row["id"] and again["event_id"] == row["event_id"]
    assert again["status"] == "pending" and again["id"] != row["id"]
    second = receiver.wait_ok(2)[1]
    assert second.id == first.id and second.body == first.body
    verify(second.body, second.headers, endpoint["secret"])
    rows = settled(api, project.key, endpoint["id"], 2)
    assert [d["status"] for d in rows] == ["succeeded", "succeeded"]
    actions = api.as_(project.key).get("/v1/audit", params={"action": "webhook.redelivered"})
    assert len(actions.json()["data"]) == 1


def test_test_event(
    api: Api, project: Project, receiver: Receiver, endpoint: dict[str, Any]
) -> None:
    r = api.as_(project.key).post(f"/v1/webhooks/{endpoint['id']}/test")
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["event_type"] == "webhook_test" and queued["status"] == "pending"
    (request,) = receiver.wait_ok(1)
    event = verify(request.body, request.headers, endpoint["secret"])
    assert event["type"] == "webhook_test" and event["id"] == queued["event_id"]
    assert event["data"]["endpoint_id"] == endpoint["id"]
    assert event["project"]["id"] == project.id


def test_rotation_signs_with_both_secrets_during_the_overlap(
    api: Api, project: Project, receiver: Receiver, endpoint: dict[str, Any]
) -> None:
    base = f"/v1/webhooks/{endpoint['id']}"
    old = endpoint["secret"]
    new = api.as_(project.key).post(f"{base}/rotate-secret").json()["secret"]
    api.as_(project.key).post(f"{base}/test")
    (request,) = receiver.wait_ok(1)
    assert len(request.headers["webhook-signature"].split()) == 2
    verify(request.body, request.headers, old)
    verify(request.body, request.headers, new)
    # rotate again with no overlap: only the newest secret signs from now on
    newest = api.as_(project.key).post(f"{base}/rotate-secret", json={"overlap_seconds": 0})
    api.as_(project.key).post(f"{base}/test")
    later = receiver.wait_ok(2)[1]
    assert len(later.headers["webhook-signature"].split()) == 1
    verify(later.body, later.headers, newest.json()["secret"])
    for stale in (old, new):
        with pytest.raises(InvalidSignatureError):
            verify(later.body, later.headers, stale)


def test_ssrf_policy_is_checked_again_at_delivery(
    api: Api, project: Project, receiver: Receiver, endpoint: dict[str, Any], settings: Settings
) -> None:
    settings.webhook_allow_private = False  # e.g. the operator tightened it, or DNS changed
    api.as_(project.key).post(f"/v1/webhooks/{endpoint['id']}/test")

    def refused() -> list[dict[str, Any]] | None:
        rows = deliveries(api, project.key, endpoint["id"])
        return rows if rows and rows[0]["attempts"] else None

    attempt = wait_until(refused, what="a refused attempt")[0]["attempts"][0]
    assert not attempt["succeeded"] and attempt["status_code"] is None
    assert attempt["error"].startswith("refused:") and "private" in attempt["error"]
    assert receiver.arrived == []


def test_a_slow_receiver_times_out_and_the_excerpt_is_capped(receiver: Receiver) -> None:
    job = Job(
        delivery_id=1,
        attempt=1,
        endpoint_id="wh_0",
        url=receiver.url,
        secrets=("whsec_" + "A" * 44,),
        msg_id="evt_1",
        event_type="webhook_test",
        body=json.dumps({"id": "evt_1"}).encode(),
    )
    sender = Sender(timeout=0.3, allow_private=lambda: True)
    try:
        receiver.reply_body = "é".encode() * 2000
        outcome = sender.send(job)
        assert outcome.ok and outcome.excerpt is not None
        assert len(outcome.excerpt.encode()) <= 1024 + 3  # 1 KiB, a cut character replaced
        receiver.delay = 1.0
        slow = sender.send(job)
        assert not slow.ok and slow.status_code is None
        assert slow.error is not None and "timed out after 0.3 s" in slow.error
        refused = Sender(timeout=1, allow_private=lambda: False).send(job)
        assert refused.error is not None and refused.error.startswith("refused:")
    finally:
        sender.close()
