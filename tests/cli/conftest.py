"""The CLI's fixtures: a live server on the test app (its database on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import live_server


@pytest.fixture
def server(app: Any) -> Iterator[str]:
    with live_server(app) as srv:
        yield srv.base_url
