"""`webhooks list|create|test|deliveries` against a live server: human output, the API's JSON
with --json, the signing secret shown once, clear errors (exit 1)."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_commands import run
from tests.support import Api, Project

HOOK = "http://127.0.0.1:9/hooks/promptops"  # loopback: allowed in development mode


@pytest.fixture
def common(server: str, project: Project) -> list[str]:
    return ["--url", server, "--key", project.key]


def test_create_prints_the_secret_once_and_list_shows_the_endpoint(
    common: list[str], api: Api, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "webhooks", "list", *common)
    assert (code, out) == (0, "no webhook endpoints\n")

    code, out, err = run(capsys, "webhooks", "create", HOOK, "--description", "ci", *common)
    assert code == 0, err
    hooks = api.as_(project.key).get("/v1/webhooks").json()["data"]
    assert len(hooks) == 1 and hooks[0]["url"] == HOOK and hooks[0]["description"] == "ci"
    hook_id = hooks[0]["id"]
    lines = out.splitlines()
    assert lines[0] == f"created webhook {hook_id} for {HOOK}"
    assert lines[1] == "environments: dev  events: all  enabled: yes"
    assert lines[2].startswith("signing secret (shown only this once, store it now): whsec_")
    secret = lines[2].rsplit(" ", 1)[1]

    code, out, _ = run(capsys, "webhooks", "list", *common)
    assert code == 0 and secret not in out
    header, row = out.splitlines()
    assert header.split() == [
        "ID",
        "URL",
        "ENVIRONMENTS",
        "EVENT_TYPES",
        "ENABLED",
        "FAILURE_COUNT",
    ]
    assert row.split() == [hook_id, HOOK, "dev", "all", "yes", "0"]
    code, out, _ = run(capsys, "webhooks", "list", "--json", *common)
    assert json.loads(out) == hooks


def test_create_json_and_its_options(common: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "webhooks",
        "create",
        HOOK,
        "--event",
        "prompt_created",
        "--event",
        "prompt_template_label_moved",
        "--env",
        "dev",
        "--disabled",
        "--json",
        *common,
    )
    assert code == 0, err
    created = json.loads(out)
    assert created["secret"].startswith("whsec_") and created["url"] == HOOK
    assert created["event_types"] == ["prompt_created", "prompt_template_label_moved"]
    assert created["environments"] == ["dev"] and created["enabled"] is False
    code, out, _ = run(capsys, "webhooks", "list", *common)
    assert "prompt_created,prompt_template_label_moved" in out and "no (-)" in out


def test_create_with_the_promptlayer_format(
    common: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "webhooks", "create", HOOK, "--format", "promptlayer", *common)
    assert code == 0, err
    assert "format: promptlayer" in out
    with pytest.raises(SystemExit) as usage:
        run(capsys, "webhooks", "create", HOOK, "--format", "svix", *common)
    assert usage.value.code == 2 and "--format" in capsys.readouterr().err


def test_create_errors_name_the_flag(common: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "webhooks", "create", "ftp://example", *common)
    assert (code, out) == (1, "") and "HTTP 422: URL: only http:// and https://" in err, err
    code, _, err = run(capsys, "webhooks", "create", HOOK, "--event", "nope", *common)
    assert code == 1 and "--event: " in err and "prompt_created" in err, err
    code, _, err = run(capsys, "webhooks", "create", HOOK, "--env", "staging", *common)
    assert code == 1 and "HTTP 4" in err and "Traceback" not in err, err


def test_test_queues_a_delivery_that_deliveries_lists(
    common: list[str], api: Api, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    hook_id = json.loads(run(capsys, "webhooks", "create", HOOK, "--json", *common)[1])["id"]
    code, out, err = run(capsys, "webhooks", "test", hook_id, *common)
    assert code == 0, err
    log = api.as_(project.key).get(f"/v1/webhooks/{hook_id}/deliveries").json()["data"]
    assert len(log) == 1 and log[0]["event_type"] == "webhook_test"
    assert out == (
        f"queued test delivery {log[0]['id']} (event {log[0]['event_id']}) to {hook_id};"
        f" follow it with: promptops webhooks deliveries {hook_id}\n"
    )
    code, out, _ = run(capsys, "webhooks", "test", hook_id, "--json", *common)
    second = json.loads(out)
    assert code == 0 and second["event_type"] == "webhook_test" and second["endpoint_id"] == hook_id

    code, out, _ = run(capsys, "webhooks", "deliveries", hook_id, *common)
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split()[:4] == ["ID", "EVENT_TYPE", "STATUS", "ATTEMPT_COUNT"]
    assert [r.split()[:2] for r in rows] == [
        [str(second["id"]), "webhook_test"],
        [str(log[0]["id"]), "webhook_test"],
    ]
    code, out, _ = run(capsys, "webhooks", "deliveries", hook_id, "--limit", "1", "--json", *common)
    assert code == 0 and [d["id"] for d in json.loads(out)] == [second["id"]]
    code, out, _ = run(capsys, "webhooks", "deliveries", hook_id, "--status", "cancelled", *common)
    assert (code, out) == (0, f"no deliveries for {hook_id}\n")


def test_test_and_deliveries_of_an_unknown_endpoint(
    common: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    for action in ("test", "deliveries"):
        code, out, err = run(capsys, "webhooks", action, "wh_nope", *common)
        assert (code, out) == (1, ""), action
        assert err == "error: HTTP 404 (not found): webhook endpoint 'wh_nope' not found\n", err
    code, _, err = run(capsys, "webhooks", "deliveries", "wh_nope", "--limit", "0", *common)
    assert code == 1 and "--limit" in err


def test_list_with_a_bad_key_is_a_clear_error(
    server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "webhooks", "list", "--url", server, "--key", "po_live_bad")
    assert (code, out) == (1, "") and err.startswith("error: HTTP 401: "), err
    assert "Traceback" not in err
