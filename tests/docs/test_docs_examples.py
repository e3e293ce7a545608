"""Every example in docs/*.md runs, so the docs cannot drift from the code.

Each fenced ``python`` block, and each ``bash`` block (or ``console`` transcript, whose
``$ `` commands run) with a ``promptops`` command, is one test (its id is ``file:line``),
run against one live `promptops serve` started from a fresh SQLite database with the demo
project (tests/demo_server.py, as the README test does):

- A Python block runs as a script of its own (``python block.py`` in an empty folder), with
  ``PROMPTOPS_BASE_URL`` the server and ``PROMPTOPS_API_KEY`` the printed dev read key (what
  an application is deployed with), and provider API keys set to dummy values but no
  provider base URL: a block that calls a model must say where (the docs show
  ``http://127.0.0.1:4000``, served here by the fake providers of tests/fakes/providers.py).
- Placeholders are the README's (``<dev read key>``, ``<dev write key>``, ``<admin key>``,
  ``<project id>``, ...), plus ``<production read key>``: before the blocks run, version 2 of
  the demo prompt is promoted to production and a production read key made, as the
  webhooks guide assumes. ``http://127.0.0.1:8000`` is the live server.
- Redis is the server at 127.0.0.1:6379; each block's ``prefix="..."`` is made unique and its
  keys are deleted afterwards.
- A block preceded by ``<!-- not-run: reason -->`` is reported as skipped with the reason;
  other blocks (``text``, ``json``, plain, shell without a ``promptops`` command such as
  ``pip install`` or ``curl`` transcripts) are not code to run and are counted by
  :func:`test_docs_have_runnable_examples`.

Blocks run in the order of the docs but never depend on one another.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from promptops.webhooks import generate_secret
from tests.demo_server import (
    DEFAULT_URL,
    DemoServer,
    clean_env,
    demo_server,
    promptops_shim,
    run_shell_block,
    substitute,
)
from tests.fakes.peers import FakeLangfuse
from tests.fakes.providers import FakeProviderServer
from tests.support import live_server

DOCS = Path(__file__).resolve().parents[2] / "docs"
PROVIDER_URL = "http://127.0.0.1:4000"  # the LLM gateway the docs show
LANGFUSE_PORT = 3000  # a self-hosted Langfuse's default port, as the migration guide shows
_FENCE = re.compile(r"^```(\S*)\s*$")
_NOT_RUN = re.compile(r"^<!--\s*not-run:\s*(.+?)\s*-->$")
# A command that is `promptops ...` (after any VAR=value assignments), not `pip install promptops`.
_PROMPTOPS_COMMAND = re.compile(r"^\s*(?:[A-Za-z_]\w*=(?:<[a-z ]+>|\S*)\s+)*promptops\s")
_COMMAND_SPLIT = re.compile(r"&&|\|\||[;|\n]|\$\(")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    not_run: str | None  # the reason given in a <!-- not-run: ... --> comment

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"

    @property
    def script(self) -> str:
        """What runs: the code; for a ``console`` transcript, its ``$ `` commands (with their
        ``\\`` continuation lines), not the output shown."""
        if self.lang != "console":
            return self.code
        commands: list[str] = []
        continued = False
        for line in self.code.splitlines():
            if continued:
                commands[-1] += "\n" + line
            elif line.startswith("$ "):
                commands.append(line[2:])
            else:
                continue
            continued = line.endswith("\\")
        return "".join(c + "\n" for c in commands)

    @property
    def runnable(self) -> bool:
        if self.lang == "python":
            return True
        return self.lang in ("bash", "console") and any(
            _PROMPTOPS_COMMAND.match(command) for command in _COMMAND_SPLIT.split(self.script)
        )


def doc_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of one Markdown file."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        start, lang = i, match.group(1)
        j = i + 1
        while j < len(lines) and lines[j] != "```":
            j += 1
        assert j < len(lines), f"{path.name}:{start + 1}: unclosed code block"
        before = next((ln.strip() for ln in reversed(lines[:start]) if ln.strip()), "")
        marked = _NOT_RUN.match(before)
        code = "\n".join(lines[start + 1 : j]) + "\n"
        blocks.append(Block(path, start + 1, lang, code, marked.group(1) if marked else None))
        i = j + 1
    return blocks


def all_blocks() -> list[Block]:
    return [b for path in sorted(DOCS.glob("*.md")) for b in doc_blocks(path)]


RUNNABLE = [b for b in all_blocks() if b.runnable]


# -- the live set-up ---------------------------------------------------------------------


@dataclass
class Live:
    server: DemoServer
    fake: FakeProviderServer
    bin_dir: Path
    webhook_secret: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    root = tmp_path_factory.mktemp("docs-live")
    (root / "server").mkdir()
    with (
        demo_server(root / "server") as server,
        FakeProviderServer() as fake,
        live_server(_langfuse().app, port=LANGFUSE_PORT),
    ):
        values = server.values
        auth = {"Authorization": f"Bearer {values['<production write key>']}"}
        promoted = httpx.post(
            f"{server.url}/v1/prompts/onboarding-email/deployments/production",
            headers=auth,
            json={"version": 2},
        )
        assert promoted.status_code in (200, 201), promoted.text
        key = httpx.post(
            f"{server.url}/v1/keys",
            headers=auth,
            json={"environment": "production", "role": "read", "name": "docs (read)"},
        )
        assert key.status_code == 201, key.text
        values["<production read key>"] = key.json()["key"]
        yield Live(server, fake, promptops_shim(root / "bin"), generate_secret())


def _langfuse() -> FakeLangfuse:
    """The Langfuse project the migration guide imports from."""
    fake = FakeLangfuse(public_key="pk-lf-docs", secret_key="sk-lf-docs")
    fake.add(
        "support/triage",
        "chat",
        {"prompt": [{"role": "user", "content": "Triage: {{ticket}}"}], "config": {"model": "m"}},
        {
            "prompt": [
                {"role": "system", "content": "You triage tickets for {{team}}."},
                {"type": "placeholder", "name": "history"},
                {"role": "user", "content": "{{ticket}}"},
            ],
            "config": {"model": "gpt-4o-mini", "temperature": 0.1},
            "commitMessage": "with history",
        },
    )
    return fake


def _block_env(live: Live) -> dict[str, str]:
    env = {
        k: v
        for k, v in clean_env().items()
        if not k.startswith(("OPENAI_", "ANTHROPIC_", "GOOGLE_", "GEMINI_"))
    }
    env |= {
        "PROMPTOPS_BASE_URL": live.server.url,
        "PROMPTOPS_API_KEY": live.server.values["<dev read key>"],
        "PROMPTOPS_WEBHOOK_SECRET": live.webhook_secret,
        "OPENAI_API_KEY": "sk-docs-test",
        "ANTHROPIC_API_KEY": "sk-ant-docs-test",
        "GEMINI_API_KEY": "docs-test",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    return env


def _delete_redis_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.mark.slow
@pytest.mark.parametrize("block", RUNNABLE, ids=[b.where for b in RUNNABLE])
def test_docs_example_runs(block: Block, live: Live, tmp_path: Path) -> None:
    if block.not_run is not None:
        pytest.skip(f"{block.where} not run: {block.not_run}")
    urls = {DEFAULT_URL: live.server.url, PROVIDER_URL: live.fake.base_url}
    code = substitute(block.script, live.server.values, urls, block.where)
    redis_prefix = f"docs-{uuid.uuid4().hex[:12]}-"
    code = code.replace('prefix="', f'prefix="{redis_prefix}')
    env = _block_env(live)
    try:
        if block.lang != "python":
            shown = run_shell_block(
                code, cwd=live.server.folder, bin_dir=live.bin_dir, where=block.where, env=env
            )
            print(f"{block.where}:\n{shown.stdout}{shown.stderr}")  # shown with -rP
            return
        script = tmp_path / "block.py"
        script.write_text(code, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        if "RedisCache" in code:
            _delete_redis_keys(redis_prefix)
    assert done.returncode == 0, (
        f"{block.where} failed (exit {done.returncode}):\n{block.code}\n"
        f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    )
    print(f"{block.where}:\n{done.stdout}{done.stderr}")  # shown with -rP


def test_docs_have_runnable_examples() -> None:
    """Every guide's examples are found, few are marked not-run, and the count of what is
    not run is printed (``pytest -s``)."""
    blocks = all_blocks()
    by_file = Counter(b.path.name for b in blocks if b.runnable and b.not_run is None)
    for guide in ("sdk.md", "webhooks.md"):
        assert by_file[guide] >= 3, by_file
    marked = [b.where for b in blocks if b.runnable and b.not_run is not None]
    assert len(marked) <= 3, f"too many examples marked not-run: {marked}"
    other = Counter(b.lang or "plain" for b in blocks if not b.runnable)
    print(
        f"docs examples: {sum(by_file.values())} run, {len(marked)} marked not-run {marked},"
        f" not code to run: {dict(other)}"
    )


def test_a_broken_example_fails(live: Live, tmp_path: Path) -> None:
    """The runner fails on an example that raises, and on an unknown placeholder."""
    broken = Block(DOCS / "sdk.md", 1, "python", 'raise SystemExit("broken")\n', None)
    with pytest.raises(AssertionError, match="broken"):
        test_docs_example_runs(broken, live, tmp_path)
    unknown = Block(DOCS / "sdk.md", 1, "python", 'key = "<no such key>"\n', None)
    with pytest.raises(AssertionError, match="unknown placeholders"):
        test_docs_example_runs(unknown, live, tmp_path)


_LINK = re.compile(r"\]\(([^)\s]*)\)")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```$", "", text, flags=re.S | re.M)  # no headings in code
    return {_slug(m) for m in re.findall(r"^#{1,6} (.+)$", text, flags=re.M)}


def test_docs_links_resolve() -> None:
    """Every relative link of docs/*.md and README.md names a file that exists and, with a
    ``#fragment``, a heading of it."""
    broken = []
    for path in [*sorted(DOCS.glob("*.md")), DOCS.parent / "README.md"]:
        for target in _LINK.findall(path.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            file, _, fragment = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            if not linked.exists():
                broken.append(f"{path.name}: {target} (no such file)")
            elif fragment and linked.suffix == ".md" and fragment not in _anchors(linked):
                broken.append(f"{path.name}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize(
    ("code", "runs"),
    [
        ("pip install promptops   # the SDK\n", False),
        ('curl -H "Authorization: Bearer <dev read key>" http://127.0.0.1:8000/healthz\n', False),
        ("promptops keys list\n", True),
        ("PROMPTOPS_API_KEY=<production write key> promptops keys list\n", True),
        ("export A=1\ncd /tmp && promptops prompts list\n", True),
        ("key=$(promptops keys create --env dev)\n", True),
    ],
)
def test_bash_blocks_run_when_they_hold_a_promptops_command(code: str, runs: bool) -> None:
    assert Block(DOCS / "x.md", 1, "bash", code, None).runnable is runs


def test_console_blocks_run_their_commands_not_their_output() -> None:
    transcript = (
        '$ promptops keys list \\\n    --json\n[{"prefix": "po_live_x"}]\n$ pip install x\n'
    )
    block = Block(DOCS / "x.md", 1, "console", transcript, None)
    assert block.script == "promptops keys list \\\n    --json\npip install x\n"
    assert block.runnable
    shown = Block(DOCS / "x.md", 1, "console", "$ curl -s http://127.0.0.1:8000/healthz\n", None)
    assert not shown.runnable
