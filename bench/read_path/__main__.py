"""``python -m bench.read_path``: see the package docstring and ``--help``."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench._common import free_port, stop_process
from bench.read_path import inproc
from bench.read_path.fixtures import Fixture, create_postgres_db, drop_postgres_db, seed
from bench.read_path.wrk import WrkResult, run_wrk

ROOT = Path(__file__).resolve().parents[2]
PROMPTOPS, PROMPTOPS_100K, STARLETTE, RAW = "promptops", "promptops-100k", "starlette", "raw-asgi"
PROTOTYPE, CONTROL, RAW_IN_APP = "proto-fastpath", "promptops-bis", "raw-in-app"
APPS = "bench.read_path.apps"


@dataclass(frozen=True)
class Run:
    wrk: WrkResult
    cpu_s: float  # CPU time the server process used during the run
    wall_s: float

    @property
    def rps(self) -> float:
        return self.wrk.rps

    @property
    def per_cpu(self) -> float:
        return self.wrk.requests / self.cpu_s if self.cpu_s else 0.0

    @property
    def busy(self) -> float:
        return self.cpu_s / self.wall_s

    def as_dict(self) -> dict[str, Any]:
        return {**self.wrk.as_dict(), "server_cpu_s": self.cpu_s, "wall_s": self.wall_s}


@dataclass
class Server:
    name: str
    factory: str
    env: dict[str, str]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    results: list[Run] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install -y wrk)", file=sys.stderr)
        return 2
    if os.cpu_count() == 1 or args.no_pin or shutil.which("taskset") is None:
        server_pin: list[str] = []
        wrk_pin: list[str] = []
    else:
        server_pin = ["taskset", "-c", args.server_cpus]
        wrk_pin = ["taskset", "-c", args.wrk_cpus]

    workdir = Path(tempfile.mkdtemp(prefix="promptops-bench-"))
    pg_dbs: list[str] = []
    servers: list[Server] = []
    try:
        print(_header(args, server_pin, wrk_pin), flush=True)
        one, big = _databases(args, workdir, pg_dbs)
        path = f"/v1/prompts/{one.slug}/active"
        headers = {"Authorization": f"Bearer {one.read_key}"}
        headers_big = {"Authorization": f"Bearer {big.read_key}"}

        po = Server(PROMPTOPS, f"{APPS}:promptops", {"BENCH_DATABASE_URL": one.database_url})
        po_big = Server(
            PROMPTOPS_100K, f"{APPS}:promptops", {"BENCH_DATABASE_URL": big.database_url}
        )
        servers += [po, po_big]
        for server in (po, po_big):
            _start(server, server_pin, workdir)
        for server, hdrs in ((po, headers), (po_big, headers_big)):
            _wait_ready(server, path, hdrs)
        status, reply_headers, body = _get(po, path, headers)
        if status != 200:
            raise SystemExit(f"PromptOps answered {status}: {body[:300]!r}")
        (workdir / "body.json").write_bytes(body)
        baseline_env = {
            "BENCH_BODY_FILE": str(workdir / "body.json"),
            "BENCH_ETAG": reply_headers.get("etag", '"bench"'),
        }
        st = Server(STARLETTE, f"{APPS}:starlette", baseline_env)
        raw = Server(RAW, f"{APPS}:raw_asgi", baseline_env)
        extra = []
        if args.control:
            extra.append(Server(CONTROL, f"{APPS}:promptops", dict(po.env)))
        if args.app_process_floor:
            extra.append(
                Server(
                    RAW_IN_APP,
                    "bench.read_path.experiment:raw_asgi_in_app_process",
                    {**baseline_env, "BENCH_DATABASE_URL": one.database_url},
                )
            )
        if args.prototype:
            extra.append(
                Server(
                    PROTOTYPE,
                    "bench.read_path.experiment:promptops_prototype",
                    {"BENCH_DATABASE_URL": one.database_url},
                )
            )
        servers += [st, raw, *extra]
        for server in (st, raw, *extra):
            _start(server, server_pin, workdir)
            _wait_ready(server, path, headers)
        _check_responses(po, po_big, st, raw, path, headers, headers_big, body, big, extra)

        loads = {s.name: headers for s in servers}
        loads[po_big.name] = headers_big

        def load(server: Server, seconds: float) -> Run:
            assert server.process is not None
            cpu, wall = _cpu_seconds(server.process.pid), time.perf_counter()
            result = run_wrk(
                server.url(path),
                duration=seconds,
                connections=args.connections,
                threads=args.threads,
                headers=loads[server.name],
                pin=wrk_pin,
            )
            cpu, wall = _cpu_seconds(server.process.pid) - cpu, time.perf_counter() - wall
            return Run(result, cpu, wall)

        order = [po, po_big, st, raw, *extra]
        if args.warmup > 0:
            print(f"warm-up: {args.warmup:g}s each", flush=True)
            for server in order:
                load(server, args.warmup)
        for r in range(args.rounds):
            shift = r % len(order)
            for server in order[shift:] + order[:shift]:
                result = load(server, args.duration)
                server.results.append(result)
                flag = f"  ERRORS: {result.wrk.errors}" if result.wrk.errors else ""
                print(
                    f"round {r + 1}/{args.rounds}  {server.name:<15} {result.rps:>8,.0f} req/s"
                    f" {result.per_cpu:>8,.0f} req/CPU-s  busy {result.busy:4.0%}"
                    f"  p50 {_ms(result.wrk.p50_ms)}  p99 {_ms(result.wrk.p99_ms)}{flag}",
                    flush=True,
                )
        report = _report(order, one, big, args)
        print(report["text"])
        costs = _app_costs(args, one, path, headers["Authorization"], baseline_env)
        report["data"]["app_only_us_per_request"] = costs
        loads_us = inproc.load_costs({PROMPTOPS: one, PROMPTOPS_100K: big})
        report["data"]["snapshot_load_us"] = loads_us
        print(
            "miss path (ActiveSnapshot.load: the one query + encoding; median of 300,"
            f" interleaved): {one.versions} version {loads_us[PROMPTOPS]:.0f} us,"
            f" {big.versions:,} versions {loads_us[PROMPTOPS_100K]:.0f} us,"
            f" ratio 100k/1 {loads_us[PROMPTOPS_100K] / loads_us[PROMPTOPS]:.3f}"
        )
        if args.profile:
            _profile(po, load, args)
        if args.json:
            Path(args.json).write_text(json.dumps(report["data"], indent=2) + "\n")
            print(f"wrote {args.json}")
        return 0
    finally:
        for server in servers:
            _stop(server)
        for url in pg_dbs:
            drop_postgres_db(url)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.read_path",
        description="Load GET /v1/prompts/{slug}/active with wrk: PromptOps vs a bare Starlette"
        " route vs a raw ASGI floor, and on a 1-version vs a 100,000-version database.",
    )
    p.add_argument("--duration", type=float, default=6, help="seconds per measured run [6]")
    p.add_argument("--rounds", type=int, default=7, help="interleaved rounds [7]")
    p.add_argument("--warmup", type=float, default=3, help="warm-up seconds per server [3]")
    p.add_argument("--connections", type=int, default=32, help="wrk connections [32]")
    p.add_argument("--threads", type=int, default=1, help="wrk threads [1]")
    p.add_argument("--server-cpus", default="0", help="taskset CPU list for servers [0]")
    p.add_argument("--wrk-cpus", default="1", help="taskset CPU list for wrk [1]")
    p.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    p.add_argument("--prompts", type=int, default=1000, help="prompts in the big DB [1000]")
    p.add_argument(
        "--versions-per-prompt", type=int, default=100, help="versions per prompt there [100]"
    )
    p.add_argument(
        "--postgres",
        metavar="SERVER_URL",
        nargs="?",
        const="postgresql://postgres@127.0.0.1:5432",
        help="use fresh databases on this PostgreSQL server instead of SQLite files"
        " [postgresql://postgres@127.0.0.1:5432]",
    )
    p.add_argument(
        "--content",
        choices=("legacy", "chat"),
        default="legacy",
        help="the read prompt: legacy (system prompt + user template) or chat (8 messages,"
        " 3 tools, a response schema, one snippet) [legacy]",
    )
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument(
        "--profile",
        metavar="PATH",
        help="afterwards, sample the PromptOps server with py-spy under load (collapsed stacks"
        " to PATH) and print the hottest frames",
    )
    p.add_argument("--profile-seconds", type=float, default=10, help="py-spy duration [10]")
    p.add_argument(
        "--control",
        action="store_true",
        help="also serve a second PromptOps process on the 1-version database (promptops-bis):"
        " an A/A pair showing process-to-process noise",
    )
    p.add_argument(
        "--app-process-floor",
        action="store_true",
        help="also serve the raw floor from a process that has built the whole PromptOps app"
        " (raw-in-app): the cost of the big process itself, apart from the hot-path code",
    )
    p.add_argument(
        "--prototype",
        action="store_true",
        help="also serve bench/read_path/experiment.py's leaner hot path (proto-fastpath)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return p


def _header(args: argparse.Namespace, server_pin: list[str], wrk_pin: list[str]) -> str:
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    lines = [
        f"PromptOps read-path benchmark  {datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs ({_cpu_model()}),"
        f" load average {os.getloadavg()[0]:.2f}",
        f"python {platform.python_version()}, "
        + ", ".join(
            f"{pkg} {_version(pkg)}"
            for pkg in ("uvicorn", "uvloop", "httptools", "starlette", "fastapi")
        ),
        f"wrk: {wrk_version.splitlines()[0] if wrk_version else '?'}",
        "servers: uvicorn --factory --workers 1 --loop uvloop --http httptools --no-access-log"
        f" (pinned: {' '.join(server_pin) or 'no'}); wrk -t{args.threads} -c{args.connections}"
        f" -d{args.duration:g}s --latency (pinned: {' '.join(wrk_pin) or 'no'})",
        f"rounds: {args.rounds} interleaved (order rotated each round), warm-up"
        f" {args.warmup:g}s per server; database: {'PostgreSQL' if args.postgres else 'SQLite'}",
    ]
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "-"


def _databases(
    args: argparse.Namespace, workdir: Path, pg_dbs: list[str]
) -> tuple[Fixture, Fixture]:
    if args.postgres:
        pg_dbs.append(create_postgres_db(args.postgres))
        pg_dbs.append(create_postgres_db(args.postgres))
        url_one, url_big = pg_dbs
    else:
        url_one = f"sqlite:///{workdir / 'one.db'}"
        url_big = f"sqlite:///{workdir / 'big.db'}"
    started = time.perf_counter()
    one = seed(url_one, content=args.content)
    big = seed(
        url_big,
        prompts_count=args.prompts,
        versions_per_prompt=args.versions_per_prompt,
        content=args.content,
    )
    print(
        f"databases: {one.prompts} prompt / {one.versions} version  vs  {big.prompts:,} prompts"
        f" / {big.versions:,} versions (read prompt has {big.read_prompt_versions}),"
        f" seeded in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    return one, big


def _cpu_seconds(pid: int) -> float:
    """CPU time of all threads of ``pid`` so far (from /proc/<pid>/task/*/schedstat)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError, ValueError, IndexError):  # a thread that ended
            total += int(stat.read_text().split()[0])
    return total / 1e9


def _start(server: Server, pin: list[str], workdir: Path) -> None:
    server.port = free_port()
    server.log = workdir / f"{server.name}.log"
    cmd = [
        *pin,
        sys.executable,
        "-m",
        "uvicorn",
        server.factory,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(server.port),
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
    env = {**os.environ, **server.env, "PYTHONPATH": str(ROOT)}
    with server.log.open("wb") as log:
        server.process = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )


def _stop(server: Server) -> None:
    stop_process(server.process, timeout=10)


def _get(server: Server, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _wait_ready(server: Server, path: str, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.process is not None
        if server.process.poll() is not None:
            break
        try:
            status, _, _ = _get(server, path, headers)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    log = server.log.read_text() if server.log else ""
    raise SystemExit(f"{server.name} did not come up on port {server.port}:\n{log}")


def _check_responses(
    po: Server,
    po_big: Server,
    st: Server,
    raw: Server,
    path: str,
    headers: dict[str, str],
    headers_big: dict[str, str],
    body: bytes,
    big: Fixture,
    extra: list[Server],
) -> None:
    """Every server must answer 200 with the same document before anything is timed."""
    same = "baselines byte-identical to PromptOps"
    for server in (st, raw, *extra):
        status, _, other = _get(server, path, headers)
        assert status == 200, (server.name, status)
        if other != body:
            assert json.loads(other) == json.loads(body), f"{server.name} serves other JSON"
            same = "baselines: same JSON, other bytes"
    status, _, other = _get(po_big, path, headers_big)
    assert status == 200, (po_big.name, status, other[:200])
    assert json.loads(other)["version"] == big.read_prompt_versions
    print(
        f"responses: 200, {len(body)} B body (100k DB: {len(other)} B, version"
        f" {big.read_prompt_versions}); {same}",
        flush=True,
    )


def _ms(value: float | None) -> str:
    return "   -   " if value is None else f"{value:6.2f}ms"


def _median(values: list[float | None]) -> float | None:
    clean = [v for v in values if v is not None]
    return statistics.median(clean) if clean else None


_METRICS = {"req/s": lambda r: r.rps, "req/CPU-s": lambda r: r.per_cpu}


CLEAN_BUSY = 0.9  # a round is clean when every server was busy at least this share of it


def _report(servers: list[Server], one: Fixture, big: Fixture, args: argparse.Namespace) -> Any:
    rounds = len(servers[0].results)
    every = list(range(rounds))
    clean = [i for i in every if all(s.results[i].busy >= CLEAN_BUSY for s in servers)]
    lines, med, ratios = _tables(servers, every, f"all {rounds} rounds")
    busy = statistics.median(r.busy for s in servers for r in s.results)
    if busy < 0.8:
        lines.append(
            f"WARNING: the servers were busy only {busy:.0%} of the time (median): wrk could not"
            " saturate them (other load on the machine); req/s is unreliable, see req/CPU-s."
        )
    data_clean: Any = None
    if 3 <= len(clean) < rounds:
        more, med_clean, ratios_clean = _tables(
            servers,
            clean,
            f"clean rounds only ({len(clean)} of {rounds}: rounds {_listed(clean)}, where"
            f" every server was busy >= {CLEAN_BUSY:.0%})",
        )
        lines += more
        data_clean = {
            "rounds": [i + 1 for i in clean],
            "medians": med_clean,
            "ratios": ratios_clean,
        }
    elif len(clean) < rounds:
        lines.append(f"\n(clean rounds: {len(clean)} of {rounds}; too few for a separate table)")
    lines.append(
        f"\n1 vs 100k: {one.versions} version vs {big.versions:,} versions in {big.prompts:,}"
        " prompts; 'within noise' = 1.0 lies within the range of the per-round paired ratios."
        "\n(medians over rounds; spread: (max-min)/median of req/s; req/CPU-s: requests per"
        " second of server CPU time, less sensitive to other load on the machine; busy: server"
        " CPU time / wall time; p50/p99: medians of wrk's latency percentiles)"
    )
    data = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "args": vars(args),
        "load_average_end": os.getloadavg()[0],
        "servers": {
            s.name: {
                "median_rps": med["req/s"][s.name],
                "median_requests_per_cpu_second": med["req/CPU-s"][s.name],
                "runs": [r.as_dict() for r in s.results],
            }
            for s in servers
        },
        "ratios": ratios,
        "clean": data_clean,
    }
    return {"text": "\n".join(lines), "data": data}


def _listed(indices: list[int]) -> str:
    return ",".join(str(i + 1) for i in indices)


def _tables(
    servers: list[Server], idx: list[int], title: str
) -> tuple[list[str], dict[str, dict[str, float]], list[dict[str, Any]]]:
    by = {s.name: s for s in servers}
    runs = {s.name: [s.results[i] for i in idx] for s in servers}
    med = {
        metric: {name: statistics.median(get(r) for r in rs) for name, rs in runs.items()}
        for metric, get in _METRICS.items()
    }
    rps = med["req/s"]
    lines = [
        "",
        f"== {title}",
        f"{'server':<16}{'median req/s':>13}{'min':>9}{'max':>9}{'spread':>8}"
        f"{'req/CPU-s':>11}{'busy':>6}{'p50':>10}{'p99':>10}  errors",
    ]
    for name, rs in runs.items():
        values = [r.rps for r in rs]
        spread = (max(values) - min(values)) / rps[name]
        lines.append(
            f"{name:<16}{rps[name]:>13,.0f}{min(values):>9,.0f}{max(values):>9,.0f}"
            f"{spread:>7.0%}{med['req/CPU-s'][name]:>12,.0f}"
            f"{statistics.median(r.busy for r in rs):>6.0%}"
            f"  {_ms(_median([r.wrk.p50_ms for r in rs]))}"
            f"  {_ms(_median([r.wrk.p99_ms for r in rs]))}"
            f"  {sum(r.wrk.errors for r in rs)}"
        )

    pairs = [
        (PROMPTOPS, STARLETTE, ">= 0.8 (bar)"),
        (PROMPTOPS, RAW, ">= 0.8 (goal)"),
        (STARLETTE, RAW, ""),
        (PROMPTOPS_100K, PROMPTOPS, "within noise (bar)"),
    ]
    if CONTROL in by:
        pairs.append((CONTROL, PROMPTOPS, "A/A control"))
    if RAW_IN_APP in by:
        pairs += [(RAW_IN_APP, RAW, ""), (PROMPTOPS, RAW_IN_APP, "")]
    if PROTOTYPE in by:
        pairs += [(PROTOTYPE, PROMPTOPS, ""), (PROTOTYPE, RAW, "")]
    ratios = []
    for a, b, bar in pairs:
        for metric, get in _METRICS.items():
            paired = [get(x) / get(y) for x, y in zip(runs[a], runs[b], strict=True)]
            value = med[metric][a] / med[metric][b]
            if bar.startswith(">="):
                verdict = "pass" if value >= 0.8 else "FAIL"
            elif bar.startswith("within") and len(paired) < 3:
                verdict = "n/a (needs >= 3 rounds)"
            elif bar.startswith("within"):
                verdict = "pass" if min(paired) <= 1.0 <= max(paired) else "outside noise"
            else:
                verdict = ""
            ratios.append(
                {
                    "ratio": f"{a} / {b}",
                    "metric": metric,
                    "value": value,
                    "per_round_min": min(paired),
                    "per_round_max": max(paired),
                    "bar": bar,
                    "verdict": verdict,
                }
            )
    lines += ["", f"{'ratio of medians':<30}{'metric':<11}{'value':>6}  {'per-round':<13}bar"]
    for r in ratios:
        lines.append(
            f"{r['ratio']:<30}{r['metric']:<11}{r['value']:>6.3f}"
            f"  {r['per_round_min']:.2f}-{r['per_round_max']:.2f}    {r['bar']}"
            f"{'  -> ' + r['verdict'] if r['verdict'] else ''}"
        )
    return lines, med, ratios


def _app_costs(
    args: argparse.Namespace, one: Fixture, path: str, authorization: str, env: dict[str, str]
) -> dict[str, float]:
    from bench.read_path import apps, experiment

    factories = {PROMPTOPS: apps.promptops, STARLETTE: apps.starlette, RAW: apps.raw_asgi}
    if args.prototype:
        factories[PROTOTYPE] = experiment.promptops_prototype
    costs = inproc.app_costs(
        factories, {**env, "BENCH_DATABASE_URL": one.database_url}, path, authorization
    )
    print("\napp-only cost per request (in-process ASGI call, no server; best of 7 x 20k):")
    for name, us in costs.items():
        print(f"  {name:<16}{us:6.2f} us   (+{us - costs[RAW]:.2f} us over {RAW})")
    return costs


def _profile(po: Server, load: Any, args: argparse.Namespace) -> None:
    spy = shutil.which("py-spy")
    if spy is None:
        print("--profile needs py-spy (pip install py-spy)", file=sys.stderr)
        return
    assert po.process is not None
    seconds = args.profile_seconds
    print(f"\nprofiling {po.name} (pid {po.process.pid}) with py-spy for {seconds:g}s under load")
    result: list[Run] = []
    loader = threading.Thread(target=lambda: result.append(load(po, seconds + 3)))
    loader.start()
    time.sleep(1)
    done = subprocess.run(
        [
            *(["taskset", "-c", args.wrk_cpus] if not args.no_pin else []),
            spy,
            "record",
            "--pid",
            str(po.process.pid),
            "--duration",
            str(round(seconds)),
            "--rate",
            "200",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            args.profile,
        ],
        capture_output=True,
        text=True,
    )
    loader.join()
    if done.returncode != 0:
        print(f"py-spy failed: {done.stderr}", file=sys.stderr)
        return
    print(summarize_profile(Path(args.profile)))


def summarize_profile(path: Path, top: int = 15) -> str:
    """Summarize py-spy's collapsed (raw) output: self time by package and by line, and
    inclusive time of the promptops functions."""
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        own[frames[-1]] += n
        packages[_package(frames[-1])] += n
        for function in {_function(f) for f in frames if "promptops/" in f}:
            inclusive[function] += n
    if not total:
        return "py-spy recorded no samples"
    out = [f"{total} samples; self time by package:"]
    out += [f"  {n / total:6.1%}  {name}" for name, n in packages.most_common()]
    out.append("self time by line:")
    out += [f"  {n / total:6.1%}  {frame}" for frame, n in own.most_common(top)]
    out.append("inclusive time of promptops functions (partial for coroutines):")
    out += [f"  {n / total:6.1%}  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(out)


def _function(frame: str) -> str:
    """``name (path/file.py:123)`` -> ``name (path/file.py)``."""
    head, _, _ = frame.rpartition(":")
    return f"{head})" if head else frame


def _package(frame: str) -> str:
    _, _, location = frame.rpartition("(")
    top = location.split("/", 1)[0].split(":", 1)[0]
    return top if "/" in location else f"other ({top})"


if __name__ == "__main__":
    sys.exit(main())
