"""The bridge's HTTP answers without PromptOps running: what it refuses (401 for a bad,
missing or expired signature, 400 for a body that is not an event) changes nothing and
asks nobody; an event it does not handle, or a version from git, is answered 200 without
asking PromptOps or the forge; an event it must act on while PromptOps is down is 502 (so
it is delivered again), never 2xx."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from promptops.contract.events import parse_event
from promptops.webhooks import generate_secret, sign_headers
from tests.fakes.forges import FakeGitHub
from tests.gitops.bridge_support import RunningBridge, bare_repo, branches, running_bridge
from tests.support import free_port, live_server

SECRET = generate_secret()


def event(**metadata: Any) -> dict[str, Any]:
    """A ``prompt_template_version_created`` event of greeting v2 with ``metadata``."""
    prompt = {
        "slug": "greeting",
        "type": "chat",
        "version": 2,
        "messages": [{"role": "user", "content": "Hello {{name}}"}],
        "text": None,
        "system_prompt": None,
        "user_template": "Hello {{name}}",
        "variables": ["name"],
        "inputs": [],
        "model": "gpt-4o-mini",
        "temperature": 0.7,
        "max_tokens": None,
        "params": {},
        "tools": None,
        "tool_choice": None,
        "response_format": None,
        "snippets": [],
        "metadata": metadata,
        "commit_message": None,
        "author": "po_live_ab12cd34",
        "created_at": "2025-01-02T03:04:05Z",
        "environment": None,
        "deployed_at": None,
        "deployment_id": None,
    }
    body = {
        "id": "evt_" + "a" * 26,
        "type": "prompt_template_version_created",
        "timestamp": "2025-01-02T03:04:05Z",
        "project": {"id": "prj_1", "name": "Acme"},
        "data": {"slug": "greeting", "actor": "po_live_ab12cd34", "version": 2, "prompt": prompt},
    }
    parse_event(body)  # what PromptOps sends, by the contract
    return body


@dataclass
class Setup:
    running: RunningBridge
    forge: FakeGitHub
    bare: Path

    @property
    def url(self) -> str:
        return self.running.url


@pytest.fixture
def bridge(tmp_path: Path) -> Iterator[Setup]:
    bare = bare_repo(tmp_path)
    forge = FakeGitHub(bare)
    with (
        live_server(forge.app) as forge_server,
        running_bridge(
            provider="github",
            bare=bare,
            work_dir=tmp_path / "work",
            forge=forge,
            forge_url=forge_server.base_url,
            secret=SECRET,
            promptops_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
            key="po_live_test",
        ) as running,
    ):
        yield Setup(running, forge, bare)


def _post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url, content=body, headers=headers, timeout=10)


def test_refused_requests_change_nothing(bridge: Setup) -> None:
    url = bridge.url
    body = json.dumps(event()).encode()
    wrong = sign_headers(generate_secret(), body, msg_id="msg_1")
    old = sign_headers(SECRET, body, msg_id="msg_2", timestamp=int(time.time()) - 3600)
    tampered = {**sign_headers(SECRET, body, msg_id="msg_3")}
    cases = [
        ({}, body, 401, "missing webhook header"),
        (wrong, body, 401, "does not match"),
        (old, body, 401, "s old"),
        (tampered, body + b" ", 401, "does not match"),
        (sign_headers(SECRET, b"{no json", msg_id="m4"), b"{no json", 400, "not JSON"),
        (sign_headers(SECRET, b'{"id": 1}', msg_id="m5"), b'{"id": 1}', 400, "not a PromptOps"),
    ]
    for headers, sent, status, said in cases:
        r = _post(url, sent, headers)
        assert r.status_code == status, (said, r.text)
        assert said in r.json()["error"]
    bad = {**event()}
    bad["data"] = {**bad["data"], "version": "two"}
    raw = json.dumps(bad).encode()
    r = _post(url, raw, sign_headers(SECRET, raw, msg_id="m6"))
    assert r.status_code == 400
    assert r.json()["error"].startswith("not a PromptOps event: data.version: ")
    odd = {**event()}
    odd["data"] = {**odd["data"], "slug": "../../etc/x"}
    raw = json.dumps(odd).encode()
    r = _post(url, raw, sign_headers(SECRET, raw, msg_id="m7"))
    assert (r.status_code, r.json()["error"][:10]) == (400, "data.slug:")
    assert bridge.forge.requests == []
    assert branches(bridge.bare) == {"main"}


def test_answered_without_work_or_refused_until_work_is_done(bridge: Setup) -> None:
    url = bridge.url

    def send(payload: dict[str, Any], msg_id: str) -> httpx.Response:
        raw = json.dumps(payload).encode()
        return _post(url, raw, sign_headers(SECRET, raw, msg_id=msg_id))

    # not an event the bridge acts on; a version pushed from git: 200, nobody asked
    data = {"slug": "greeting", "actor": None, "name": "Greeting", "description": None}
    created = {**event(), "type": "prompt_created", "data": {**data, "prompt": None}}
    parse_event(created)
    r = send(created, "m1")
    assert (r.status_code, r.json()["status"]) == (200, "ignored")
    git = {"commit": "0" * 40, "path": "prompts/greeting.yaml", "remote": None}
    r = send(event(git=git), "m2")
    assert (r.status_code, r.json()["status"]) == (200, "skipped"), r.text

    # a version made in PromptOps while PromptOps cannot be reached: 502, not acknowledged
    r = send(event(), "m3")
    assert r.status_code == 502 and "PromptOps could not be reached" in r.json()["error"]
    r = send(event(), "m3")  # its redelivery is worked on again (a failure is not remembered)
    assert r.status_code == 502
    assert bridge.forge.requests == []
    assert branches(bridge.bare) == {"main"}

    # the rest of the server
    base = bridge.running.base_url
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    assert httpx.get(url).status_code == 405
    assert httpx.post(f"{base}/elsewhere").status_code == 404
