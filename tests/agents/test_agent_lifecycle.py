"""A run's end other than success: cancelled while it waits or while a step runs (no further
step runs, the DBOS workflow is cancelled), a step's and the run's timeouts (timed_out, the
error naming which), and who may read, start, cancel and send input (the matrix)."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from dbos import DBOSClient

from promptops.server.config import Settings
from promptops.worker.agents.engine import system_database_url
from tests.agents.test_agent_runs import Receiver
from tests.support import Api, Project

FINISHED = ("succeeded", "failed", "cancelled", "timed_out")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.webhook_allow_private = True
    return settings


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _agent(api: Api, key: str, workflow: dict[str, Any], slug: str = "flow") -> None:
    a = api.as_(key)
    assert a.post("/v1/agents", json={"slug": slug, "name": slug}).status_code == 201
    r = a.post(f"/v1/agents/{slug}/versions", json=workflow)
    assert r.status_code == 201, r.text


def _start(api: Api, key: str, slug: str = "flow") -> str:
    r = api.as_(key).post(f"/v1/agents/{slug}/runs", json={"inputs": {}})
    assert r.status_code == 202, r.text
    return str(r.json()["run_id"])


def _until(api: Api, key: str, run_id: str, check: Any, slug: str = "flow") -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        run = api.as_(key).get(f"/v1/agents/{slug}/runs/{run_id}").json()
        if check(run):
            return dict(run)
        assert time.monotonic() < deadline, run
        time.sleep(0.05)


def _dbos_status(settings: Settings, run_id: str) -> str:
    client = DBOSClient(system_database_url=system_database_url(settings.database_url))
    try:
        return str(client.retrieve_workflow(run_id).get_status().status)
    finally:
        client.destroy()


def _threads_in_a_run() -> int:
    frames = sys._current_frames().values()
    return sum(any(f.name == "agent_run" for f in traceback.extract_stack(fr)) for fr in frames)


def _review_then_post(url: str) -> dict[str, Any]:
    return {
        "start": "review",
        "steps": {
            "review": {"type": "wait", "prompt": "OK?", "next": "post"},
            "post": {"type": "http", "url": url, "body": "{{steps.review.output}}"},
        },
    }


def test_cancel_a_waiting_run(
    settings: Settings, api: Api, project: Project, receiver: Receiver
) -> None:
    _agent(api, project.key, _review_then_post(receiver.url + "/after"))
    run_id = _start(api, project.key)
    _until(api, project.key, run_id, lambda r: r["status"] == "waiting")
    r = api.as_(project.key).post(f"/v1/agents/flow/runs/{run_id}/cancel")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and project.prefix in r.json()["error"]
    assert _dbos_status(settings, run_id) == "CANCELLED"
    # The workflow's thread (the embedded engine runs in this process) leaves its wait.
    deadline = time.monotonic() + 10
    while _threads_in_a_run():
        assert time.monotonic() < deadline, "a cancelled run's thread still waits"
        time.sleep(0.05)
    sent = api.as_(project.key).post(f"/v1/agents/flow/runs/{run_id}/input", json={"input": 1})
    assert sent.status_code == 409 and sent.json()["error"]["field"] == "run_id"
    run = api.as_(project.key).get(f"/v1/agents/flow/runs/{run_id}").json()
    assert run["status"] == "cancelled" and [s["key"] for s in run["steps"]] == ["review"]
    assert receiver.seen == []
    again = api.as_(project.key).post(f"/v1/agents/flow/runs/{run_id}/cancel")
    assert again.status_code == 409


def test_cancel_a_running_run_runs_no_further_step(
    settings: Settings, api: Api, project: Project, receiver: Receiver
) -> None:
    workflow = {
        "start": "first",
        "steps": {
            "first": {"type": "http", "url": receiver.url + "/first", "next": "second"},
            "second": {"type": "http", "url": receiver.url + "/second"},
        },
    }
    _agent(api, project.key, workflow)
    receiver.hold.set()
    run_id = _start(api, project.key)
    _until(api, project.key, run_id, lambda r: r["status"] == "running" and r["steps"])
    r = api.as_(project.key).post(f"/v1/agents/flow/runs/{run_id}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    assert _dbos_status(settings, run_id) == "CANCELLED"
    receiver.hold.clear()
    receiver.release.set()  # the step in flight ends; the workflow must not go on
    run = _until(
        api, project.key, run_id, lambda r: r["steps"][0]["status"] in ("succeeded", "failed")
    )
    # A later run of the same agent completes (two steps): time enough for a wrong one.
    later = _start(api, project.key)
    done = _until(api, project.key, later, lambda r: r["status"] in FINISHED)
    assert done["status"] == "succeeded", done
    run = api.as_(project.key).get(f"/v1/agents/flow/runs/{run_id}").json()
    assert run["status"] == "cancelled"
    assert [s["key"] for s in run["steps"]] == ["first"]
    paths = [s["path"] for s in receiver.seen]
    assert paths.count("/first") == 2 and paths.count("/second") == 1  # the later run's


def test_a_step_past_its_timeout_times_the_run_out(
    api: Api, project: Project, receiver: Receiver
) -> None:
    workflow = {
        "start": "slow",
        "steps": {"slow": {"type": "http", "url": receiver.url + "/slow", "timeout_seconds": 0.3}},
    }
    _agent(api, project.key, workflow)
    receiver.hold.set()
    run_id = _start(api, project.key)
    run = _until(api, project.key, run_id, lambda r: r["status"] in FINISHED)
    assert run["status"] == "timed_out", run
    assert "step slow" in run["error"] and "timeout_seconds" in run["error"], run["error"]
    [step] = run["steps"]
    assert step["status"] == "timed_out" and "timed out after 0.3 s" in step["error"]


def test_a_wait_past_its_own_timeout_or_the_runs(api: Api, project: Project) -> None:
    own = {"start": "review", "steps": {"review": {"type": "wait", "timeout_seconds": 0.3}}}
    _agent(api, project.key, own, slug="own")
    run_id = _start(api, project.key, slug="own")
    run = _until(api, project.key, run_id, lambda r: r["status"] in FINISHED, slug="own")
    assert run["status"] == "timed_out"
    assert run["error"] == "step review: no input within its timeout_seconds (0.3 s)"
    assert run["steps"][0]["status"] == "timed_out"
    whole = {"timeout_seconds": 0.5, "start": "review", "steps": {"review": {"type": "wait"}}}
    _agent(api, project.key, whole, slug="whole")
    run_id = _start(api, project.key, slug="whole")
    run = _until(api, project.key, run_id, lambda r: r["status"] in FINISHED, slug="whole")
    assert run["status"] == "timed_out"
    assert run["error"] == "the run ran past its timeout_seconds (0.5 s)"


def _revoke(api: Api, admin_key: str, project: Project, key: str) -> None:
    prefix = "_".join(key.split("_")[:3])
    r = api.as_(admin_key).delete(f"/v1/keys/{prefix}", params={"project_id": project.id})
    r.raise_for_status()


def test_who_may_read_start_cancel_and_send_input(
    api: Api, project: Project, admin_key: str, receiver: Receiver
) -> None:
    _agent(api, project.key, _review_then_post(receiver.url))
    run_id = _start(api, project.key)  # a dev run
    _until(api, project.key, run_id, lambda r: r["status"] == "waiting")
    other = api.new_project(admin_key, "Other")
    dev_read = api.new_key(admin_key, "dev", "read", project_id=project.id)
    prod_write = api.new_key(admin_key, "production", "write", project_id=project.id)
    prod_read = api.new_key(admin_key, "production", "read", project_id=project.id)
    revoked = api.new_key(admin_key, "dev", "write", project_id=project.id)
    _revoke(api, admin_key, project, revoked)
    base = "/v1/agents/flow/runs"
    calls = {
        "list": ("GET", base, None),
        "get": ("GET", f"{base}/{run_id}", None),
        "start": ("POST", base, {"inputs": {}}),
        "cancel": ("POST", f"{base}/{run_id}/cancel", None),
        "input": ("POST", f"{base}/{run_id}/input", {"input": "yes"}),
    }
    expected = {
        # who: list, get, start, cancel, input
        "other project": (404, 404, 404, 404, 404),
        "revoked": (401, 401, 401, 401, 401),
        "no key": (401, 401, 401, 401, 401),
        "dev read": (200, 200, 403, 403, 403),
        "production read": (200, 200, 403, 403, 403),
        "production write": (200, 200, 404, 403, 403),  # no version active in production
    }
    keys = {
        "other project": other.key,
        "revoked": revoked,
        "no key": None,
        "dev read": dev_read,
        "production read": prod_read,
        "production write": prod_write,
    }
    for who, statuses in expected.items():
        for (name, (method, url, body)), status in zip(calls.items(), statuses, strict=True):
            r = api.as_(keys[who]).request(method, url, json=body)
            assert r.status_code == status, (who, name, r.status_code, r.text)
    # a dev key that writes may: the run goes on with the input, to its end
    r = api.as_(project.key).post(f"{base}/{run_id}/input", json={"input": "yes"})
    assert r.status_code == 202, r.text
    run = _until(api, project.key, run_id, lambda r: r["status"] in FINISHED)
    assert run["status"] == "succeeded" and receiver.seen[0]["body"] == "yes"
    asked = api.as_(project.key).post(base, json={"inputs": {}, "environment": "production"})
    assert asked.status_code == 403  # a dev key runs in dev
