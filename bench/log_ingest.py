"""Log-ingestion benchmark: ``POST /v1/logs`` on a real server against the previous
implementation in the same run, and the bare insert beside them.

Run ``python -m bench.log_ingest --help``. For each database (a temporary SQLite file, and a
fresh PostgreSQL database at ``--postgres``):

- **http**: one uvicorn server (``create_app``, one worker process, uvloop + httptools, access
  log off) in a subprocess; ``--connections`` client threads post pre-encoded batches of
  ``--batch`` records through keep-alive connections (a dev ``read`` key, as applications
  use). A round's rate is the records acknowledged (200, every record ``accepted``) divided by
  the wall time from the first send to the last reply. Every acknowledged record must be in
  the database at the end (counted there, not taken from the replies).
- **reference**: the same, posted to the previous implementation of the route
  (``bench/_log_reference.py``: pydantic validation, Python ``json`` encoding, SQLAlchemy
  executemany), mounted in the same server process; the report gives the ratios.
- **insert**: the floor: the domain function alone (``promptops.domain.logs.ingest``
  in ``db.write()``, one transaction per batch, records already validated), no HTTP.
- **validate**: decoding and validating the same batch bodies with the route's fast decoder
  (``promptops.server.api.log_decode.decode_batch``) and with the pydantic contract
  (``LogBatch.model_validate_json``, the previous route's parser), no database.

Besides rates (which depend on what else the machine runs), it reports the server process's
CPU time per record during the HTTP rounds: the figure that says what one core sustains.

Rounds alternate between the modes; the report gives medians (and min-max).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select, text

from bench._common import stop_process, write_doc_section

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "performance.md"
SECTION = "## Log ingestion (bench/log_ingest)"
TARGET = 10_000  # records/s (docs/PRODUCT bar)
CPU_TARGET = 35.0  # µs of server CPU per record (issue 16)
PG_ADMIN_URL = os.environ.get(
    "PROMPTOPS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)

__all__ = ["app", "main", "make_records"]


# ---- the server under test (uvicorn --factory bench.log_ingest:app) ---------------------


def app() -> Any:
    """The real application, exactly as ``create_app`` builds it (``BENCH_DATABASE_URL``)."""
    from bench import _log_reference
    from promptops.server.app import create_app
    from promptops.server.config import Settings

    settings = Settings(
        database_url=os.environ["BENCH_DATABASE_URL"], bcrypt_rounds=4, log_level="warning"
    )
    application = create_app(settings, run_migrations=False)
    _log_reference.mount(application)  # the previous implementation, for the side by side
    return application


# ---- records ------------------------------------------------------------------------------

_PROMPTS = ["onboarding-email", "support-reply", "summarize-ticket", "classify-intent"]


def make_records(count: int, rng: random.Random, ids: str = "uuid7") -> list[dict[str, Any]]:
    """``count`` records shaped like the SDK's run() logs (~1 KB of JSON each), with random
    (``uuid4``) or time-ordered (``uuid7``, what the SDK sends) ids."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for _ in range(count):
        slug = rng.choice(_PROMPTS)
        tokens_in, tokens_out = rng.randint(50, 900), rng.randint(20, 400)
        out.append(
            {
                "id": _uuid7(rng) if ids == "uuid7" else _uuid4(rng),
                "created_at": (base + timedelta(seconds=rng.randint(0, 86_400))).isoformat(),
                "provider": "openai",
                "model": "gpt-4o-mini",
                "prompt_slug": slug,
                "prompt_version": rng.randint(1, 20),
                "request": {
                    "model": "gpt-4o-mini",
                    "temperature": 0.5,
                    "messages": [
                        {"role": "system", "content": "You are a helpful assistant for Acme."},
                        {
                            "role": "user",
                            "content": f"Customer {rng.randint(1, 10**6)} asks about order"
                            f" {rng.randint(1, 10**8)}: where is it, and can I change the"
                            " delivery address to the office instead of home?",
                        },
                    ],
                },
                "response": {
                    "id": f"chatcmpl-{rng.getrandbits(64):016x}",
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {
                                "role": "assistant",
                                "content": "Your order shipped yesterday and arrives Friday."
                                " I have updated the delivery address to your office.",
                            },
                        }
                    ],
                    "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out},
                },
                "status": "ok",
                "error": None,
                "latency_ms": round(rng.uniform(150, 4000), 2),
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
                "cost_usd": round((tokens_in * 0.15 + tokens_out * 0.6) / 1e6, 8),
                "metadata": {"user_id": f"u_{rng.randint(1, 10**5)}", "region": "eu-west-1"},
                "tags": ["bench", slug],
            }
        )
    return out


