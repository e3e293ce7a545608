"""kill -9 of the `promptops worker` process mid-run: after a restart the run completes from
its last completed step; the fake provider saw the completed prompt step's call once. A
run waiting for input survives the same: input sent while no worker runs is delivered to
the restarted one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from promptops.domain.bootstrap import ensure_admin_key
from promptops.server.app import create_app
from promptops.server.config import Settings
from tests.agents.test_agent_runs import Receiver, _setup, _wait
from tests.conftest import TEST_SECRET_KEY
from tests.fakes.providers import FakeProviderServer
from tests.support import Api

pytestmark = pytest.mark.slow


def _worker(database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTOPS_")}
    env.update(
        PROMPTOPS_DATABASE_URL=database_url,
        PROMPTOPS_SECRET_KEY=TEST_SECRET_KEY,
        PROMPTOPS_WEBHOOK_ALLOW_PRIVATE="true",
        PROMPTOPS_WORKER_POLL_SECONDS="0.1",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "promptops.cli.main", "worker"],
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while "started" not in log.read_text():
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    return proc


def _until(check: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_kill_9_mid_run_then_the_restarted_worker_completes_it(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    settings.embedded_worker = False
    settings.agents_embedded = False  # only the worker process runs agents
    settings.webhook_allow_private = True
    app = create_app(settings)
    with app.state.db.write() as session:
        admin = ensure_admin_key(session, rounds=4)
    assert admin is not None
    log = tmp_path / "worker.log"
    receiver = Receiver()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with FakeProviderServer() as fake, TestClient(app) as client:
            api = Api(client)
            project = api.new_project(admin)
            _setup(api, project, fake, receiver, admin)
            workers.append(_worker(database_url, log))
            receiver.hold.set()  # the http step hangs: the worker dies in it
            r = api.as_(project.key).post(
                "/v1/agents/triage/runs", json={"inputs": {"ticket": "refund please"}}
            )
            assert r.status_code == 202, r.text
            run_id = r.json()["run_id"]
            _until(lambda: len(receiver.seen) == 1, "the http step to start")
            os.kill(workers[0].pid, signal.SIGKILL)
            workers[0].wait(10)
            run = api.as_(project.key).get(f"/v1/agents/triage/runs/{run_id}").json()
            assert run["status"] == "running"
            assert [s["status"] for s in run["steps"]] == ["succeeded", "succeeded", "running"]
            receiver.hold.clear()
            receiver.release.set()
            workers.append(_worker(database_url, log))
            run = _wait(api, project.key, run_id, ("succeeded", "failed"))
            assert run["status"] == "succeeded", run
            assert run["output"] == "echo: Classify: refund please"
            chat = [q for q in fake.requests if q.path.endswith("/chat/completions")]
            assert len(chat) == 1  # the completed prompt step did not run again
            assert len(receiver.seen) == 2  # the step in flight did
            assert [s["attempts"] for s in run["steps"]] == [1, 1, 2]
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        receiver.close()


def test_a_waiting_run_survives_a_kill_9_of_its_worker(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    settings.embedded_worker = False
    settings.agents_embedded = False
    settings.webhook_allow_private = True
    app = create_app(settings)
    with app.state.db.write() as session:
        admin = ensure_admin_key(session, rounds=4)
    assert admin is not None
    log = tmp_path / "worker.log"
    receiver = Receiver()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with TestClient(app) as client:
            api = Api(client)
            project = api.new_project(admin)
            a = api.as_(project.key)
            assert a.post("/v1/agents", json={"slug": "review", "name": "R"}).status_code == 201
            workflow = {
                "start": "review",
                "steps": {
                    "review": {"type": "wait", "next": "post"},
                    "post": {
                        "type": "http",
                        "url": receiver.url,
                        "body": "{{steps.review.output}}",
                    },
                },
            }
            assert a.post("/v1/agents/review/versions", json=workflow).status_code == 201
            workers.append(_worker(database_url, log))
            run_id = a.post("/v1/agents/review/runs", json={}).json()["run_id"]
            url = f"/v1/agents/review/runs/{run_id}"
            _until(lambda: a.get(url).json()["status"] == "waiting", "the run to wait")
            os.kill(workers[0].pid, signal.SIGKILL)
            workers[0].wait(10)
            # The input is kept by DBOS while no worker runs; the restarted one gets it.
            sent = a.post(f"{url}/input", json={"input": "approved"})
            assert sent.status_code == 202, sent.text
            workers.append(_worker(database_url, log))
            finished = ("succeeded", "failed", "cancelled", "timed_out")
            _until(lambda: a.get(url).json()["status"] in finished, "the run to finish")
            run = a.get(url).json()
            assert run["status"] == "succeeded", run
            assert run["steps"][0]["output"] == "approved"
            assert [s["body"] for s in receiver.seen] == ["approved"]
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        receiver.close()


def test_a_server_without_embedded_agents_queues_runs_before_any_worker_started(
    settings: Settings, database_url: str, tmp_path: Path
) -> None:
    settings.embedded_worker = False
    settings.agents_embedded = False
    settings.webhook_allow_private = True
    app = create_app(settings)
    with app.state.db.write() as session:
        admin = ensure_admin_key(session, rounds=4)
    assert admin is not None
    receiver = Receiver()
    worker: subprocess.Popen[bytes] | None = None
    try:
        with TestClient(app) as client:
            api = Api(client)
            project = api.new_project(admin)
            a = api.as_(project.key)
            assert a.post("/v1/agents", json={"slug": "ping", "name": "P"}).status_code == 201
            workflow = {"start": "ping", "steps": {"ping": {"type": "http", "url": receiver.url}}}
            assert a.post("/v1/agents/ping/versions", json=workflow).status_code == 201
            # No worker has run against this database: the server creates DBOS's tables.
            r = a.post("/v1/agents/ping/runs", json={})
            assert r.status_code == 202, r.text
            url = f"/v1/agents/ping/runs/{r.json()['run_id']}"
            assert a.get(url).json()["status"] == "queued"
            worker = _worker(database_url, tmp_path / "worker.log")
            _until(lambda: a.get(url).json()["status"] == "succeeded", "the worker to run it")
            assert len(receiver.seen) == 1
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
        receiver.close()
