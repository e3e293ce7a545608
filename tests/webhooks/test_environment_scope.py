"""Webhook endpoints are scoped by environment: who sees and who changes which endpoint
(a permission matrix over callers x operations x endpoints), validation of ``environments``,
and delivery of an environment's events only to endpoints listening to it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from promptops.db.models import Event, Membership, WebhookDelivery
from promptops.domain import sessions, users
from tests.server.helpers import assert_error, row_counts
from tests.support import Api, Project
from tests.webhooks.helpers import Receiver, deliveries, wait_until

ALL = ["dev", "staging", "production"]
ENDPOINTS = {"dev-only": ["dev"], "production-only": ["production"], "all": ALL}


def person_token(app: Any, project_id: str, role: str) -> str:
    """A personal token (po_user_…) of a new member of ``project_id`` with ``role``."""
    with app.state.db.write() as session:
        user = users.create_user(
            session,
            None,
            email=f"{role}@example.com",
            password="a long enough password",
            hasher=app.state.users.hasher,
        )
        session.add(Membership(user_id=user.id, project_id=project_id, role=role))
        return sessions.create_token(session, user, name="tests").token


class Caller:
    """How one caller authenticates, and what the rules let it do."""

    def __init__(
        self,
        api: Api,
        token: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        sees: set[str],
        changes: set[str],
        creates: tuple[int, int],
        own: list[str] | None,
    ) -> None:
        self.api, self.headers, self.params = api.as_(token), headers or {}, params or {}
        self.sees, self.changes, self.creates, self.own = sees, changes, creates, own

    def call(self, method: str, path: str, body: Any = None) -> Any:
        return self.api.request(method, path, json=body, headers=self.headers, params=self.params)


@pytest.fixture
def callers(api: Api, app: Any, project: Project, admin_key: str) -> dict[str, Caller]:
    other = api.new_project(admin_key, name="Other")

    def key(env: str, role: str = "write") -> str:
        return api.new_key(admin_key, env, role, project_id=project.id)

    in_project = {"X-PromptOps-Project": project.id}
    everything = set(ENDPOINTS)
    return {
        "dev write key": Caller(
            api, project.key, sees={"dev-only"}, changes={"dev-only"}, creates=(201, 403), own=None
        ),
        "staging write key": Caller(
            api, key("staging"), sees=set(), changes=set(), creates=(201, 403), own=["staging"]
        ),
        "production write key": Caller(
            api,
            key("production"),
            sees={"production-only"},
            changes={"production-only"},
            creates=(201, 403),
            own=["production"],
        ),
        "read key": Caller(
            api, key("dev", "read"), sees={"dev-only"}, changes=set(), creates=(403, 403), own=None
        ),
        "admin key": Caller(
            api,
            admin_key,
            params={"project_id": project.id},
            sees=everything,
            changes=everything,
            creates=(201, 201),
            own=None,
        ),
        "project admin token": Caller(
            api,
            person_token(app, project.id, "admin"),
            headers=in_project,
            sees=everything,
            changes=everything,
            creates=(201, 201),
            own=None,
        ),
        "editor token": Caller(
            api,
            person_token(app, project.id, "editor"),
            headers=in_project,
            sees=everything,
            changes=set(),
            creates=(403, 403),
            own=None,
        ),
        "wrong project's key": Caller(
            api, other.key, sees=set(), changes=set(), creates=(403, 403), own=None
        ),
    }


def make_endpoints(api: Api, admin_key: str, project: Project, url: str) -> dict[str, Any]:
    """The three endpoints, each with one delivery (a test event)."""
    made: dict[str, Any] = {}
    scope = {"project_id": project.id}
    for name, envs in ENDPOINTS.items():
        body = {"url": url, "environments": envs, "project_id": project.id}
        r = api.as_(admin_key).post("/v1/webhooks", json=body)
        assert r.status_code == 201, r.text
        endpoint = r.json()
        r = api.as_(admin_key).post(f"/v1/webhooks/{endpoint['id']}/test", params=scope)
        assert r.status_code == 202, r.text
        made[name] = {**endpoint, "delivery": r.json()["id"]}
    return made


OPERATIONS = [  # (name, method, path under the endpoint, body, status when allowed)
    ("get", "GET", "", None, 200),
    ("deliveries list", "GET", "/deliveries", None, 200),
    ("delivery detail", "GET", "/deliveries/{delivery}", None, 200),
    ("redeliver", "POST", "/deliveries/{delivery}/redeliver", None, 202),
    ("test event", "POST", "/test", None, 202),
    ("update", "PATCH", "", {"description": "changed"}, 200),
    ("rotate", "POST", "/rotate-secret", None, 200),
    ("delete", "DELETE", "", None, 204),
]
READS = {"get", "deliveries list", "delivery detail"}


@pytest.mark.parametrize(
    "who",
    [
        "dev write key",
        "staging write key",
        "production write key",
        "read key",
        "admin key",
        "project admin token",
        "editor token",
        "wrong project's key",
    ],
)
def test_permission_matrix(
    who: str,
    callers: dict[str, Caller],
    api: Api,
    app: Any,
    project: Project,
    admin_key: str,
    receiver: Receiver,
) -> None:
    caller = callers[who]
    endpoints = make_endpoints(api, admin_key, project, receiver.url)
    got: dict[tuple[str, str], int] = {}
    wanted: dict[tuple[str, str], int] = {}

    # create: with its own environment (a key's default), and with a foreign one
    own = caller.own or ["dev"]
    foreign = ["production"] if own != ["production"] else ["dev"]
    for label, envs, status in (
        ("create own env", own, caller.creates[0]),
        ("create foreign env", foreign, caller.creates[1]),
    ):
        before = row_counts(app)["webhook_endpoints"]  # (the worker adds attempts meanwhile)
        body = {"url": receiver.url, "environments": envs, "project_id": project.id}
        r = caller.call("POST", "/v1/webhooks", body)
        got[(label, "-")], wanted[(label, "-")] = r.status_code, status
        if r.status_code == 201:
            assert r.json()["environments"] == envs
        else:
            assert row_counts(app)["webhook_endpoints"] == before, f"{who}: {label} stored"
            if label == "create foreign env" and caller.creates == (201, 403):
                # a write key, refused only for the environment
                assert r.json()["error"]["field"] == "environments"

    r = caller.call("GET", "/v1/webhooks")
    listed = {w["id"] for w in r.json()["data"]} if r.status_code == 200 else set()
    ids = {e["id"]: name for name, e in endpoints.items()}
    assert {ids[i] for i in listed if i in ids} == caller.sees, f"{who}: list"

    for name, endpoint in endpoints.items():
        before = api.as_(admin_key).get(
            f"/v1/webhooks/{endpoint['id']}", params={"project_id": project.id}
        )
        for op, method, tail, body, ok in OPERATIONS:
            path = f"/v1/webhooks/{endpoint['id']}" + tail.format(**endpoint)
            r = caller.call(method, path, body)
            got[(op, name)] = r.status_code
            if name not in caller.sees:
                wanted[(op, name)] = 403 if op not in READS and who == "read key" else 404
            elif op in READS or name in caller.changes:
                wanted[(op, name)] = ok
            else:
                wanted[(op, name)] = 403
            if op in READS and r.status_code == 200 and op != "deliveries list":
                assert "secret" not in r.json()
        if name not in caller.changes:  # refused changes changed nothing
            after = api.as_(admin_key).get(
                f"/v1/webhooks/{endpoint['id']}", params={"project_id": project.id}
            )
            assert after.json() == before.json(), f"{who} changed {name}"
    assert got == wanted


def test_a_key_creates_for_its_own_environment_by_default(
    api: Api, project: Project, admin_key: str
) -> None:
    production = api.new_key(admin_key, "production", "write", project_id=project.id)
    url = "http://127.0.0.1:9/hook"
    made = api.as_(production).post("/v1/webhooks", json={"url": url}).json()
    assert made["environments"] == ["production"]
    dev_made = api.as_(project.key).post("/v1/webhooks", json={"url": url}).json()
    assert dev_made["environments"] == ["dev"]
    # a key cannot widen its endpoint to another environment
    path = f"/v1/webhooks/{dev_made['id']}"
    r = api.as_(project.key).patch(path, json={"environments": ["dev", "production"]})
    assert_error(r, 403, code="forbidden", field="environments")
    assert api.as_(project.key).get(path).json()["environments"] == ["dev"]
    # the admin can; then the dev key no longer sees it
    r = api.as_(admin_key).patch(
        path, params={"project_id": project.id}, json={"environments": ["production", "dev"]}
    )
    assert r.status_code == 200 and r.json()["environments"] == ["dev", "production"]
    assert_error(api.as_(project.key).get(path), 404, code="not_found")
    assert api.as_(project.key).get("/v1/webhooks").json()["data"] == []
    audit = api.as_(admin_key).get(
        "/v1/audit", params={"project_id": project.id, "action": "webhook.updated"}
    )
    entry = audit.json()["data"][0]
    assert entry["before"]["environments"] == ["dev"]
    assert entry["after"]["environments"] == ["dev", "production"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"environments": []}, "environments"),
        ({"environments": ["qa"]}, "environments.0"),
        ({"environments": ["dev", "dev"]}, "environments"),
        ({"environments": "dev"}, "environments"),
        ({"environments": ["dev", "staging", "production", "dev"]}, "environments"),
    ],
)
def test_invalid_environments_are_422_naming_the_field(
    api: Api, project: Project, app: Any, admin_key: str, body: dict[str, Any], field: str
) -> None:
    url = "http://127.0.0.1:9/hook"
    made = (
        api.as_(admin_key).post("/v1/webhooks", json={"url": url, "project_id": project.id}).json()
    )
    before = row_counts(app)
    r = api.as_(admin_key).post("/v1/webhooks", json={"url": url, "project_id": project.id, **body})
    assert_error(r, 422, field=field)
    r = api.as_(admin_key).patch(
        f"/v1/webhooks/{made['id']}", params={"project_id": project.id}, json=body
    )
    assert_error(r, 422, field=field)
    r = api.as_(admin_key).patch(
        f"/v1/webhooks/{made['id']}", params={"project_id": project.id}, json={"environments": None}
    )
    assert_error(r, 422, field="environments")
    assert row_counts(app) == before


def _promote(api: Api, key: str, environment: str, version: int = 1) -> None:
    r = api.as_(key).post(
        f"/v1/prompts/greeting/deployments/{environment}", json={"version": version}
    )
    assert r.status_code in (200, 201), r.text


def test_an_endpoint_receives_only_its_environments_events(
    api: Api, project: Project, app: Any, admin_key: str
) -> None:
    production = api.new_key(admin_key, "production", "write", project_id=project.id)
    with Receiver() as dev_receiver, Receiver() as prod_receiver:
        dev_hook = api.as_(project.key).post("/v1/webhooks", json={"url": dev_receiver.url})
        prod_hook = api.as_(production).post("/v1/webhooks", json={"url": prod_receiver.url})
        assert dev_hook.json()["environments"] == ["dev"]
        assert prod_hook.json()["environments"] == ["production"]
        api.new_prompt(project.key)
        api.new_version(project.key)  # moves the dev label
        _promote(api, production, "production")

        with app.state.db.read() as session:
            rows = session.execute(
                select(WebhookDelivery.endpoint_id, Event.type, Event.environment).join(
                    Event, Event.id == WebhookDelivery.event_id
                )
            ).all()
        queued = {(e, t, env) for e, t, env in rows}
        dev_id, prod_id = dev_hook.json()["id"], prod_hook.json()["id"]
        project_wide = {("prompt_created", None), ("prompt_template_version_created", None)}
        moved = "prompt_template_label_moved"
        assert {(t, env) for e, t, env in queued if e == dev_id} == {*project_wide, (moved, "dev")}
        assert {(t, env) for e, t, env in queued if e == prod_id} == {
            *project_wide,
            (moved, "production"),
        }

        def moves(receiver: Receiver) -> list[str]:
            import json

            bodies = [json.loads(r.body) for r in receiver.ok()]
            return [b["data"]["environment"] for b in bodies if b["type"] == moved]

        prod_receiver.wait_ok(3)
        dev_receiver.wait_ok(3)
        assert moves(prod_receiver) == ["production"]
        assert moves(dev_receiver) == ["dev"]
        # the delivery logs say the same
        dev_log = deliveries(api, project.key, dev_id)
        assert {d["event_type"] for d in dev_log} == {
            "prompt_created",
            "prompt_template_version_created",
            moved,
        }
        wait_until(lambda: len(deliveries(api, production, prod_id)) == 3, what="prod log")


def test_a_key_never_sees_another_environments_deliveries(
    api: Api, project: Project, app: Any, admin_key: str, receiver: Receiver
) -> None:
    """An endpoint narrowed to dev keeps its older production deliveries: the dev key that
    now sees it does not see those (nor their payloads), nor can it redeliver them."""
    production = api.new_key(admin_key, "production", "write", project_id=project.id)
    scope = {"project_id": project.id}
    body = {"url": receiver.url, "environments": ALL, "project_id": project.id}
    made = api.as_(admin_key).post("/v1/webhooks", json=body).json()
    api.new_prompt(project.key)
    api.new_version(project.key)
    _promote(api, production, "production")
    base = f"/v1/webhooks/{made['id']}"
    log = wait_until(
        lambda: (
            (rows := deliveries(api, admin_key, made["id"], **scope)) and len(rows) == 4 and rows
        ),
        what="four deliveries",
    )
    prod_delivery = next(
        d["id"]
        for d in log
        if d["event_type"] == "prompt_template_label_moved"
        and api.as_(admin_key)
        .get(f"{base}/deliveries/{d['id']}", params=scope)
        .json()["payload"]["data"]["environment"]
        == "production"
    )
    r = api.as_(admin_key).patch(base, params=scope, json={"environments": ["dev"]})
    assert r.status_code == 200
    seen = {d["id"] for d in deliveries(api, project.key, made["id"])}
    assert len(seen) == 3 and prod_delivery not in seen
    assert_error(api.as_(project.key).get(f"{base}/deliveries/{prod_delivery}"), 404)
    r = api.as_(project.key).post(f"{base}/deliveries/{prod_delivery}/redeliver")
    assert_error(r, 404)
