"""Who may do what through /compat/promptlayer: wrong project, read-only key, revoked key,
wrong environment label; errors in PromptLayer's shape, never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.compat.conftest import Setup
from tests.compat.test_promptlayer_templates import _publish_body


def _errors():  # type: ignore[no-untyped-def]
    import promptlayer

    return promptlayer


def test_read_only_key_cannot_publish(pl: Setup) -> None:
    pl_errors = _errors()
    reader = pl.client(pl.key("dev", "read"))
    with pytest.raises(pl_errors.PromptLayerBadRequestError, match="read-only"):
        reader.templates.publish(_publish_body())
    assert pl.api.as_(pl.project.key).get("/v1/prompts").json()["data"] == []


def test_wrong_environment_label(pl: Setup) -> None:
    pl_errors = _errors()
    dev = pl.client(pl.project.key)
    dev.templates.publish(_publish_body())
    with pytest.raises(pl_errors.PromptLayerPermissionDeniedError, match="'dev', not 'production'"):
        dev.templates.get("welcome", {"label": "production"})
    with pytest.raises(
        pl_errors.PromptLayerNotFoundError, match="release labels are the environments"
    ):
        dev.templates.get("welcome", {"label": "prod"})
    # a publish that would move a label outside the key's environment stores nothing
    with pytest.raises(pl_errors.PromptLayerBadRequestError, match="not 'production'"):
        dev.templates.publish(_publish_body(release_labels=["production"], commit_message="2"))
    versions = pl.api.as_(pl.project.key).get("/v1/prompts/welcome/versions").json()["data"]
    assert [v["version"] for v in versions] == [1]


def test_production_key_publishes_and_promotes(pl: Setup) -> None:
    prod = pl.client(pl.key("production", "write"))
    out = prod.templates.publish(_publish_body(release_labels=["production"]))
    assert sorted(out["release_labels"]) == ["dev", "production"]
    got = prod.templates.get("welcome")  # no label: the key's environment
    assert got["version"] == 1
    with pytest.raises(_errors().PromptLayerPermissionDeniedError):
        prod.templates.get("welcome", {"label": "dev"})


def test_wrong_project(pl: Setup, admin_key: str) -> None:
    pl.client(pl.project.key).templates.publish(_publish_body())
    other = pl.api.new_project(admin_key, "Other")
    stranger = pl.client(other.key)
    with pytest.raises(_errors().PromptLayerNotFoundError, match="not found"):
        stranger.templates.get("welcome", {"label": "dev"})
    assert stranger.templates.all() == []


def test_revoked_key(pl: Setup) -> None:
    key = pl.key("dev", "write")
    client = pl.client(key)
    client.templates.publish(_publish_body())
    prefix = "_".join(key.split("_")[:3])
    r = pl.api.as_(pl.admin_key).delete(f"/v1/keys/{prefix}", params={"project_id": pl.project.id})
    assert r.status_code == 200, r.text
    with pytest.raises(_errors().PromptLayerAuthenticationError, match="revoked"):
        client.templates.get("welcome", {"label": "dev"})


def test_error_shape_and_unsupported_endpoints(pl: Setup) -> None:
    with httpx.Client(base_url=pl.base_url) as http:
        r = http.post("/prompt-templates/x", json={})
        assert r.status_code == 401
        assert r.json() == {"success": False, "message": r.json()["message"]}
        assert "X-API-KEY" in r.json()["message"]
        headers = {"X-API-KEY": pl.project.key}
        r = http.post("/workflows/7/run", json={}, headers=headers)
        assert r.status_code == 404 and r.json()["success"] is False
        assert "does not implement /workflows/7/run" in r.json()["message"]
        r = http.post("/prompt-templates/x", json={"version": "one"}, headers=headers)
        assert r.status_code == 400 and "version" in r.json()["message"]
        r = http.post(
            "/rest/prompt-templates",
            json={"prompt_template": {"prompt_name": "a"}},
            headers=headers,
        )
        assert r.status_code == 400
        assert "prompt_template" in r.json()["message"]
        bad = _publish_body()
        bad["prompt_template"]["messages"][0]["content"] = [
            {"type": "image_url", "image_url": {"url": "x"}}
        ]
        r = http.post(
            "/rest/prompt-templates",
            json={"prompt_template": bad, "prompt_version": bad},
            headers=headers,
        )
        assert r.status_code == 400
        assert "messages.0.content.0.type" in r.json()["message"]
