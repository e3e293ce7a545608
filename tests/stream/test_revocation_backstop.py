"""The periodic re-check of open streams' keys: a revocation nobody announced (a lost
notification, a change made behind the server's back) still ends the stream."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import create_engine, update

from promptops.db.models import ApiKey, utcnow
from promptops.server.config import Settings
from tests.stream.test_stream import Reader, within
from tests.support import Api, Project, live_server


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.stream_recheck_seconds = 0.2  # the periodic re-check, made quick
    return settings


def test_a_revocation_no_notification_announced_ends_the_stream(
    app: Any, api: Api, project: Project, database_url: str
) -> None:
    api.new_prompt(project.key)
    read = api.new_key(project.key, "dev", "read")
    with live_server(app) as server:
        reader = Reader(server.base_url, read)
        assert reader.ready.wait(5)
        # Revoked behind the server's back: no change, no notification.
        engine = create_engine(database_url)
        try:
            with engine.begin() as conn:
                conn.execute(
                    update(ApiKey)
                    .where(ApiKey.prefix == read.rsplit("_", 1)[0])
                    .values(revoked_at=utcnow())
                )
        finally:
            engine.dispose()
        within(2.0, lambda: reader.ended)
        api.new_version(project.key)
        time.sleep(0.3)
        assert reader.moves() == []
        reader.close()
