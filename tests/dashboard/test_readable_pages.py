"""Pages a non-engineer reads (issue 10): the active text of each environment, key names
instead of bare prefixes, change requests with their diff, a filterable and paged audit log
with readable before/after, request-log metadata as a table, the webhook form's event types,
rotating and deleting endpoints, and the only owner who cannot be removed."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from promptops.db.models import AuditEvent, Membership
from promptops.domain import audit
from promptops.domain.events import EVENT_TYPES, SENT_EVENT_TYPES
from tests.dashboard.support import Person, Site
from tests.support import Api, Project


def _initial(project: Project) -> str:
    return f"initial key ({project.prefix})"


def _key(api: Api, owner: Person, project: Project, env: str, name: str | None = None) -> str:
    r = api.http.post(
        "/v1/keys",
        json={"environment": env, "role": "write", "name": name},
        headers=owner.headers(project.id),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["key"])


def test_prompt_page_shows_each_environments_active_text(
    site: Site, people: dict[str, Person], project: Project, api: Api, greeting: str
) -> None:
    r = api.as_(project.key).post(
        "/v1/prompts/greeting/versions",
        json={"system_prompt": "Be brief.", "user_template": "Hey {{name}}", "model": "m-3"},
    )
    assert r.status_code == 201, r.text
    staging = _key(api, people["owner"], project, "staging")
    r = api.as_(staging).post("/v1/prompts/greeting/deployments/staging", json={"version": 1})
    assert r.status_code in (200, 201), r.text
    page = site.signed_in(people["viewer"]).get(f"/p/{project.id}/prompts/greeting").text
    cards = page.split('id="envs-h"')[1].split("</section>")[0]
    dev = cards.split('data-env="dev"')[1].split("</li>")[0]
    assert "Be brief." in dev and "Hey {{name}}" in dev and "<dd>m-3</dd>" in dev
    stage = cards.split('data-env="staging"')[1].split("</li>")[0]
    assert "Hello {{name}}" in stage and "<dd>gpt-4o-mini</dd>" in stage
    assert "<h4>user</h4>" in stage and "<h4>system</h4>" not in stage  # its one message
    assert "<dt>Temperature</dt>" in stage and "<dt>Max tokens</dt>" in stage
    assert 'data-env="production"' not in cards  # nothing deployed there: no text


def test_key_names_not_bare_prefixes(
    site: Site, people: dict[str, Person], project: Project, greeting: str
) -> None:
    b = site.signed_in(people["owner"])
    page = b.get(f"/p/{project.id}/prompts/greeting").text
    versions = page.split('id="versions-h"')[1].split("</table>")[0]
    history = page.split('id="history-h"')[1].split("</table>")[0]
    assert versions.count(_initial(project)) == 2 and history.count(_initial(project)) == 2
    version = b.get(f"/p/{project.id}/prompts/greeting/versions/1").text
    assert f"<dd>{_initial(project)}</dd>" in version
    audit_page = b.get(f"/p/{project.id}/audit").text
    assert _initial(project) in audit_page.split("<tbody>")[1]
    assert f'<option value="{project.prefix}">{_initial(project)}</option>' in audit_page


def _request_production(
    site: Site, api: Api, people: dict[str, Person], project: Project, version: int
) -> Any:
    r = api.http.put(
        "/v1/environments/production",
        json={"protected": True},
        headers=people["owner"].headers(project.id),
    )
    assert r.status_code == 200
    editor = site.signed_in(people["editor"])
    r = editor.post(
        f"/p/{project.id}/prompts/greeting/promote",
        {"environment": "production", "version": str(version)},
    )
    assert r.status_code == 303
    return editor


def test_change_request_shows_what_would_change(
    site: Site, api: Api, people: dict[str, Person], project: Project, greeting: str
) -> None:
    prod = _key(api, people["owner"], project, "production")
    r = api.as_(prod).post("/v1/prompts/greeting/deployments/production", json={"version": 1})
    assert r.status_code in (200, 201), r.text
    _request_production(site, api, people, project, 2)
    approver = site.signed_in(people["admin"])
    listing = approver.get(f"/p/{project.id}/changes").text
    card = listing.split('id="cr-1"')[1].split("</article>")[0]
    assert "What changes in production: v1 → v2" in card
    assert "<del>Hello</del>" in card and "<ins>Hi</ins>" in card
    assert "Messages" in card and "Parameters" not in card  # only what changed
    assert "user:editor@example.com" in card
    page = approver.get(f"/p/{project.id}/changes/1")
    assert page.status_code == 200
    assert "<del>Hello</del>" in page.text and "Parameters" in page.text  # everything
    assert "(unchanged)" in page.text and "Approve #1" in page.text
    r = approver.post(f"/p/{project.id}/changes/1/approve", {"comment": "ok"})
    assert r.status_code == 303
    # Once decided, the diff is the one the request made (v1 → v2), not today's (v2 → v2).
    done = approver.get(f"/p/{project.id}/changes/1").text
    assert "What changes in production: v1 → v2" in done and "<ins>Hi</ins>" in done
    assert "Approve #1" not in done and "user:admin@example.com" in done
    assert approver.get(f"/p/{project.id}/changes/99").status_code == 404


def test_change_request_from_nothing_shows_the_whole_text(
    site: Site, api: Api, people: dict[str, Person], project: Project, greeting: str
) -> None:
    _request_production(site, api, people, project, 2)
    card = site.signed_in(people["admin"]).get(f"/p/{project.id}/changes/1").text
    assert "What changes in production: nothing → v2" in card
    assert "<ins>Hi {{name}}!</ins>" in card


def _add_events(app: Any, project: Project, count: int, **fields: Any) -> None:
    with app.state.db.write() as session:
        for i in range(count):
            session.add(
                AuditEvent(
                    project_id=project.id,
                    actor=fields.get("actor", "user:bulk@example.com"),
                    action=fields.get("action", "bulk.thing"),
                    target_type="prompt",
                    target=f"bulk-{i}",
                    before=None,
                    after={"n": i},
                    created_at=fields.get("at", datetime.now(UTC)),
                )
            )


def _event_rows(html: str) -> list[str]:
    return re.findall(r'<tr id="event-(\d+)">', html)


def test_audit_log_filters_pages_and_readable_changes(
    app: Any, site: Site, people: dict[str, Person], project: Project, greeting: str, api: Api
) -> None:
    staging = _key(api, people["owner"], project, "staging", "ci staging")
    r = api.as_(staging).post("/v1/prompts/greeting/deployments/staging", json={"version": 1})
    assert r.status_code in (200, 201)
    r = api.as_(staging).post("/v1/prompts/greeting/deployments/staging", json={"version": 2})
    assert r.status_code in (200, 201)
    api.new_prompt(project.key, "other-prompt")
    b = site.signed_in(people["admin"])
    url = f"/p/{project.id}/audit"
    # Before and after as lines with the change marked, never raw JSON.
    page = b.get(url, params={"action": "deployment.promote"}).text
    rows = _event_rows(page)
    assert len(rows) == 2
    newest = page.split(f'<tr id="event-{rows[0]}">')[1].split("</tr>\n  {%")[0]
    assert "version: <del>1</del>" in newest and "version: <ins>2</ins>" in newest
    assert "{&#34;version&#34;" not in page and '{"version"' not in page
    assert "ci staging (" in newest  # the key's name
    # By actor (a key: offered by name), by prompt, and by date range.
    prefix = staging.rsplit("_", 1)[0]
    assert f'<option value="{prefix}">ci staging ({prefix})</option>' in b.get(url).text
    assert len(_event_rows(b.get(url, params={"actor": prefix}).text)) == 2
    about = b.get(url, params={"prompt": "greeting"}).text
    assert "other-prompt" not in about.split("<tbody>")[1]
    assert "deployment.promote" in about and "prompt.created" in about
    assert len(_event_rows(b.get(url, params={"prompt": "other-prompt"}).text)) == 1
    assert len(_event_rows(b.get(url, params={"prompt": "gree"}).text)) == 0
    today = date.today().isoformat()
    _add_events(app, project, 3, action="old.thing", at=datetime.now(UTC) - timedelta(days=40))
    old = (date.today() - timedelta(days=40)).isoformat()
    assert len(_event_rows(b.get(url, params={"since": old, "until": old}).text)) == 3
    recent = b.get(url, params={"since": today, "action": "old.thing"}).text
    assert len(_event_rows(recent)) == 0 and "No events match these filters" in recent
    bad = b.get(url, params={"since": "yesterday"})
    assert bad.status_code == 422 and 'id="since-error"' in bad.text
    backwards = b.get(url, params={"since": today, "until": old})
    assert backwards.status_code == 422 and "before the start date" in backwards.text


def test_audit_log_pages_keep_the_filters(
    app: Any, site: Site, people: dict[str, Person], project: Project
) -> None:
    _add_events(app, project, 60)
    _add_events(app, project, 5, action="noise")
    b = site.signed_in(people["viewer"])
    first = b.get(f"/p/{project.id}/audit", params={"action": "bulk.thing"}).text
    assert len(_event_rows(first)) == 50
    older = re.search(r'href="([^"]+cursor=\d+)">Older events', first)
    assert older and "action=bulk.thing" in older.group(1)
    second = b.get(older.group(1).replace("&amp;", "&")).text
    assert len(_event_rows(second)) == 10 and "noise" not in second.split("<tbody>")[1]
    assert not set(_event_rows(first)) & set(_event_rows(second))
    assert "Older events" not in second and "Newest events" in second
    assert "<li>n: 59</li>" in first  # an event with only an "after" reads as lines


def test_log_metadata_is_a_table_without_nulls(
    site: Site, people: dict[str, Person], project: Project, api: Api, greeting: str
) -> None:
    record = {
        "id": str(uuid.uuid4()),
        "created_at": datetime.now(UTC).isoformat(),
        "provider": "openai",
        "model": "gpt-4o-mini",
        "request": {"messages": []},
        "status": "ok",
        "latency_ms": 12.0,
        "cost_usd": 0.0000077,
        "metadata": {"customer": "acme", "trace": None, "retries": 2},
    }
    r = api.as_(project.key).post("/v1/logs", json={"records": [record]})
    assert r.status_code < 300, r.text
    b = site.signed_in(people["editor"])
    page = b.get(f"/p/{project.id}/logs/{record['id']}").text
    table = page.split('<table class="log-meta">')[1].split("</table>")[0]
    assert '<th scope="row"><code>customer</code></th><td>acme</td>' in table
    assert "<td>2</td>" in table and "trace" not in table and "null" not in page
    assert "<dd>$0.0000077</dd>" in page and "No tags." in page
    listing = b.get(f"/p/{project.id}/logs").text
    assert "<td>$0.0000077</td>" in listing
    assert "Since (date)" in listing and "YYYY" not in listing


def test_webhook_form_offers_the_event_types_that_are_sent(
    site: Site, people: dict[str, Person], project: Project
) -> None:
    # Every type is sent (tests/webhooks/test_events.py, tests/agents for agent runs).
    assert EVENT_TYPES == SENT_EVENT_TYPES and "agent_run_completed" in SENT_EVENT_TYPES
    page = site.signed_in(people["admin"]).get(f"/p/{project.id}/webhooks").text
    offered = re.findall(r'name="event\.([a-z_]+)"', page)
    assert offered == list(SENT_EVENT_TYPES)


def _new_webhook(b: Any, project: Project) -> str:
    r = b.post(f"/p/{project.id}/webhooks", {"url": "http://127.0.0.1:9/hook"})
    assert r.status_code == 201, r.text
    found = re.search(r"/webhooks/(wh_[0-9a-f]{16})", r.text)
    assert found
    return f"/p/{project.id}/webhooks/{found.group(1)}"


def test_webhook_secret_rotates_and_endpoint_deletes(
    site: Site, people: dict[str, Person], project: Project
) -> None:
    admin = site.signed_in(people["admin"])
    url = _new_webhook(admin, project)
    detail = admin.get(url).text
    assert f'href="{url}/rotate">Rotate secret…' in detail
    assert f'href="{url}/delete">Delete webhook…' in detail
    confirm = admin.get(f"{url}/rotate").text
    assert "Rotate secret</button>" in confirm and "24.0 hours" in confirm
    assert admin.post(f"{url}/rotate", csrf=False).status_code == 403  # CSRF
    editor = site.signed_in(people["editor"])
    assert "Rotate secret" not in editor.get(url).text
    assert editor.get(f"{url}/rotate").status_code == 403
    assert editor.get(f"{url}/delete").status_code == 403
    assert editor.post(f"{url}/rotate").status_code == 403  # role, as in the API
    assert editor.post(f"{url}/delete").status_code == 403
    rotated = admin.post(f"{url}/rotate")
    assert rotated.status_code == 200
    secret = re.search(r'<code id="webhook-secret">(whsec_[^<]+)</code>', rotated.text)
    assert secret and "the previous one keeps working until" in rotated.text
    assert secret.group(1) not in admin.get(url).text  # shown once
    log = admin.get(f"/p/{project.id}/audit", params={"action": "webhook.secret_rotated"}).text
    assert len(_event_rows(log)) == 1
    assert "Delete webhook</button>" in admin.get(f"{url}/delete").text
    assert admin.post(f"{url}/delete", csrf=False).status_code == 403
    assert admin.get(url).status_code == 200
    gone = admin.post(f"{url}/delete")
    assert gone.status_code == 303 and gone.headers["location"] == f"/p/{project.id}/webhooks"
    assert admin.get(url).status_code == 404


def test_the_only_owner_cannot_be_removed(
    app: Any, site: Site, people: dict[str, Person], project: Project
) -> None:
    owner = site.signed_in(people["owner"])
    page = owner.get(f"/p/{project.id}/settings").text
    row = page.split("<td>owner@example.com</td>")[1].split("</tr>")[0]
    assert "Remove" not in row and "the only owner" in row
    assert "Remove<span" in page.split("<td>editor@example.com</td>")[1].split("</tr>")[0]
    r = owner.post(f"/p/{project.id}/members/remove", {"email": "owner@example.com"})
    assert r.status_code == 409 and "at least one owner" in r.text
    with app.state.db.read() as session:
        assert session.get(Membership, (people["owner"].user_id, project.id)) is not None
    # With a second owner, either can be removed.
    r = owner.post(f"/p/{project.id}/members", {"email": "admin2@example.com", "role": "owner"})
    assert r.status_code == 303
    page = owner.get(f"/p/{project.id}/settings").text
    row = page.split("<td>owner@example.com</td>")[1].split("</tr>")[0]
    assert "Remove<span" in row


def test_audit_filters_in_the_domain(app: Any, project: Project) -> None:
    _add_events(app, project, 2, actor="po_live_abcdefgh")
    with app.state.db.read() as session:
        found = audit.list_events(
            session, project.id, filters=audit.AuditFilters(actor="po_live_abcdefgh")
        )
        assert len(found) == 2
        actions, actors = audit.filter_choices(session, project.id)
    assert "bulk.thing" in actions and "po_live_abcdefgh" in actors
