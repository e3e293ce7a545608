"""Helpers every benchmark uses: free ports, stopping server subprocesses, and writing a
benchmark's own section of docs/performance.md."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

__all__ = ["DOC", "free_port", "stop_process", "write_doc_section"]

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(proc: subprocess.Popen[bytes] | None, timeout: float = 15.0) -> None:
    """Stop a server subprocess as Ctrl-C would; kill it if it does not exit in time."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def write_doc_section(heading: str, text: str, path: Path = DOC) -> None:
    """Replace (or append) the section under ``heading`` of ``path``, re-reading the file
    first: other benchmarks own the other sections. Written atomically."""
    current = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    lines = current.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    if start is None:
        updated = current.rstrip("\n") + "\n\n" + text
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        tail = "".join(lines[end:])
        updated = "".join(lines[:start]) + text + ("\n" + tail if tail else "")
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(updated, encoding="utf-8")
    os.replace(tmp, path)
