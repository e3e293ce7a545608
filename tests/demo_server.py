"""A fresh `promptops serve` as a new user runs it, and the docs' placeholder convention.

Shared by the serve tests (tests/cli/test_serve.py), the README test
(tests/cli/test_readme_flow.py) and the docs examples test (tests/docs/):

- :func:`serving` starts the CLI server in a folder (a fresh SQLite database, the demo
  project unless ``--no-demo``) and yields the process and what it printed;
- :func:`demo_server` does that and reads the printed keys into the placeholders the
  README and docs use (``<dev read key>``, ``<admin key>``, ...);
- :func:`substitute` replaces placeholders (and the default server URL) in a code block and
  refuses a block that names a placeholder nobody printed;
- :func:`run_shell_block` runs a bash block with ``promptops`` on the PATH meaning this
  interpreter running this checkout's CLI.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support import free_port

__all__ = [
    "DEFAULT_URL",
    "DemoServer",
    "clean_env",
    "demo_server",
    "grab",
    "promptops_shim",
    "run_shell_block",
    "serving",
    "substitute",
    "wait_listening",
]

DEFAULT_URL = "http://127.0.0.1:8000"  # what the README and docs show
PLACEHOLDER = re.compile(r"<[a-z][a-z ]+>")


def clean_env() -> dict[str, str]:
    """This process's environment without any PROMPTOPS_* setting (a new user's shell)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PROMPTOPS_")}


@contextmanager
def serving(
    folder: Path, port: int, *extra: str
) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    env = clean_env()
    env["PROMPTOPS_BCRYPT_ROUNDS"] = "4"
    proc = subprocess.Popen(
        [sys.executable, "-m", "promptops.cli.main", "serve", "--port", str(port), *extra],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if "Uvicorn running on" in line or "Application startup complete" in line:
                break
        assert any("startup complete" in ln for ln in lines), "\n".join(lines)
        wait_listening(port)  # "startup complete" is logged before the socket is bound
        yield proc, lines
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_listening(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def grab(lines: list[str], label: str) -> str:
    """The last word of the first printed line containing ``label``."""
    for line in lines:
        if label in line:
            return line.split()[-1]
    raise AssertionError(f"{label!r} not printed:\n" + "\n".join(lines))


@dataclass
class DemoServer:
    """A running first-start server: its URL, folder (holding ./promptops.db) and the
    placeholder values taken from what it printed."""

    url: str
    folder: Path
    lines: list[str]
    values: dict[str, str] = field(default_factory=dict)


@contextmanager
def demo_server(folder: Path) -> Iterator[DemoServer]:
    """`promptops serve` in ``folder`` (first start, demo project), with the printed keys
    as placeholders: ``<dev write key>``, ``<dev read key>``, ``<staging write key>``,
    ``<production write key>``, ``<admin key>``, ``<dev read key prefix>``, ``<project id>``."""
    port = free_port()
    with serving(folder, port) as (_, lines):
        values = {
            "<dev write key>": grab(lines, "dev write key:"),
            "<dev read key>": grab(lines, "dev read key:"),
            "<staging write key>": grab(lines, "staging write key:"),
            "<production write key>": grab(lines, "production write key:"),
            "<admin key>": grab(lines, "po_admin_"),
        }
        values["<dev read key prefix>"] = "_".join(values["<dev read key>"].split("_")[:3])
        demo = next(ln for ln in lines if ln.startswith("Demo project created (id "))
        values["<project id>"] = demo.split("(id ", 1)[1].split(")", 1)[0]
        yield DemoServer(f"http://127.0.0.1:{port}", folder, lines, values)


def substitute(text: str, values: Mapping[str, str], urls: Mapping[str, str], where: str) -> str:
    """``text`` with each URL of ``urls`` and each placeholder of ``values`` replaced; a
    placeholder left over fails (naming ``where``)."""
    for shown, live in urls.items():
        text = text.replace(shown, live)
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    left = PLACEHOLDER.findall(text)
    assert not left, f"{where} has unknown placeholders {left}"
    return text


def promptops_shim(bin_dir: Path) -> Path:
    """``bin_dir/promptops``: this interpreter running this checkout's CLI."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "promptops"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m promptops.cli.main "$@"\n')
    shim.chmod(0o755)
    return bin_dir


def run_shell_block(
    script: str, *, cwd: Path, bin_dir: Path, where: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with ``bash -euo pipefail`` (``promptops`` from ``bin_dir``); a
    non-zero exit fails, showing the block and its output."""
    full = dict(env) if env is not None else clean_env()
    full["PATH"] = f"{bin_dir}{os.pathsep}{full.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=full,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, (
        f"{where} failed (exit {done.returncode}):\n{script}\n"
        f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    )
    return done
