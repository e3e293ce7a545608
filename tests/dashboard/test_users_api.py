"""Users acting through the API (personal tokens), recorded as the actor; /v1/me, /v1/users
and /v1/members."""

from __future__ import annotations

import re
from typing import Any

from tests.dashboard.support import Person, Site
from tests.server.helpers import assert_error
from tests.support import Api, Project


def test_a_user_acts_through_the_api_and_is_the_recorded_actor(
    api: Api, people: dict[str, Person], project: Project
) -> None:
    h = people["editor"].headers(project.id)
    assert (
        api.http.post("/v1/prompts", json={"slug": "faq", "name": "FAQ"}, headers=h).status_code
        == 201
    )
    r = api.http.post(
        "/v1/prompts/faq/versions", json={"user_template": "Q: {{q}}", "model": "m"}, headers=h
    )
    assert r.status_code == 201 and r.json()["author"] == "user:editor@example.com"
    r = api.http.post("/v1/prompts/faq/deployments/staging", json={"version": 1}, headers=h)
    assert r.status_code == 200 and r.json()["actor"] == "user:editor@example.com"
    history = api.http.get("/v1/prompts/faq/deployments/dev/history", headers=h).json()["data"]
    assert history[0]["actor"] == "user:editor@example.com"
    audit = api.as_(project.key).get("/v1/audit").json()["data"]
    assert {(e["action"], e["actor"]) for e in audit} >= {
        ("prompt.created", "user:editor@example.com"),
        ("version.created", "user:editor@example.com"),
        ("deployment.promote", "user:editor@example.com"),
    }


def test_the_project_is_named_by_a_header(
    api: Api, people: dict[str, Person], project: Project
) -> None:
    editor = people["editor"]
    assert_error(api.http.get("/v1/prompts", headers=editor.headers()), 422, field="project_id")
    r = api.http.get("/v1/prompts", headers=editor.headers("0" * 32))
    assert_error(r, 403)  # unknown and foreign projects look the same
    assert api.http.get("/v1/prompts", headers=editor.headers(project.id)).status_code == 200
    me = api.http.get("/v1/me", headers=editor.headers()).json()
    assert me["email"] == "editor@example.com" and me["is_instance_admin"] is False
    assert me["projects"] == [{"project_id": project.id, "project_name": "Acme", "role": "editor"}]


def test_personal_tokens_are_shown_once_and_revocable(
    api: Api, people: dict[str, Person], project: Project, site: Site
) -> None:
    owner = people["owner"]
    r = api.http.post("/v1/me/tokens", json={"name": "ci"}, headers=owner.headers())
    assert r.status_code == 201
    token, prefix = r.json()["token"], r.json()["prefix"]
    assert re.fullmatch(r"po_user_[a-z0-9]{8}_[A-Za-z0-9]{40}", token) and token.startswith(prefix)
    listed = api.http.get("/v1/me/tokens", headers=owner.headers()).json()
    assert all("token" not in t for t in listed) and prefix in {t["prefix"] for t in listed}
    h = {"Authorization": f"Bearer {token}", "X-PromptOps-Project": project.id}
    assert api.http.get("/v1/prompts", headers=h).status_code == 200
    assert api.http.delete(f"/v1/me/tokens/{prefix}", headers=owner.headers()).status_code == 200
    r = api.http.get("/v1/prompts", headers=h)
    assert_error(r, 401)
    assert "revoked" in r.json()["error"]["message"]
    bad = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert_error(api.http.get("/v1/me", headers={"Authorization": f"Bearer {bad}"}), 401)
    # A key is not a user.
    assert_error(api.as_(project.key).get("/v1/me"), 403)
    # The account page creates and revokes them too.
    b = site.signed_in(owner)
    page = b.post("/account/tokens", {"name": "laptop"})
    assert page.status_code == 201 and "shown only now" in page.text
    made = re.search(r"po_user_[a-z0-9]{8}_[A-Za-z0-9]{40}", page.text)
    assert made and 'data-copy="new-token"' in page.text


def test_a_user_token_cannot_read_the_sdk_path(
    api: Api, people: dict[str, Person], project: Project, greeting: str
) -> None:
    r = api.http.get("/v1/prompts/greeting/active", headers=people["editor"].headers(project.id))
    detail = assert_error(r, 401)
    assert "project API key" in detail["message"]


def test_instance_admin_creates_users_and_owners_manage_members(
    api: Api, people: dict[str, Person], project: Project, admin_key: str
) -> None:
    r = api.as_(admin_key).post("/v1/users", json={"email": "New@Example.com"})
    assert r.status_code == 201
    assert r.json()["email"] == "new@example.com" and len(r.json()["password"]) >= 12
    assert_error(api.as_(admin_key).post("/v1/users", json={"email": "new@example.com"}), 409)
    r = api.http.post(
        "/v1/users", json={"email": "x@example.com"}, headers=people["owner"].headers()
    )
    assert_error(r, 403)
    r = api.http.post(
        "/v1/users",
        json={"email": "x@example.com", "password": "short"},
        headers=people["root"].headers(),
    )
    assert_error(r, 422, field="password")

    owner, admin = people["owner"].headers(project.id), people["admin"].headers(project.id)
    r = api.http.put(
        "/v1/members", json={"email": "new@example.com", "role": "viewer"}, headers=admin
    )
    assert r.status_code == 200 and r.json()["role"] == "viewer"
    # Only owners grant owner; a project keeps one owner.
    r = api.http.put(
        "/v1/members", json={"email": "new@example.com", "role": "owner"}, headers=admin
    )
    assert_error(r, 403)
    r = api.http.put(
        "/v1/members", json={"email": "owner@example.com", "role": "admin"}, headers=owner
    )
    assert_error(r, 409)
    members = {m["email"]: m["role"] for m in api.http.get("/v1/members", headers=owner).json()}
    assert members["new@example.com"] == "viewer" and members["owner@example.com"] == "owner"
    r = api.http.delete("/v1/members/new@example.com", headers=admin)
    assert r.status_code == 204
    assert_error(
        api.http.put(
            "/v1/members", json={"email": "ghost@example.com", "role": "viewer"}, headers=owner
        ),
        404,
        field="email",
    )
    audit = api.as_(project.key).get("/v1/audit").json()["data"]
    assert ("member.removed", "user:admin@example.com") in {
        (e["action"], e["actor"]) for e in audit
    }


def test_instance_admin_user_acts_as_the_instance_admin(
    api: Api, people: dict[str, Person], app: Any
) -> None:
    root = people["root"].headers()
    r = api.http.post("/v1/projects", json={"name": "Made by root"}, headers=root)
    assert r.status_code == 201
    project_id = r.json()["project"]["id"]
    me = api.http.get("/v1/me", headers=root).json()
    assert {"project_id": project_id, "project_name": "Made by root", "role": "owner"} in me[
        "projects"
    ]
    r = api.http.get("/v1/members", headers=people["root"].headers(project_id))
    assert r.json()[0]["email"] == "root@example.com" and r.json()[0]["role"] == "owner"
