"""One `promptops serve` per SQLite file: a second is refused (it would serve stale
prompts for ever); a first killed with kill -9 does not block the next."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from promptops.domain.bootstrap import ensure_admin_key
from promptops.server.app import create_app
from promptops.server.config import Settings
from tests.demo_server import serving
from tests.support import free_port


def _serve_once(folder: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTOPS_")}
    env["PROMPTOPS_BCRYPT_ROUNDS"] = "4"
    return subprocess.run(
        [sys.executable, "-m", "promptops.cli.main", "serve", "--port", str(free_port())],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_second_server_on_one_sqlite_file_is_refused_and_kill_9_frees_it(
    tmp_path: Path,
) -> None:
    port = free_port()
    database = tmp_path / "promptops.db"
    with serving(tmp_path, port, "--no-demo") as (first, _):
        second = _serve_once(tmp_path)
        assert second.returncode != 0
        assert str(database.resolve()) in second.stderr, second.stderr
        assert "PostgreSQL" in second.stderr and "Stop that server" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200  # untouched

        # In-process use of the same file (scripts, tests) is not serving: allowed.
        app = create_app(Settings(database_url=f"sqlite:///{database}", bcrypt_rounds=4))
        with app.state.db.write() as session:
            ensure_admin_key(session, rounds=4)
        app.state.db.dispose()

        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)
    assert (tmp_path / "promptops.db.server-lock").exists()  # left behind by the kill
    with serving(tmp_path, port, "--no-demo"):
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200


def test_migrate_runs_while_a_server_serves_the_file(tmp_path: Path) -> None:
    with serving(tmp_path, free_port(), "--no-demo"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTOPS_")}
        done = subprocess.run(
            [sys.executable, "-m", "promptops.cli.main", "migrate"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
