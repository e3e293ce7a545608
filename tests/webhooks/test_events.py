"""The event log: written in the changing transaction, with the full resolved prompt."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from promptops.db.models import Event, WebhookDelivery, utcnow
from promptops.domain import changes, prompts, versions
from promptops.domain.access import Actor
from promptops.worker.queue import purge_events
from tests.support import Api, Project
from tests.webhooks.helpers import Receiver, settled

URL = "http://127.0.0.1:9/hook"  # nothing listens: these tests look at the database


def actor_for(project: Project) -> Actor:
    return Actor(label=project.prefix, role="write", project_id=project.id, environment="dev")


def events_of(app: Any, project_id: str | None = None) -> list[Event]:
    with app.state.db.read() as session:
        query = select(Event).order_by(Event.id)
        if project_id:
            query = query.where(Event.project_id == project_id)
        return list(session.scalars(query))


def count(app: Any, model: Any) -> int:
    with app.state.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def new_endpoint(api: Api, key: str, **body: Any) -> dict[str, Any]:
    r = api.as_(key).post("/v1/webhooks", json={"url": URL, "enabled": False, **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_a_new_version_writes_version_and_label_events_with_the_resolved_prompt(
    api: Api, project: Project, app: Any
) -> None:
    api.new_prompt(project.key)
    api.new_version(project.key, system_prompt="Be {{tone}}", metadata={"team": "growth"})
    found = events_of(app)
    assert [e.type for e in found] == [
        "prompt_created",
        "prompt_template_version_created",
        "prompt_template_label_moved",
    ]
    assert found[0].id < found[1].id < found[2].id
    created, version, moved = (e.payload for e in found)
    for event, row in zip((created, version, moved), found, strict=True):
        assert set(event) == {"id", "type", "timestamp", "project", "data"}
        assert event["id"] == row.uid and event["id"].startswith("evt_")
        assert event["type"] == row.type and event["timestamp"].endswith("Z")
        assert event["project"] == {"id": project.id, "name": "Acme"}
    assert created["data"] == {
        "slug": "greeting",
        "actor": project.prefix,
        "name": "Greeting",
        "description": None,
        "prompt": None,
    }
    assert version["data"]["version"] == 1 and version["data"]["actor"] == project.prefix
    assert version["data"]["prompt"]["environment"] is None
    assert version["data"]["prompt"]["variables"] == ["tone", "name"]
    data = moved["data"]
    assert (data["environment"], data["version"], data["previous_version"]) == ("dev", 1, None)
    assert (data["action"], data["actor"], found[2].environment) == ("auto", project.prefix, "dev")
    active = api.as_(project.key).get("/v1/prompts/greeting/active").json()
    assert data["prompt"] == active  # a receiver can cache it without calling back
    assert data["deployment_id"] == active["deployment_id"]


def test_promote_and_rollback_events(api: Api, project: Project, app: Any, admin_key: str) -> None:
    staging = api.new_key(admin_key, "staging", "write", project_id=project.id)
    api.new_prompt(project.key)
    for n in (1, 2):
        api.new_version(project.key, user_template=f"v{n} {{{{name}}}}")
    for n in (1, 2):
        r = api.as_(staging).post("/v1/prompts/greeting/deployments/staging", json={"version": n})
        assert r.status_code == 200, r.text
    r = api.as_(staging).post("/v1/prompts/greeting/deployments/staging/rollback")
    assert r.status_code == 200, r.text
    moves = [e.payload["data"] for e in events_of(app) if e.environment == "staging"]
    assert [(m["action"], m["version"], m["previous_version"]) for m in moves] == [
        ("promote", 1, None),
        ("promote", 2, 1),
        ("rollback", 1, 2),
    ]
    assert moves[-1]["prompt"]["user_template"] == "v1 {{name}}"
    history = api.as_(staging).get("/v1/prompts/greeting/deployments/staging/history").json()
    assert [m["actor"] for m in reversed(moves)] == [h["actor"] for h in history["data"]]
    assert moves[-1]["actor"] != project.prefix and staging.startswith(moves[-1]["actor"])
    ids = [m["deployment_id"] for m in moves]
    assert ids == sorted(ids) and len(set(ids)) == 3
    active = api.as_(staging).get("/v1/prompts/greeting/active").json()
    assert moves[-1]["prompt"] == active
    # promoting what is already active changes nothing, so it sends nothing
    before = len(events_of(app))
    api.as_(staging).post("/v1/prompts/greeting/deployments/staging", json={"version": 1})
    assert len(events_of(app)) == before


def test_a_change_that_rolls_back_writes_and_sends_nothing(
    api: Api, project: Project, app: Any, receiver: Receiver
) -> None:
    api.new_prompt(project.key)
    r = api.as_(project.key).post("/v1/webhooks", json={"url": receiver.url})
    endpoint = r.json()
    events_before, jobs_before = count(app, Event), count(app, WebhookDelivery)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), app.state.db.write() as session:
        made = versions.create_version(
            session,
            actor_for(project),
            "greeting",
            system_prompt="",
            user_template="lost",
            model="m",
            temperature=1.0,
        )
        assert made.version == 1
        raise Boom
    assert (count(app, Event), count(app, WebhookDelivery)) == (events_before, jobs_before)
    # a committed change afterwards is delivered; the rolled-back one never is
    api.new_version(project.key, user_template="kept")
    rows = settled(api, project.key, endpoint["id"], 2)
    assert {d["event_type"] for d in rows} == {
        "prompt_template_version_created",
        "prompt_template_label_moved",
    }
    assert len(receiver.wait_ok(2)) == 2
    bodies = b"".join(r.body for r in receiver.arrived)
    assert b"kept" in bodies and b"lost" not in bodies
    assert api.as_(project.key).get("/v1/prompts/greeting").json()["latest_version"] == 1


def test_jobs_go_to_enabled_matching_endpoints_of_the_project_only(
    api: Api, project: Project, other: Project, app: Any
) -> None:
    everything = new_endpoint(api, project.key, enabled=True)
    moves = new_endpoint(
        api, project.key, enabled=True, event_types=["prompt_template_label_moved"]
    )
    new_endpoint(api, project.key, enabled=False)  # disabled: nothing
    theirs = new_endpoint(api, other.key, enabled=True)
    api.new_prompt(project.key)
    api.new_version(project.key)
    with app.state.db.read() as session:
        jobs = session.execute(
            select(WebhookDelivery.endpoint_id, Event.type).join(
                Event, Event.id == WebhookDelivery.event_id
            )
        ).all()
    by_endpoint: dict[str, list[str]] = {}
    for endpoint_id, type_ in jobs:
        by_endpoint.setdefault(endpoint_id, []).append(type_)
    assert sorted(by_endpoint[everything["id"]]) == [
        "prompt_created",
        "prompt_template_label_moved",
        "prompt_template_version_created",
    ]
    assert by_endpoint[moves["id"]] == ["prompt_template_label_moved"]
    assert set(by_endpoint) == {everything["id"], moves["id"]}
    assert theirs["id"] not in by_endpoint


def test_approval_and_agent_changes_map_to_their_event_types(
    api: Api, project: Project, app: Any
) -> None:
    api.new_prompt(project.key)
    api.new_version(project.key)
    with app.state.db.write() as session:
        changes.record(
            session,
            changes.Change(
                "label_change_approved", project.id, slug="greeting", environment="dev", actor="u"
            ),
        )
        changes.record(
            session,
            changes.Change("agent_run_completed", project.id, data={"run_id": "run_1", "ok": 1}),
        )
        changes.record(session, changes.Change("prompt_updated", project.id, slug="greeting"))
    approved, agent = events_of(app)[-2:]
    assert approved.type == "prompt_template_label_change_approved"
    assert approved.payload["data"]["environment"] == "dev"
    assert approved.payload["data"]["prompt"]["version"] == 1
    assert approved.payload["data"]["actor"] == "u"
    assert agent.type == "agent_run_completed"
    assert agent.payload["data"] == {"run_id": "run_1", "ok": 1, "actor": None}


def test_events_of_several_writes_keep_commit_order(api: Api, project: Project, app: Any) -> None:
    with app.state.db.write() as session:
        for slug in ("a-one", "b-two"):
            prompts.create_prompt(session, actor_for(project), slug=slug, name=slug)
    api.new_prompt(project.key, slug="c-three")
    found = events_of(app, project.id)
    assert [e.payload["data"]["slug"] for e in found] == ["a-one", "b-two", "c-three"]
    assert [e.id for e in found] == sorted(e.id for e in found)


def test_retention_removes_old_events_but_not_undelivered_ones(
    api: Api, project: Project, app: Any
) -> None:
    api.new_prompt(project.key, slug="old-one")
    new_endpoint(api, project.key, enabled=True)
    api.new_prompt(project.key, slug="old-pending")  # has a pending delivery
    api.new_prompt(project.key, slug="recent")
    old = utcnow() - timedelta(days=40)
    with app.state.db.write() as session:
        session.execute(update(Event).where(Event.slug != "recent").values(created_at=old))
    removed = purge_events(app.state.db, utcnow() - timedelta(days=30))
    assert removed == 1
    assert [e.slug for e in events_of(app)] == ["old-pending", "recent"]
