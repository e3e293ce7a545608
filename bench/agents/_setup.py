"""What the agent benchmark runs against: a scratch database (a SQLite file, or a fresh
PostgreSQL database dropped afterwards), a PromptOps app whose embedded DBOS engine runs the
agents in this process, the http steps' target and the fake providers in their own
processes, and the agents (a 20-step chain of http steps; a three-step agent)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text

from bench._common import free_port
from bench.run_overhead import fake_providers, process
from promptops.db.models import AgentRun
from promptops.domain.bootstrap import ensure_admin_key
from promptops.server.app import create_app
from promptops.server.config import Settings

__all__ = ["Bench", "bench_app", "scratch_database", "target_server"]

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECRET_KEY = "bench-agents-secret-key-" + "k" * 32
CHAIN = "chain"
TRIAGE = "triage"
FINISHED = ("succeeded", "failed", "cancelled", "timed_out")


@contextlib.contextmanager
def scratch_database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / f'agents-{uuid.uuid4().hex[:6]}.db'}"
        return
    name = f"promptops_bench_agents_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def target_server(tmp: Path) -> Iterator[str]:
    port = free_port()
    args = [sys.executable, "-m", "bench.agents._target", str(port)]
    with process(args, dict(os.environ), tmp / "target.log") as proc:
        deadline = time.monotonic() + 30
        while "listening" not in (tmp / "target.log").read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the http target did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"


def chain_definition(target: str, steps: int) -> dict[str, Any]:
    names = [f"s{i:02d}" for i in range(1, steps + 1)]
    return {
        "inputs": [{"name": "n", "type": "string"}],
        "start": names[0],
        "steps": {
            name: {
                "type": "http",
                "url": target + "/" + name,
                "body": "{{inputs.n}}",
                **({"next": names[i + 1]} if i + 1 < len(names) else {}),
            }
            for i, name in enumerate(names)
        },
    }


def triage_definition(target: str) -> dict[str, Any]:
    return {
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
                "url": target + "/hook",
                "body": "{{steps.classify.output}}",
            },
        },
        "output": "steps.classify.output",
    }


def _engine(app: Any) -> Any:
    """The agent engine of the FastAPI app inside the ASGI wrappers."""
    inner = app
    while not hasattr(getattr(inner, "state", None), "agents"):
        inner = inner.app
    return inner.state.agents


class Completions:
    """Runs seen finishing, from the committed ``agent_run_completed`` changes (a listener
    of the database, in process): waiting for a run needs no polling that would compete
    with the engine for the interpreter."""

    def __init__(self) -> None:
        self.done: set[str] = set()
        self.cond = threading.Condition()

    def __call__(self, changes: list[Any]) -> None:
        ids = [
            c.data["run_id"]
            for c in changes
            if c.kind == "agent_run_completed" and c.data is not None
        ]
        if ids:
            with self.cond:
                self.done.update(ids)
                self.cond.notify_all()

    def wait(self, run_id: str, timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: run_id in self.done, timeout)


@dataclass
class Bench:
    app: Any
    client: TestClient
    key: str
    project_id: str
    completions: Completions

    @property
    def engine(self) -> Any:
        return _engine(self.app)

    def post(self, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
        r = self.client.post(path, json=body, headers={"Authorization": f"Bearer {self.key}"})
        if r.status_code != status:
            raise RuntimeError(f"{path}: {r.status_code} {r.text}")
        return dict(r.json())

    def start(self, slug: str, inputs: dict[str, Any]) -> str:
        return str(self.post(f"/v1/agents/{slug}/runs", {"inputs": inputs}, 202)["run_id"])

    def status(self, run_id: str) -> str:
        with self.app.state.db.read() as session:
            return str(session.scalar(select(AgentRun.status).where(AgentRun.id == run_id)))

    def wait(self, run_id: str, timeout: float = 120.0) -> str:
        if not self.completions.wait(run_id, timeout):
            raise RuntimeError(f"run {run_id} still {self.status(run_id)}")
        return self.status(run_id)

    def counts(self, ids: list[str]) -> dict[str, int]:
        with self.app.state.db.read() as session:
            rows = session.execute(
                select(AgentRun.status, func.count())
                .where(AgentRun.id.in_(ids))
                .group_by(AgentRun.status)
            )
            return {str(s): int(n) for s, n in rows}


@contextlib.contextmanager
def bench_app(
    database_url: str, target: str, providers: str, concurrency: int, steps: int
) -> Iterator[Bench]:
    settings = Settings(
        database_url=database_url,
        bcrypt_rounds=4,
        demo=False,
        secret_key=SECRET_KEY,
        webhook_allow_private=True,
        embedded_worker=False,  # webhook delivery: not what is measured
        agents_concurrency=concurrency,
        agents_project_concurrency=concurrency,
    )
    app = create_app(settings)
    with app.state.db.write() as session:
        admin = ensure_admin_key(session, rounds=4)
    assert admin is not None
    completions = Completions()
    app.state.db.listeners.append(completions)
    with TestClient(app) as client:
        boot = Bench(app, client, admin, "", completions)
        created = boot.post("/v1/projects", {"name": "Bench"})
        bench = Bench(app, client, created["api_key"]["key"], created["project"]["id"], completions)
        prod = boot.post(
            "/v1/keys",
            {"environment": "production", "role": "write", "project_id": bench.project_id},
        )
        Bench(app, client, prod["key"], bench.project_id, completions).post(
            "/v1/providers",
            {
                "name": "fake",
                "provider": "openai",
                "api_key": "sk-bench-1234",
                "base_url": providers + "/v1",
            },
        )
        bench.post("/v1/prompts", {"slug": "classify", "name": "Classify"})
        bench.post(
            "/v1/prompts/classify/versions",
            {"user_template": "Classify: {{ticket}}", "model": "gpt-4o-mini"},
        )
        for slug, definition in (
            (CHAIN, chain_definition(target, steps)),
            (TRIAGE, triage_definition(target)),
        ):
            bench.post("/v1/agents", {"slug": slug, "name": slug.title()})
            bench.post(f"/v1/agents/{slug}/versions", definition)
        yield bench


@contextlib.contextmanager
def servers(tmp: Path) -> Iterator[tuple[str, str]]:
    """(http target, fake providers' base URL), each in its own process."""
    with target_server(tmp) as target, fake_providers(tmp) as providers:
        yield target, providers
