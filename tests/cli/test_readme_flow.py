"""The README's shell blocks, run in order against a fresh `promptops serve`, with the
placeholders replaced by what the first start printed: a step that fails fails the test."""

from __future__ import annotations

import re
from pathlib import Path

from tests.demo_server import DEFAULT_URL, demo_server, promptops_shim, run_shell_block, substitute

README = Path(__file__).resolve().parents[2] / "README.md"
_BLOCK = re.compile(r"^```bash\n(.*?)^```$", re.S | re.M)


def readme_shell_blocks() -> list[str]:
    """Every bash block but the first (the set-up commands that install and serve)."""
    return _BLOCK.findall(README.read_text(encoding="utf-8"))[1:]


def test_readme_has_the_flow_blocks() -> None:
    blocks = readme_shell_blocks()
    assert any("promptops promote" in b and "rollback" in b for b in blocks), blocks
    assert any("curl" in b for b in blocks), blocks
    flow = "\n".join(blocks)
    for command in (
        "prompts show",
        "versions show",
        "versions export",
        "diff",
        "webhooks create",
        "webhooks list",
    ):
        assert f"promptops {command} " in flow or f"promptops {command}\n" in flow, command


def test_readme_shell_blocks_run_in_order_with_the_printed_keys(tmp_path: Path) -> None:
    server_dir, work = tmp_path / "server", tmp_path / "work"
    server_dir.mkdir()
    work.mkdir()
    bin_dir = promptops_shim(tmp_path / "bin")
    with demo_server(server_dir) as server:
        for number, block in enumerate(readme_shell_blocks(), start=2):
            where = f"README bash block {number}"
            script = substitute(block, server.values, {DEFAULT_URL: server.url}, where)
            run_shell_block(script, cwd=work, bin_dir=bin_dir, where=where)
