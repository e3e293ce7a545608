"""A finished agent run announces ``agent_run_completed``: delivered, signed, to the endpoints
that subscribe to it, sent on the live stream, and POSTed to the run's own ``callback_url``
(signed with the secret the 202 returned, through the same durable delivery jobs: a
failed attempt is retried with the same ``webhook-id``)."""

from __future__ import annotations

from typing import Any

from promptops.contract.events import AgentRunCompletedData, parse_event
from promptops.webhooks import WebhookVerificationError, verify
from tests.stream.test_stream import Reader, within
from tests.support import Api, Project, live_server
from tests.webhooks.helpers import Receiver


def _agent(api: Api, project: Project, url: str) -> None:
    a = api.as_(project.key)
    assert a.post("/v1/agents", json={"slug": "ping", "name": "Ping"}).status_code == 201
    workflow = {
        "inputs": [{"name": "who", "type": "string"}],
        "start": "ping",
        "steps": {"ping": {"type": "http", "url": url, "body": "{{inputs.who}}"}},
    }
    assert a.post("/v1/agents/ping/versions", json=workflow).status_code == 201


def test_a_finished_run_reaches_webhooks_the_stream_and_its_callback(
    app: Any, api: Api, project: Project, receiver: Receiver, admin_key: str
) -> None:
    a = api.as_(project.key)
    hook = a.post(
        "/v1/webhooks", json={"url": receiver.url, "event_types": ["agent_run_completed"]}
    )
    assert hook.status_code == 201, hook.text
    with Receiver() as target, Receiver() as callback:
        callback.script = [500]  # the first attempt fails: the worker retries
        _agent(api, project, target.url)
        reader = api.new_key(admin_key, "dev", "read", project_id=project.id)
        with live_server(app) as server:
            stream = Reader(server.base_url, reader)
            try:
                assert stream.ready.wait(5)
                r = a.post(
                    "/v1/agents/ping/runs",
                    json={"inputs": {"who": "ada"}, "callback_url": callback.url},
                )
                assert r.status_code == 202, r.text
                run_id, secret = r.json()["run_id"], r.json()["callback_secret"]
                assert secret.startswith("whsec_")
                within(20, lambda: any(e == "agent_run_completed" for _, e, _ in stream.events))
                streamed = next(d for _, e, d in stream.events if e == "agent_run_completed")
            finally:
                stream.close()
        [called] = callback.wait_ok(1)
        [hooked] = receiver.wait_ok(1)
    run = a.get(f"/v1/agents/ping/runs/{run_id}").json()
    assert run["status"] == "succeeded" and target.ok()[0].body == b"ada"
    body = verify(called.body, called.headers, secret)
    assert body == verify(hooked.body, hooked.headers, hook.json()["secret"]) == streamed
    event, data = parse_event(body)
    assert event.type == "agent_run_completed" and isinstance(data, AgentRunCompletedData)
    assert (data.run_id, data.agent, data.version, data.status) == (run_id, "ping", 1, "succeeded")
    assert (data.output, data.error, data.actor) == (run["output"], None, project.prefix)
    # The failed first attempt and the retry carry the same webhook-id (the event's id).
    assert [x.status for x in callback.arrived] == [500, 200]
    assert {x.id for x in callback.arrived} == {event.id}
    # Signed with the run's own secret, not the endpoint's.
    try:
        verify(called.body, called.headers, hook.json()["secret"])
    except WebhookVerificationError:
        pass
    else:
        raise AssertionError("the callback verified with the endpoint's secret")


def test_callback_url_is_checked_when_the_run_starts(
    api: Api, project: Project, receiver: Receiver
) -> None:
    _agent(api, project, receiver.url)
    a = api.as_(project.key)
    for url in ("ftp://example.com/x", "http://169.254.169.254/latest/meta-data", "http://"):
        r = a.post("/v1/agents/ping/runs", json={"inputs": {"who": "x"}, "callback_url": url})
        assert r.status_code == 422, (url, r.text)
        assert r.json()["error"]["field"] == "callback_url", r.text
    assert a.get("/v1/agents/ping/runs").json()["data"] == []  # nothing half-stored
    body = {"inputs": {"who": "x"}, "idempotency_key": "k-1", "callback_url": receiver.url}
    first = a.post("/v1/agents/ping/runs", json=body).json()
    again = a.post("/v1/agents/ping/runs", json=body).json()
    assert first["callback_secret"].startswith("whsec_") and first["created"] is True
    assert again["run_id"] == first["run_id"] and again["callback_secret"] is None
    without = a.post("/v1/agents/ping/runs", json={"inputs": {"who": "y"}}).json()
    assert without["callback_secret"] is None
