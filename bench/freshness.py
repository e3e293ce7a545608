"""How fast a promotion reaches applications (not a test).

One run: a PromptOps server (uvicorn subprocess, SQLite or PostgreSQL, embedded webhook
worker), a subscribed SDK client (``Client(subscribe=True)``) and a webhook receiver that
verifies signatures (``promptops.webhooks.verify``). N promotions alternate a staging label
between two versions; for each, the time from the promotion call returning to

- the subscribed SDK serving the new version (polled every 0.2 ms), and
- the webhook receiver holding it (arrival of the signed, verified event),

is recorded, and p50 / p99 / max printed. The anchors' behaviour, for contrast, is a 60 s TTL:
a polling SDK serves the old prompt for up to 60 s.

    python -m bench.freshness [--promotions 200] [--database sqlite|postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench._common import free_port
from promptops import Client
from promptops.webhooks import verify

ADMIN = "bench-freshness-admin-key-0123456789"
PG = "postgresql://postgres@127.0.0.1:5432"


class Receiver:
    """A webhook endpoint: verifies each delivery and records when each deployment arrived."""

    def __init__(self) -> None:
        self.secret = ""
        self.arrived: dict[int, float] = {}
        self.rejected = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                at = time.monotonic()
                try:
                    verify(body, dict(self.headers.items()), receiver.secret)
                except Exception:
                    receiver.rejected += 1
                    self.send_response(400)
                    self.end_headers()
                    return
                event = json.loads(body)
                if event["type"] == "prompt_template_label_moved":
                    receiver.arrived[event["data"]["deployment_id"]] = at
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def close(self) -> None:
        self.httpd.shutdown()


def start_server(database_url: str, folder: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTOPS_")}
    env.update(
        PROMPTOPS_DATABASE_URL=database_url, PROMPTOPS_ADMIN_KEY=ADMIN, PROMPTOPS_BCRYPT_ROUNDS="4"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "promptops.server.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=folder,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("server did not start")
        time.sleep(0.1)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(promotions: int, database: str) -> dict[str, Any]:
    folder = tempfile.mkdtemp(prefix="promptops-fresh-")
    db_name = None
    if database == "postgres":
        db_name = f"promptops_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG + "/test", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db_name}"'))
        url = f"{PG}/{db_name}"
    else:
        url = f"sqlite:///{folder}/fresh.db"
    proc, base = start_server(url, folder)
    receiver = Receiver()
    http = httpx.Client(base_url=base, timeout=10)
    try:
        made = http.post(
            "/v1/projects", json={"name": "fresh"}, headers={"Authorization": f"Bearer {ADMIN}"}
        ).json()
        project = made["project"]["id"]
        dev = {"Authorization": f"Bearer {made['api_key']['key']}"}
        http.post("/v1/prompts", json={"slug": "p", "name": "P"}, headers=dev)
        for n in (1, 2):
            http.post(
                "/v1/prompts/p/versions", json={"user_template": f"v{n}", "model": "m"}, headers=dev
            )
        admin_h = {"Authorization": f"Bearer {ADMIN}"}
        staging = http.post(
            "/v1/keys",
            json={"environment": "staging", "role": "write", "project_id": project},
            headers=admin_h,
        ).json()
        st = {"Authorization": f"Bearer {staging['key']}"}
        hook = http.post(
            "/v1/webhooks",
            json={"url": receiver.url, "event_types": ["prompt_template_label_moved"]},
            headers=st,
        )
        receiver.secret = hook.json()["secret"]
        http.post("/v1/prompts/p/deployments/staging", json={"version": 1}, headers=st)

        sdk_ms: list[float] = []
        hook_ms: list[float] = []
        with Client(staging["key"], base, cache_ttl=60.0, subscribe=True) as client:
            if not client.wait_until_subscribed(10):
                raise SystemExit("SDK did not subscribe")
            assert client.get_prompt("p").version == 1
            target = 1
            for _ in range(promotions):
                target = 2 if target == 1 else 1
                r = http.post(
                    "/v1/prompts/p/deployments/staging", json={"version": target}, headers=st
                )
                t0 = time.monotonic()
                deployment = r.json()["id"]
                while client.get_prompt("p").version != target:
                    if time.monotonic() - t0 > 10:
                        raise SystemExit("SDK never saw a promotion")
                    time.sleep(0.0002)
                sdk_ms.append((time.monotonic() - t0) * 1000)
                while deployment not in receiver.arrived:
                    if time.monotonic() - t0 > 30:
                        raise SystemExit("webhook never arrived")
                    time.sleep(0.0002)
                hook_ms.append(max(0.0, (receiver.arrived[deployment] - t0) * 1000))
        return {
            "database": database,
            "promotions": promotions,
            "sdk_ms": sdk_ms,
            "webhook_ms": hook_ms,
            "rejected": receiver.rejected,
        }
    finally:
        http.close()
        receiver.close()
        proc.terminate()
        proc.wait(timeout=15)
        if db_name:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))


def report(result: dict[str, Any]) -> None:
    print(
        f"\n{result['promotions']} promotions on {result['database']}"
        f" (signature failures: {result['rejected']})"
    )
    print(f"{'to':<22}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'mean ms':>9}")
    for label, key in (("subscribed SDK", "sdk_ms"), ("webhook receiver", "webhook_ms")):
        v = result[key]
        print(
            f"{label:<22}{statistics.median(v):>9.1f}{pct(v, 0.99):>9.1f}{max(v):>9.1f}"
            f"{statistics.fmean(v):>9.1f}"
        )
    print("anchor (60 s TTL polling): up to 60000 ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--promotions", type=int, default=200)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    for db in ["sqlite", "postgres"] if args.database == "both" else [args.database]:
        report(run(args.promotions, db))


if __name__ == "__main__":
    main()
