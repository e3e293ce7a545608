"""Environments that require evals: who sets them, and the gate. A promotion that would
deploy at once is refused (409 naming what is missing) until the version's latest result of
each required eval passed with a score of at least min_score; in a protected environment the
change request is opened, and approving it is refused until then. No one bypasses it."""

from __future__ import annotations

from typing import Any

from tests.dashboard.support import Person
from tests.server.helpers import assert_error, row_counts
from tests.support import Api, Project

REQUIRED = [{"name": "quality", "min_score": 0.8}, {"name": "safety", "min_score": 1}]


def _require(api: Api, owner: Person, project: Project, env: str, required: Any) -> Any:
    return api.http.put(
        f"/v1/environments/{env}",
        json={"required_evals": required},
        headers=owner.headers(project.id),
    )


def _promote(api: Api, headers: dict[str, str], env: str, version: int) -> Any:
    return api.http.post(
        f"/v1/prompts/greeting/deployments/{env}", json={"version": version}, headers=headers
    )


def _result(api: Api, key: str, version: int, name: str, score: float, passed: bool) -> None:
    r = api.as_(key).post(
        f"/v1/prompts/greeting/versions/{version}/evals",
        json={"name": name, "score": score, "passed": passed},
    )
    assert r.status_code == 201, r.text


def test_required_evals_are_set_by_admins_validated_and_audited(
    app: Any, api: Api, people: dict[str, Person], project: Project, greeting: str, admin_key: str
) -> None:
    owner = people["owner"]
    r = _require(api, owner, project, "staging", REQUIRED)
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "staging", "protected": False, "required_evals": REQUIRED}
    listed = api.http.get("/v1/environments", headers=people["viewer"].headers(project.id))
    assert [e["required_evals"] for e in listed.json()] == [[], REQUIRED, []]
    # Protecting keeps them; they are changed only when given.
    r = api.http.put(
        "/v1/environments/staging", json={"protected": True}, headers=owner.headers(project.id)
    )
    assert r.json() == {"name": "staging", "protected": True, "required_evals": REQUIRED}
    before = row_counts(app)
    for env, body, status, field in (
        ("dev", REQUIRED, 422, "required_evals"),
        ("staging", [REQUIRED[0], REQUIRED[0]], 422, "required_evals"),
        ("staging", [{"name": "q"}], 422, "required_evals"),
        ("staging", [{"name": "q", "min_score": "high"}], 422, "required_evals"),
        ("staging", [{"name": "bad  name", "min_score": 1}], 422, "required_evals"),
        ("staging", [{"name": f"e{i}", "min_score": 1} for i in range(21)], 422, "required_evals"),
    ):
        detail = assert_error(_require(api, owner, project, env, body), status)
        assert detail.get("field", "").startswith(field), detail
    assert_error(_require(api, people["editor"], project, "staging", []), 403)
    r = api.as_(project.key).put("/v1/environments/staging", json={"required_evals": []})
    assert_error(r, 403)
    r = api.http.put("/v1/environments/staging", json={}, headers=owner.headers(project.id))
    assert_error(r, 422)
    assert row_counts(app) == before
    assert _require(api, owner, project, "staging", []).json()["required_evals"] == []
    audit = api.as_(admin_key).get("/v1/audit", params={"project_id": project.id}).json()["data"]
    changed = [e for e in audit if e["action"] == "environment.required_evals_changed"]
    assert [(e["before"], e["after"]) for e in changed] == [
        ({"required_evals": REQUIRED}, {"required_evals": []}),
        ({"required_evals": []}, {"required_evals": REQUIRED}),
    ]


def test_a_direct_promotion_is_refused_until_the_evals_pass(
    api: Api, people: dict[str, Person], project: Project, greeting: str
) -> None:
    editor = people["editor"].headers(project.id)
    assert _promote(api, editor, "staging", 1).status_code == 200  # before any requirement
    assert _require(api, people["owner"], project, "staging", REQUIRED).status_code == 200
    detail = assert_error(_promote(api, editor, "staging", 2), 409, field="required_evals")
    assert "quality (no result" in detail["message"] and "safety (no result" in detail["message"]
    _result(api, project.key, 2, "quality", 0.9, True)
    _result(api, project.key, 2, "safety", 1.0, False)  # failed, whatever its score
    detail = assert_error(_promote(api, editor, "staging", 2), 409)
    assert "quality" not in detail["message"]
    assert "safety (latest: score 1, failed; needs passed and score >= 1)" in detail["message"]
    _result(api, project.key, 2, "safety", 1.0, True)
    _result(api, project.key, 2, "quality", 0.7, True)  # the latest counts: below 0.8 now
    detail = assert_error(_promote(api, editor, "staging", 2), 409)
    assert "quality (latest: score 0.7, passed" in detail["message"]
    assert "safety" not in detail["message"]
    # Results of another version do not count.
    _result(api, project.key, 1, "quality", 0.95, True)
    assert_error(_promote(api, editor, "staging", 2), 409)
    _result(api, project.key, 2, "quality", 0.85, True)
    r = _promote(api, editor, "staging", 2)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    # Rolling back is not gated (it returns to what was live): v1 lacks "safety".
    r = api.http.post("/v1/prompts/greeting/deployments/staging/rollback", headers=editor)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1


