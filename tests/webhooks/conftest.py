"""Fixtures for the webhook tests: fast retry settings and a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from promptops.server.config import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.support import Api, Project
from tests.webhooks.helpers import Receiver


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Tiny retry delays so retries happen within a test; the embedded worker polls often."""
    return Settings(
        database_url=database_url,
        bcrypt_rounds=4,
        demo=False,
        secret_key=TEST_SECRET_KEY,
        webhook_allow_private=True,  # the receivers listen on 127.0.0.1
        webhook_retry_schedule=[0.1] * 8,
        webhook_retry_jitter=0.0,
        webhook_timeout_seconds=3.0,
        webhook_disable_after_failures=50,
        webhook_disable_after_seconds=0.0,
        worker_poll_seconds=0.2,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def other(api: Api, admin_key: str) -> Project:
    """A second project, whose keys must see nothing of ``project``."""
    return api.new_project(admin_key, name="Other")


@pytest.fixture
def endpoint(api: Api, project: Project, receiver: Receiver) -> dict[str, Any]:
    """An endpoint of ``project`` pointing at ``receiver`` (every event type)."""
    r = api.as_(project.key).post("/v1/webhooks", json={"url": receiver.url})
    assert r.status_code == 201, r.text
    return dict(r.json())
