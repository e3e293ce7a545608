"""The role matrix, in the dashboard and through the API as the same users: viewers read,
editors edit and request, admins/owners approve (never their own request), and a project's
users see nothing of another project."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboard.support import Person, Site
from tests.support import Api, Project


def _protect_production(api: Api, person: Person, project: Project) -> None:
    r = api.http.put(
        "/v1/environments/production", json={"protected": True}, headers=person.headers(project.id)
    )
    assert r.status_code == 200, r.text


# ---- viewer --------------------------------------------------------------------------------


def test_viewer_reads_but_cannot_edit_or_promote(
    site: Site, people: dict[str, Person], project: Project, greeting: str, api: Api
) -> None:
    b = site.signed_in(people["viewer"])
    base = f"/p/{project.id}/prompts/{greeting}"
    for url in (base, f"{base}/versions/1", f"{base}/diff?a=1&b=2", f"/p/{project.id}/audit"):
        assert b.get(url).status_code == 200, url
    page = b.get(base).text
    assert "New version" not in page and "Promote" not in page  # no controls offered
    assert b.get(f"{base}/edit").status_code == 403
    r = b.post(f"{base}/edit", {"user_template": "x", "model": "m", "temperature": "1"})
    assert r.status_code == 403 and "needs &#39;editor&#39; or higher" in r.text
    r = b.post(f"{base}/promote", {"version": "2", "environment": "staging"})
    assert r.status_code == 403
    assert b.post(f"/p/{project.id}/prompts", {"slug": "v", "name": "V"}).status_code == 403
    # The same through the API with the viewer's personal token.
    h = people["viewer"].headers(project.id)
    assert api.http.get(f"/v1/prompts/{greeting}/versions", headers=h).status_code == 200
    r = api.http.post(
        f"/v1/prompts/{greeting}/versions", json={"user_template": "x", "model": "m"}, headers=h
    )
    assert r.status_code == 403 and "viewer" in r.json()["error"]["message"]
    r = api.http.post(f"/v1/prompts/{greeting}/deployments/staging", json={"version": 1}, headers=h)
    assert r.status_code == 403


# ---- editor and admin --------------------------------------------------------------------


def test_editor_edits_and_promotes_but_cannot_approve_or_manage(
    site: Site, people: dict[str, Person], project: Project, greeting: str, api: Api
) -> None:
    _protect_production(api, people["owner"], project)
    b = site.signed_in(people["editor"])
    base = f"/p/{project.id}/prompts/{greeting}"
    r = b.post(f"{base}/promote", {"version": "2", "environment": "staging"})
    assert r.status_code == 303
    r = b.post(f"{base}/promote", {"version": "2", "environment": "production"})
    assert r.status_code == 303
    requests = api.http.get("/v1/change-requests", headers=people["editor"].headers(project.id))
    (request,) = requests.json()["data"]
    assert request["requested_by"] == "user:editor@example.com"
    # No approve button for the editor, and posting it anyway is refused.
    changes = b.get(f"/p/{project.id}/changes").text
    assert f"Approve #{request['id']}" not in changes and f"Withdraw #{request['id']}" in changes
    r = b.post(f"/p/{project.id}/changes/{request['id']}/approve")
    assert r.status_code == 403 and "needs role" in r.text
    r = api.http.post(
        f"/v1/change-requests/{request['id']}/approve", headers=people["editor"].headers(project.id)
    )
    assert r.status_code == 403
    # Keys, protection and members are for admins and owners.
    assert b.post(f"/p/{project.id}/keys", {"environment": "dev"}).status_code == 403
    assert b.post(f"/p/{project.id}/settings/environments", {}).status_code == 403
    r = b.post(f"/p/{project.id}/members", {"email": "viewer@example.com", "role": "admin"})
    assert r.status_code == 403


def test_nobody_approves_their_own_request(
    site: Site, people: dict[str, Person], project: Project, greeting: str, api: Api
) -> None:
    _protect_production(api, people["owner"], project)
    admin = people["admin"]
    r = api.http.post(
        f"/v1/prompts/{greeting}/deployments/production",
        json={"version": 2},
        headers=admin.headers(project.id),
    )
    assert r.status_code == 202, r.text
    request_id = r.json()["id"]
    r = api.http.post(
        f"/v1/change-requests/{request_id}/approve", headers=admin.headers(project.id)
    )
    assert r.status_code == 403 and "another admin or owner" in r.json()["error"]["message"]
    page = site.signed_in(admin).get(f"/p/{project.id}/changes").text
    assert f"Approve #{request_id}" not in page and "You requested this" in page
    # A different admin approves.
    other = site.signed_in(people["admin2"])
    assert f"Approve #{request_id}" in other.get(f"/p/{project.id}/changes").text
    r = other.post(f"/p/{project.id}/changes/{request_id}/approve", {"comment": "LGTM"})
    assert r.status_code == 303
    deployments = api.http.get(
        f"/v1/prompts/{greeting}/deployments", headers=admin.headers(project.id)
    ).json()
    assert deployments["environments"]["production"]["version"] == 2


# ---- other projects ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/prompts",
        "/prompts/greeting",
        "/prompts/greeting/diff",
        "/keys",
        "/settings",
        "/audit",
        "/changes",
        "/prompts/greeting/edit",
    ],
)
def test_other_projects_users_see_nothing(
    site: Site, people: dict[str, Person], project: Project, greeting: str, path: str
) -> None:
    b = site.signed_in(people["outsider"])
    r = b.get(f"/p/{project.id}{path}")
    assert r.status_code == 404
    assert "greeting" not in r.text and "Acme" not in r.text


def test_other_projects_users_get_nothing_through_the_api(
    app: Any, site: Site, people: dict[str, Person], project: Project, greeting: str, api: Api
) -> None:
    outsider = people["outsider"]
    h = outsider.headers(project.id)
    for url in (
        "/v1/prompts",
        f"/v1/prompts/{greeting}",
        "/v1/keys",
        "/v1/audit",
        "/v1/change-requests",
        "/v1/members",
    ):
        r = api.http.get(url, headers=h)
        assert r.status_code == 403, (url, r.text)
        assert "not a member" in r.json()["error"]["message"]
    # Its project list shows only its own project; posting into ours is refused.
    b = site.signed_in(outsider)
    assert "Acme" not in b.get("/projects").text
    r = b.post(f"/p/{project.id}/prompts", {"slug": "x", "name": "X"})
    assert r.status_code == 404
    me = api.http.get("/v1/me", headers=outsider.headers()).json()
    assert [p["project_name"] for p in me["projects"]] == ["Other"]


def test_instance_admin_sees_every_project_as_owner(
    site: Site, people: dict[str, Person], project: Project, other: Project
) -> None:
    b = site.signed_in(people["root"])
    page = b.get("/projects").text
    assert "Acme" in page and "Other" in page
    assert b.get(f"/p/{project.id}/settings").status_code == 200
    assert "owner" in b.get(f"/p/{project.id}/keys").text
