"""SDK fixtures: a real PromptOps server (uvicorn in a thread, SQLite) that counts the
requests it receives, a movable clock, and a seeded prompt."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select

from promptops.db.models import ActiveDeployment
from promptops.db.models import Prompt as PromptRow
from promptops.domain import changes
from promptops.domain.bootstrap import ensure_admin_key
from promptops.server.app import create_app
from promptops.server.config import Settings
from tests.support import Api, LiveServer

SDK_AGENT = b"promptops-python/"


@dataclass
class Seen:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    status: int = 0

    @property
    def from_sdk(self) -> bool:
        return self.headers.get("user-agent", "").startswith(SDK_AGENT.decode())


class CountingApp:
    """ASGI middleware recording every HTTP request and the status it got."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state = app.state
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = Seen(
            scope["method"],
            scope["path"],
            {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]},
        )
        with self._lock:
            self.seen.append(record)

        async def counting_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            await send(message)

        await self.app(scope, receive, counting_send)

    def sdk_requests(self, slug: str | None = None) -> list[Seen]:
        """Requests the SDK made (by User-Agent), optionally only those for ``slug``."""
        with self._lock:
            seen = list(self.seen)
        return [
            r
            for r in seen
            if r.from_sdk and (slug is None or r.path.startswith(f"/v1/prompts/{slug}/"))
        ]

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()


@dataclass
class Server:
    """The live server, its counter, and an API helper with a write key for ``dev``."""

    app: CountingApp
    live: LiveServer
    api: Api
    project_id: str
    write_key: str
    read_key: str
    port: int = 0
    stopped: bool = field(default=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self, slug: str | None = None) -> list[Seen]:
        return self.app.sdk_requests(slug)

    def new_version(self, slug: str = "greeting", **fields: Any) -> dict[str, Any]:
        """A new version (active in dev at once, as every new version is)."""
        return self.api.new_version(self.write_key, slug, **fields)

    def withdraw(self, slug: str = "greeting", environment: str = "dev") -> None:
        """Make nothing active for ``slug`` (the API has no call for that): the active read
        then answers 404."""
        db = self.app.state.db
        with db.write() as session:
            prompt_id = session.scalar(
                select(PromptRow.id).where(
                    PromptRow.project_id == self.project_id, PromptRow.slug == slug
                )
            )
            session.execute(
                delete(ActiveDeployment).where(
                    ActiveDeployment.prompt_id == prompt_id,
                    ActiveDeployment.environment == environment,
                )
            )
            changes.record(session, changes.Change("label_moved", self.project_id, slug=slug))

    def stop(self) -> None:
        if not self.stopped:
            self.live.stop()
            self.stopped = True

    def restart(self) -> None:
        """Serve the same app again on the same port."""
        self.stop()
        self.live = LiveServer(self.app, port=self.port).start()
        self.stopped = False


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", bcrypt_rounds=4, demo=False)
    )
    with app.state.db.write() as session:
        admin = ensure_admin_key(session, rounds=4)
    assert admin is not None
    counting = CountingApp(app)
    live = LiveServer(counting).start()
    http = httpx.Client(base_url=live.base_url, timeout=10)
    api = Api(http)
    project = api.new_project(admin)
    api.new_prompt(project.key, "greeting")
    api.new_version(
        project.key,
        "greeting",
        system_prompt="You are {{tone}}.",
        user_template="Hello {{name}}",
        commit_message="first",
    )
    read_key = api.new_key(project.key, "dev", "read")
    counting.reset()
    srv = Server(counting, live, api, project.id, project.key, read_key, port=live.port)
    try:
        yield srv
    finally:
        srv.stop()
        http.close()