def _uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _uuid7(rng: random.Random) -> str:
    """A UUIDv7: 48-bit Unix milliseconds, then random bits (RFC 9562)."""
    ms = time.time_ns() // 1_000_000
    value = (ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64)
    return str(uuid.UUID(int=value | (0b10 << 62) | rng.getrandbits(62)))


def encode(records: list[dict[str, Any]], batch: int) -> list[bytes]:
    return [
        json.dumps({"records": records[i : i + batch]}).encode()
        for i in range(0, len(records), batch)
    ]


# ---- databases and servers ----------------------------------------------------------------


@dataclass
class Target:
    name: str
    url: str
    key: str = ""
    actor: Any = None
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    sent: int = 0  # records acknowledged over HTTP
    inserted: int = 0  # records stored by the reference (no HTTP)
    http: list[float] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)  # server process CPU µs/record
    ref_http: list[float] = field(default_factory=list)  # the previous implementation
    ref_cpu: list[float] = field(default_factory=list)
    insert: list[float] = field(default_factory=list)
    validate: list[float] = field(default_factory=list)
    ref_validate: list[float] = field(default_factory=list)


def prepare(target: Target, role: str = "read") -> None:
    """Migrate, create a project and a dev key (``read``, as applications hold) through the
    domain services."""
    from promptops.db.session import Database, migrate
    from promptops.domain import keys, projects
    from promptops.domain.access import Actor

    migrate(target.url)
    db = Database(target.url)
    try:
        admin = Actor(label="bench", role="admin")
        with db.write() as session:
            project, _ = projects.create_project(session, admin, name="bench", rounds=4)
            issued = keys.create_key(
                session,
                admin,
                environment="dev",
                role=role,
                name="bench app",
                project_id=project.id,
                rounds=4,
            )
        target.key = issued.key
        target.actor = Actor(
            label=issued.record.prefix,
            role=role,
            project_id=project.id,
            environment="dev",
            key_id=issued.record.id,
        )
    finally:
        db.dispose()


