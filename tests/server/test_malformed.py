"""Malformed requests against every endpoint: never a 500, always the one error shape, and
nothing stored half-way. Odd but valid text (RTL, emoji, SQL-looking) is stored verbatim."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.helpers import VALID_VERSION, assert_error, quick_client, row_counts
from tests.support import Api, Project

JSON = {"content-type": "application/json"}
RAW = "__raw__"  # replaced by a raw JSON escape after encoding (json.dumps cannot write them)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    yield from quick_client(app)


@dataclass
class Target:
    writer: str
    admin: str
    project: Project


@pytest.fixture
def target(api: Api, admin_key: str, project: Project) -> Target:
    api.new_prompt(project.key)
    api.new_version(project.key)
    return Target(project.key, admin_key, project)


@dataclass(frozen=True)
class BodyEndpoint:
    id: str
    method: str
    path: str
    as_admin: bool
    good: dict[str, Any]


BODY_ENDPOINTS = [
    BodyEndpoint("create-project", "POST", "/v1/projects", True, {"name": "P"}),
    BodyEndpoint(
        "create-key", "POST", "/v1/keys", False, {"environment": "dev", "role": "read", "name": "k"}
    ),
    BodyEndpoint(
        "create-prompt",
        "POST",
        "/v1/prompts",
        False,
        {"slug": "fresh", "name": "F", "description": "d"},
    ),
    BodyEndpoint(
        "update-prompt", "PATCH", "/v1/prompts/greeting", False, {"name": "N", "description": "d"}
    ),
    BodyEndpoint(
        "create-version",
        "POST",
        "/v1/prompts/greeting/versions",
        False,
        VALID_VERSION,
    ),
    BodyEndpoint("promote", "POST", "/v1/prompts/greeting/deployments/dev", False, {"version": 1}),
]
BODY_IDS = [e.id for e in BODY_ENDPOINTS]

# Every endpoint, for the path/query corpus: {slug}, {n}, {env}, {prefix}, {project} are
# substituted with hostile values.
ALL_ENDPOINTS = [
    ("GET", "/v1/projects"),
    ("POST", "/v1/projects"),
    ("GET", "/v1/projects/{project}"),
    ("GET", "/v1/keys"),
    ("POST", "/v1/keys"),
    ("DELETE", "/v1/keys/{prefix}"),
    ("GET", "/v1/prompts"),
    ("POST", "/v1/prompts"),
    ("GET", "/v1/prompts/{slug}"),
    ("PATCH", "/v1/prompts/{slug}"),
    ("POST", "/v1/prompts/{slug}/versions"),
    ("GET", "/v1/prompts/{slug}/versions"),
    ("GET", "/v1/prompts/{slug}/versions/{n}"),
    ("GET", "/v1/prompts/{slug}/active"),
    ("GET", "/v1/prompts/{slug}/deployments"),
    ("POST", "/v1/prompts/{slug}/deployments/{env}"),
    ("POST", "/v1/prompts/{slug}/deployments/{env}/rollback"),
    ("GET", "/v1/prompts/{slug}/deployments/{env}/history"),
    ("GET", "/v1/audit"),
]
HOSTILE_PATH = {
    "slug": [
        "%00",
        "%ED%A0%80",
        "a" * 5000,
        "..",
        "%2e%2e",
        "GREETING",
        "greeting%00",
        "'%20OR%201=1--",
        "%F0%9F%8E%89",
        "%20",
    ],
    "n": ["99999999999999999999", "-1", "0", "1e3", "NaN", "%00", "1.0", "9" * 400],
    "env": ["qa", "%00", "DEV", "a" * 1000, "%ED%A0%80", "production%00"],
    "prefix": ["%00", "po_live_" + "a" * 5000, "%ED%A0%80", "po_live_abcd1234%00"],
    "project": ["%00", "f" * 5000, "%ED%A0%80", "../admin"],
}
HOSTILE_QUERY = {
    "limit": ["100000000000000000000", "-1", "0", "abc", "%00", "", "1e2", "NaN"],
    "cursor": ["%00", "100000000000000000000", "-5", "abc", "x" * 5000, "%ED%A0%80"],
    "q": ["%00", "x" * 5000, "%ED%A0%80", "%25%5F%5C", "'%20OR%201=1--"],
    "project_id": ["%00", "x" * 5000, "%ED%A0%80"],
    "action": ["%00", "UPPER", "x" * 5000, "prompt.created'--"],
}


def _raw_body(good: dict[str, Any], field: str, value: Any) -> bytes:
    """``good`` with ``field`` set to ``value``; a str value starting with RAW is written
    as the raw JSON escape that follows it (e.g. a lone surrogate ``\\ud800``)."""
    if isinstance(value, str) and value.startswith(RAW):
        encoded = json.dumps({**good, field: RAW})
        return encoded.replace(json.dumps(RAW), '"' + value[len(RAW) :] + '"').encode()
    return json.dumps({**good, field: value}).encode()


def _send(api: Api, t: Target, e: BodyEndpoint, content: bytes, **kw: Any) -> Any:
    key = t.admin if e.as_admin else t.writer
    headers = {**JSON, **kw.pop("headers", {})}
    return api.as_(key).request(e.method, e.path, content=content, headers=headers, **kw)


def _good_body_works(api: Api, t: Target, e: BodyEndpoint) -> None:
    r = _send(api, t, e, json.dumps(e.good).encode())
    assert r.status_code in (200, 201), r.text


# ---- whole bodies -----------------------------------------------------------------------

BAD_BODIES: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("null", b"null"),
    ("list", b"[]"),
    ("list-of-object", b"[{}]"),
    ("string", b'"name"'),
    ("number", b"42"),
    ("true", b"true"),
    ("truncated", b'{"name": "x"'),
    ("open-brace", b"{"),
    ("single-quotes", b"{'name': 'x'}"),
    ("trailing-garbage", b'{"name": "x"} trailing'),
    ("two-objects", b'{"a": 1}{"b": 2}'),
    ("not-utf8", b"\xff\xfe\xfa"),
    ("nan", b"NaN"),
    ("deep-list", b"[" * 100_000 + b"]" * 100_000),
    ("deep-object", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
    ("huge-number", b'{"x": 1' + b"0" * 5000 + b"}"),
    ("comment", b'{"name": "x" /* hi */}'),
    ("nul-byte", b'{"name": "x"}\x00'),
]


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=BODY_IDS)
def test_bad_json_bodies(api: Api, app: Any, target: Target, endpoint: BodyEndpoint) -> None:
    before = row_counts(app)
    for name, content in BAD_BODIES:
        r = _send(api, target, endpoint, content)
        detail = assert_error(r, {400, 422})
        assert detail["message"], name
    # JSON sent without saying so is not guessed at.
    good = json.dumps(endpoint.good).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        r = _send(api, target, endpoint, good, headers={"content-type": content_type})
        assert_error(r, {415, 422})
    assert row_counts(app) == before
    _good_body_works(api, target, endpoint)  # the control: the same endpoint does work


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=BODY_IDS)
def test_bodies_over_the_limit_are_413(
    api: Api, app: Any, target: Target, endpoint: BodyEndpoint
) -> None:
    before = row_counts(app)
    big = {**endpoint.good, "padding": "x" * (2 * 1024 * 1024)}
    r = _send(api, target, endpoint, json.dumps(big).encode())
    assert_error(r, 413, code="payload_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit still holds
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    assert_error(_send(api, target, endpoint, chunks()), 413)  # type: ignore[arg-type]
    r = _send(api, target, endpoint, b"{}", headers={"content-length": "99999999999"})
    assert_error(r, 413)
    assert row_counts(app) == before


def test_a_body_just_under_the_limit_is_accepted(api: Api, target: Target) -> None:
    metadata = {"blob": "x" * (1024 * 1024 - 2000)}
    v = api.new_version(target.writer, metadata=metadata)
    got = api.as_(target.writer).get(f"/v1/prompts/greeting/versions/{v['version']}").json()
    assert got["metadata"] == metadata


# ---- single fields ----------------------------------------------------------------------


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"d": value}
    return value


NOT_TEXT = [123, 1.5, True, [], {}, ["x"], {"a": "b"}]
BAD_TEXT = [RAW + "\\u0000", RAW + "a\\u0000b", RAW + "\\ud800", RAW + "x\\udc00y"]
# field -> (values that must be refused) per endpoint; max lengths from the contract.
FIELD_CASES: dict[str, dict[str, list[Any]]] = {
    "create-project": {"name": [None, "", "   ", "x" * 201, *NOT_TEXT, *BAD_TEXT]},
    "create-key": {
        "environment": [None, "", "qa", "Dev", 1, ["dev"], *BAD_TEXT],
        "role": [None, "admin", "WRITE", 2, ["read"], *BAD_TEXT],
        "name": ["x" * 201, *NOT_TEXT, *BAD_TEXT],
        "project_id": ["x" * 65, 5, [], *BAD_TEXT],
    },
    "create-prompt": {
        "slug": [None, "", "Bad Slug", "x" * 101, "a--'; DROP TABLE prompts", *NOT_TEXT, *BAD_TEXT],
        "name": [None, "", "x" * 201, *NOT_TEXT, *BAD_TEXT],
        "description": ["x" * 5001, *NOT_TEXT, *BAD_TEXT],
    },
    "update-prompt": {
        "name": [None, "", "x" * 201, *NOT_TEXT, *BAD_TEXT],
        "description": ["x" * 5001, *NOT_TEXT, *BAD_TEXT],
    },
    "create-version": {
        "user_template": [None, "{{", "a }}", "{{ 9x }}", "x" * 200_001, *NOT_TEXT, *BAD_TEXT],
        "system_prompt": [None, "{{ a", "x" * 200_001, *NOT_TEXT, *BAD_TEXT],
        "model": [None, "", "x" * 201, *NOT_TEXT, *BAD_TEXT],
        "temperature": [
            None,
            -0.0001,
            2.0001,
            "1",
            True,
            [],
            10**400,
            RAW + "NaN",
            RAW + "Infinity",
            RAW + "-Infinity",
        ],
        "max_tokens": [0, -1, 1.5, "5", True, 10**20, 10**400, [], RAW + "NaN"],
        "metadata": [
            [],
            "x",
            1,
            True,
            {"a": float("nan")},
            {"deep": _nested(40)},
            {"k": "a\u0000b"},
        ],
        "commit_message": ["x" * 2001, *NOT_TEXT, *BAD_TEXT],
        "author": ["x" * 201, *NOT_TEXT, *BAD_TEXT],
    },
    "promote": {
        "version": [0, -1, 1.0, "1", True, 2**31, 10**20, [], {}],
        "from_environment": ["qa", "", 1, [], *BAD_TEXT],
    },
}


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=BODY_IDS)
def test_bad_field_values_are_422_naming_the_field(
    api: Api, app: Any, target: Target, endpoint: BodyEndpoint
) -> None:
    before = row_counts(app)
    problems = []
    for field, values in FIELD_CASES[endpoint.id].items():
        for value in values:
            r = _send(api, target, endpoint, _raw_body(endpoint.good, field, value))
            shown = repr(value)[:60]
            if r.status_code != 422:
                problems.append(f"{field}={shown}: {r.status_code} {r.text[:150]}")
                continue
            detail = assert_error(r, 422)
            if detail.get("field") != field:
                problems.append(f"{field}={shown}: names {detail.get('field')!r}")
    unknown = _send(api, target, endpoint, json.dumps({**endpoint.good, "bogus": 1}).encode())
    assert_error(unknown, 422, field="bogus")
    assert not problems, "\n".join(problems)
    assert row_counts(app) == before
    _good_body_works(api, target, endpoint)


def test_a_failed_version_leaves_no_trace(api: Api, app: Any, target: Target) -> None:
    w = api.as_(target.writer)
    audit_before = w.get("/v1/audit").json()["data"]
    versions_before = w.get("/v1/prompts/greeting/versions").json()
    prompt_before = w.get("/v1/prompts/greeting").json()
    history_before = w.get("/v1/prompts/greeting/deployments/dev/history").json()
    bad = [
        {"user_template": "Hello {{name", "model": "m"},
        {"user_template": "ok", "model": "m", "system_prompt": "}}"},
        {"user_template": "ok", "model": "m", "temperature": 3},
        {"user_template": "ok", "model": "m", "metadata": {"k": "\u0000"}},
        {"user_template": "ok", "model": "m", "metadata": _nested(40)},
        {"user_template": "ok", "model": "m" * 201},
    ]
    for body in bad:
        assert_error(w.post("/v1/prompts/greeting/versions", json=body), 422)
    assert w.get("/v1/prompts/greeting").json() == prompt_before
    assert w.get("/v1/prompts/greeting").json()["latest_version"] == 1
    assert w.get("/v1/prompts/greeting/versions").json() == versions_before
    assert w.get("/v1/prompts/greeting/deployments/dev/history").json() == history_before
    assert w.get("/v1/audit").json()["data"] == audit_before
    # The next good version is 2: no number was used up by the failures.
    assert api.new_version(target.writer)["version"] == 2


# ---- odd but valid text -----------------------------------------------------------------

ODD_TEXT = [
    "مرحبا بالعالم",  # RTL
    "\u202eevil\u202c",  # RTL override
    "עברית and English",
    "🎉🚀👩‍👩‍👧‍👦🏳️‍🌈",  # emoji, ZWJ sequences
    "e\u0301\u0302\u0303",  # combining marks
    "\u200b\ufeff\u2060",  # zero-width characters, BOM
    "'; DROP TABLE prompts; --",
    '" OR 1=1; --',
    "Robert'); DELETE FROM api_keys WHERE ('1'='1",
    "%s %d {0} $1 :name ?",
    "\\\\ \\n \\t",
    "<script>alert(1)</script>",
    "line\nbreak\ttab\r\n",
    "\U0010ffff\U0001f600",
]


def test_odd_text_is_stored_verbatim(api: Api, target: Target) -> None:
    w = api.as_(target.writer)
    for i, text in enumerate(ODD_TEXT):
        slug = f"odd-{i}"
        r = w.post("/v1/prompts", json={"slug": slug, "name": text, "description": text})
        assert r.status_code == 201, (text, r.text)
        stored = w.get(f"/v1/prompts/{slug}").json()
        assert (stored["name"], stored["description"]) == (text.strip(), text)
        body = {
            "system_prompt": text,
            "user_template": text + " {{x}}",
            "model": text,
            "metadata": {text: text, "list": [text]},
            "commit_message": text,
            "author": text,
        }
        v = w.post(f"/v1/prompts/{slug}/versions", json=body)
        assert v.status_code == 201, (text, v.text)
        for source in (
            w.get(f"/v1/prompts/{slug}/versions/1").json(),
            w.get(f"/v1/prompts/{slug}/active").json(),
        ):
            for field, value in body.items():
                assert source[field] == value, (text, field)
            assert source["variables"] == ["x"]
        k = w.post("/v1/keys", json={"environment": "dev", "name": text})
        assert k.status_code == 201 and k.json()["name"] == text
        r = api.as_(target.admin).post("/v1/projects", json={"name": text})
        assert r.status_code == 201 and r.json()["project"]["name"] == text.strip()
        found = w.get("/v1/prompts", params={"q": text.strip()[:50]})
        assert found.status_code == 200, text
        if text.strip():
            assert slug in [p["slug"] for p in found.json()["data"]], text


def test_longest_allowed_text_in_multibyte_characters(api: Api, target: Target) -> None:
    w = api.as_(target.writer)
    name = "🎉" * 200  # 200 characters, 800 bytes
    r = w.post("/v1/prompts", json={"slug": "emoji", "name": name})
    assert r.status_code == 201, r.text
    assert w.get("/v1/prompts/emoji").json()["name"] == name
    v = w.post(
        "/v1/prompts/emoji/versions",
        json={"user_template": "é" * 1000, "model": "ש" * 200, "author": "👍" * 200},
    )
    assert v.status_code == 201, v.text
    assert (v.json()["model"], v.json()["author"]) == ("ש" * 200, "👍" * 200)
    assert_error(w.post("/v1/prompts", json={"slug": "e2", "name": "🎉" * 201}), 422, field="name")
    # A surrogate pair written as escapes is one valid character.
    r = w.post(
        "/v1/prompts",
        content=b'{"slug": "pair", "name": "\\ud83c\\udf89"}',
        headers=JSON,
    )
    assert r.status_code == 201 and r.json()["name"] == "🎉"


# ---- paths and query strings ------------------------------------------------------------


def _hostile_requests() -> list[tuple[str, str]]:
    good = {"slug": "greeting", "n": "1", "env": "dev", "prefix": "po_live_abcd1234", "project": ""}
    out: list[tuple[str, str]] = []
    for method, template in ALL_ENDPOINTS:
        for name, values in HOSTILE_PATH.items():
            if "{" + name + "}" not in template:
                continue
            for value in values:
                url = template
                for other, default in good.items():
                    url = url.replace("{" + other + "}", value if other == name else default)
                out.append((method, url))
        plain = template
        for other, default in good.items():
            plain = plain.replace("{" + other + "}", default)
        for param, values in HOSTILE_QUERY.items():
            for value in values:
                out.append((method, f"{plain}?{param}={value}"))
    return out


HOSTILE = _hostile_requests()


@pytest.mark.parametrize("as_admin", [False, True], ids=["project-key", "admin-key"])
def test_hostile_paths_and_queries_never_500(
    api: Api, app: Any, target: Target, as_admin: bool
) -> None:
    key = target.admin if as_admin else target.writer
    before = row_counts(app)
    problems = []
    for method, url in HOSTILE:
        url = url.replace("/v1/projects/?", f"/v1/projects/{target.project.id}?")
        # Bodies that cannot succeed, so every request must leave the data as it was.
        body = {"GET": None, "DELETE": None, "PATCH": b'{"name": ""}'}.get(method, b"{}")
        r = api.as_(key).request(method, url, content=body, headers=JSON if body else {})
        if r.status_code >= 500:
            problems.append(f"{method} {url[:80]}: {r.status_code} {r.text[:120]}")
        elif r.status_code >= 400:
            try:
                assert_error(r, r.status_code)
            except AssertionError as exc:
                problems.append(f"{method} {url[:80]}: bad error shape {exc}")
    assert not problems, "\n".join(problems)
    assert row_counts(app) == before


OUT_OF_RANGE = [
    ("/v1/prompts/greeting/versions/99999999999999999999", "number"),
    ("/v1/prompts/greeting/versions/-1", "number"),
    ("/v1/prompts?limit=100000000000000000000", "limit"),
    ("/v1/prompts?limit=-1", "limit"),
    ("/v1/prompts?q=%00", "q"),
    ("/v1/prompts?cursor=%00", "cursor"),
    ("/v1/prompts/greeting/versions?cursor=100000000000000000000", "cursor"),
    ("/v1/prompts/greeting/deployments/dev/history?cursor=100000000000000000000", "cursor"),
    ("/v1/audit?cursor=100000000000000000000", "cursor"),
    ("/v1/audit?limit=100000000000000000000", "limit"),
    ("/v1/audit?action=%00", "action"),
    ("/v1/keys?project_id=%00", "project_id"),
    ("/v1/audit?project_id=%00", "project_id"),
]


def test_out_of_range_path_and_query_values_are_422(api: Api, target: Target) -> None:
    for url, field in OUT_OF_RANGE:
        assert_error(api.as_(target.writer).get(url), 422, field=field)
        if "project_id" in url or url.startswith("/v1/audit"):
            assert_error(api.as_(target.admin).get(url), 422, field=field)


def test_unknown_routes_and_methods(api: Api, target: Target) -> None:
    w = api.as_(target.writer)
    assert_error(w.get("/v1/nothing"), 404)
    assert_error(w.get("/v2/prompts"), 404)
    assert_error(w.request("PUT", "/v1/prompts/greeting", json={}), 405)
    assert_error(w.delete("/v1/prompts/greeting"), 405)
    assert_error(w.request("PUT", "/v1/projects", json={}), 405)
    assert_error(w.request("POST", "/v1/prompts/greeting/active"), 405)


def test_odd_authorization_headers(api: Api, target: Target) -> None:
    for value in (b"Bearer \xff\xfe", b"Bearer " + b"a" * 10000, b"\xff", b"Bearer po_live_\xe9"):
        for url in ("/v1/prompts", "/v1/prompts/greeting/active"):
            r = api.http.get(url, headers={"Authorization": value})  # type: ignore[dict-item]
            assert_error(r, 401)
