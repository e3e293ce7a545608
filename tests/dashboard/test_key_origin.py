"""Who stands behind an API key in approvals: a request made with a key counts as made by
the person who created the key (through any chain of keys that created keys), so that
person cannot approve it; a request with no person behind it is approved by another admin,
never by a key of the requesting chain. Every approval path: API, dashboard, keys."""

from __future__ import annotations

from typing import Any

from promptops.db.models import ApiKey, ChangeRequest
from tests.dashboard.support import Person, Site
from tests.server.helpers import assert_error
from tests.support import Api, Project


def _new_key(api: Api, headers: dict[str, str], **body: Any) -> str:
    r = api.http.post("/v1/keys", json={"environment": "production", "role": "write", **body},
                      headers=headers)  # fmt: skip
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


def _request_promotion(api: Api, key: str) -> dict[str, Any]:
    r = api.as_(key).post("/v1/prompts/greeting/deployments/production", json={"version": 2})
    assert r.status_code == 202, r.text
    return dict(r.json())


def _row(app: Any, prefix: str) -> ApiKey:
    with app.state.db.read() as session:
        row = session.query(ApiKey).filter_by(prefix=prefix).one()
        session.expunge(row)
        return row


def _approve(api: Api, headers: dict[str, str], request_id: int) -> Any:
    return api.http.post(f"/v1/change-requests/{request_id}/approve", headers=headers)


def test_key_made_by_a_key_made_by_a_person_acts_for_that_person(
    app: Any, api: Api, people: dict[str, Person], project: Project, protected: str
) -> None:
    u = people["admin"]
    k1 = _new_key(api, u.headers(project.id), name="K1")
    k2 = _new_key(api.as_(k1), {"Authorization": f"Bearer {k1}"}, name="K2")
    row1, row2 = _row(app, k1[:16]), _row(app, k2[:16])
    assert (row1.origin_user_id, row1.created_by_key_id) == (u.user_id, None)
    assert (row2.origin_user_id, row2.created_by_key_id) == (u.user_id, row1.id)

    request = _request_promotion(api, k2)
    assert request["requested_by"] == k2[:16]
    with app.state.db.read() as session:
        stored = session.get(ChangeRequest, request["id"])
        assert stored is not None
        assert (stored.requested_by_user_id, stored.requested_by_key_id) == (u.user_id, row2.id)

    # U, with her personal token: refused, and told why.
    detail = assert_error(_approve(api, u.headers(project.id), request["id"]), 403)
    assert "you requested this change" in detail["message"] and k2[:16] in detail["message"]
    # Neither key of the chain approves it either.
    for key in (k2, k1):
        assert_error(api.as_(key).post(f"/v1/change-requests/{request['id']}/approve"), 403)
    # Still pending; another admin's approval goes through.
    r = _approve(api, people["admin2"].headers(project.id), request["id"])
    assert r.status_code == 200, r.text
    assert r.json()["change_request"]["decided_by"] == "user:admin2@example.com"


def test_the_dashboard_refuses_the_origin_person_too(
    app: Any,
    api: Api,
    people: dict[str, Person],
    project: Project,
    protected: str,
    site: Site,
) -> None:
    u = people["owner"]
    k1 = _new_key(api, u.headers(project.id))
    request = _request_promotion(api, _new_key(api, {"Authorization": f"Bearer {k1}"}))
    b = site.signed_in(u)
    r = b.post(f"/p/{project.id}/changes/{request['id']}/approve")
    assert r.status_code == 403 and "you requested this change" in r.text
    # The origin person may take it back (it is hers), as may the key itself.
    r = b.post(f"/p/{project.id}/changes/{request['id']}/withdraw")
    assert r.status_code == 303, r.text
    other = site.signed_in(people["admin2"])
    r = other.post(f"/p/{project.id}/changes/{request['id']}/approve")
    assert r.status_code == 409  # withdrawn


def test_a_request_with_no_person_behind_it(
    app: Any,
    api: Api,
    people: dict[str, Person],
    project: Project,
    protected: str,
    admin_key: str,
) -> None:
    key = _new_key(api.as_(admin_key), {"Authorization": f"Bearer {admin_key}"},
                   project_id=project.id)  # fmt: skip
    child = _new_key(api, {"Authorization": f"Bearer {key}"})
    row, child_row = _row(app, key[:16]), _row(app, child[:16])
    assert row.origin_user_id is None and row.created_by_key_id is not None  # the admin key
    assert child_row.origin_user_id is None and child_row.created_by_key_id == row.id
    request = _request_promotion(api, key)
    with app.state.db.read() as session:
        stored = session.get(ChangeRequest, request["id"])
        assert stored is not None and stored.requested_by_user_id is None
    # The requesting key and a key it made: refused (the admin key names no project here).
    for credential in (key, child):
        r = api.as_(credential).post(f"/v1/change-requests/{request['id']}/approve")
        assert_error(r, 403)
    r = api.as_(admin_key).post(f"/v1/change-requests/{request['id']}/approve")
    assert_error(r, {403, 422})
    r = _approve(api, people["admin"].headers(project.id), request["id"])
    assert r.status_code == 200, r.text


def test_keys_from_before_origins_were_recorded(
    app: Any, api: Api, people: dict[str, Person], project: Project, protected: str
) -> None:
    """A key made before migration 0006 has no origin_user_id: its created_by tells."""
    u = people["admin"]
    k1 = _new_key(api, u.headers(project.id))
    k2 = _new_key(api, {"Authorization": f"Bearer {k1}"})
    with app.state.db.write() as session:
        for prefix in (k1[:16], k2[:16]):
            row = session.query(ApiKey).filter_by(prefix=prefix).one()
            row.origin_user_id = row.created_by_key_id = None
    request = _request_promotion(api, k2)
    assert_error(_approve(api, u.headers(project.id), request["id"]), 403)
    assert _approve(api, people["owner"].headers(project.id), request["id"]).status_code == 200
