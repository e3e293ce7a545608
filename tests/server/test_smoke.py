from tests.support import Api, Project


def test_version_is_served_on_active_path(api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    created = api.new_version(project.key, user_template="Hi {{name}}")
    r = api.as_(project.key).get("/v1/prompts/greeting/active")
    assert r.status_code == 200
    assert r.json()["version"] == created["version"] == 1
    assert r.json()["variables"] == ["name"]
    assert r.headers["etag"]
