"""/v1/webhooks: endpoint management, validation, permissions, project scoping, SSRF."""

from __future__ import annotations

import typing
from typing import Any

import pytest

from promptops.contract.webhooks import EventType
from promptops.domain.events import EVENT_TYPES
from promptops.server.config import Settings
from tests.server.helpers import assert_error, row_counts
from tests.support import Api, Project
from tests.webhooks.helpers import Receiver

URL = "http://127.0.0.1:9/hook"


def create(api: Api, key: str, **body: Any) -> dict[str, Any]:
    r = api.as_(key).post("/v1/webhooks", json={"url": URL, **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_event_type_schema_matches_the_domain() -> None:
    assert typing.get_args(EventType) == EVENT_TYPES


def test_create_shows_the_secret_once(api: Api, project: Project) -> None:
    made = create(api, project.key, description="CI bridge", event_types=["prompt_created"])
    assert made["id"].startswith("wh_")
    assert made["secret"].startswith("whsec_") and len(made["secret"]) > 40
    assert made["url"] == URL and made["enabled"] is True
    assert made["event_types"] == ["prompt_created"] and made["description"] == "CI bridge"
    assert made["created_by"] == project.prefix and made["failure_count"] == 0
    got = api.as_(project.key).get(f"/v1/webhooks/{made['id']}")
    assert got.status_code == 200 and "secret" not in got.json()
    listed = api.as_(project.key).get("/v1/webhooks").json()["data"]
    assert [w["id"] for w in listed] == [made["id"]] and "secret" not in listed[0]
    audit = api.as_(project.key).get("/v1/audit", params={"action": "webhook.created"}).json()
    assert audit["data"][0]["target"] == made["id"]
    assert made["secret"] not in str(audit)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "url"),
        ({"url": ""}, "url"),
        ({"url": 42}, "url"),
        ({"url": URL, "event_types": ["prompt_deleted"]}, "event_types.0"),
        ({"url": URL, "event_types": "prompt_created"}, "event_types"),
        ({"url": URL, "enabled": "yes"}, "enabled"),
        ({"url": URL, "description": "x" * 1001}, "description"),
        ({"url": URL, "secret": "whsec_mine"}, "secret"),
        ({"url": "ftp://127.0.0.1/x"}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data/"}, "url"),
        ({"url": "http://[fd00:ec2::254]/"}, "url"),
        ({"url": "http://100.100.100.200/"}, "url"),
    ],
)
def test_invalid_input_is_422_naming_the_field(
    api: Api, project: Project, app: Any, body: dict[str, Any], field: str
) -> None:
    before = row_counts(app)
    r = api.as_(project.key).post("/v1/webhooks", json=body)
    assert_error(r, 422, field=field)
    assert row_counts(app) == before


def test_private_targets_only_when_the_operator_allows(
    api: Api, project: Project, settings: Settings
) -> None:
    made = create(api, project.key)  # allowed: the test settings allow private targets
    settings.webhook_allow_private = False
    for url in ("http://127.0.0.1:8000/x", "http://localhost:8000/x", "http://10.0.0.8/x"):
        r = api.as_(project.key).post("/v1/webhooks", json={"url": url})
        detail = assert_error(r, 422, code="invalid_input", field="url")
        assert "PROMPTOPS_WEBHOOK_ALLOW_PRIVATE" in detail["message"]
    r = api.as_(project.key).patch(f"/v1/webhooks/{made['id']}", json={"url": "http://[::1]/"})
    assert_error(r, 422, field="url")
    settings.webhook_allow_private = None  # the default: development mode allows them
    assert settings.mode == "development"
    create(api, project.key)
    settings.mode = "production"
    assert_error(api.as_(project.key).post("/v1/webhooks", json={"url": URL}), 422, field="url")


def test_update_and_delete(api: Api, project: Project, receiver: Receiver) -> None:
    made = create(api, project.key)
    path = f"/v1/webhooks/{made['id']}"
    r = api.as_(project.key).patch(
        path, json={"url": receiver.url, "event_types": ["prompt_created"], "enabled": False}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["url"], r.json()["event_types"], r.json()["enabled"]) == (
        receiver.url,
        ["prompt_created"],
        False,
    )
    r = api.as_(project.key).patch(path, json={"description": "hello", "event_types": []})
    assert (r.json()["description"], r.json()["event_types"]) == ("hello", [])
    for field in ("url", "enabled", "event_types"):
        assert_error(api.as_(project.key).patch(path, json={field: None}), 422, field=field)
    assert_error(api.as_(project.key).patch(path, json={"bogus": 1}), 422, field="bogus")
    assert api.as_(project.key).delete(path).status_code == 204
    assert_error(api.as_(project.key).get(path), 404, code="not_found")
    assert_error(api.as_(project.key).delete(path), 404)
    actions = [e["action"] for e in api.as_(project.key).get("/v1/audit").json()["data"]]
    assert actions[:3] == ["webhook.deleted", "webhook.updated", "webhook.updated"]


