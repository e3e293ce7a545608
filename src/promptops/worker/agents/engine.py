"""The agent engine: DBOS Transact launched in this process (the server's embedded worker,
or ``promptops worker``), one queue whose per-project partitions bound each project's runs
at once, and the client side the API uses to enqueue, cancel and send input.

DBOS is one instance per process (``DBOS(config=...)``): one engine per process.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dbos import DBOS, DBOSClient, DBOSConfig

from promptops.domain import agent_runs
from promptops.worker.agents import workflow

__all__ = ["Engine", "register_queue", "system_database_url"]

log = logging.getLogger("promptops.agents")
QUEUE = "promptops_agents"
APP_VERSION = "promptops-agents-1"


def system_database_url(database_url: str, configured: str | None = None) -> str:
    """DBOS's own database: PostgreSQL's, in its schema ``dbos``; next to a SQLite file."""
    if configured:
        return configured
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[1]
        return "sqlite:///" + str(Path(path).with_suffix(".dbos"))
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


def system_engine(url: str) -> sa.Engine | None:
    """DBOS's SQLite file in WAL mode: a checkpoint commits with one flush of the log
    (``synchronous=FULL``: as durable as before) instead of the rollback journal's
    several (DBOS's default, tens of ms per step on a busy disk). The rest repeats what
    DBOS sets on the engines it makes (IMMEDIATE transactions, a busy timeout, foreign
    keys, its pool), without a ping per checkout. PostgreSQL: DBOS's own engine (None)."""
    if not url.startswith("sqlite"):
        return None
    engine = sa.create_engine(
        url, pool_size=20, max_overflow=0, pool_timeout=30, pool_pre_ping=False
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=30000")
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=FULL")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")
        dbapi_conn.isolation_level = "IMMEDIATE"

    return engine


def register_queue(settings: Any) -> None:
    """The one queue of agent runs, partitioned by project: DBOS dequeues at most
    ``agents_project_concurrency`` runs of one project at once across every executor (a
    waiting run holds its place), and at most ``agents_concurrency`` runs per process.
    The configuration lives in DBOS's system database: the last process launched sets it."""
    DBOS.register_queue(
        QUEUE,
        worker_concurrency=settings.agents_concurrency,
        partition_concurrency=settings.agents_project_concurrency,
        polling_interval_sec=0.05,
        on_conflict="always_update",
    )


class Engine:
    """``launch`` runs workflows here; without it, the engine only enqueues (a server whose
    runs execute in ``promptops worker`` processes)."""

    def __init__(self, db: Any, settings: Any, box: Any, allow_private: bool, name: str) -> None:
        self.url = system_database_url(settings.database_url, settings.agents_system_database_url)
        self.settings = settings
        self.db = db
        self.name = name
        self._client: DBOSClient | None = None
        self._system_engine = system_engine(self.url)
        self._launched = False
        self._lock = threading.Lock()
        same_database = not db.is_sqlite and not settings.agents_system_database_url
        workflow.configure(db, box, allow_private, covered_commits=same_database)

    def launch(self) -> None:
        with self._lock:
            if self._launched:
                return
            config: DBOSConfig = {
                "name": "promptops",
                "system_database_url": self.url,
                "application_version": APP_VERSION,
                "executor_id": self.name,
                "log_level": "WARNING",
                "notification_listener_polling_interval_sec": 0.05,
            }
            if self._system_engine is not None:
                config["system_database_engine"] = self._system_engine
            else:  # DBOS's engine, without a ping per checkout (two round trips a step):
                # DBOS retries an operation whose connection was lost anyway
                config["db_engine_kwargs"] = {"pool_pre_ping": False}
            DBOS(config=config)
            DBOS.launch()
            register_queue(self.settings)
            self._launched = True

    def resume(self) -> None:
        """Launch when runs are unfinished: DBOS recovers this executor's workflows from
        their last completed step (a server or worker restarted after a crash)."""
        with self.db.read() as session:
            pending = agent_runs.has_unfinished(session)
        if pending:
            self.launch()

    def client(self) -> DBOSClient:
        """DBOS's client (enqueue, cancel, send). A server whose runs execute in workers may
        come first: DBOS's system database is created (migrated) on first use here, as a
        launched DBOS does, instead of waiting for a worker to create it."""
        with self._lock:
            if self._client is None:
                if not self._launched:
                    DBOS.migrate(self.url)
                self._client = DBOSClient(
                    system_database_url=self.url, system_database_engine=self._system_engine
                )
            return self._client

    def enqueue(self, run_id: str, project_id: str) -> None:
        """Queue the run in its project's partition (the project's concurrency limit)."""
        if self.settings.agents_embedded:
            self.launch()
        self.client().enqueue(
            {
                "queue_name": QUEUE,
                "workflow_name": workflow.WORKFLOW_NAME,
                "workflow_id": run_id,
                "app_version": APP_VERSION,
                "queue_partition_key": project_id,
            },
            run_id,
        )

    def cancel(self, run_id: str) -> None:
        """Cancel the workflow (no further step starts), then wake it if it waits for input
        (else its thread stays parked in ``DBOS.recv`` until the wait's timeout)."""
        try:
            self.client().cancel_workflow(run_id)
            self.client().send(run_id, {"cancelled": True}, workflow.INPUT_TOPIC)
        except Exception:  # not enqueued yet or already done: the row says cancelled
            log.info("could not cancel workflow %s", run_id, exc_info=True)

    def send_input(self, run_id: str, value: Any) -> None:
        self.client().send(run_id, {"input": value}, workflow.INPUT_TOPIC)

    def shutdown(self) -> None:
        if self._client is not None:
            self._client.destroy()
            self._client = None
        if self._launched:
            DBOS.destroy(destroy_registry=False)
            self._launched = False
        if self._system_engine is not None:
            self._system_engine.dispose()
