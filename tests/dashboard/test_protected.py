"""Protected environments through the API: requests, approval (who, and what it records),
rejection, withdrawal, stale requests, rollbacks, and API keys with and without the
explicit bypass permission."""

from __future__ import annotations

from typing import Any

from promptops.domain.changes import Change
from tests.dashboard.support import Person
from tests.server.helpers import assert_error
from tests.support import Api, Project


def _promote(api: Api, headers: dict[str, str], env: str, version: int, **extra: Any) -> Any:
    return api.http.post(
        f"/v1/prompts/greeting/deployments/{env}",
        json={"version": version, **extra},
        headers=headers,
    )


def _active(api: Api, headers: dict[str, str], env: str) -> int | None:
    body = api.http.get("/v1/prompts/greeting/deployments", headers=headers).json()
    row = body["environments"][env]
    return None if row is None else int(row["version"])


def _decide(api: Api, person: Person, project: Project, request_id: int, what: str) -> Any:
    return api.http.post(
        f"/v1/change-requests/{request_id}/{what}", headers=person.headers(project.id)
    )


def test_settings_are_per_project_and_audited(
    api: Api, people: dict[str, Person], project: Project, protected: str, admin_key: str
) -> None:
    r = api.http.get("/v1/environments", headers=people["viewer"].headers(project.id))
    assert r.json() == [
        {"name": "dev", "protected": False, "required_evals": []},
        {"name": "staging", "protected": False, "required_evals": []},
        {"name": "production", "protected": True, "required_evals": []},
    ]
    r = api.http.put(
        "/v1/environments/dev",
        json={"protected": True},
        headers=people["owner"].headers(project.id),
    )
    assert_error(r, 422, field="environment")
    r = api.http.put(
        "/v1/environments/staging",
        json={"protected": True},
        headers=people["editor"].headers(project.id),
    )
    assert_error(r, 403)
    r = api.as_(project.key).request("PUT", "/v1/environments/staging", json={"protected": True})
    assert_error(r, 403)  # a key never changes protection
    audit = api.as_(admin_key).get("/v1/audit", params={"project_id": project.id}).json()["data"]
    event = next(e for e in audit if e["action"] == "environment.protected")
    assert event["actor"] == "user:owner@example.com" and event["target"] == "production"


def test_editor_requests_and_a_different_admin_approves(
    app: Any, api: Api, people: dict[str, Person], project: Project, protected: str
) -> None:
    announced: list[Change] = []
    app.state.db.listeners.append(announced.extend)
    editor, admin = people["editor"].headers(project.id), people["admin"].headers(project.id)
    r = _promote(api, editor, "production", 2, comment="ready for prod")
    assert r.status_code == 202, r.text
    request = r.json()
    assert request["status"] == "pending" and request["stale"] is False
    assert (request["action"], request["version"], request["from_version"]) == ("promote", 2, None)
    assert request["comment"] == "ready for prod"
    assert _active(api, editor, "production") is None  # nothing deployed yet
    # Asking twice is the same request.
    assert _promote(api, editor, "production", 2).json()["id"] == request["id"]

    r = _decide(api, people["admin"], project, request["id"], "approve")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["change_request"]["status"] == "approved"
    assert body["change_request"]["decided_by"] == "user:admin@example.com"
    assert body["deployment"]["actor"] == "user:admin@example.com"
    assert _active(api, admin, "production") == 2
    history = api.http.get(
        "/v1/prompts/greeting/deployments/production/history", headers=admin
    ).json()["data"]
    assert [(d["version"], d["actor"]) for d in history] == [(2, "user:admin@example.com")]
    audit = api.http.get("/v1/audit", headers=admin).json()["data"]
    actions = [(e["action"], e["actor"]) for e in audit[:3]]
    assert actions == [
        ("change_request.approved", "user:admin@example.com"),
        ("deployment.promote", "user:admin@example.com"),
        ("change_request.opened", "user:editor@example.com"),
    ]
    assert audit[0]["after"]["requested_by"] == "user:editor@example.com"
    kinds = [(c.kind, c.slug, c.environment) for c in announced]
    assert ("label_change_approved", "greeting", "production") in kinds
    # Decided once: approving again is a conflict.
    assert_error(_decide(api, people["admin2"], project, request["id"], "approve"), 409)


