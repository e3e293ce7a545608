"""``client.agents`` over ``httpx.MockTransport``: what a live server does not easily show
(a 503 in the middle of waiting, a body that is not a run), and the arguments refused
before any request."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import promptops


def _run(status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "r1",
        "agent": "triage",
        "version": 1,
        "environment": "dev",
        "status": status,
        "inputs": {},
        "output": None,
        "error": None,
        "idempotency_key": None,
        "callback_url": None,
        "steps_run": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cost": 0.0,
        "created_at": "2026-01-01T00:00:00Z",
        "started_at": None,
        "finished_at": None,
        "steps": [],
        **extra,
    }


def _client(answers: list[httpx.Response], seen: list[httpx.Request]) -> promptops.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return promptops.Client(
        api_key="po_live_test",
        base_url="http://promptops.test",
        transport=httpx.MockTransport(handler),
    )


def test_waiting_rides_out_a_503_and_a_network_error_then_returns_the_run() -> None:
    seen: list[httpx.Request] = []
    answers = [
        httpx.Response(202, json={"run_id": "r1", "status": "queued", "created": True}),
        httpx.Response(200, json=_run("running")),
        httpx.Response(503, json={"error": {"code": "unavailable", "message": "busy"}}),
        httpx.Response(200, json=_run("succeeded", output="done")),
    ]
    with _client(answers, seen) as client:
        run = client.agents.run(
            "triage",
            {"ticket": "x"},
            version=2,
            callback_url="https://cb.test/x",
            poll_interval=0.01,
        )
    assert (run.status, run.output, run.created) == ("succeeded", "done", True)
    assert [(r.method, r.url.path) for r in seen] == [
        ("POST", "/v1/agents/triage/runs"),
        *[("GET", "/v1/agents/triage/runs/r1")] * 3,
    ]
    body = json.loads(seen[0].content)
    assert body == {"inputs": {"ticket": "x"}, "version": 2, "callback_url": "https://cb.test/x"}
    assert seen[0].headers["authorization"] == "Bearer po_live_test"


def test_a_5xx_on_a_single_call_is_unavailability_and_a_bad_body_is_invalid() -> None:
    seen: list[httpx.Request] = []
    answers = [
        httpx.Response(502, text="bad gateway"),
        httpx.Response(200, json={"id": "r1"}),
        httpx.Response(200, json={"data": "nope"}),
    ]
    with _client(answers, seen) as client:
        with pytest.raises(promptops.AgentUnavailableError) as caught:
            client.agents.cancel("triage", "r1")
        assert isinstance(caught.value.cause, promptops.ServerError)
        with pytest.raises(promptops.InvalidResponseError, match="not an agent run"):
            client.agents.get_run("triage", "r1")
        with pytest.raises(promptops.InvalidResponseError, match="not a list of runs"):
            client.agents.list_runs("triage")
    assert [r.url.path for r in seen] == [
        "/v1/agents/triage/runs/r1/cancel",
        "/v1/agents/triage/runs/r1",
        "/v1/agents/triage/runs",
    ]


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda a: a.run("", {}), "slug"),
        (lambda a: a.run("triage", ["not", "a", "mapping"]), "inputs"),
        (lambda a: a.run("triage", {}, version=0), "version"),
        (lambda a: a.run("triage", {}, timeout=-1), "timeout"),
        (lambda a: a.run("triage", {}, idempotency_key=""), "idempotency_key"),
        (lambda a: a.wait("triage", "r1", until={"done"}), "until"),
        (lambda a: a.get_run("triage", ""), "run_id"),
        (lambda a: a.list_runs("triage", limit=0), "limit"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(call: Any, fragment: str) -> None:
    seen: list[httpx.Request] = []
    with _client([], seen) as client, pytest.raises(promptops.ConfigurationError, match=fragment):
        call(client.agents)
    assert seen == []