def start(target: Target, workdir: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        target.port = int(sock.getsockname()[1])
    target.log = workdir / f"{target.name}.log"
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.log_ingest:app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(target.port),
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    env = {
        **os.environ,
        "BENCH_DATABASE_URL": target.url,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),  # this checkout's code
    }
    with target.log.open("wb") as log:
        target.process = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if target.process.poll() is not None:
            raise RuntimeError(f"server exited: {target.log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{target.port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def stop(target: Target) -> None:
    stop_process(target.process, timeout=15)


def create_postgres_db(admin_url: str) -> str:
    name = f"promptops_bench_logs_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_postgres_db(admin_url: str, url: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    engine.dispose()


def stored(url: str) -> tuple[int, int]:
    """(rows, distinct ids) in request_logs."""
    from promptops.db.models import RequestLog

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.scalar(select(func.count()).select_from(RequestLog))
            ids = conn.scalar(select(func.count(func.distinct(RequestLog.id))))
        return int(rows or 0), int(ids or 0)
    finally:
        engine.dispose()


# ---- the three measurements ---------------------------------------------------------------


def process_cpu(target: Target) -> float:
    """CPU seconds (user + system) the server process has used so far (Linux /proc)."""
    assert target.process is not None
    fields = Path(f"/proc/{target.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_round(
    target: Target, bodies: list[bytes], batch: int, connections: int, *, reference: bool = False
) -> float:
    """Records/s acknowledged by the server for ``bodies`` posted over ``connections`` (to
    the previous implementation with ``reference``); the server's CPU per record goes to
    ``target.server_cpu`` (``target.ref_cpu``)."""
    from bench._log_reference import PATH

    url = f"http://127.0.0.1:{target.port}{PATH if reference else '/v1/logs'}"
    headers = {"Authorization": f"Bearer {target.key}", "Content-Type": "application/json"}
    queue = iter(range(len(bodies)))
    lock = threading.Lock()
    problems: list[str] = []
    clients = [httpx.Client(timeout=60) for _ in range(connections)]
    for client in clients:  # connect and authenticate outside the timed part
        client.post(url, content=b'{"records": []}', headers=headers).raise_for_status()
    barrier = threading.Barrier(connections + 1)

    def worker(client: httpx.Client) -> None:
        barrier.wait()
        while True:
            with lock:
                index = next(queue, None)
            if index is None:
                return
            r = client.post(url, content=bodies[index], headers=headers)
            if r.status_code != 200 or r.json().get("accepted") != batch:
                problems.append(f"{r.status_code} {r.text[:300]}")

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    barrier.wait()
    cpu_before = process_cpu(target)
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu = (process_cpu(target) - cpu_before) / (len(bodies) * batch) * 1e6
    (target.ref_cpu if reference else target.server_cpu).append(cpu)
    for client in clients:
        client.close()
    if problems:
        raise RuntimeError(f"{len(problems)} batch(es) not fully accepted: {problems[0]}")
    target.sent += len(bodies) * batch
    return len(bodies) * batch / elapsed


def insert_round(target: Target, batches: list[list[dict[str, Any]]]) -> float:
    """Records/s of the domain function alone: one write transaction per batch."""
    from promptops.db.session import Database
    from promptops.domain import logs

    db = Database(target.url)
    try:
        started = time.perf_counter()
        for records in batches:
            with db.write() as session:
                result = logs.ingest(session, target.actor, records)
            if result.accepted != len(records):
                raise RuntimeError(f"reference stored {result.accepted} of {len(records)}")
        elapsed = time.perf_counter() - started
    finally:
        db.dispose()
    target.inserted += sum(len(b) for b in batches)
    return sum(len(b) for b in batches) / elapsed


def validate_round(bodies: list[bytes], batch: int, *, reference: bool = False) -> float:
    """Records/s of the route's fast decoder (every body must take the fast path), or with
    ``reference`` of the pydantic contract (the previous route's one pass in pydantic-core)."""
    from promptops.server.api.log_decode import decode_batch
    from promptops.server.api.routes.logs import LogBatch

    started = time.perf_counter()
    for body in bodies:
        if reference:
            LogBatch.model_validate_json(body)
        elif decode_batch(body) is None:
            raise RuntimeError("the fast decoder declined a bench body")
    return len(bodies) * batch / (time.perf_counter() - started)


def validated(records: list[dict[str, Any]], batch: int) -> list[list[dict[str, Any]]]:
    """Batches as the route hands them to the domain (validated, then dumped)."""
    from promptops.server.api.routes.logs import LogBatch

    out = []
    for i in range(0, len(records), batch):
        model = LogBatch.model_validate({"records": records[i : i + batch]})
        out.append([r.model_dump() for r in model.records])
    return out


# ---- driver -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.load_before = _load()
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="promptops-bench-logs-"))
    targets: list[Target] = []
    if "sqlite" in args.backends:
        targets.append(Target("sqlite", f"sqlite:///{workdir / 'logs.db'}"))
    if "postgres" in args.backends:
        targets.append(Target("postgres", create_postgres_db(args.postgres)))
    per_round = args.batch * args.batches
    print(
        f"{args.rounds} rounds x {args.batches} batches x {args.batch} records"
        f" ({per_round:,} records/round), {args.connections} connections;"
        f" record ~{len(encode(make_records(1, rng), 1)[0])} bytes of JSON",
        flush=True,
    )
    try:
        for target in targets:
            prepare(target)
            start(target, workdir)
        for n in range(args.rounds):
            for target in targets:
                bodies = encode(make_records(per_round, rng, args.ids), args.batch)
                target.validate.append(validate_round(bodies, args.batch))
                target.ref_validate.append(validate_round(bodies, args.batch, reference=True))
                target.http.append(http_round(target, bodies, args.batch, args.connections))
                bodies = encode(make_records(per_round, rng, args.ids), args.batch)
                target.ref_http.append(
                    http_round(target, bodies, args.batch, args.connections, reference=True)
                )
                batches = validated(make_records(per_round, rng, args.ids), args.batch)
                target.insert.append(insert_round(target, batches))
                print(
                    f"round {n + 1} {target.name:>8}: http {target.http[-1]:>7,.0f}/s"
                    f" ({target.server_cpu[-1]:.0f} µs CPU/record)"
                    f"   previous {target.ref_http[-1]:>7,.0f}/s"
                    f" ({target.ref_cpu[-1]:.0f} µs)"
                    f"   insert {target.insert[-1]:>7,.0f}/s"
                    f"   decode {target.validate[-1]:>7,.0f}/s"
                    f" (pydantic {target.ref_validate[-1]:>7,.0f}/s)",
                    flush=True,
                )
        for target in targets:
            rows, ids = stored(target.url)
            expected = target.sent + target.inserted  # both routes' acknowledged records
            if rows != expected or ids != rows:
                raise RuntimeError(f"{target.name}: {rows} rows / {ids} ids, expected {expected}")
            print(f"{target.name}: {rows:,} rows stored, all distinct, as acknowledged")
    finally:
        for target in targets:
            stop(target)
            if target.name == "postgres":
                drop_postgres_db(args.postgres, target.url)
        shutil.rmtree(workdir, ignore_errors=True)
    report = _report(targets, args)
    print("\n" + report)
    if not args.no_docs:
        write_doc_section(SECTION, report, DOCS)
        print(f"\nwrote the section {SECTION!r} of {DOCS.relative_to(ROOT)}")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.log_ingest", description=__doc__)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--batch", type=int, default=500, help="records per request [500]")
    p.add_argument("--batches", type=int, default=40, help="requests per round [40]")
    p.add_argument("--connections", type=int, default=4, help="concurrent client connections")
    p.add_argument("--backends", default="sqlite,postgres", help="sqlite,postgres")
    p.add_argument("--postgres", default=PG_ADMIN_URL, help="an existing database's URL")
    p.add_argument(
        "--ids",
        choices=["uuid4", "uuid7"],
        default="uuid7",
        help="record ids: time-ordered (uuid7, as the SDK sends) or random (uuid4) [uuid7]",
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--no-docs", action="store_true", help=f"do not update {DOCS.name}")
    return p


def _stats(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def _report(targets: list[Target], args: argparse.Namespace) -> str:
    median: Callable[[list[float]], float] = statistics.median
    lines = [
        SECTION,
        "",
        "Command: `python -m bench.log_ingest"
        + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
        + "`",
        f"({datetime.now(UTC):%Y-%m-%d}, {_machine()}; {args.rounds} rounds of"
        f" {args.batches} x {args.batch}-record batches, {args.connections} client"
        f" connections, {args.ids} record ids; one uvicorn worker; client, server and"
        " database share the machine, and the table grows over the rounds.)",
        "",
        "Server CPU per record and records per second, median (min-max) over the rounds;"
        " *previous* is the implementation before issue 16 (`bench/_log_reference.py`),"
        " mounted in the same server and measured in the same rounds:",
        "",
        "| database | server CPU per record | previous | CPU ratio (previous / now)"
        f" | target <= {CPU_TARGET:.0f} µs | HTTP `POST /v1/logs` records/s | previous"
        " | rate ratio | domain insert alone |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t in targets:
        cpu, ref_cpu = median(t.server_cpu), median(t.ref_cpu)
        verdict = "met" if cpu <= CPU_TARGET else "**missed**"
        lines.append(
            f"| {t.name} | {_stats(t.server_cpu)} µs | {_stats(t.ref_cpu)} µs"
            f" | {ref_cpu / cpu:.2f}x | {verdict} | {_stats(t.http)} | {_stats(t.ref_http)}"
            f" | {median(t.http) / median(t.ref_http):.2f}x | {_stats(t.insert)} |"
        )
    lines += [
        "",
        "Decoding and validation alone (records/s, no database): "
        + "; ".join(
            f"{t.name} round bodies: fast decoder {_stats(t.validate)},"
            f" pydantic contract {_stats(t.ref_validate)}"
            for t in targets[:1]
        )
        + ".",
        "",
        "Server CPU: user + system time of the server process during the HTTP rounds, per"
        " record (HTTP, decoding, validation, the driver; on SQLite also the database engine,"
        " which runs in-process; on PostgreSQL the database's own processes are not counted)."
        " Unlike the rates it hardly depends on what else the machine runs, though a loaded"
        " machine (see the load average) inflates it too; the ratio against the previous"
        " implementation, measured in the same rounds, is the robust figure. HTTP rate:"
        " records acknowledged (200, all `accepted`) / wall time from the first send to the"
        " last reply; every one was counted in the database afterwards (rows = records sent"
        " to both routes, ids distinct). The domain insert runs `logs.ingest` alone in"
        " `db.write()` without HTTP or decoding.",
        "",
        "Where the previous implementation's CPU went: pydantic parsing and validation (about"
        " a fifth), SQLAlchemy binding 20 columns per row and Python's `json` encoding the"
        " JSON fields (about half). Now: msgspec decodes and validates the batch (the"
        " pydantic contract judges only bodies the fast decoder declines), the JSON fields"
        " are stored as the client's text (checked, never re-encoded), and rows go to the"
        " driver in one statement per batch (SQLite `executemany`, PostgreSQL `COPY` into a"
        " staging table + `INSERT ... SELECT ... ON CONFLICT DO NOTHING`).",
        "",
        f"Load average (1 min) at start / end: {args.load_before} / {_load()}.",
    ]
    return "\n".join(lines) + "\n"


def _machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPU {cpu}, Python {platform.python_version()}"


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"


if __name__ == "__main__":
    raise SystemExit(main())
