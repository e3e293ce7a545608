"""Agent runs end to end: the server's embedded DBOS engine runs a prompt step (the official
OpenAI library against the fake provider), a branch and an http step on a local server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fakes.providers import FakeProviderServer
from tests.support import Api, Project


class Receiver:
    """A local HTTP server recording what http steps send it."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.hold = threading.Event()  # set: requests wait until it is cleared
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                outer.seen.append(
                    {"path": self.path, "body": body.decode(), "auth": self.headers.get("x-token")}
                )
                if outer.hold.is_set():
                    outer.release.wait(30)
                reply = json.dumps({"stored": True}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _setup(
    api: Api, project: Project, fake: FakeProviderServer, receiver: Receiver, admin_key: str
) -> None:
    a = api.as_(project.key)
    prod = api.as_(api.new_key(admin_key, "production", "write", project_id=project.id))
    r = prod.post(
        "/v1/providers",
        json={
            "name": "fake",
            "provider": "openai",
            "api_key": "sk-test-1234",
            "base_url": fake.openai_base_url,
        },
    )
    assert r.status_code == 201, r.text
    assert prod.put("/v1/secrets/HOOK_TOKEN", json={"value": "tok-123456"}).status_code in (
        200,
        201,
    )
    api.new_prompt(project.key, "classify")
    api.new_version(project.key, "classify", user_template="Classify: {{ticket}}")
    assert a.post("/v1/agents", json={"slug": "triage", "name": "Triage"}).status_code == 201
    workflow = {
        "inputs": [{"name": "ticket", "type": "string"}],
        "start": "classify",
        "steps": {
            "classify": {
                "type": "prompt",
                "prompt": "classify",
                "variables": {"ticket": "inputs.ticket"},
                "next": "route",
            },
            "route": {
                "type": "branch",
                "cases": [{"when": "contains(steps.classify.output, 'refund')", "next": "notify"}],
            },
            "notify": {
                "type": "http",
                "url": receiver.url + "/hook",
                "headers": {"x-token": "{{secrets.HOOK_TOKEN}}"},
                "body": "{{steps.classify.output}}",
            },
        },
        "output": "steps.classify.output",
    }
    r = a.post("/v1/agents/triage/versions", json=workflow)
    assert r.status_code == 201, r.text


def _wait(api: Api, key: str, run_id: str, until: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = api.as_(key).get(f"/v1/agents/triage/runs/{run_id}").json()
        if body["status"] in until:
            return dict(body)
        time.sleep(0.05)
    raise AssertionError(f"run still {body['status']}: {body}")


def test_a_run_with_a_prompt_a_branch_and_an_http_step(
    api: Api, project: Project, fake: FakeProviderServer, receiver: Receiver, admin_key: str
) -> None:
    _setup(api, project, fake, receiver, admin_key)
    a = api.as_(project.key)
    r = a.post(
        "/v1/agents/triage/runs",
        json={"inputs": {"ticket": "I want a refund"}, "idempotency_key": "t-1"},
    )
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    again = a.post(
        "/v1/agents/triage/runs", json={"inputs": {"ticket": "x"}, "idempotency_key": "t-1"}
    )
    assert again.json() == {
        "run_id": run_id,
        "status": again.json()["status"],
        "created": False,
        "callback_secret": None,
    }
    run = _wait(api, project.key, run_id, ("succeeded", "failed"))
    assert run["status"] == "succeeded", run
    assert run["output"] == "echo: Classify: I want a refund"
    assert [(s["key"], s["status"]) for s in run["steps"]] == [
        ("classify", "succeeded"),
        ("route", "succeeded"),
        ("notify", "succeeded"),
    ]
    assert run["steps"][1]["output"] == "notify"
    assert run["steps"][2]["output"] == {"stored": True}
    assert run["steps"][0]["input_tokens"] > 0 and run["input_tokens"] > 0
    assert receiver.seen == [
        {"path": "/hook", "body": "echo: Classify: I want a refund", "auth": "tok-123456"}
    ]
    chat_calls = [q for q in fake.requests if q.path.endswith("/chat/completions")]
    assert len(chat_calls) == 1
    listed = a.get("/v1/agents/triage/runs", params={"status": "succeeded"}).json()
    assert [x["id"] for x in listed["data"]] == [run_id]
    assert a.post(f"/v1/agents/triage/runs/{run_id}/cancel").status_code == 409


def test_bad_inputs_and_permissions(
    api: Api, project: Project, fake: FakeProviderServer, receiver: Receiver, admin_key: str
) -> None:
    _setup(api, project, fake, receiver, admin_key)
    a = api.as_(project.key)
    r = a.post("/v1/agents/triage/runs", json={"inputs": {}})
    assert r.status_code == 422 and r.json()["error"]["field"] == "inputs.ticket"
    r = a.post("/v1/agents/triage/runs", json={"inputs": {"ticket": "x", "extra": 1}})
    assert r.status_code == 422 and r.json()["error"]["field"] == "inputs.extra"
    read = api.new_key(admin_key, "dev", "read", project_id=project.id)
    assert (
        api.as_(read).post("/v1/agents/triage/runs", json={"inputs": {"ticket": "x"}}).status_code
        == 403
    )
    other = api.new_project(admin_key, "Other")
    assert (
        api.as_(other.key)
        .post("/v1/agents/triage/runs", json={"inputs": {"ticket": "x"}})
        .status_code
        == 404
    )
    r = a.post(
        "/v1/agents/triage/runs", json={"inputs": {"ticket": "x"}, "environment": "production"}
    )
    assert r.status_code == 403  # a dev key runs in dev
    prod = api.new_key(admin_key, "production", "write", project_id=project.id)
    r = api.as_(prod).post("/v1/agents/triage/runs", json={"inputs": {"ticket": "x"}})
    assert r.status_code == 404  # nothing active in production yet
    assert api.as_(read).get("/v1/agents/triage/runs").status_code == 200
