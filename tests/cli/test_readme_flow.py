"""The README's shell blocks, run in order against a fresh `promptops serve`, with the
placeholders replaced by what the first start printed: a step that fails fails the test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.cli.test_serve import _grab, serving
from tests.support import free_port

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(r"^```bash\n(.*?)^```$", re.S | re.M)
_PLACEHOLDER = re.compile(r"<[a-z][a-z ]+>")


def readme_shell_blocks() -> list[str]:
    """Every bash block but the first (the set-up commands that install and serve)."""
    return _BLOCK.findall(README.read_text(encoding="utf-8"))[1:]


def test_readme_has_the_flow_blocks() -> None:
    blocks = readme_shell_blocks()
    assert any("promptops promote" in b and "rollback" in b for b in blocks), blocks
    assert any("curl" in b for b in blocks), blocks
    flow = "\n".join(blocks)
    for command in ("prompts show", "versions show", "diff", "webhooks create", "webhooks list"):
        assert f"promptops {command} " in flow or f"promptops {command}\n" in flow, command


def test_readme_shell_blocks_run_in_order_with_the_printed_keys(tmp_path: Path) -> None:
    server_dir, work = tmp_path / "server", tmp_path / "work"
    server_dir.mkdir()
    work.mkdir()
    bin_dir = tmp_path / "bin"  # `promptops` = this interpreter running this checkout's CLI
    bin_dir.mkdir()
    shim = bin_dir / "promptops"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m promptops.cli.main "$@"\n')
    shim.chmod(0o755)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serving(server_dir, port) as (_, lines):
        values = {
            "<dev write key>": _grab(lines, "dev write key:"),
            "<dev read key>": _grab(lines, "dev read key:"),
            "<staging write key>": _grab(lines, "staging write key:"),
            "<production write key>": _grab(lines, "production write key:"),
            "<admin key>": _grab(lines, "po_admin_"),
        }
        values["<dev read key prefix>"] = "_".join(values["<dev read key>"].split("_")[:3])
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTOPS_")}
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
        for number, block in enumerate(readme_shell_blocks(), start=2):
            script = block.replace("http://127.0.0.1:8000", url)
            for placeholder, value in values.items():
                script = script.replace(placeholder, value)
            left = _PLACEHOLDER.findall(script)
            assert not left, f"README bash block {number} has unknown placeholders {left}"
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, (
                f"README bash block {number} failed (exit {done.returncode}):\n{block}\n"
                f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            )
