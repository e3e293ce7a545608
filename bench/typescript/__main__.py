"""TypeScript SDK cache benchmark: ``python -m bench.typescript`` (from the repository root,
after ``npm ci`` in sdks/typescript).

Runs ``node bench/typescript/cache.mjs`` (the measuring script) several times against a real
PromptOps server (uvicorn thread, SQLite: ``bench.sdk_cache.promptops_server``) and a local
fake of Langfuse's prompt endpoint (``bench.sdk_cache.fake_langfuse``), and reports:

1. a cached ``getPrompt`` against the floor, a bare ``Map.get`` plus a clock check (sync,
   and awaited since ``getPrompt`` returns a promise); target: within 3x;
2. the same against ``@langfuse/client``'s cached ``prompt.get`` (its cache filled from the
   fake); target: at least 4x faster;
3. uncached fetches with fresh clients: latency, and requests per fetch as counted by each
   server (must be exactly 1).

Figures are medians over every round of every run; ratios are medians of per-round ratios
(the contenders are timed in alternation within each round). Printed, and written to
docs/performance.md under "## TypeScript SDK cache (bench/typescript)" (``--no-write`` to
skip).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._common import DOC, write_doc_section
from bench.sdk_cache import SLUG, FakeLangfuse, fake_langfuse, promptops_server

SECTION = "## TypeScript SDK cache (bench/typescript)"
HERE = Path(__file__).resolve().parent
PACKAGE = HERE.parent.parent / "sdks" / "typescript"


def ensure_build() -> None:
    if not (PACKAGE / "node_modules").is_dir():
        raise SystemExit("run `npm ci` in sdks/typescript first")
    if not (PACKAGE / "dist" / "esm" / "index.js").is_file():
        subprocess.run(["node", "scripts/build.mjs"], cwd=PACKAGE, check=True)


def fmt_ns(ns: float) -> str:
    return f"{ns / 1000:.2f} µs" if ns >= 10_000 else f"{ns:.0f} ns"


def measure(runs: int, rounds: int, number: int, uncached: int) -> dict[str, Any]:
    per_round: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {
        "floor": [],
        "asyncFloor": [],
        "langfuse": [],
        "bound": [],
        "subscribed": [],
        "clocked": [],
        "clocked_floor": [],
    }
    lat: list[float] = []
    lf_lat: list[float] = []
    counts = {"promptops": 0, "promptops_reads": 0, "langfuse": 0, "langfuse_reads": 0}
    node = ""
    with promptops_server() as (base_url, key, counter), fake_langfuse() as lf_url:
        for run in range(runs):
            counter.reads = 0
            FakeLangfuse.reads = 0
            env = {
                **os.environ,
                "PROMPTOPS_BASE_URL": base_url,
                "PROMPTOPS_API_KEY": key,
                "LANGFUSE_BASE_URL": lf_url,
                "BENCH_SLUG": SLUG,
                "BENCH_ROUNDS": str(rounds),
                "BENCH_NUMBER": str(number),
                "BENCH_UNCACHED": str(uncached),
            }
            out = subprocess.run(
                ["node", str(HERE / "cache.mjs")], env=env, check=True, capture_output=True
            )
            doc = json.loads(out.stdout)
            node = doc["node"]
            r = doc["rounds"]
            for name, values in r.items():
                per_round.setdefault(name, []).extend(values)
            for i, ours in enumerate(r["promptops"]):
                ratios["floor"].append(ours / r["floor"][i])
                ratios["asyncFloor"].append(ours / r["asyncFloor"][i])
                ratios["langfuse"].append(r["langfuse"][i] / ours)
                ratios["bound"].append(r["langfuse"][i] / r["awaitOnly"][i])
                ratios["subscribed"].append(r["langfuse"][i] / r["subscribed"][i])
                ratios["clocked"].append(r["langfuse"][i] / r["clocked"][i])
                ratios["clocked_floor"].append(r["clocked"][i] / r["floor"][i])
            lat += doc["uncachedNs"]
            lf_lat += doc["langfuseUncachedNs"]
            counts["promptops"] += doc["promptopsFetches"]
            counts["promptops_reads"] += counter.reads
            counts["langfuse"] += doc["langfuseFetches"]
            counts["langfuse_reads"] += FakeLangfuse.reads
            print(
                f"run {run + 1}/{runs}: getPrompt {statistics.median(r['promptops']):.0f} ns,"
                f" floor {statistics.median(r['floor']):.0f} ns,"
                f" Langfuse {statistics.median(r['langfuse']):.0f} ns",
                flush=True,
            )
    med = {name: statistics.median(values) for name, values in per_round.items()}
    return {
        "load": os.getloadavg()[0],
        "node": node,
        "median": med,
        "ratio": {name: statistics.median(values) for name, values in ratios.items()},
        "uncached": statistics.median(lat),
        "lf_uncached": statistics.median(lf_lat),
        "counts": counts,
    }


def section(res: dict[str, Any], command: str, runs: int, rounds: int) -> str:
    med, ratio, counts = res["median"], res["ratio"], res["counts"]
    per_fetch = counts["promptops_reads"] / counts["promptops"]
    lf_per_fetch = counts["langfuse_reads"] / counts["langfuse"]
    faster = "cached getPrompt >= 4x faster than @langfuse/client's"
    checks = [
        ("cached getPrompt within 3x of the floor (Map.get + clock check)", ratio["floor"] <= 3),
        (f"{faster} (TTL, Node)", ratio["langfuse"] >= 4),
        (f"{faster} (subscribed)", ratio["subscribed"] >= 4),
        ("an uncached fetch is exactly one HTTP request", per_fetch == 1),
    ]
    rows = [
        ("floor: Map.get + performance.now() check (sync)", fmt_ns(med["floor"]), ""),
        ("floor, awaited (an async function doing the same)", fmt_ns(med["asyncFloor"]), ""),
        (
            "`await` of a settled promise (the least any promise API costs)",
            fmt_ns(med["awaitOnly"]),
            "",
        ),
        ("PromptOps `await po.getPrompt()`, cached (TTL, Node)", fmt_ns(med["promptops"]), ""),
        ("ratio to the sync floor", f"{ratio['floor']:.2f}x", "target <= 3x"),
        ("ratio to the awaited floor", f"{ratio['asyncFloor']:.2f}x", ""),
        (
            "`await langfuse.prompt.get()`, cached (fake local endpoint)",
            fmt_ns(med["langfuse"]),
            "",
        ),
        ("PromptOps speed-up over Langfuse", f"{ratio['langfuse']:.1f}x", "target >= 4x"),
        ("Langfuse over a bare `await` (the best speed-up possible)", f"{ratio['bound']:.1f}x", ""),
        ("PromptOps `subscribe: true`, cached", fmt_ns(med["subscribed"]), ""),
        ("its speed-up over Langfuse", f"{ratio['subscribed']:.1f}x", "target >= 4x"),
        ("PromptOps with a clock read per hit (`clock` given)", fmt_ns(med["clocked"]), ""),
        ("its ratio to the sync floor", f"{ratio['clocked_floor']:.2f}x", "target <= 3x"),
        ("its speed-up over Langfuse", f"{ratio['clocked']:.1f}x", "target >= 4x"),
        ("uncached getPrompt, fresh client", fmt_ns(res["uncached"]), ""),
        ("HTTP requests per uncached fetch (server-side)", f"{per_fetch:g}", "must be 1"),
        ("Langfuse uncached prompt.get, fresh client", fmt_ns(res["lf_uncached"]), ""),
        ("Langfuse: HTTP requests per uncached fetch (fake server)", f"{lf_per_fetch:g}", ""),
    ]
    lines = [
        SECTION,
        "",
        f"Command: `{command}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Node {res['node']},"
        f" {platform.machine()}, {os.cpu_count()} CPUs (load average {res['load']:.1f}).",
        "Real PromptOps server (uvicorn thread, SQLite); `@langfuse/client` against a local fake"
        f" of its prompt endpoint. {runs} runs of `node bench/typescript/cache.mjs`, {rounds}"
        " rounds each; figures are medians over all rounds, ratios medians of per-round ratios"
        " (the contenders timed in alternation).",
        "",
        "| Measure | Result | Target |",
        "|---|---|---|",
    ]
    lines += [f"| {what} | {figure} | {target} |" for what, figure, target in rows]
    lines.append("")
    lines += [f"- {'PASS' if ok else 'FAIL'}: {what}" for what, ok in checks]
    lines.append(
        "- The hit path is one `Map.get` keyed by the slug itself, one flag, and returns a"
        " promise made when the entry was stored (no `async` frame, no allocation); the"
        " arguments are checked on a miss only. On Node, with the default clock, entries"
        " expire by an `unref()`ed timer each, so a hit reads no clock (below the floor,"
        " which does); while subscribed they do not expire at all. Off Node (timers may not"
        " outlive a request on Workers) or with a `clock` given, each hit reads the clock."
    )
    lines.append(
        "- Off Node (a clock read per hit): within 3x of the floor"
        f" {'met' if ratio['clocked_floor'] <= 3 else 'NOT met'}, 4x over Langfuse"
        f" {'met' if ratio['clocked'] >= 4 else 'NOT met'} (figures above)."
    )
    if ratio["clocked"] < 4:
        lines.append(
            "- Why, with a clock read per hit, the 4x bar is missed: `@langfuse/client`'s cached"
            " `prompt.get` is itself a lean async function (a key join, a `Map.get`,"
            f" `Date.now()`), costing {ratio['bound']:.1f}x a bare `await` of a settled promise"
            " (the floor of any promise-returning API), and one clock reading"
            " (`performance.now()` or `Date.now()`, about 40 ns here) is most of what our hit"
            " path adds to that `await`."
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="node processes (default 5)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per run (default 5)")
    parser.add_argument("--number", type=int, default=200_000, help="calls per timing loop")
    parser.add_argument("--uncached", type=int, default=20, help="fresh clients per run")
    parser.add_argument("--no-write", action="store_true", help="do not update docs")
    args = parser.parse_args(argv)
    ensure_build()
    res = measure(args.runs, args.rounds, args.number, args.uncached)
    command = "python -m bench.typescript " + " ".join(sys.argv[1:] if argv is None else argv)
    text = section(res, command.strip(), args.runs, args.rounds)
    print()
    print(text)
    if not args.no_write:
        write_doc_section(SECTION, text)
        print(f"written to {DOC}")
    return 0 if "- FAIL" not in text else 1


if __name__ == "__main__":
    raise SystemExit(main())
