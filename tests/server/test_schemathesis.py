"""Property-based fuzzing of every operation in /openapi.json (schemathesis 4).

The schema is the app's own document; requests go to a real uvicorn server in a thread
(``tests.support.live_server``), authenticated with a project write key for ``dev`` so the
generated cases reach past 401. Operations that address a prompt get the slug of one that
exists, so most cases reach the handlers instead of stopping at 404. Every response must be
below 500 and, when it is an error, in the documented shape.

Phases: schemathesis' coverage phase (the boundary values the schema allows, e.g. the
largest integer a parameter accepts) plus 25 fuzzed examples per operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.server.helpers import ERROR_CODES
from tests.support import Api, LiveServer, live_server

SLUG = "fuzzed"


@pytest.fixture
def server(app: Any) -> Iterator[LiveServer]:
    with live_server(app) as s:
        yield s


@pytest.fixture
def fuzz_key(server: LiveServer, admin_key: str) -> str:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        api = Api(http)
        key = api.new_project(admin_key).key
        api.new_prompt(key, SLUG)
        api.new_version(key, SLUG, system_prompt="You are {{role}}.", metadata={"a": [1]})
        api.new_version(key, SLUG)
    return key


@pytest.fixture
def openapi(app: Any) -> Any:
    # Read without starting the app's lifespan (the live server owns that).
    client = TestClient(app)
    spec = client.get("/openapi.json").json()
    client.close()
    config = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": True}}})
    return schemathesis.openapi.from_dict(spec, config=config)


@pytest.fixture
def http_session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


# The event stream answers with a response that never ends: it is not request/response.
schema = schemathesis.pytest.from_fixture("openapi").exclude(path="/v1/stream")


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_no_operation_fails_on_any_input(
    case: schemathesis.Case, server: LiveServer, fuzz_key: str, http_session: requests.Session
) -> None:
    if "slug" in (case.path_parameters or {}):
        case.path_parameters["slug"] = SLUG
    response = case.call(
        base_url=server.base_url,
        session=http_session,
        headers={"Authorization": f"Bearer {fuzz_key}"},
    )
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"}, body
        assert body["error"]["code"] in ERROR_CODES, body
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]
