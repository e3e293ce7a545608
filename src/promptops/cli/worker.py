"""``promptops worker``: the webhook worker as its own process (needs ``promptops[server]``).

Imports nothing of the server at module level (the CLI also runs from the SDK-only install).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from typing import Any

__all__ = ["add_worker_command"]


def cmd_worker(args: argparse.Namespace) -> int:
    from promptops.cli.serve import redact, server_settings

    if args.concurrency is not None:
        os.environ["PROMPTOPS_WEBHOOK_CONCURRENCY"] = str(args.concurrency)
    settings = server_settings(args)
    from promptops.db.session import Database, migrate
    from promptops.worker.runner import Worker

    migrate(settings.database_url)
    db = Database(settings.database_url, pool_size=max(2, settings.webhook_concurrency))
    worker = Worker(db, settings, name=args.name)
    from promptops.domain import events
    from promptops.worker.agents.engine import Engine
    from promptops.worker.runner import allow_private

    db.before_commit.append(events.before_commit)  # agent_run_completed events
    engine = None
    if not args.no_agents:  # agent runs on DBOS; a restarted worker resumes its own
        executor = args.agents_executor or f"worker-{socket.gethostname()}"
        engine = Engine(db, settings, worker.box, allow_private(settings), executor)
        engine.launch()
    # On PostgreSQL, servers' commits wake this worker at once (LISTEN/NOTIFY) instead of
    # at its next poll.
    from promptops.server.notify import wire

    listener = wire(db, settings.database_url, [worker])
    if listener is not None:
        listener.start()

    def _stop(_signum: int, _frame: Any) -> None:
        worker.request_stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(
        f"promptops worker {worker.name} started (database {redact(settings.database_url)})",
        file=sys.stderr,
        flush=True,
    )
    try:
        worker.run()
    finally:
        if engine is not None:
            engine.shutdown()
        if listener is not None:
            listener.stop()
        db.dispose()
    return 0


def add_worker_command(sub: Any) -> None:
    p = sub.add_parser("worker", help="deliver webhooks and run agents as a separate process")
    p.add_argument("--database-url", help="default: PROMPTOPS_DATABASE_URL or ./promptops.db")
    p.add_argument(
        "--mode",
        choices=["development", "production"],
        help="as for the server (env PROMPTOPS_MODE; default development)",
    )
    p.add_argument("--name", help="worker id in the delivery log (default host:pid:random)")
    p.add_argument(
        "--concurrency", type=int, help="attempts in flight (default PROMPTOPS_WEBHOOK_CONCURRENCY)"
    )
    p.add_argument("--no-agents", action="store_true", help="deliver webhooks only")
    p.add_argument(
        "--agents-executor",
        help="DBOS executor id of this worker's agent runs (default worker-<hostname>; the"
        " embedded engine of a server is 'local'). A worker resumes the unfinished runs of"
        " its id when it starts: several workers on one host need one each",
    )
    p.set_defaults(func=cmd_worker)
