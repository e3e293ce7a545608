"""/v1/sync: state hashes, a push in one transaction (all files or none), the permission
matrix, dry runs and the body limit of its own."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Api, Project


def chat(slug: str, content: str = "Hello {{name}}", **extra: Any) -> dict[str, Any]:
    return {
        "slug": slug,
        "name": slug.title(),
        "type": "chat",
        "messages": [{"role": "user", "content": content}],
        "model": "gpt-4o-mini",
        **extra,
    }


def text(slug: str, body: str = "Be kind.") -> dict[str, Any]:
    return {"slug": slug, "name": slug, "type": "text", "text": body, "model": "gpt-4o-mini"}


def push(api: Api, key: str, files: list[dict[str, Any]], **extra: Any) -> Any:
    return api.as_(key).post("/v1/sync", json={"files": files, **extra})


def state(api: Api, key: str) -> dict[str, Any]:
    r = api.as_(key).get("/v1/sync")
    assert r.status_code == 200, r.text
    return {p["slug"]: p for p in r.json()["prompts"]}


def test_push_creates_then_pushing_again_creates_nothing(api: Api, project: Project) -> None:
    files = [chat("greeting"), text("tone")]
    r = push(api, project.key, files, commit_message="first")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["created_prompts"], body["created_versions"]) == (2, 2)
    assert [x["prompt"] for x in body["results"]] == ["created", "created"]
    again = push(api, project.key, files).json()
    assert (again["created_prompts"], again["created_versions"]) == (0, 0)
    assert {x["version"] for x in again["results"]} == {1}
    versions = api.as_(project.key).get("/v1/prompts/greeting/versions").json()["data"]
    assert [v["commit_message"] for v in versions] == ["first"]
    # a changed file: one new version, only for it; the git origin is not content
    files[0] = chat("greeting", "Hi {{name}}", metadata={"git": {"commit": "abc"}})
    third = push(api, project.key, files).json()
    assert [x["version_created"] for x in third["results"]] == [True, False]
    same = chat("greeting", "Hi {{name}}", metadata={"git": {"commit": "def"}})
    assert push(api, project.key, [same]).json()["created_versions"] == 0


def test_state_hashes_match_latest_and_active(api: Api, project: Project) -> None:
    push(api, project.key, [chat("greeting")])
    push(api, project.key, [chat("greeting", "Hi {{name}}")])
    s = state(api, project.key)["greeting"]
    assert s["latest_version"] == 2 and s["hash"].startswith("sha256:")
    assert s["environments"]["dev"] == {"version": 2, "hash": s["hash"]}
    assert s["environments"]["staging"] is None
    r = api.as_(project.key).post("/v1/prompts/greeting/deployments/dev", json={"version": 1})
    assert r.status_code == 200, r.text
    s = state(api, project.key)["greeting"]
    assert s["environments"]["dev"]["version"] == 1
    assert s["environments"]["dev"]["hash"] != s["hash"]


def test_name_and_description_changes_update_the_prompt(api: Api, project: Project) -> None:
    push(api, project.key, [chat("greeting")])
    r = push(api, project.key, [chat("greeting", name="Hello", description="d")]).json()
    assert r["results"][0]["prompt"] == "updated" and r["created_versions"] == 0
    prompt = api.as_(project.key).get("/v1/prompts/greeting").json()
    assert (prompt["name"], prompt["description"]) == ("Hello", "d")


def test_one_invalid_file_stores_nothing(api: Api, project: Project) -> None:
    r = push(api, project.key, [chat("greeting"), chat("broken", "Hi {{name")])
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "files.1.messages.0.content"
    assert state(api, project.key) == {}


def test_a_domain_refusal_late_in_the_push_stores_nothing(api: Api, project: Project) -> None:
    push(api, project.key, [text("tone")])
    files = [chat("greeting", "v2"), chat("uses-missing", "{{> nowhere}}"), text("tone", "new")]
    r = push(api, project.key, files)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["field"].startswith("files.1") and "nowhere" in error["message"]
    assert set(state(api, project.key)) == {"tone"}
    assert state(api, project.key)["tone"]["latest_version"] == 1


def test_a_type_change_is_refused_naming_the_file(api: Api, project: Project) -> None:
    push(api, project.key, [text("tone")])
    r = push(api, project.key, [chat("greeting"), chat("tone")])
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "files.1.type"
    assert "greeting" not in state(api, project.key)


def test_duplicate_slugs_are_refused(api: Api, project: Project) -> None:
    r = push(api, project.key, [chat("greeting"), chat("greeting", "x")])
    assert r.status_code == 422 and r.json()["error"]["field"] == "files.1.slug"


def test_snippets_and_their_prompts_are_released_together(
    api: Api, project: Project, keys: dict[str, str]
) -> None:
    # the prompt comes first in the list and includes a snippet pushed with it
    files = [chat("greeting", "{{> tone}} Hello {{name}}"), text("tone")]
    r = push(api, keys["staging-write"], files, promote="staging")
    assert r.status_code == 200, r.text
    assert [x["promoted"] for x in r.json()["results"]] == [True, True]
    active = api.as_(keys["staging-read"]).get("/v1/prompts/greeting/active").json()
    assert active["messages"][0]["content"] == "Be kind. Hello {{name}}"
    # unchanged files still promote what is not active there yet, then nothing
    again = push(api, keys["staging-write"], files, promote="staging").json()
    assert again["promoted"] == 0 and again["created_versions"] == 0


def test_dry_run_reports_and_stores_nothing(api: Api, project: Project) -> None:
    r = push(api, project.key, [chat("greeting")], dry_run=True)
    assert r.status_code == 200, r.text
    assert r.json()["dry_run"] is True and r.json()["created_versions"] == 1
    assert state(api, project.key) == {}


@pytest.mark.parametrize(
    ("who", "extra", "status", "fragment"),
    [
        ("dev-read", {}, 403, "read-only"),
        ("staging-read", {"promote": "staging"}, 403, "read-only"),
        ("dev-write", {"promote": "staging"}, 403, "environment 'dev'"),
        ("production-write", {"promote": "staging"}, 403, "not 'staging'"),
        ("admin", {}, 403, "instance admin key"),
        ("revoked", {}, 401, ""),
        ("protected", {"promote": "production"}, 409, "protected"),
    ],
)
def test_permission_matrix(
    api: Api,
    project: Project,
    keys: dict[str, str],
    admin_key: str,
    who: str,
    extra: dict[str, Any],
    status: int,
    fragment: str,
) -> None:
    key = {"admin": admin_key}.get(who) or keys.get(who)
    if who == "revoked":
        key = api.new_key(admin_key, "dev", "write", project_id=project.id)
        r = api.as_(admin_key).delete(f"/v1/keys/{key[:16]}", params={"project_id": project.id})
        assert r.status_code == 200, r.text
    if who == "protected":
        r = api.as_(admin_key).request(
            "PUT",
            "/v1/environments/production",
            json={"protected": True},
            params={"project_id": project.id},
        )
        assert r.status_code == 200, r.text
        key = keys["production-write"]
    assert key is not None
    r = push(api, key, [chat("greeting")], **extra)
    assert r.status_code == status, r.text
    assert fragment in r.json()["error"]["message"]
    assert state(api, project.key) == {}
    if who not in ("revoked", "admin"):
        assert api.as_(key).get("/v1/sync").status_code == 200


def test_another_projects_key_sees_and_changes_nothing_here(
    api: Api, project: Project, other: Project
) -> None:
    push(api, project.key, [chat("greeting")])
    assert state(api, other.key) == {}
    assert api.as_(other.key).get("/v1/sync/files").json()["files"] == []
    push(api, other.key, [chat("greeting", "other")])
    assert state(api, project.key)["greeting"]["latest_version"] == 1
    mine = api.as_(project.key).get("/v1/sync/files").json()["files"][0]
    assert mine["version"]["messages"][0]["content"] == "Hello {{name}}"


def test_files_of_an_environment(api: Api, project: Project, keys: dict[str, str]) -> None:
    push(api, keys["staging-write"], [chat("greeting")], promote="staging")
    push(api, project.key, [chat("greeting", "v2"), text("tone")])
    r = api.as_(project.key).get("/v1/sync/files", params={"environment": "staging"}).json()
    assert [(f["prompt"]["slug"], f["version"]["version"]) for f in r["files"]] == [("greeting", 1)]
    latest = api.as_(project.key).get("/v1/sync/files").json()["files"]
    assert [(f["prompt"]["slug"], f["version"]["version"]) for f in latest] == [
        ("greeting", 2),
        ("tone", 1),
    ]


def test_sync_has_its_own_body_limit(api: Api, project: Project) -> None:
    big = "x" * 150_000
    files = [chat(f"p{i}", big) for i in range(10)]  # 1.5 MB: over the 1 MiB default
    assert len(str(files)) > 1024 * 1024
    r = push(api, project.key, files)
    assert r.status_code == 200, r.text
    r = api.as_(project.key).post("/v1/prompts", json={"slug": "x", "name": big * 8})
    assert r.status_code == 413
