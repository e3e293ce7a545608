"""Every event a scenario writes matches the contract's event models (promptops.contract.events),
whose unknown-field refusal catches a payload drifting from the published schemas."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError
from sqlalchemy import select

from promptops.contract.events import EVENT_MODELS, LabelData, parse_event
from promptops.db.models import Event
from promptops.domain import changes
from promptops.domain import events as domain_events
from promptops.server.contract_files import CONTRACT_DIR
from tests.support import Api, Project


def test_the_contract_names_every_event_type() -> None:
    assert set(EVENT_MODELS) == {*domain_events.EVENT_TYPES, domain_events.TEST_EVENT_TYPE}


def test_every_event_of_a_scenario_matches_the_contract(
    api: Api, project: Project, app: Any, admin_key: str
) -> None:
    api.new_prompt(project.key, description="d")
    api.new_version(project.key, system_prompt="Be {{tone}}.", metadata={"k": [1, {"x": None}]})
    api.new_version(project.key, max_tokens=20)
    r = api.as_(project.key).post(
        "/v1/prompts/greeting/versions/2/evals",
        json={"name": "quality", "score": 0.5, "passed": False, "details": {"cases": [1]}},
    )
    assert r.status_code == 201, r.text
    staging = api.new_key(admin_key, "staging", "write", project_id=project.id)
    s = api.as_(staging)
    assert s.post("/v1/prompts/greeting/deployments/staging", json={"version": 1}).is_success
    assert s.post("/v1/prompts/greeting/deployments/staging", json={"version": 2}).is_success
    assert s.post("/v1/prompts/greeting/deployments/staging/rollback").is_success
    # a snippet's move: its dependent gets prompt_template_updated
    api.new_prompt(project.key, "tone", type="text")
    for text in ("calm", "warm"):
        body = {"model": "m", "text": text}
        assert api.as_(project.key).post("/v1/prompts/tone/versions", json=body).is_success
        if text == "calm":
            api.new_version(project.key, system_prompt="Be {{> tone}}.")
    hook = api.as_(project.key).post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "enabled": True}
    )
    assert hook.status_code == 201, hook.text
    assert api.as_(project.key).post(f"/v1/webhooks/{hook.json()['id']}/test").is_success
    with app.state.db.write() as session:
        changes.record(
            session,
            changes.Change(
                "label_change_approved", project.id, slug="greeting", environment="dev", actor="u"
            ),
        )
    # an agent run that finishes (cancelled while it waits): agent_run_completed
    a = api.as_(project.key)
    assert a.post("/v1/agents", json={"slug": "review", "name": "Review"}).status_code == 201
    workflow = {"start": "review", "steps": {"review": {"type": "wait"}}}
    assert a.post("/v1/agents/review/versions", json=workflow).status_code == 201
    run_id = a.post("/v1/agents/review/runs", json={}).json()["run_id"]
    assert a.post(f"/v1/agents/review/runs/{run_id}/cancel").status_code == 200
    with app.state.db.read() as session:
        rows = list(session.scalars(select(Event).order_by(Event.id)))
    seen = set()
    for row in rows:
        # The published JSON Schema and the models agree with what was written.
        schema = json.loads((CONTRACT_DIR / f"schemas/event.{row.type}.json").read_text())
        errors = list(Draft202012Validator(schema).iter_errors(row.payload))
        assert not errors, (row.type, [e.message for e in errors])
        event, data = parse_event(row.payload)
        assert event.type == row.type
        seen.add(row.type)
        if isinstance(data, LabelData):
            assert data.prompt.environment == data.environment
    assert seen == {*domain_events.SENT_EVENT_TYPES, domain_events.TEST_EVENT_TYPE}


def test_a_payload_off_the_contract_is_refused() -> None:
    good = {
        "id": "evt_1",
        "type": "prompt_created",
        "timestamp": "2026-12-01T00:00:00Z",
        "project": {"id": "p", "name": "P"},
        "data": {"slug": "s", "actor": None, "name": "S", "description": None, "prompt": None},
    }
    parse_event(good)
    for bad in (
        {**good, "extra": 1},
        {**good, "type": "nope"},
        {**good, "data": {**good["data"], "surprise": True}},
        {**good, "data": {k: v for k, v in good["data"].items() if k != "slug"}},
    ):
        with pytest.raises(ValidationError):
            parse_event(bad)
