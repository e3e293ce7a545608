"""GitOps sync at scale: `promptops sync push` of 1,000 prompt files, unchanged and changed,
against a live server (SQLite by default), side by side with the per-file API calls a
script without the sync endpoint would make (the reference).

Bars (issue 12): a push of 1,000 unchanged files makes at most 3 HTTP requests and takes
<= 2 s; a push of 1,000 changed files <= 20 s. Each figure is the median of ``--rounds``
runs of the real CLI (``promptops.cli.main.main``, in this process, HTTP counted by
wrapping ``httpx.request``).

    python -m bench.sync --files 1000 --rounds 3 [--database postgres] [--write-doc]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench._common import stop_process, write_doc_section
from bench.freshness import ADMIN, start_server
from promptops.cli.main import main as cli

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/promptops_bench_sync"


def _file(i: int, revision: int) -> str:
    return (
        f"slug: p{i:04d}\nname: Prompt {i}\ntype: chat\nmessages:\n"
        f"  - role: system\n    content: |\n      You are prompt {i}, revision {revision}.\n"
        "      Answer briefly.\n  - role: user\n    content: '{{question}}'\n"
        "model: gpt-4o-mini\ntemperature: 0.2\n"
    )


@contextlib.contextmanager
def _counted() -> Iterator[list[str]]:
    calls: list[str] = []
    real = httpx.request

    def counted(method: str, url: str, **kw: Any) -> httpx.Response:
        calls.append(method)
        return real(method, url, **kw)

    httpx.request = counted  # type: ignore[assignment]
    try:
        yield calls
    finally:
        httpx.request = real


def _push(folder: Path, url: str, key: str) -> tuple[float, int]:
    with _counted() as calls, contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        code = cli(["sync", "push", "--dir", str(folder), "--url", url, "--key", key])
        took = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"sync push failed ({code})")
    return took, len(calls)


def _reference(files: int, url: str, key: str, revision: int, create: bool) -> tuple[float, int]:
    """One request per file: read each prompt's latest version, and create a version for
    each that changed (what a loop over the ordinary API does)."""
    headers = {"Authorization": f"Bearer {key}"}
    count = 0
    start = time.perf_counter()
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        for i in range(files):
            slug = f"r{i:04d}"
            count += 1
            if http.get(f"/v1/prompts/{slug}/versions", params={"limit": 1}).status_code == 404:
                count += 1
                http.post("/v1/prompts", json={"slug": slug, "name": slug}).raise_for_status()
            if create:
                count += 1
                http.post(
                    f"/v1/prompts/{slug}/versions",
                    json={
                        "model": "gpt-4o-mini",
                        "messages": [
                            {"role": "system", "content": f"You are {i}, revision {revision}."},
                            {"role": "user", "content": "{{question}}"},
                        ],
                    },
                ).raise_for_status()
    return time.perf_counter() - start, count


def run(files: int, rounds: int, database: str) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="promptops-bench-sync-"))
    url_db = f"sqlite:///{folder}/promptops.db" if database == "sqlite" else PG_URL
    if database == "postgres":
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as c:
            c.execute("DROP DATABASE IF EXISTS promptops_bench_sync")
            c.execute("CREATE DATABASE promptops_bench_sync")
    proc, url = start_server(url_db, str(folder))
    try:
        made = httpx.post(
            f"{url}/v1/projects",
            json={"name": "bench"},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        made.raise_for_status()
        key = made.json()["api_key"]["key"]
        prompts = folder / "prompts"
        prompts.mkdir()
        revision = 0

        def write_all() -> None:
            for i in range(files):
                (prompts / f"p{i:04d}.yaml").write_text(_file(i, revision))

        write_all()
        _push(prompts, url, key)  # the first push creates them all
        _reference(files, url, key, revision, create=True)
        out: dict[str, list[Any]] = {
            k: [] for k in ("unchanged", "changed", "ref_unchanged", "ref_changed")
        }
        for _ in range(rounds):
            out["unchanged"].append(_push(prompts, url, key))
            out["ref_unchanged"].append(_reference(files, url, key, revision, create=False))
            revision += 1
            write_all()
            out["changed"].append(_push(prompts, url, key))
            out["ref_changed"].append(_reference(files, url, key, revision, create=True))
        return {"files": files, "rounds": rounds, "database": database, **out}
    finally:
        stop_process(proc)


def _median(pairs: list[tuple[float, int]]) -> tuple[float, int]:
    return statistics.median(p[0] for p in pairs), max(p[1] for p in pairs)


def report(result: dict[str, Any]) -> str:
    lines = []
    for kind in ("unchanged", "changed"):
        ours, requests = _median(result[kind])
        ref, ref_requests = _median(result[f"ref_{kind}"])
        lines.append(
            f"| {result['database']} | {result['files']} {kind} | {ours:.2f} s, {requests}"
            f" request(s) | {ref:.2f} s, {ref_requests} requests | {ref / ours:.1f}x |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--write-doc", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    rows = [report(run(args.files, args.rounds, db)) for db in databases]
    table = (
        "| database | push | `promptops sync push` (median) | per-file API calls (reference)"
        " | ratio |\n|---|---|---|---|---|\n" + "\n".join(rows)
    )
    print(table)
    if args.write_doc:
        load = os.getloadavg()[0]
        write_doc_section(
            "## GitOps sync",
            "## GitOps sync\n\n"
            f"`python -m bench.sync --files {args.files} --rounds {args.rounds} --database"
            f" {args.database} --write-doc` (2 cores, load average {load:.1f} at the end):"
            " the real CLI against a live server; medians of the rounds; bars: 1,000"
            " unchanged files in <= 3 requests and <= 2 s, 1,000 changed in <= 20 s.\n\n"
            + table
            + "\n",
        )


if __name__ == "__main__":
    main()
