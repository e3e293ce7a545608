"""``POST /v1/logs`` through the raw ASGI front (``server/ingest.py``) answers exactly as the
FastAPI route does: the same requests sent both ways (a query string passes the front by)
get the same status, headers and body, and store the same records; also under CORS."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.middleware.cors import CORSMiddleware

from promptops.domain.keys import parse_key
from promptops.server.ingest import IngestFront
from tests.support import Api, Project

FRONT = "/v1/logs"
ROUTE = "/v1/logs?via=route"  # any query string: the front passes the request on


def record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "provider": "openai",
        "model": "gpt-4o-mini",
        "request": {"messages": [{"role": "user", "content": "Hi Ada"}]},
        "response": {"choices": [{"message": {"role": "assistant", "content": "Hello!"}}]},
        "status": "ok",
        "latency_ms": 12.5,
    }
    base.update(fields)
    return base


def front_of(app: Any) -> IngestFront:
    node = app
    while not isinstance(node, IngestFront):
        node = node.app
    return node


class Keys:
    def __init__(self, api: Api, admin_key: str, project: Project) -> None:
        self.api = api
        self.project = project
        self.admin = admin_key
        self.write = project.key
        self.read = api.new_key(admin_key, "dev", "read", project_id=project.id)
        self.revoked = api.new_key(admin_key, "dev", "write", project_id=project.id)
        prefix = parse_key(self.revoked)
        r = api.as_(admin_key).delete(f"/v1/keys/{prefix}", params={"project_id": project.id})
        assert r.status_code == 200, r.text

    def fresh(self) -> str:
        """A new key of the project (its own failed-check bucket)."""
        return self.api.new_key(self.admin, "dev", "write", project_id=self.project.id)


# A case sends its requests to one URL and returns the replies to compare; each run makes
# its own record ids, so both URLs start from the same stored state for those ids.
Send = Callable[[httpx.Client, str, Keys], list[httpx.Response]]


def _post(
    http: httpx.Client, url: str, key: str | None, body: Any = None, **kw: Any
) -> httpx.Response:
    headers = dict(kw.pop("headers", {}))
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    if body is not None:
        kw["json"] = body
    return http.post(url, headers=headers, **kw)


def valid(http: httpx.Client, url: str, k: Keys) -> list[httpx.Response]:
    return [_post(http, url, k.write, {"records": [record(), record(), record()]})]


def duplicates(http: httpx.Client, url: str, k: Keys) -> list[httpx.Response]:
    batch = {"records": [record(), record()]}
    same = record()
    return [
        _post(http, url, k.write, batch),
        _post(http, url, k.write, batch),  # the re-send: all duplicates
        _post(http, url, k.write, {"records": [*batch["records"], record()]}),
        _post(http, url, k.write, {"records": [same, same]}),  # twice in one batch
    ]


def empty(http: httpx.Client, url: str, k: Keys) -> list[httpx.Response]:
    return [_post(http, url, k.write, {"records": []})]


def bad_json(http: httpx.Client, url: str, k: Keys) -> list[httpx.Response]:
    headers = {"Content-Type": "application/json"}
    return [
        _post(http, url, k.write, content=b'{"records": [', headers=headers),
        _post(http, url, k.write, content=b"[1, 2]", headers=headers),
        _post(http, url, k.write, content=b"", headers=headers),
    ]


def not_json(http: httpx.Client, url: str, k: Keys) -> list[httpx.Response]:
    body = b'{"records": []}'
    return [
        _post(http, url, k.write, content=body, headers={"Content-Type": "text/plain"}),
        _post(http, url, k.write, content=body),
    ]


def wrong_field(http: httpx.Client, url: str, k: Keys) -> list[httpx.Response]:
    return [
        _post(http, url, k.write, {"records": [record(), record(latency_ms=-1)]}),
        _post(http, url, k.write, {"records": [record(provider="")]}),
        _post(http, url, k.write, {"records": [record(surprise=1)]}),
        _post(http, url, k.write, {"records": [record(id="not-a-uuid")]}),
        _post(http, url, k.write, {"records": [record(environment="production")]}),
        _post(http, url, k.write, {"batch": []}),
        _post(http, url, k.write, {"records": [record() for _ in range(1001)]}),
    ]


def oversized(http: httpx.Client, url: str, k: Keys) -> list[httpx.Response]:
    big = record(request={"text": "x" * (1024 * 1024)})
    return [_post(http, url, k.write, {"records": [big]})]


def no_key(http: httpx.Client, url: str, k: Keys) -> list[httpx.Response]:
    batch = {"records": [record()]}
    return [
        _post(http, url, None, batch),
        _post(http, url, None, batch, headers={"Authorization": "Basic abc"}),
        _post(http, url, None, batch, headers={"Authorization": "Bearer "}),
        _post(http, url, "not-a-key", batch),
        _post(http, url, k.write + "x", batch),  # a known prefix, a wrong secret
    ]


def revoked(http: httpx.Client, url: str, k: Keys) -> list[httpx.Response]:
    return [_post(http, url, k.revoked, {"records": [record()]})]


def other_roles(http: httpx.Client, url: str, k: Keys) -> list[httpx.Response]:
    batch = {"records": [record()]}
    return [
        _post(http, url, k.read, batch),  # any project key may log, `read` included
        _post(http, url, k.admin, {"records": [record()]}),  # the admin key has no project
    ]


def rate_limited(http: httpx.Client, url: str, k: Keys) -> list[httpx.Response]:
    """Failed checks with a known prefix use up its bucket: 429 with Retry-After."""
    prefix = parse_key(k.fresh())
    batch = {"records": [record()]}
    return [_post(http, url, f"{prefix}_{secrets.token_hex(20)}", batch) for _ in range(12)]


CASES: list[Send] = [
    valid,
    duplicates,
    empty,
    bad_json,
    not_json,
    wrong_field,
    oversized,
    no_key,
    revoked,
    other_roles,
    rate_limited,
]


def reply(r: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body; in a 429, the wait (seconds left in a bucket that refills
    with time) and the key's prefix (each run has its own key) are left out."""
    headers = sorted(r.headers.multi_items())
    content = r.content
    if r.status_code == 429:
        assert int(r.headers["retry-after"]) >= 1
        headers = [(n, "N" if n == "retry-after" else v) for n, v in headers]
        content = re.sub(rb"retry in [0-9]+ s", b"retry in N s", content)
        content = re.sub(rb"po_live_[a-z0-9]{8}", b"<prefix>", content)  # a fresh key per run
    return r.status_code, headers, content


