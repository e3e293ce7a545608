"""/v1/providers and /v1/secrets: the secret part is shown once, then only its last four
characters; it is sealed at rest (not readable in the database file or rows), bound to its
row; who may list and change them (a matrix); bad input names the field; audited without
the secret. Both databases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from promptops.domain import secrets as domain_secrets
from promptops.domain.secretbox import SecretBox, SecretKeyError
from tests.server.helpers import assert_error
from tests.support import Api, Project

OPENAI_KEY = "sk-proj-TOPSECRETvalue0123456789abcdEFGH"
TOKEN = "ghp_TOPSECRETtoken9876543210zyxw"


@pytest.fixture
def prod(api: Api, admin_key: str, project: Project) -> str:
    return api.new_key(admin_key, "production", "write", project_id=project.id)


def _raw_rows(database_url: str) -> str:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = [
                *conn.execute(text("SELECT * FROM provider_connections")),
                *conn.execute(text("SELECT * FROM project_secrets")),
                *conn.execute(text("SELECT before, after FROM audit_events")),
            ]
    finally:
        engine.dispose()
    return json.dumps([[str(v) for v in row] for row in rows])


def test_a_provider_key_is_shown_once_then_its_last_four(
    api: Api, prod: str, project: Project, database_url: str
) -> None:
    r = api.as_(prod).post(
        "/v1/providers", json={"name": "openai-prod", "provider": "openai", "api_key": OPENAI_KEY}
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["api_key"] == OPENAI_KEY and made["api_key_last4"] == "EFGH"
    assert made["provider"] == "openai" and made["base_url"] is None
    listed = api.as_(project.key).get("/v1/providers").json()["data"]  # a dev key lists
    assert [p["name"] for p in listed] == ["openai-prod"]
    assert "api_key" not in listed[0] and OPENAI_KEY not in json.dumps(listed)
    one = api.as_(project.key).get("/v1/providers/openai-prod").json()
    assert one["api_key_last4"] == "EFGH" and "api_key" not in one

    rotated = api.as_(prod).patch(
        "/v1/providers/openai-prod", json={"api_key": "sk-new-key-0000000000WXYZ"}
    )
    assert rotated.status_code == 200 and rotated.json()["api_key_last4"] == "WXYZ"
    assert "api_key" not in rotated.json()
    assert OPENAI_KEY not in _raw_rows(database_url)
    if database_url.startswith("sqlite"):
        raw = Path(database_url.split("///", 1)[1]).read_bytes()
        assert b"sk-new-key" not in raw and OPENAI_KEY.encode() not in raw
    actions = [
        e["action"]
        for e in api.as_(prod).get("/v1/audit").json()["data"]
        if e["action"].startswith("provider.")
    ]
    assert sorted(actions) == ["provider.created", "provider.updated"]

    assert api.as_(prod).delete("/v1/providers/openai-prod").status_code == 204
    assert_error(api.as_(prod).get("/v1/providers/openai-prod"), 404)


def test_the_server_opens_what_it_sealed_and_nothing_moved(
    app: Any, api: Api, prod: str, project: Project
) -> None:
    api.as_(prod).post(
        "/v1/providers",
        json={
            "name": "gateway",
            "provider": "openai_compatible",
            "api_key": OPENAI_KEY,
            "base_url": "http://127.0.0.1:4000/v1/",
        },
    ).raise_for_status()
    api.as_(prod).put("/v1/secrets/GITHUB_TOKEN", json={"value": TOKEN}).raise_for_status()
    box = app.state.secrets
    with app.state.db.read() as session:
        row, key = domain_secrets.provider_api_key(session, box, project.id, "gateway")
        assert key == OPENAI_KEY and row.base_url == "http://127.0.0.1:4000/v1"
        assert domain_secrets.secret_values(session, box, project.id, ["GITHUB_TOKEN"]) == {
            "GITHUB_TOKEN": TOKEN
        }
        with pytest.raises(Exception, match="MISSING"):
            domain_secrets.secret_values(session, box, project.id, ["MISSING"])
        sealed = row.api_key_sealed
    # Bound to its row: the same ciphertext under another name or project does not open.
    with pytest.raises(SecretKeyError, match="altered or moved"):
        box.open(sealed, f"provider_connections:{project.id}:other")
    with pytest.raises(SecretKeyError, match="neither PROMPTOPS_SECRET_KEY"):
        SecretBox("another-key-" + "x" * 32).open(sealed, "anything")


def test_key_rotation_keeps_old_values_readable() -> None:
    old = SecretBox("old-key-" + "o" * 32)
    sealed = old.seal("value", "here")
    new = SecretBox("new-key-" + "n" * 32, previous=["old-key-" + "o" * 32])
    assert new.open(sealed, "here") == "value"
    assert new.needs_reseal(sealed) and not new.needs_reseal(new.seal("value", "here"))
    assert old.seal("value", "here") != old.seal("value", "here")  # a fresh nonce each time


def test_secrets_are_set_replaced_and_deleted(api: Api, prod: str, database_url: str) -> None:
    r = api.as_(prod).put("/v1/secrets/GITHUB_TOKEN", json={"value": TOKEN})
    assert r.status_code == 201 and r.json()["created"] is True and r.json()["value"] == TOKEN
    r = api.as_(prod).put("/v1/secrets/GITHUB_TOKEN", json={"value": "another-token-1234"})
    assert r.status_code == 200 and r.json()["created"] is False
    listed = api.as_(prod).get("/v1/secrets").json()["data"]
    assert [(s["name"], s["value_last4"]) for s in listed] == [("GITHUB_TOKEN", "1234")]
    assert TOKEN not in _raw_rows(database_url) and "another-token" not in _raw_rows(database_url)
    assert api.as_(prod).delete("/v1/secrets/GITHUB_TOKEN").status_code == 204
    assert_error(api.as_(prod).delete("/v1/secrets/GITHUB_TOKEN"), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "provider": "cohere", "api_key": "k"}, "provider"),
        ({"name": "Bad Name", "provider": "openai", "api_key": "k"}, "name"),
        ({"name": "x", "provider": "openai", "api_key": ""}, "api_key"),
        ({"name": "x", "provider": "openai", "api_key": "k" * 5000}, "api_key"),
        ({"name": "x", "provider": "openai_compatible", "api_key": "k"}, "base_url"),
        ({"name": "x", "provider": "openai", "api_key": "k", "base_url": "ftp://h"}, "base_url"),
        ({"name": "x", "provider": "openai", "api_key": "k", "extra": 1}, "extra"),
    ],
)
def test_bad_provider_input_names_the_field(
    api: Api, prod: str, body: dict[str, Any], field: str
) -> None:
    assert_error(api.as_(prod).post("/v1/providers", json=body), 422, field=field)
    assert api.as_(prod).get("/v1/providers").json()["data"] == []


def test_bad_secret_input_and_a_taken_name(api: Api, prod: str) -> None:
    assert_error(api.as_(prod).put("/v1/secrets/lower", json={"value": "v"}), 422)
    assert_error(api.as_(prod).put("/v1/secrets/OK", json={"value": ""}), 422, field="value")
    too_big = {"value": "v" * (64 * 1024 + 1)}
    assert_error(api.as_(prod).put("/v1/secrets/OK", json=too_big), {413, 422})
    body = {"name": "dup", "provider": "anthropic", "api_key": "k-123456789"}
    assert api.as_(prod).post("/v1/providers", json=body).status_code == 201
    assert_error(api.as_(prod).post("/v1/providers", json=body), 409)


def test_who_may_list_and_change(api: Api, admin_key: str, project: Project, prod: str) -> None:
    other = api.new_project(admin_key, name="Other")
    other_prod = api.new_key(admin_key, "production", "write", project_id=other.id)
    prod_read = api.new_key(admin_key, "production", "read", project_id=project.id)
    revoked = api.new_key(admin_key, "production", "write", project_id=project.id)
    api.as_(admin_key).delete(
        f"/v1/keys/{'_'.join(revoked.split('_')[:3])}", params={"project_id": project.id}
    ).raise_for_status()
    body = {"name": "openai", "provider": "openai", "api_key": OPENAI_KEY}
    assert_error(api.as_(project.key).post("/v1/providers", json=body), 403)  # dev write key
    assert_error(api.as_(prod_read).post("/v1/providers", json=body), 403)  # read-only
    assert_error(api.as_(revoked).post("/v1/providers", json=body), 401)
    assert_error(api.as_(admin_key).post("/v1/providers", json=body), 422, field="project_id")
    made = api.as_(admin_key).post("/v1/providers", json=body, params={"project_id": project.id})
    assert made.status_code == 201, made.text
    assert_error(api.as_(project.key).put("/v1/secrets/T", json={"value": "v"}), 403)
    # Another project's keys see nothing of this one's.
    assert api.as_(other_prod).get("/v1/providers").json()["data"] == []
    assert_error(api.as_(other_prod).get("/v1/providers/openai"), 404)
    assert_error(api.as_(other_prod).delete("/v1/providers/openai"), 404)
    assert_error(api.as_(other_prod).get("/v1/providers", params={"project_id": project.id}), 403)
    assert_error(api.as_(revoked).get("/v1/providers"), 401)
    assert len(api.as_(prod_read).get("/v1/providers").json()["data"]) == 1


def test_people_change_them_as_project_admins(app: Any, api: Api, project: Project) -> None:
    from tests.dashboard.conftest import make_person

    body = {"name": "openai", "provider": "openai", "api_key": OPENAI_KEY}
    for role, status in (("viewer", 403), ("editor", 403), ("admin", 201)):
        person = make_person(app, f"{role}@example.com", project_id=project.id, role=role)
        r = api.http.post("/v1/providers", json=body, headers=person.headers(project.id))
        assert r.status_code == status, (role, r.text)
        listed = api.http.get("/v1/providers", headers=person.headers(project.id))
        assert listed.status_code == 200


def test_the_deployment_key(tmp_path: Path) -> None:
    import secrets as stdlib_secrets

    from promptops.domain.secretbox import box_from_settings, key_file
    from promptops.server.config import Settings

    with pytest.raises(ValueError, match="PROMPTOPS_SECRET_KEY is required"):
        Settings(mode="production", admin_key=stdlib_secrets.token_urlsafe(32))
    dev = Settings(database_url=f"sqlite:///{tmp_path / 'po.db'}")
    sealed = box_from_settings(dev).seal("value", "here")
    path = key_file(dev)
    assert path == tmp_path / "po.db.secret-key" and path.stat().st_mode & 0o777 == 0o600
    assert box_from_settings(dev).open(sealed, "here") == "value"  # the same key next time
    assert list(tmp_path.glob("*.tmp")) == []