def test_rotate_secret(api: Api, project: Project, settings: Settings) -> None:
    made = create(api, project.key)
    path = f"/v1/webhooks/{made['id']}/rotate-secret"
    r = api.as_(project.key).post(path)
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["secret"].startswith("whsec_") and first["secret"] != made["secret"]
    assert first["previous_secret_expires_at"] is not None
    r = api.as_(project.key).post(path, json={"overlap_seconds": 60})
    assert r.status_code == 200 and r.json()["secret"] not in (made["secret"], first["secret"])
    assert_error(api.as_(project.key).post(path, json={"overlap_seconds": -1}), 422)
    assert_error(api.as_(project.key).post(path, json={"overlap": 1}), 422, field="overlap")
    audit = api.as_(project.key).get("/v1/audit", params={"action": "webhook.secret_rotated"})
    assert len(audit.json()["data"]) == 2 and first["secret"] not in audit.text


def test_read_keys_read_and_write_keys_change(api: Api, project: Project) -> None:
    made = create(api, project.key)
    reader = api.new_key(project.key, "dev", "read")
    base = f"/v1/webhooks/{made['id']}"
    assert api.as_(reader).get("/v1/webhooks").json()["data"][0]["id"] == made["id"]
    assert api.as_(reader).get(base).status_code == 200
    assert api.as_(reader).get(f"{base}/deliveries").status_code == 200
    for method, path, body in [
        ("POST", "/v1/webhooks", {"url": URL}),
        ("PATCH", base, {"enabled": False}),
        ("DELETE", base, None),
        ("POST", f"{base}/rotate-secret", None),
        ("POST", f"{base}/test", None),
        ("POST", f"{base}/deliveries/1/redeliver", None),
    ]:
        r = api.as_(reader).request(method, path, json=body)
        assert_error(r, 403, code="forbidden")
    assert_error(api.as_(None).get("/v1/webhooks"), 401)


def test_other_projects_see_nothing(api: Api, project: Project, other: Project) -> None:
    made = create(api, project.key)
    base = f"/v1/webhooks/{made['id']}"
    assert api.as_(other.key).get("/v1/webhooks").json()["data"] == []
    for method, path in [
        ("GET", base),
        ("PATCH", base),
        ("DELETE", base),
        ("POST", f"{base}/rotate-secret"),
        ("POST", f"{base}/test"),
        ("GET", f"{base}/deliveries"),
        ("GET", f"{base}/deliveries/1"),
        ("POST", f"{base}/deliveries/1/redeliver"),
    ]:
        body = {"description": "mine now"} if method == "PATCH" else None
        assert_error(api.as_(other.key).request(method, path, json=body), 404)
    assert api.as_(project.key).get(base).json()["description"] is None


def test_admin_key_names_the_project_and_manages_every_endpoint(
    api: Api, project: Project, admin_key: str
) -> None:
    made = create(api, project.key)
    assert_error(api.as_(admin_key).get("/v1/webhooks"), 422, field="project_id")
    r = api.as_(admin_key).get("/v1/webhooks", params={"project_id": project.id})
    assert [w["id"] for w in r.json()["data"]] == [made["id"]]
    r = api.as_(admin_key).post("/v1/webhooks", json={"url": URL})
    assert_error(r, 422, field="project_id")
    r = api.as_(admin_key).post("/v1/webhooks", json={"url": URL, "project_id": "nope"})
    assert_error(r, 404, field="project_id")
    mine = create(api, admin_key, project_id=project.id)
    assert mine["environments"] == ["dev", "staging", "production"]
    r = api.as_(admin_key).patch(
        f"/v1/webhooks/{made['id']}", params={"project_id": project.id}, json={"enabled": False}
    )
    assert r.status_code == 200 and r.json()["enabled"] is False


def test_unknown_ids_are_404(api: Api, project: Project) -> None:
    for path in ("/v1/webhooks/wh_0000000000000000", "/v1/webhooks/nope"):
        assert_error(api.as_(project.key).get(path), 404, code="not_found")
        assert_error(api.as_(project.key).get(f"{path}/deliveries"), 404)
    made = create(api, project.key)
    r = api.as_(project.key).post(f"/v1/webhooks/{made['id']}/deliveries/999/redeliver")
    assert_error(r, 404)
    r = api.as_(project.key).get(f"/v1/webhooks/{made['id']}/deliveries/0")
    assert_error(r, 422, field="delivery_id")


def test_disabled_endpoint_refuses_test_events(api: Api, project: Project) -> None:
    made = create(api, project.key, enabled=False)
    r = api.as_(project.key).post(f"/v1/webhooks/{made['id']}/test")
    assert_error(r, 409, code="conflict", field="enabled")


def test_listing_the_webhooks_of_an_unknown_project_is_404(api: Api, admin_key: str) -> None:
    r = api.as_(admin_key).get("/v1/webhooks", params={"project_id": "0" * 32})
    assert r.status_code == 404, r.text
    assert r.json()["error"]["field"] == "project_id"
