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

__all__ = ["Engine", "system_database_url"]

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
            DBOS.register_queue(
                QUEUE,
                worker_concurrency=self.settings.agents_concurrency,
                polling_interval_sec=0.05,
            )
            self._launched = True

    def resume(self) -> None:
        """Launch when runs are unfinished: DBOS recovers this executor's workflows from
        their last completed step (a server or worker restarted after a crash)."""
        with self.db.read() as session:
            pending = agent_runs.has_unfinished(session)
        if pending:
            self.launch()

    def client(self) -> DBOSClient:
        if self._client is None:
            self._client = DBOSClient(
                system_database_url=self.url, system_database_engine=self._system_engine
            )
        return self._client

    def enqueue(self, run_id: str) -> None:
        if self.settings.agents_embedded:
            self.launch()
        self.client().enqueue(
            {
                "queue_name": QUEUE,
                "workflow_name": workflow.WORKFLOW_NAME,
                "workflow_id": run_id,
                "app_version": APP_VERSION,
            },
            run_id,
        )

    def cancel(self, run_id: str) -> None:
        try:
            self.client().cancel_workflow(run_id)
        except Exception:  # not enqueued yet or already done: the row says cancelled
            log.info("could not cancel workflow %s", run_id, exc_info=True)
        try:  # a run waiting for input: wake its wait (it sees the run cancelled and ends)
            self.client().send(run_id, None, workflow.INPUT_TOPIC)
        except Exception:
            log.info("could not wake workflow %s", run_id, exc_info=True)

    def send_input(self, run_id: str, value: Any) -> None:
        self.client().send(run_id, value, workflow.INPUT_TOPIC)

    def shutdown(self) -> None:
        if self._client is not None:
            self._client.destroy()
            self._client = None
        if self._launched:
            DBOS.destroy(destroy_registry=False)
            self._launched = False
        if self._system_engine is not None:
            self._system_engine.dispose()
