"""The request-log pages (filters, detail, the per-prompt usage charts) and the webhook pages
(secret shown once, deliveries, redeliver, test events)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.dashboard.support import Person, Site
from tests.support import Api, Project


def _record(version: int, *, status: str = "ok", days_ago: int = 0, **extra: Any) -> dict[str, Any]:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    return {
        "id": str(uuid.uuid4()),
        "created_at": at.isoformat(),
        "provider": "openai",
        "model": "gpt-4o-mini",
        "prompt_slug": "greeting",
        "prompt_version": version,
        "request": {"messages": [{"role": "user", "content": "Hi Ada"}]},
        "response": {"text": "Hello!"},
        "status": status,
        "latency_ms": 100.0 * version,
        "input_tokens": 10,
        "output_tokens": 5,
        "cost_usd": 0.001 * version,
        **extra,
    }


@pytest.fixture
def logged(api: Api, project: Project, greeting: str) -> list[dict[str, Any]]:
    records = [
        _record(1, days_ago=1),
        _record(1, days_ago=1),
        _record(2),
        _record(2, status="error", error="rate limited", tags=["beta"]),
    ]
    r = api.as_(project.key).post("/v1/logs", json={"records": records})
    assert r.status_code in (200, 201, 202), r.text
    return records


def test_logs_list_filters_and_detail(
    site: Site, people: dict[str, Person], project: Project, logged: list[dict[str, Any]]
) -> None:
    b = site.signed_in(people["editor"])
    page = b.get(f"/p/{project.id}/logs").text
    assert page.count(f'href="/p/{project.id}/logs/') == 4
    errors = b.get(f"/p/{project.id}/logs", params={"status": "error"}).text
    assert errors.count(f'href="/p/{project.id}/logs/') == 1 and "tag warn" in errors
    v1 = b.get(f"/p/{project.id}/logs", params={"prompt": "greeting", "version": 1}).text
    assert v1.count(f'href="/p/{project.id}/logs/') == 2
    tagged = b.get(f"/p/{project.id}/logs", params={"tag": "beta"}).text
    assert tagged.count(f'href="/p/{project.id}/logs/') == 1
    bad = b.get(f"/p/{project.id}/logs", params={"since": "yesterday"})
    assert bad.status_code == 422 and 'id="since-error"' in bad.text
    detail = b.get(f"/p/{project.id}/logs/{logged[3]['id']}")
    assert detail.status_code == 200
    assert "rate limited" in detail.text and "Hi Ada" in detail.text
    # Viewers cannot read logs (they hold end users' data), as in the API.
    assert site.signed_in(people["viewer"]).get(f"/p/{project.id}/logs").status_code == 403


def test_prompt_page_charts_usage_by_version(
    site: Site, people: dict[str, Person], project: Project, logged: list[dict[str, Any]]
) -> None:
    page = site.signed_in(people["editor"]).get(f"/p/{project.id}/prompts/greeting").text
    usage = page.split('id="usage-h"')[1]
    titles = ("Requests", "Error rate (%)", "Latency p50 (ms)", "Latency p95 (ms)", "Cost (USD)")
    assert usage.count("<svg") == len(titles)
    for title in titles:
        assert f"<figcaption>{title}</figcaption>" in usage

    def table(title: str) -> str:
        return usage.split(f"<caption>{title} per day</caption>")[1].split("</table>")[0]

    # The data tables say what the lines show (v2, then v1): v2 had 2 requests today (one
    # an error; latencies 200 and 200), v1 2 yesterday.
    today = datetime.now(UTC).date().isoformat()
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    requests = table("Requests")
    assert re.search(rf"<th scope=\"row\">{today}</th><td>2</td><td>0</td>", requests)
    assert re.search(rf"<th scope=\"row\">{yesterday}</th><td>0</td><td>2</td>", requests)
    errors = table("Error rate (%)")
    assert re.search(rf"<th scope=\"row\">{today}</th><td>50</td><td>—</td>", errors)
    assert re.search(rf"<th scope=\"row\">{yesterday}</th><td>—</td><td>0</td>", errors)
    for title in ("Latency p50 (ms)", "Latency p95 (ms)"):
        latency = table(title)
        assert re.search(rf"<th scope=\"row\">{today}</th><td>200</td><td>—</td>", latency)
        assert re.search(rf"<th scope=\"row\">{yesterday}</th><td>—</td><td>100</td>", latency)
    cost = table("Cost (USD)")
    assert re.search(rf"<th scope=\"row\">{today}</th><td>\$0.004</td><td>—</td>", cost)
    # Viewers see no chart (no access to logs); nobody sees one without logs.
    assert (
        'id="usage-h"'
        not in site.signed_in(people["viewer"]).get(f"/p/{project.id}/prompts/greeting").text
    )


def test_webhook_pages(site: Site, people: dict[str, Person], project: Project) -> None:
    b = site.signed_in(people["admin"])  # webhooks are managed by project admins and owners
    r = b.post(f"/p/{project.id}/webhooks", {"url": "not a url"})
    assert r.status_code == 422 and 'id="url-error"' in r.text
    r = b.post(
        f"/p/{project.id}/webhooks",
        {"url": "http://127.0.0.1:9/hook", "event.prompt_template_label_moved": "on"},
    )
    assert r.status_code == 201
    assert 'name="env.production"' in r.text  # the form picks environments
    secret = re.search(r'<code id="webhook-secret">(whsec_[^<]+)</code>', r.text)
    assert secret and 'data-copy="webhook-secret"' in r.text
    endpoint_id = re.search(r"/webhooks/(wh_[0-9a-f]{16})", r.text)
    assert endpoint_id
    url = f"/p/{project.id}/webhooks/{endpoint_id.group(1)}"
    assert secret.group(1) not in b.get(f"/p/{project.id}/webhooks").text  # shown once
    assert b.post(f"{url}/test").status_code == 303
    page = b.get(url).text
    assert "webhook_test" in page
    delivery = re.search(r'name="delivery" value="(\d+)"', page)
    assert delivery
    assert b.post(f"{url}/redeliver", {"delivery": delivery.group(1)}).status_code == 303
    assert f"(again of {delivery.group(1)})" in b.get(url).text
    assert b.post(f"{url}/disable").status_code == 303
    r = b.post(f"{url}/test")
    assert r.status_code == 409 and "disabled" in r.text
    viewer = site.signed_in(people["viewer"])
    assert "Send a test event" not in viewer.get(url).text
    assert viewer.post(f"{url}/enable").status_code == 403
    # editors see every endpoint but change none; none checked: every environment
    editor = site.signed_in(people["editor"])
    listing = editor.get(f"/p/{project.id}/webhooks").text
    assert endpoint_id.group(1) in listing and 'name="env.dev"' not in listing
    assert listing.count('class="env env-') == 3
    assert "Send a test event" not in editor.get(url).text
    assert editor.post(f"{url}/enable").status_code == 403
    r = editor.post(f"/p/{project.id}/webhooks", {"url": "http://127.0.0.1:9/x"})
    assert r.status_code == 403


def test_webhook_form_picks_environments(
    site: Site, people: dict[str, Person], project: Project
) -> None:
    b = site.signed_in(people["owner"])
    r = b.post(
        f"/p/{project.id}/webhooks",
        {"url": "http://127.0.0.1:9/hook", "env.staging": "on", "env.production": "on"},
    )
    assert r.status_code == 201
    endpoint_id = re.search(r"/webhooks/(wh_[0-9a-f]{16})", r.text)
    assert endpoint_id
    row = b.get(f"/p/{project.id}/webhooks").text.split(endpoint_id.group(1))[1].split("</tr>")[0]
    assert "env-staging" in row and "env-production" in row and "env-dev" not in row
    page = b.get(f"/p/{project.id}/webhooks/{endpoint_id.group(1)}").text
    assert "env-staging" in page and "env-production" in page and "env-dev" not in page


def test_webhook_form_picks_the_promptlayer_format(
    site: Site, api: Api, admin_key: str, people: dict[str, Person], project: Project
) -> None:
    b = site.signed_in(people["owner"])
    page = b.get(f"/p/{project.id}/webhooks").text
    assert 'name="format"' in page and 'value="promptlayer"' in page
    r = b.post(
        f"/p/{project.id}/webhooks", {"url": "http://127.0.0.1:9/pl", "format": "promptlayer"}
    )
    assert r.status_code == 201, r.text
    listed = api.as_(admin_key).get("/v1/webhooks", params={"project_id": project.id})
    hooks = listed.json()["data"]
    assert [h["format"] for h in hooks if h["url"] == "http://127.0.0.1:9/pl"] == ["promptlayer"]
    r = b.post(f"/p/{project.id}/webhooks", {"url": "http://127.0.0.1:9/x", "format": "svix"})
    assert r.status_code == 422 and "format" in r.text