def test_stale_requests_are_refused_with_a_clear_message(
    api: Api, people: dict[str, Person], project: Project, protected: str
) -> None:
    editor = people["editor"].headers(project.id)
    first = _promote(api, editor, "production", 1).json()
    second = _promote(api, editor, "production", 2).json()
    assert _decide(api, people["admin"], project, first["id"], "approve").status_code == 200
    listed = api.http.get("/v1/change-requests", params={"status": "pending"}, headers=editor)
    assert [(c["id"], c["stale"]) for c in listed.json()["data"]] == [(second["id"], True)]
    r = _decide(api, people["admin"], project, second["id"], "approve")
    detail = assert_error(r, 409)
    assert "stale" in detail["message"] and "it is now at v1" in detail["message"]
    assert _active(api, editor, "production") == 1  # unchanged
    # It can still be rejected (or withdrawn).
    r = _decide(api, people["owner"], project, second["id"], "reject")
    assert r.status_code == 200 and r.json()["status"] == "rejected"


def test_rollback_of_a_protected_environment_is_a_request_too(
    api: Api, people: dict[str, Person], project: Project, protected: str
) -> None:
    editor = people["editor"].headers(project.id)
    for version in (1, 2):
        request = _promote(api, editor, "production", version).json()
        assert _decide(api, people["admin"], project, request["id"], "approve").status_code == 200
    r = api.http.post("/v1/prompts/greeting/deployments/production/rollback", headers=editor)
    assert r.status_code == 202
    assert (r.json()["action"], r.json()["from_version"], r.json()["version"]) == ("rollback", 2, 1)
    assert _active(api, editor, "production") == 2
    approved = _decide(api, people["owner"], project, r.json()["id"], "approve").json()
    assert approved["deployment"]["action"] == "rollback"
    assert _active(api, editor, "production") == 1


def test_only_the_requester_withdraws(
    api: Api, people: dict[str, Person], project: Project, protected: str
) -> None:
    request = _promote(api, people["editor"].headers(project.id), "production", 2).json()
    assert_error(_decide(api, people["admin"], project, request["id"], "withdraw"), 403)
    r = _decide(api, people["editor"], project, request["id"], "withdraw")
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert_error(_decide(api, people["admin"], project, request["id"], "approve"), 409)


def test_unprotected_environments_deploy_at_once(
    api: Api, people: dict[str, Person], project: Project, protected: str
) -> None:
    r = _promote(api, people["editor"].headers(project.id), "staging", 2)
    assert r.status_code == 200 and r.json()["actor"] == "user:editor@example.com"


# ---- API keys ------------------------------------------------------------------------------


def test_keys_without_the_permission_only_request(
    api: Api, people: dict[str, Person], project: Project, protected: str, admin_key: str
) -> None:
    key = api.new_key(admin_key, "production", "write", project_id=project.id)
    r = api.as_(key).post("/v1/prompts/greeting/deployments/production", json={"version": 2})
    assert r.status_code == 202 and r.json()["requested_by"] == key[:16]
    # A key cannot approve (not even a bypass key), but it can withdraw its own request.
    assert_error(api.as_(key).post(f"/v1/change-requests/{r.json()['id']}/approve"), 403)
    assert api.as_(key).post(f"/v1/change-requests/{r.json()['id']}/withdraw").status_code == 200


def test_bypass_keys_deploy_directly_and_the_audit_log_shows_it(
    api: Api, people: dict[str, Person], project: Project, protected: str, admin_key: str
) -> None:
    body = {"environment": "production", "role": "write", "can_bypass_protection": True}
    # Only the instance admin or a project owner grants it.
    assert_error(api.as_(project.key).post("/v1/keys", json=body), 403)
    r = api.http.post("/v1/keys", json=body, headers=people["admin"].headers(project.id))
    assert_error(r, 403, field="can_bypass_protection")
    r = api.http.post("/v1/keys", json=body, headers=people["owner"].headers(project.id))
    assert r.status_code == 201 and r.json()["can_bypass_protection"] is True
    key = r.json()["key"]
    listed = {
        k["prefix"]: k
        for k in api.as_(admin_key).get("/v1/keys", params={"project_id": project.id}).json()
    }
    assert listed[key[:16]]["can_bypass_protection"] is True
    assert "can_bypass_protection" not in listed[project.prefix]  # only shown when granted

    r = api.as_(key).post("/v1/prompts/greeting/deployments/production", json={"version": 2})
    assert r.status_code == 200 and r.json()["actor"] == key[:16]
    audit = api.as_(admin_key).get("/v1/audit", params={"project_id": project.id}).json()["data"]
    created = next(e for e in audit if e["action"] == "key.created" and e["target"] == key[:16])
    assert created["after"]["can_bypass_protection"] is True
    assert created["actor"] == "user:owner@example.com"
    bypass = next(e for e in audit if e["action"] == "deployment.protection_bypassed")
    assert bypass["actor"] == key[:16] and bypass["after"]["version"] == 2
