"""Browser tests: a real headless Chromium (Debian's, never a downloaded one) driven by
Playwright against a live server on 127.0.0.1. Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promptops.domain.bootstrap import ensure_admin_key, ensure_admin_user
from promptops.server.app import create_app
from promptops.server.config import Settings
from tests.support import LiveServer, live_server

CHROMIUM = os.environ.get("PROMPTOPS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "screenshots"
DOCS_IMAGES = ROOT / "docs" / "img"
ADMIN_EMAIL = "root@example.com"
ADMIN_PASSWORD = "root-password-1"


class Shots:
    """Saves screenshots as test artifacts; with PROMPTOPS_UPDATE_DOCS_IMAGES=1 the ones
    marked for the docs are also copied to docs/img/."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.update_docs = os.environ.get("PROMPTOPS_UPDATE_DOCS_IMAGES") == "1"

    def take(
        self,
        page: Any,
        name: str,
        *,
        docs: bool = False,
        full_page: bool = True,
        element: Any = None,
    ) -> Path:
        """A screenshot of the page (or of one ``element``, a locator)."""
        path = self.folder / f"{name}.png"
        if element is not None:
            element.screenshot(path=str(path))
        else:
            page.screenshot(path=str(path), full_page=full_page)
        if docs and self.update_docs:
            DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_IMAGES / f"{name}.png")
        return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[LiveServer, str]]:
    """A live server on a fresh SQLite file, with an instance admin user and admin key."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'e2e.db'}",
        bcrypt_rounds=4,
        demo=False,
        argon2_time_cost=1,
        argon2_memory_kib=64,
        embedded_worker=False,
    )
    app = create_app(settings)
    with app.state.db.write() as session:
        ensure_admin_user(
            session, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, hasher=app.state.users.hasher
        )
        admin_key = ensure_admin_key(session, rounds=4)
    assert admin_key is not None
    with live_server(app) as live:
        yield live, admin_key


@pytest.fixture
def shots() -> Shots:
    return Shots(ARTIFACTS)
