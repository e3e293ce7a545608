"""How runs are governed: the ``max_cost`` budget stops a run after the step that exceeds it,
and DBOS's queue partitions hold each project to ``agents_project_concurrency`` runs at once
without holding back another project."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from promptops.sdk.pricing import PriceTable
from promptops.server.config import Settings
from tests.agents.test_agent_runs import Receiver, _setup, _wait
from tests.fakes.providers import FakeProviderServer
from tests.support import Api, Project


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.agents_project_concurrency = 2
    settings.webhook_allow_private = True
    return settings


@pytest.fixture
def fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_a_run_over_its_max_cost_fails_after_that_step(
    api: Api, project: Project, fake: FakeProviderServer, receiver: Receiver, admin_key: str
) -> None:
    _setup(api, project, fake, receiver, admin_key)
    a = api.as_(project.key)
    workflow = a.get("/v1/agents/triage/versions/1").json()["definition"]
    workflow["max_cost"] = 1e-9  # the first prompt call costs more (gpt-4o-mini's price)
    r = a.post("/v1/agents/triage/versions", json=workflow)
    assert r.status_code == 201, r.text
    r = a.post("/v1/agents/triage/runs", json={"inputs": {"ticket": "refund"}})
    assert r.status_code == 202, r.text
    run = _wait(api, project.key, r.json()["run_id"], ("succeeded", "failed"))
    assert run["status"] == "failed", run
    [step] = run["steps"]  # neither the branch nor the http step ran
    assert step["key"] == "classify" and step["status"] == "succeeded"
    expected = PriceTable.load().cost("gpt-4o-mini", step["input_tokens"], step["output_tokens"])
    assert expected is not None and expected > 1e-9
    assert step["cost"] == pytest.approx(expected) and run["cost"] == pytest.approx(expected)
    assert "max_cost" in run["error"] and f"{expected:.6g}" in run["error"], run["error"]
    assert receiver.seen == []


class Gate:
    """A local server whose requests block until :meth:`open_one`; it counts the requests
    in flight per path and the most it ever held at once."""

    def __init__(self) -> None:
        self.active: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.seen: dict[str, int] = {}
        self.lock = threading.Lock()
        self.tickets = threading.Semaphore(0)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                path = self.path
                with outer.lock:
                    outer.seen[path] = outer.seen.get(path, 0) + 1
                    outer.active[path] = outer.active.get(path, 0) + 1
                    outer.peak[path] = max(outer.peak.get(path, 0), outer.active[path])
                if path == "/held":
                    outer.tickets.acquire(timeout=60)
                with outer.lock:
                    outer.active[path] -= 1
                reply = json.dumps({"path": path}).encode()
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

    def count(self, table: dict[str, int], path: str) -> int:
        with self.lock:
            return table.get(path, 0)

    def close(self) -> None:
        for _ in range(20):
            self.tickets.release()
        self.server.shutdown()
        self.server.server_close()


def _until(check: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _http_agent(api: Api, key: str, url: str) -> None:
    a = api.as_(key)
    assert a.post("/v1/agents", json={"slug": "call", "name": "Call"}).status_code == 201
    workflow = {"start": "call", "steps": {"call": {"type": "http", "url": url, "body": "{}"}}}
    r = a.post("/v1/agents/call/versions", json=workflow)
    assert r.status_code == 201, r.text


def test_a_project_runs_at_most_its_concurrency_and_others_go_on(
    api: Api, project: Project, admin_key: str
) -> None:
    gate = Gate()
    try:
        other = api.new_project(admin_key, "Other")
        _http_agent(api, project.key, gate.url + "/held")
        _http_agent(api, other.key, gate.url + "/free")
        runs = []
        for _ in range(6):
            r = api.as_(project.key).post("/v1/agents/call/runs", json={"inputs": {}})
            assert r.status_code == 202, r.text
            runs.append(r.json()["run_id"])
        _until(lambda: gate.count(gate.active, "/held") == 2, "two runs of the project in flight")
        # The other project is not held back by the first one's full partition.
        r = api.as_(other.key).post("/v1/agents/call/runs", json={"inputs": {}})
        assert r.status_code == 202, r.text
        done = _wait_status(api, other.key, r.json()["run_id"])
        assert done["status"] == "succeeded" and done["output"] == {"path": "/free"}
        assert gate.count(gate.seen, "/held") == 2  # the other four still wait their turn
        for released in range(1, 5):
            gate.tickets.release()
            _until(lambda n=released: gate.count(gate.seen, "/held") == 2 + n, "the next run")
        gate.tickets.release()
        gate.tickets.release()
        for run_id in runs:
            assert _wait_status(api, project.key, run_id)["status"] == "succeeded"
        assert gate.count(gate.peak, "/held") == 2
        assert gate.count(gate.seen, "/held") == 6
    finally:
        gate.close()


def _wait_status(api: Api, key: str, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = api.as_(key).get(f"/v1/agents/call/runs/{run_id}").json()
        if body["status"] in ("succeeded", "failed", "cancelled", "timed_out"):
            return dict(body)
        time.sleep(0.05)
    raise AssertionError(f"run still {body['status']}")