@pytest.fixture
def keys(api: Api, admin_key: str, project: Project) -> Keys:
    return Keys(api, admin_key, project)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__)
def test_front_answers_as_the_route(case: Send, app: Any, client: TestClient, keys: Keys) -> None:
    front = front_of(app)
    before = front.answered
    by_route = [reply(r) for r in case(client, ROUTE, keys)]
    assert front.answered == before  # the route's own answers
    by_front = [reply(r) for r in case(client, FRONT, keys)]
    assert by_front == by_route
    if case is rate_limited:
        assert [r[0] for r in by_front] == [401] * 10 + [429] * 2
    if case is not oversized:  # refused by BodyLimit, before either of them
        assert front.answered == before + len(by_front)


def test_front_stores_what_it_acknowledges(app: Any, client: TestClient, keys: Keys) -> None:
    ids = [record() for _ in range(5)]
    r = _post(client, FRONT, keys.write, {"records": ids})
    assert r.json() == {"accepted": 5, "duplicates": 0}
    listed = client.get("/v1/logs", headers={"Authorization": f"Bearer {keys.write}"})
    assert listed.status_code == 200, listed.text
    assert {row["id"] for row in listed.json()["data"]} == {x["id"] for x in ids}


ORIGINS = ["https://a.example", "https://b.example"]


def test_front_under_cors(app: Any, keys: Keys) -> None:
    wrapped = CORSMiddleware(app, allow_origins=ORIGINS, allow_methods=["*"], allow_headers=["*"])
    with TestClient(wrapped, raise_server_exceptions=False) as http:
        for origin in ORIGINS:
            for key in (keys.write, "nope"):
                got = [
                    _post(http, url, key, {"records": [record()]}, headers={"Origin": origin})
                    for url in (FRONT, ROUTE)
                ]
                assert got[0].headers["access-control-allow-origin"] == origin
                assert reply(got[0]) == reply(got[1])
        plain = _post(http, FRONT, keys.write, {"records": [record()]})
        assert plain.status_code == 200
        assert "access-control-allow-origin" not in plain.headers


def test_people_go_on_to_the_route(app: Any, client: TestClient, keys: Keys) -> None:
    """A person's token or session cookie is for ``server/user_auth.py`` (in the route's
    dependency): the front passes the request on, and the reply is the route's."""
    front = front_of(app)
    batch = {"records": [record()]}
    for headers in (
        {"Authorization": "Bearer po_user_" + "a" * 40},
        {"Cookie": "promptops_session=expired"},
    ):
        before = front.answered
        got = [reply(_post(client, url, None, batch, headers=headers)) for url in (FRONT, ROUTE)]
        assert front.answered == before
        assert got[0] == got[1]
        assert got[0][0] == 401
    # A cookie beside a key: the key decides, as in the route, so the front answers.
    before = front.answered
    r = _post(client, FRONT, keys.write, batch, headers={"Cookie": "promptops_session=x"})
    assert r.json() == {"accepted": 1, "duplicates": 0}
    assert front.answered == before + 1
