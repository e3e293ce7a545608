"""`promptops worker` as real processes: kill -9 mid-delivery loses nothing; two workers on
PostgreSQL never deliver the same attempt twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from promptops.db.models import Event, WebhookAttempt, WebhookDelivery
from promptops.domain.bootstrap import ensure_admin_key
from promptops.server.app import create_app
from promptops.server.config import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.support import Api, Project
from tests.webhooks.helpers import Receiver, wait_until

pytestmark = pytest.mark.slow


class WorkerProcess:
    def __init__(self, database_url: str, log: Path, name: str, concurrency: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTOPS_")}
        env.update(
            PROMPTOPS_DATABASE_URL=database_url,
            PROMPTOPS_SECRET_KEY=TEST_SECRET_KEY,  # the server's: the worker opens its secrets
            PROMPTOPS_WEBHOOK_TIMEOUT_SECONDS="1",  # leases: 2 x 1 + 2 = 4 s
            PROMPTOPS_WEBHOOK_LEASE_SECONDS="1",
            PROMPTOPS_WORKER_POLL_SECONDS="0.1",
            PROMPTOPS_WEBHOOK_RETRY_SCHEDULE="[0.1, 0.1, 0.1, 0.1, 0.1, 0.1]",
            PROMPTOPS_WEBHOOK_RETRY_JITTER="0",
            PROMPTOPS_WEBHOOK_ALLOW_PRIVATE="true",
            PROMPTOPS_WEBHOOK_DISABLE_AFTER_FAILURES="1000",
        )
        self.log = log
        self.name = name
        self._out = log.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "promptops.cli.main",
                "worker",
                "--name",
                name,
                "--concurrency",
                str(concurrency),
            ],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def wait_started(self) -> WorkerProcess:
        wait_until(
            lambda: "started" in self.log.read_text() or self.proc.poll() is not None,
            60,
            f"worker {self.name} to start",
        )
        assert self.proc.poll() is None, self.log.read_text()
        return self

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._out.close()


@contextmanager
def server_without_worker(settings: Settings) -> Iterator[tuple[Any, Api, Project]]:
    settings.embedded_worker = False  # only the worker processes deliver
    app = create_app(settings)
    with app.state.db.write() as session:
        admin = ensure_admin_key(session, rounds=4)
    assert admin is not None
    with TestClient(app) as client:
        api = Api(client)
        yield app, api, api.new_project(admin)


def delivery_rows(app: Any) -> list[tuple[WebhookDelivery, Event]]:
    with app.state.db.read() as session:
        query = select(WebhookDelivery, Event).join(Event, Event.id == WebhookDelivery.event_id)
        return [(d, e) for d, e in session.execute(query)]


def attempts(app: Any) -> list[WebhookAttempt]:
    with app.state.db.read() as session:
        return list(session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)))


def all_succeeded(app: Any, count: int) -> bool:
    rows = delivery_rows(app)
    return len(rows) == count and all(d.status == "succeeded" for d, _ in rows)


def test_kill_9_mid_delivery_then_a_new_worker_delivers_every_event(
    settings: Settings, database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    workers: list[WorkerProcess] = []
    try:
        with server_without_worker(settings) as (app, api, project):
            r = api.as_(project.key).post("/v1/webhooks", json={"url": receiver.url})
            assert r.status_code == 201, r.text
            receiver.hold = True  # every request waits: the worker is killed while in flight
            api.new_prompt(project.key)
            api.new_version(project.key)
            api.new_version(project.key, user_template="second {{name}}")
            uids = {e.uid for _, e in delivery_rows(app)}
            assert len(uids) == 5

            first = WorkerProcess(database_url, tmp_path / "a.log", "worker-a", 2)
            workers.append(first)
            first.wait_started()
            wait_until(lambda: receiver.arrived, 30, "a delivery in flight")
            first.kill9()
            in_flight = {r.id for r in receiver.arrived}
            receiver.release()

            second = WorkerProcess(database_url, tmp_path / "b.log", "worker-b", 2)
            workers.append(second)
            second.wait_started()
            wait_until(lambda: all_succeeded(app, 5), 60, "every delivery to succeed")

            received = Counter(r.id for r in receiver.arrived)
            assert set(received) == uids  # none missing
            assert receiver.ok_ids() == uids
            for uid in in_flight:
                assert received[uid] >= 2  # repeated, with the same webhook-id
            lost = [a for a in attempts(app) if a.worker == "worker-a"]
            assert lost and all("stopped during this attempt" in (a.error or "") for a in lost)
            assert {a.worker for a in attempts(app) if a.succeeded} == {"worker-b"}
    finally:
        for worker in workers:
            worker.stop()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_workers_on_postgresql_never_deliver_twice(
    settings: Settings, database_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.delay = 0.05
    workers = [WorkerProcess(database_url, tmp_path / f"{n}.log", f"worker-{n}", 4) for n in "ab"]
    try:
        for worker in workers:
            worker.wait_started()
        with server_without_worker(settings) as (app, api, project):
            r = api.as_(project.key).post("/v1/webhooks", json={"url": receiver.url})
            assert r.status_code == 201, r.text
            api.new_prompt(project.key)
            for n in range(12):
                api.new_version(project.key, user_template=f"v{n} {{{{name}}}}")
            total = 1 + 12 * 2
            wait_until(lambda: all_succeeded(app, total), 60, f"{total} deliveries")
            received = Counter(r.id for r in receiver.arrived)
            assert len(received) == total
            assert set(received.values()) == {1}, received.most_common(3)
            made = attempts(app)
            assert len(made) == total and all(a.attempt == 1 and a.succeeded for a in made)
            assert {a.worker for a in made} == {"worker-a", "worker-b"}
    finally:
        for worker in workers:
            worker.stop()
