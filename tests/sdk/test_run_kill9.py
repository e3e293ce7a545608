"""kill -9 of the PromptOps server process while run() logs stream in: after a restart on
the same port and database, every record is stored exactly once."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import promptops
from tests.fakes.providers import FakeProviderServer
from tests.sdk.run_support import (  # fake_fixture, fake_providers_fixture: fixtures
    VARIABLES,
    all_logs,
    fake_fixture,  # noqa: F401
    fake_providers_fixture,  # noqa: F401
    openai_client,
)
from tests.support import Api, free_port

pytestmark = pytest.mark.slow

RUNS = 400


class ServerProcess:
    """``python -m uvicorn promptops.server.app:create_app --factory`` on a fixed port."""

    def __init__(self, port: int, database: Path, admin_key: str, log: Path) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.log = log
        self.env = {
            **os.environ,
            "PROMPTOPS_DATABASE_URL": f"sqlite:///{database}",
            "PROMPTOPS_ADMIN_KEY": admin_key,
            "PROMPTOPS_BCRYPT_ROUNDS": "4",
            "PROMPTOPS_DEMO": "false",
            "PROMPTOPS_EMBEDDED_WORKER": "false",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "promptops.server.app:create_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    admin = "po_admin_test_" + secrets.token_hex(16)
    proc = ServerProcess(free_port(), tmp_path / "db.sqlite", admin, tmp_path / "server.log")
    proc.env["TEST_ADMIN_KEY"] = admin
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def test_kill9_mid_batch_every_record_stored_exactly_once(
    server_process: ServerProcess, fake: FakeProviderServer
) -> None:
    with httpx.Client(base_url=server_process.base_url, timeout=30) as http:
        api = Api(http)
        project = api.new_project(server_process.env["TEST_ADMIN_KEY"])
        api.new_prompt(project.key, "greeting")
        api.new_version(
            project.key, "greeting", system_prompt="You are {{tone}}.", user_template="Hi {{name}}"
        )
        read_key = api.new_key(project.key, "dev", "read")

    client = promptops.Client(
        api_key=read_key,
        base_url=server_process.base_url,
        log_batch_size=5,  # many small batches: the kill lands between and inside them
        log_flush_interval=0.05,
    )
    ids: list[str] = []
    killed_with: promptops.sdk.logging_queue.LogStats | None = None
    with openai_client(fake) as oai:
        for _ in range(RUNS):
            ids.append(client.run("greeting", VARIABLES, client=oai).log_id)
            stats = client.log_stats
            if killed_with is None and stats.sent >= 50 and stats.in_flight >= 2:
                server_process.kill9()  # a batch is on the wire
                killed_with = stats
    assert killed_with is not None, "the sender never had a batch in flight to kill"
    assert killed_with.sent < RUNS  # acknowledged before the kill: must all be there
    server_process.start()
    assert client.flush(60), client.log_stats
    stats = client.log_stats
    client.close()

    stored = [e["id"] for e in all_logs(server_process.base_url, project.key)]
    assert len(stored) == RUNS
    assert Counter(stored).most_common(1)[0][1] == 1  # none stored twice
    assert set(stored) == set(ids)  # none lost
    assert stats.sent == RUNS and client.dropped_logs == 0
