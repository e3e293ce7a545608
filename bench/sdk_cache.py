"""SDK cache benchmark: ``python -m bench.sdk_cache`` (from the repository root).

Measures, side by side in one run:

1. a cached ``Client.get_prompt`` against the floor (a plain function doing one dict lookup
   and one ``time.monotonic()`` check); target: within 3x;
2. the same against the Langfuse SDK's cached ``get_prompt`` (served by a local fake Langfuse
   endpoint so its cache fills); target: at least 4x faster;
3. ``Prompt.render`` of a 1 KB template with 10 variables (Langfuse's ``compile`` of the same
   template beside it);
4. an uncached fetch: latency, and HTTP requests per fetch counted by the server (must be 1);
   and the same count for Langfuse.

The PromptOps server is the real one (uvicorn in a thread, SQLite in a temporary directory).
Timings are timeit loops, several rounds, medians reported; the floor and the SDK are timed in
alternation within each round so drift on a busy machine hits both. Results are printed and
written to ``docs/performance.md`` under "## SDK cache (bench/sdk_cache)" (``--no-write`` to
skip).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from time import monotonic
from typing import Any

import httpx

import promptops
from bench._common import DOC, write_doc_section

SECTION = "## SDK cache (bench/sdk_cache)"
SLUG = "greeting"
VARIABLES = [f"var_{i}" for i in range(10)]


def template_1kb() -> str:
    """About 1 KB of text with 10 distinct ``{{variables}}``."""
    chunk = "You are helping a customer of our product. Be precise, polite and brief: "
    parts = [f"{chunk}{{{{{name}}}}}\n" for name in VARIABLES]
    text = "".join(parts)
    while len(text) < 1024:
        text += "Answer in their language. "
    return text


TEMPLATE = template_1kb()
VALUES = {name: f"value-{i}" for i, name in enumerate(VARIABLES)}


# -- the floor ---------------------------------------------------------------------------

_FLOOR: dict[str, tuple[float, object]] = {SLUG: (monotonic() + 1e9, object())}


def floor(slug: str) -> object:
    entry = _FLOOR.get(slug)
    if entry is not None and entry[0] > monotonic():
        return entry[1]
    return None


async def afloor(slug: str) -> object:
    entry = _FLOOR.get(slug)
    if entry is not None and entry[0] > monotonic():
        return entry[1]
    return None


# -- timing ------------------------------------------------------------------------------


def ns_per_call(fn: Callable[[str], Any], number: int) -> float:
    """One timeit loop of ``fn(SLUG)``: nanoseconds per call."""
    seconds = timeit.timeit("fn(slug)", globals={"fn": fn, "slug": SLUG}, number=number)
    return seconds / number * 1e9


def ns_per_await(fn: Callable[[str], Any], number: int) -> float:
    async def loop() -> float:
        t0 = time.perf_counter_ns()
        for _ in range(number):
            await fn(SLUG)
        return (time.perf_counter_ns() - t0) / number

    return asyncio.run(loop())


@dataclass
class Series:
    """Per-round figures of several contenders, timed in alternation."""

    rounds: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        self.rounds.setdefault(name, []).append(value)

    def median(self, name: str) -> float:
        return statistics.median(self.rounds[name])

    def ratio(self, name: str, reference: str) -> float:
        """Median over rounds of the per-round ratio name / reference."""
        pairs = zip(self.rounds[name], self.rounds[reference], strict=True)
        return statistics.median(a / b for a, b in pairs)


# -- servers -----------------------------------------------------------------------------


class CountingApp:
    """ASGI middleware counting the prompt reads the server receives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.reads = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"].startswith("/v1/prompts/")
        ):
            self.reads += 1
        await self.app(scope, receive, send)


@contextmanager
def promptops_server() -> Iterator[tuple[str, str, CountingApp]]:
    """A real PromptOps server with one prompt; yields (base_url, read key, counter)."""
    import uvicorn

    from promptops.domain.bootstrap import ensure_admin_key
    from promptops.server.app import create_app
    from promptops.server.config import Settings

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            Settings(database_url=f"sqlite:///{tmp}/bench.db", bcrypt_rounds=4, demo=False)
        )
        with app.state.db.write() as session:
            admin = ensure_admin_key(session, rounds=4)
        counting = CountingApp(app)
        config = uvicorn.Config(counting, host="127.0.0.1", port=0, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        base_url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base_url, timeout=30) as http:
            created = http.post(
                "/v1/projects", json={"name": "bench"}, headers={"Authorization": f"Bearer {admin}"}
            ).json()
            write = {"Authorization": f"Bearer {created['api_key']['key']}"}
            http.post("/v1/prompts", json={"slug": SLUG, "name": "Greeting"}, headers=write)
            r = http.post(
                f"/v1/prompts/{SLUG}/versions",
                json={"user_template": TEMPLATE, "system_prompt": "Be brief.", "model": "m"},
                headers=write,
            )
            r.raise_for_status()
            read_key = http.post(
                "/v1/keys", json={"environment": "dev", "role": "read"}, headers=write
            ).json()["key"]
        counting.reads = 0
        try:
            yield base_url, read_key, counting
        finally:
            server.should_exit = True
            thread.join(10)