def test_a_change_request_waits_and_approving_is_refused_until_they_pass(
    api: Api, people: dict[str, Person], project: Project, protected: str
) -> None:
    assert _require(api, people["owner"], project, "production", REQUIRED[:1]).status_code == 200
    editor = people["editor"].headers(project.id)
    r = _promote(api, editor, "production", 2)
    assert r.status_code == 202, r.text  # the request is opened: it waits for the evals
    request = r.json()
    url = f"/v1/change-requests/{request['id']}/approve"
    detail = assert_error(api.http.post(url, headers=people["admin"].headers(project.id)), 409)
    assert "quality (no result" in detail["message"]
    listed = api.http.get(f"/v1/change-requests/{request['id']}", headers=editor).json()
    assert listed["status"] == "pending"
    _result(api, project.key, 2, "quality", 0.8, True)
    r = api.http.post(url, headers=people["admin"].headers(project.id))
    assert r.status_code == 200, r.text
    assert r.json()["deployment"]["version"] == 2


def test_keys_that_bypass_protection_do_not_bypass_the_evals(
    api: Api, people: dict[str, Person], project: Project, protected: str
) -> None:
    assert _require(api, people["owner"], project, "production", REQUIRED[:1]).status_code == 200
    body = {"environment": "production", "role": "write", "can_bypass_protection": True}
    r = api.http.post("/v1/keys", json=body, headers=people["owner"].headers(project.id))
    key = r.json()["key"]
    url = "/v1/prompts/greeting/deployments/production"
    assert_error(api.as_(key).post(url, json={"version": 2}), 409, field="required_evals")
    _result(api, key, 2, "quality", 0.99, True)  # a production key records results too
    r = api.as_(key).post(url, json={"version": 2})
    assert r.status_code == 200, r.text


def test_sync_push_promoting_is_refused_whole(
    app: Any, api: Api, people: dict[str, Person], project: Project, greeting: str, admin_key: str
) -> None:
    assert _require(api, people["owner"], project, "staging", REQUIRED[:1]).status_code == 200
    staging = api.new_key(admin_key, "staging", "write", project_id=project.id)
    file = {"slug": "fresh", "name": "Fresh", "type": "text", "text": "hi", "model": "m"}
    before = row_counts(app)
    r = api.as_(staging).post("/v1/sync", json={"files": [file], "promote": "staging"})
    detail = assert_error(r, 409)
    assert "quality (no result" in detail["message"]
    assert row_counts(app) == before


def test_the_dashboard_forms_say_what_is_missing(
    site: Any, api: Api, people: dict[str, Person], project: Project, protected: str
) -> None:
    assert _require(api, people["owner"], project, "staging", REQUIRED[:1]).status_code == 200
    assert _require(api, people["owner"], project, "production", REQUIRED[:1]).status_code == 200
    editor = site.signed_in(people["editor"])
    base = f"/p/{project.id}/prompts/greeting"
    assert "requires evals: quality ≥ 0.8" in editor.get(f"{base}/promote").text
    r = editor.post(f"{base}/promote", {"version": "2", "environment": "staging"})
    assert r.status_code == 409
    assert "quality (no result; needs passed and score &gt;= 0.8)" in r.text
    assert 'id="environment-error"' in r.text
    r = editor.post(f"{base}/promote", {"version": "2", "environment": "production"})
    assert r.status_code == 303  # the change request is opened
    request_id = api.http.get(
        "/v1/change-requests", headers=people["admin"].headers(project.id)
    ).json()["data"][0]["id"]
    admin = site.signed_in(people["admin"])
    r = admin.post(f"/p/{project.id}/changes/{request_id}/approve", {"comment": "ok"})
    assert r.status_code == 409 and "quality (no result" in r.text
    _result(api, project.key, 2, "quality", 0.9, True)
    r = admin.post(f"/p/{project.id}/changes/{request_id}/approve", {"comment": "ok"})
    assert r.status_code == 303


def test_the_settings_page_lists_required_evals(
    site: Any, api: Api, people: dict[str, Person], project: Project, greeting: str
) -> None:
    owner = site.signed_in(people["owner"])
    assert "</code>):\n  none.</p>" in owner.get(f"/p/{project.id}/settings").text
    assert _require(api, people["owner"], project, "production", REQUIRED).status_code == 200
    page = owner.get(f"/p/{project.id}/settings").text
    assert "<code>quality</code> ≥ 0.8, <code>safety</code> ≥ 1" in page
