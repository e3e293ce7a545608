"""``eval_result_created``: a recorded eval result is delivered, signed, to the project's
webhook endpoints (whatever their environments: a result is project-wide) and sent on the
live stream of every key of the project."""

from __future__ import annotations

from typing import Any

from promptops.webhooks import verify
from tests.stream.test_stream import Reader, within
from tests.support import Api, Project, live_server
from tests.webhooks.helpers import Receiver

RESULT = {
    "name": "quality",
    "score": 0.92,
    "passed": True,
    "threshold": 0.8,
    "url": "https://ci.example.com/runs/7",
    "ci_run_id": "7",
    "commit": "a" * 40,
}


def test_an_eval_result_reaches_webhooks_and_the_stream(
    app: Any, api: Api, project: Project, receiver: Receiver, admin_key: str
) -> None:
    production = api.new_key(admin_key, "production", "write", project_id=project.id)
    r = api.as_(production).post(
        "/v1/webhooks",
        json={"url": receiver.url, "environments": ["production"], "event_types": []},
    )
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    api.new_prompt(project.key)
    api.new_version(project.key)
    reader_key = api.new_key(admin_key, "production", "read", project_id=project.id)
    # Recorded with a dev key, announced to production's endpoint and stream all the same.
    with live_server(app) as server:
        stream = Reader(server.base_url, reader_key)
        try:
            assert stream.ready.wait(5)
            made = api.as_(project.key).post("/v1/prompts/greeting/versions/1/evals", json=RESULT)
            assert made.status_code == 201, made.text
            within(5, lambda: any(e == "eval_result_created" for _, e, _ in stream.events))
            sent = next(d for _, e, d in stream.events if e == "eval_result_created")
        finally:
            stream.close()
        got = receiver.wait_ok(3)  # prompt_created, version_created, eval_result_created
    events = {verify(g.body, g.headers, secret)["type"]: g for g in got}
    assert set(events) == {
        "prompt_created",
        "prompt_template_version_created",
        "eval_result_created",
    }  # the dev label move is not production's
    delivered = verify(
        events["eval_result_created"].body, events["eval_result_created"].headers, secret
    )
    assert delivered == sent
    data = delivered["data"]
    assert (data["slug"], data["version"], data["actor"]) == ("greeting", 1, project.prefix)
    assert data["result"] == made.json()
    assert {k: data["result"][k] for k in RESULT} == RESULT