class FakeLangfuse(BaseHTTPRequestHandler):
    """Answers Langfuse's prompt fetch (``GET /api/public/v2/prompts/{name}``) and accepts
    anything else."""

    protocol_version = "HTTP/1.1"
    reads = 0
    body = json.dumps(
        {
            "type": "text",
            "name": SLUG,
            "version": 1,
            "prompt": TEMPLATE,
            "config": {},
            "labels": ["production"],
            "tags": [],
        }
    ).encode()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.startswith("/api/public/v2/prompts/"):
            type(self).reads += 1
            self._reply(200, self.body)
        else:
            self._reply(404, b"{}")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._reply(200, b"{}")


@contextmanager
def fake_langfuse() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeLangfuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def langfuse_client(base_url: str) -> Any | None:
    try:
        from langfuse import Langfuse
    except ImportError:
        return None
    return Langfuse(
        public_key="pk-lf-bench", secret_key="sk-lf-bench", base_url=base_url, tracing_enabled=False
    )


# -- the benchmark -----------------------------------------------------------------------


@dataclass
class Results:
    rows: list[tuple[str, str, str]] = field(default_factory=list)
    checks: list[tuple[str, bool]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def row(self, what: str, figure: str, target: str = "") -> None:
        self.rows.append((what, figure, target))
        print(f"  {what:<58} {figure:>18}   {target}")

    def check(self, what: str, ok: bool) -> None:
        self.checks.append((what, ok))


def fmt_ns(ns: float) -> str:
    return f"{ns / 1000:.2f} µs" if ns >= 10_000 else f"{ns:.0f} ns"


def run(rounds: int, number: int) -> Results:
    res = Results()
    with promptops_server() as (base_url, key, counter), fake_langfuse() as lf_url:
        client = promptops.Client(api_key=key, base_url=base_url, cache_ttl=3600)
        prompt = client.get_prompt(SLUG)
        assert prompt.variables == tuple(VARIABLES) and len(prompt.user_template) >= 1024
        lf = langfuse_client(lf_url)
        lf_prompt = lf.get_prompt(SLUG, cache_ttl_seconds=3600) if lf is not None else None

        # 1-2: cached reads, in alternation per round.
        series = Series()
        for _ in range(rounds):
            series.add("floor", ns_per_call(floor, number))
            series.add("promptops", ns_per_call(client.get_prompt, number))
            if lf is not None:
                series.add("langfuse", ns_per_call(lf.get_prompt, max(number // 20, 1000)))
        print(f"SDK cache benchmark ({rounds} rounds; medians)")
        floor_ns, po_ns = series.median("floor"), series.median("promptops")
        ratio = series.ratio("promptops", "floor")
        res.row("floor: dict lookup + monotonic() check", fmt_ns(floor_ns))
        res.row("PromptOps Client.get_prompt, cached", fmt_ns(po_ns))
        res.row("  ratio to the floor", f"{ratio:.2f}x", "target <= 3x")
        res.check("cached get_prompt within 3x of the floor", ratio <= 3.0)
        if lf is not None:
            lf_ns = series.median("langfuse")
            speedup = series.ratio("langfuse", "promptops")
            res.row("Langfuse get_prompt, cached (fake local endpoint)", fmt_ns(lf_ns))
            res.row("  PromptOps speed-up over Langfuse", f"{speedup:.1f}x", "target >= 4x")
            res.check("cached get_prompt >= 4x faster than Langfuse's", speedup >= 4.0)
        else:
            res.notes.append("langfuse is not installed: its comparison was skipped")

        # Async hit path, for the record.
        aclient = promptops.AsyncClient(api_key=key, base_url=base_url, cache_ttl=3600)
        asyncio.run(aclient.get_prompt(SLUG))
        aseries = Series()
        for _ in range(rounds):
            aseries.add("afloor", ns_per_await(afloor, number))
            aseries.add("async", ns_per_await(aclient.get_prompt, number))
        res.row("async floor (await of the same lookup)", fmt_ns(aseries.median("afloor")))
        res.row(
            "PromptOps await AsyncClient.get_prompt, cached",
            fmt_ns(aseries.median("async")),
            f"({aseries.ratio('async', 'afloor'):.2f}x its floor)",
        )

        # 3: rendering a 1 KB template with 10 variables.
        render_series = Series()
        n_render = max(number // 50, 2000)
        for _ in range(rounds):
            t = timeit.timeit(
                "render(**values)",
                globals={"render": prompt.render, "values": VALUES},
                number=n_render,
            )
            render_series.add("render", t / n_render * 1e9)
            t = timeit.timeit(
                "text(**values)",
                globals={"text": prompt.render_text, "values": VALUES},
                number=n_render,
            )
            render_series.add("render_text", t / n_render * 1e9)
            if lf_prompt is not None:
                t = timeit.timeit(
                    "compile(**values)",
                    globals={"compile": lf_prompt.compile, "values": VALUES},
                    number=n_render,
                )
                render_series.add("langfuse", t / n_render * 1e9)
        res.row(
            f"Prompt.render, {len(TEMPLATE)} B template, 10 variables (messages)",
            fmt_ns(render_series.median("render")),
        )
        res.row("Prompt.render_text, same template", fmt_ns(render_series.median("render_text")))
        if lf_prompt is not None:
            res.row(
                "Langfuse TextPromptClient.compile, same template",
                fmt_ns(render_series.median("langfuse")),
            )

        # 4: uncached fetches against the real server.
        n_fetch = max(rounds * 40, 100)
        counter.reads = 0
        latencies = []
        for _ in range(n_fetch):
            client.invalidate(SLUG)
            t0 = time.perf_counter_ns()
            client.get_prompt(SLUG)
            latencies.append(time.perf_counter_ns() - t0)
        per_fetch = counter.reads / n_fetch
        res.row("uncached get_prompt (kept-alive connection)", fmt_ns(statistics.median(latencies)))
        res.row("  HTTP requests per uncached fetch (server-side)", f"{per_fetch:g}", "must be 1")
        res.check("an uncached fetch is exactly one HTTP request", per_fetch == 1)
        cold = []
        counter.reads = 0
        for _ in range(max(rounds * 5, 20)):
            t0 = time.perf_counter_ns()
            with promptops.Client(api_key=key, base_url=base_url) as fresh:
                fresh.get_prompt(SLUG)
            cold.append(time.perf_counter_ns() - t0)
        res.row(
            "new Client + first get_prompt + close (new connection)",
            fmt_ns(statistics.median(cold)),
        )
        if lf is not None:
            FakeLangfuse.reads = 0
            n_lf = 50
            for _ in range(n_lf):
                lf.get_prompt(SLUG, cache_ttl_seconds=0)
            res.row(
                "  Langfuse: HTTP requests per uncached fetch (fake server)",
                f"{FakeLangfuse.reads / n_lf:g}",
            )
            lf.shutdown()
        client.close()
    return res


def section(res: Results, command: str) -> str:
    lines = [
        SECTION,
        "",
        f"Command: `{command}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python"
        f" {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs.",
        "Real PromptOps server (uvicorn thread, SQLite); Langfuse SDK against a local fake of its"
        " prompt endpoint. Figures are medians over rounds; ratios are medians of per-round"
        " ratios (floor and SDK timed in alternation).",
        "",
        "| Measure | Result | Target |",
        "|---|---|---|",
    ]
    lines += [f"| {what.strip()} | {figure} | {target} |" for what, figure, target in res.rows]
    lines.append("")
    for what, ok in res.checks:
        lines.append(f"- {'PASS' if ok else 'FAIL'}: {what}")
    lines += [f"- Note: {note}" for note in res.notes]
    lines.append(
        "- The hit path is one `dict.get` on a `(slug, version)` tuple, one clock call, one"
        " comparison, and returns a pre-built immutable `Prompt` (see docs/sdk.md)."
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=200_000, help="calls per timing loop")
    parser.add_argument("--no-write", action="store_true", help="do not update docs")
    args = parser.parse_args(argv)
    res = run(args.rounds, args.number)
    print()
    for what, ok in res.checks:
        print(f"{'PASS' if ok else 'FAIL'}: {what}")
    if not args.no_write:
        command = "python -m bench.sdk_cache " + " ".join(sys.argv[1:] if argv is None else argv)
        write_doc_section(SECTION, section(res, command.strip()))
        print(
            f"\nwritten to {DOC.relative_to(Path.cwd()) if DOC.is_relative_to(Path.cwd()) else DOC}"
        )
    return 0 if all(ok for _, ok in res.checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
