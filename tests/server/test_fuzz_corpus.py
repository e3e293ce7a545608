"""The bad-input corpus (``tests/server/fuzz_corpus.py``) against every operation of the
API (body fields, query and path parameters, whole bodies and content types) and the
dashboard's forms and filters, on SQLite and PostgreSQL.

Each value goes to one body field of every operation with a body (the field rotates with
the value), to one query parameter of a quarter of the operations and one path parameter
of a sixth of them (rotating too), and to one field of every dashboard form and filter, so
every input of every endpoint sees a share of the corpus and every value reaches every
kind of input. Assertions: no 5xx; every API error is the one JSON shape, a 422 on a body
field names a field; a refused write changes no row.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.dashboard.conftest import make_person
from tests.dashboard.support import Browser
from tests.server import fuzz_corpus as corpus
from tests.server.helpers import VALID_VERSION, row_counts
from tests.support import Api

PATH_DEFAULTS = {
    "slug": "greeting",
    "prefix": "po_live_zzzzzzzz",
    "number": "1",
    "environment": "dev",
    "log_id": "00000000-0000-0000-0000-000000000001",
    "email": "nobody@example.com",
    "request_id": "1",
    "webhook_id": "wh_missing",
    "delivery_id": "1",
    "name": "FUZZ_NAME",  # a provider connection's or a secret's (none exists: 404)
}
GOOD_BODIES: dict[str, dict[str, Any]] = {
    "ProjectCreate": {"name": "P"},
    "KeyCreate": {"environment": "dev", "role": "read", "name": "k"},
    "PromptCreate": {"slug": "fz", "name": "F", "description": "d"},
    "PromptUpdate": {"name": "N", "description": "d"},
    "VersionCreate": VALID_VERSION,
    "PromoteRequest": {"version": 1, "comment": "c"},
    "TokenCreate": {"name": "t"},
    "UserCreate": {
        "email": "u@example.com",
        "password": "a-long-password-1",
        "is_instance_admin": False,
    },
    "MemberSet": {"email": "nobody@example.com", "role": "viewer"},
    "EnvironmentUpdate": {"protected": False, "required_evals": []},
    "EvalCreate": {
        "name": "quality",
        "score": 0.9,
        "passed": True,
        "details": {"tests": 2},
        "url": "https://ci.example/run/1",
        "ci_run_id": "1",
        "commit": "abcdef0",
    },
    "WebhookCreate": {"url": "https://hooks.example/x", "description": "d", "enabled": True},
    "WebhookUpdate": {"url": "https://hooks.example/y", "description": "d", "enabled": True},
    "SyncPush": {
        "files": [
            {
                "slug": "fz-sync",
                "name": "F",
                "type": "chat",
                "messages": [{"role": "user", "content": "Hi {{name}}"}],
                "model": "gpt-4o-mini",
            }
        ],
        "commit_message": "c",
        "dry_run": False,
    },
    "ProviderCreate": {"name": "fz-openai", "provider": "openai", "api_key": "sk-fuzz-000000"},
    "ProviderUpdate": {"api_key": "sk-fuzz-111111"},
    "SecretSet": {"value": "fuzz-secret-value"},
    "AgentCreate": {"slug": "fz-agent", "name": "F"},
    "AgentVersionCreate": {
        "start": "a",
        "steps": {"a": {"type": "http", "url": "https://hooks.example/a"}},
    },
    "RunCreate": {"inputs": {}},
    "RunInput": {"input": {"ok": True}},
}
LOG_FIELDS = [
    "id", "provider", "model", "request", "response", "status", "latency_ms", "prompt_slug",
    "prompt_version", "environment", "tags", "metadata", "error", "input_tokens",
    "output_tokens", "cost_usd", "created_at",
]  # fmt: skip
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Operation:
    method: str
    path: str
    path_params: list[str]
    query_params: list[str]
    body: dict[str, Any] | None  # a good body, when the operation takes one
    fields: list[str]


def _operations(spec: dict[str, Any]) -> list[Operation]:
    ops = []
    for path, methods in spec["paths"].items():
        if path in ("/v1/stream", "/healthz"):  # the stream never ends; healthz has no input
            continue
        for method, op in methods.items():
            params = op.get("parameters", [])
            ref = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            name = ref.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
            body: dict[str, Any] | None = None
            fields: list[str] = []
            if name:
                body = GOOD_BODIES[name]
                fields = list(spec["components"]["schemas"][name]["properties"])
            elif method == "post" and path == "/v1/logs":
                body, fields = {"records": [_record()]}, LOG_FIELDS
            ops.append(
                Operation(
                    method.upper(),
                    path,
                    [p["name"] for p in params if p["in"] == "path"],
                    [p["name"] for p in params if p["in"] == "query"],
                    body,
                    fields,
                )
            )
    return ops


def _record() -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "provider": "openai",
        "model": "m",
        "request": {"messages": []},
        "response": {"ok": True},
        "status": "ok",
        "latency_ms": 1.5,
        "tags": ["t"],
    }


def _body(op: Operation, field: str, value: Any) -> bytes:
    marker = "__FUZZ__"
    assert op.body is not None
    if op.path == "/v1/logs":
        record = {**_record(), field: marker}
        good: dict[str, Any] = {"records": [record]}
    else:
        good = {**op.body, field: marker}
    return json.dumps(good).replace(json.dumps(marker), corpus.body_fragment(value)).encode()


def _url(op: Operation, fuzzed: str | None = None, value: Any = None) -> str:
    url = op.path
    for name in op.path_params:
        text = corpus.url_text(value) if name == fuzzed else PATH_DEFAULTS.get(name, "x")
        url = url.replace("{" + name + "}", text)
    return url


class Checker:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.problems: list[str] = []
        self.sent = 0

    def send(
        self, http: Any, method: str, url: str, *, dashboard: bool = False, named: bool = False,
        **kw: Any,
    ) -> None:  # fmt: skip
        before = row_counts(self.app) if method in WRITES else None
        r: httpx.Response = http.request(method, url, **kw)
        self.sent += 1
        where = f"{method} {url[:100]}"
        if r.status_code >= 500:
            self.problems.append(f"{where}: {r.status_code} {r.text[:200]}")
            return
        if before is not None and r.status_code >= 400 and row_counts(self.app) != before:
            self.problems.append(f"{where}: {r.status_code} but rows changed")
        is_json = r.headers.get("content-type", "").startswith("application/json")
        if r.status_code >= 400 and (is_json or not dashboard):
            try:
                body = r.json()
                detail = body["error"]
                assert set(body) == {"error"} and set(detail) <= {"code", "message", "field"}
                assert isinstance(detail["code"], str) and detail["code"]
                assert isinstance(detail["message"], str) and detail["message"]
            except Exception:
                self.problems.append(
                    f"{where}: {r.status_code} not the error shape: {r.text[:200]}"
                )
                return
            # A body the parser refuses as a whole (invalid_json) has no field to name.
            if (
                named
                and r.status_code == 422
                and detail["code"] != "invalid_json"
                and not detail.get("field")
            ):
                self.problems.append(f"{where}: 422 names no field: {detail}")


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    c = TestClient(app, raise_server_exceptions=False)
    yield c
    c.close()
    app.state.db.dispose()


def test_the_corpus_has_at_least_400_cases() -> None:
    assert corpus.count() >= 400


@pytest.mark.timeout(1200)  # about 10,000 requests per database; minutes on a busy machine
def test_the_corpus_gives_no_server_error_anywhere(
    app: Any, client: TestClient, api: Api, admin_key: str
) -> None:
    project = api.new_project(admin_key)
    api.new_prompt(project.key)
    api.new_version(project.key)
    spec = client.get("/openapi.json").json()
    ops = _operations(spec)
    check = Checker(app)
    keys = [project.key, admin_key]
    for i, value in enumerate(corpus.VALUES):
        auth = {"Authorization": f"Bearer {keys[i % 2]}"}
        for j, op in enumerate(ops):
            if op.body is not None:
                field = op.fields[i % len(op.fields)]
                check.send(
                    client, op.method, _url(op), content=_body(op, field, value), named=True,
                    headers={**auth, "content-type": "application/json"},
                )  # fmt: skip
            if op.query_params and (i + j) % 4 == 0:
                param = op.query_params[i % len(op.query_params)]
                url = f"{_url(op)}?{param}={corpus.url_text(value)}"
                check.send(client, op.method, url, headers=auth, content=b"")
            if op.path_params and (i + j) % 6 == 0:
                param = op.path_params[i % len(op.path_params)]
                check.send(client, op.method, _url(op, param, value), headers=auth)
    for _name, content, content_type in corpus.BODIES:
        for op in ops:
            if op.body is not None:
                headers = {"Authorization": f"Bearer {project.key}"}
                if content_type:
                    headers["content-type"] = content_type
                check.send(client, op.method, _url(op), content=content, headers=headers)
    _dashboard(app, check, project.id)
    assert not check.problems, f"{len(check.problems)} problems:\n" + "\n".join(check.problems[:40])
    assert check.sent > 8_000


FORMS: list[tuple[str, dict[str, str]]] = [
    ("/projects", {"name": "P"}),
    ("/p/{pid}/prompts", {"slug": "fz", "name": "F", "description": "d"}),
    ("/p/{pid}/keys", {"environment": "dev", "role": "read", "name": "k"}),
    ("/p/{pid}/members", {"email": "nobody@example.com", "role": "viewer"}),
    ("/p/{pid}/webhooks", {"url": "https://hooks.example/x", "description": "d"}),
    (
        "/p/{pid}/prompts/greeting/promote",
        {"environment": "staging", "version": "1", "comment": "c"},
    ),
    (
        "/p/{pid}/prompts/greeting/edit",
        {
            "messages.0.kind": "message",
            "messages.0.role": "system",
            "messages.0.content": "s",
            "messages.1.kind": "placeholder",
            "messages.1.name": "history",
            "messages.2.kind": "message",
            "messages.2.role": "user",
            "messages.2.content": "Hi {{x}}",
            "tools": '[{"type": "function", "function": {"name": "f"}}]',
            "response_format": '{"type": "json_object"}',
            "params.top_p": "0.5",
            "inputs.0.name": "x",
            "inputs.0.type": "string",
            "model": "m",
            "base": "1",
            "intent": "save",
        },
    ),
    ("/account/tokens", {"name": "t"}),
    ("/p/{pid}/settings/environments", {"environment": "production", "protected": "on"}),
]
FILTERS: list[tuple[str, list[str]]] = [
    ("/p/{pid}/logs", ["prompt", "tag", "since", "environment", "version", "status", "before"]),
    ("/p/{pid}/audit", ["action", "cursor"]),
    ("/p/{pid}/prompts", ["q"]),
    ("/p/{pid}/prompts/greeting/diff", ["a", "b"]),
    ("/p/{pid}/changes", ["status"]),
    ("/login", ["next"]),
]


def _dashboard(app: Any, check: Checker, project_id: str) -> None:
    person = make_person(app, "owner@example.com", project_id=project_id, role="owner")
    browser = Browser(app)
    assert browser.login(person.email, person.password).status_code == 303
    assert browser.csrf is not None
    anonymous = Browser(app)
    for i, value in enumerate(corpus.VALUES):
        text = corpus.form_text(value)
        for url, good in FORMS:
            field = list(good)[i % len(good)]
            fields = {**good, field: "__FUZZ__", "csrf_token": browser.csrf}
            body = "&".join(f"{k}={v}" for k, v in fields.items()).replace("__FUZZ__", text)
            check.send(
                browser.http, "POST", url.format(pid=project_id), content=body.encode(),
                headers={"content-type": "application/x-www-form-urlencoded"}, dashboard=True,
            )  # fmt: skip
        for url, params in FILTERS:
            param = params[i % len(params)]
            full = f"{url.format(pid=project_id)}?{param}={corpus.url_text(value)}"
            check.send(browser.http, "GET", full, dashboard=True)
        login = f"email={text}&password={text}&csrf_token=x"
        check.send(
            anonymous.http, "POST", "/login", content=login.encode(), dashboard=True,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
    browser.close()
    anonymous.close()
