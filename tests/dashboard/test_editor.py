"""The editor over HTTP: its check-as-you-type endpoint (the contract's first error, the
variables, the preview) and its form (every field saved, push semantics, rows without
JavaScript, text prompts)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.dashboard.conftest import make_person
from tests.dashboard.support import Browser, Site
from tests.support import Api, Project

BAD_SCHEMA = {"type": "object", "properties": {"id": {"type": "nope"}}}
GOOD_SCHEMA = {"type": "object", "properties": {"id": {"type": "string"}}}


def _tool(schema: dict[str, Any]) -> str:
    return json.dumps([{"type": "function", "function": {"name": "lookup", "parameters": schema}}])


def chat_fields(**extra: str) -> dict[str, str]:
    """A chat draft as the form sends it: system, a placeholder, user."""
    return {
        "messages.0.kind": "message",
        "messages.0.role": "system",
        "messages.0.content": "You help {{customer}}.",
        "messages.1.kind": "placeholder",
        "messages.1.name": "history",
        "messages.2.kind": "message",
        "messages.2.role": "user",
        "messages.2.content": "Q: {{question}}",
        "model": "gpt-4o-mini",
        **extra,
    }


def new_version(api: Api, project: Project, slug: str, **body: Any) -> None:
    """A version of any shape (``Api.new_version`` adds a user template)."""
    r = api.as_(project.key).post(f"/v1/prompts/{slug}/versions", json={"model": "m", **body})
    assert r.status_code == 201, r.text


@pytest.fixture
def editor(app: Any, site: Site, project: Project) -> Browser:
    """Signed in as an editor of ``project`` (the only person made: fast)."""
    person = make_person(app, "editor@example.com", project_id=project.id, role="editor")
    return site.signed_in(person)


def _check(b: Browser, project: Project, slug: str, fields: dict[str, str], **samples: str) -> Any:
    r = b.http.post(
        f"/p/{project.id}/prompts/{slug}/validate",
        json={"fields": fields, "samples": samples},
        headers={"X-CSRF-Token": b.csrf or ""},
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_check_gives_the_contracts_first_error_and_the_box_it_names(
    editor: Browser, project: Project, api: Api
) -> None:
    api.new_prompt(project.key, "helper")
    bad = _check(editor, project, "helper", chat_fields(tools=_tool(BAD_SCHEMA)))
    assert bad["ok"] is False
    error = bad["error"]
    assert error["field"] == "tools.0.function.parameters" and error["target"] == "tools"
    assert "not a valid JSON Schema (2020-12)" in error["message"]
    assert error["text"] == error["message"]  # shown whole: the box holds the whole list
    broken = _check(editor, project, "helper", chat_fields(**{"messages.2.content": "Q: {{q"}))
    error = broken["error"]
    assert (error["field"], error["target"]) == ("messages.2.content", "messages.2.content")
    assert error["text"].startswith("template error:") and "line 1, column 4" in error["text"]
    # The other messages still have their preview; the broken one says why it has none.
    assert broken["preview"][0]["text"] == "You help {{customer}}."
    assert (
        broken["preview"][2]["text"] is None and "fix this template" in broken["preview"][2]["note"]
    )
    not_json = _check(editor, project, "helper", chat_fields(response_format="{type: 1}"))
    assert not_json["error"]["target"] == "response_format"
    assert "not valid JSON" in not_json["error"]["message"]
    choice = _check(editor, project, "helper", chat_fields(tool_choice="lookup"))
    assert (
        choice["error"]["field"] == "tool_choice"
        and "not one of the tools" in choice["error"]["text"]
    )
    number = _check(editor, project, "helper", chat_fields(temperature="warm"))
    assert number["error"]["target"] == "temperature"
    good = _check(editor, project, "helper", chat_fields(tools=_tool(GOOD_SCHEMA)), customer="Ada")
    assert good["ok"] is True and good["error"] is None
    assert good["variables"] == ["customer", "question"]
    kinds = [(item["kind"], item["role"], item["name"]) for item in good["preview"]]
    assert kinds == [
        ("message", "system", ""),
        ("placeholder", "", "history"),
        ("message", "user", ""),
    ]
    assert good["preview"][0]["text"] == "You help Ada."
    assert good["preview"][2]["text"] == "Q: {{question}}"  # no sample: shown as the tag
    assert 'class="slot"' in good["preview_html"] and "You help Ada." in good["preview_html"]
    assert good["placeholders"] == ["history"] and good["preview"][1]["sample"] is None
    # A placeholder's sample: a JSON list of messages, shown in its slot.
    history = '[{"role": "user", "content": "Earlier question"}]'
    body = _check(editor, project, "helper", chat_fields(), history=history)
    assert body["preview"][1]["sample"] == [{"role": "user", "content": "Earlier question"}]
    assert "Earlier question" in body["preview_html"].split('class="slot"')[1]


def test_sample_values_are_json_and_declared_strings_stay_text(
    editor: Browser, project: Project, api: Api
) -> None:
    api.new_prompt(project.key, "helper")
    fields = chat_fields(
        **{
            "messages.2.content": "{{#vip}}VIP {{/vip}}{{items}} {{code}}",
            "inputs.0.name": "code",
            "inputs.0.type": "string",
            "inputs.0.required": "on",
        }
    )
    body = _check(editor, project, "helper", fields, vip="true", items="[1, 2]", code="007")
    assert body["ok"] is True, body["error"]
    assert body["preview"][2]["text"] == "VIP [1,2] 007"
    body = _check(editor, project, "helper", fields, vip="false", items='{"a": 1}', code="7")
    assert body["preview"][2]["text"] == '{"a":1} 7'
    # What people type is escaped in the preview's HTML.
    body = _check(editor, project, "helper", chat_fields(**{"messages.2.content": "<b>{{x}}</b>"}))
    assert "&lt;b&gt;{{x}}&lt;/b&gt;" in body["preview_html"] and "<b>" not in body["preview_html"]
    # A section over items that lack a name: the preview says so, the draft stays valid.
    loop = chat_fields(**{"messages.2.content": "{{#rules}}- {{text}}\n{{/rules}}"})
    body = _check(editor, project, "helper", loop)
    assert (
        body["ok"] is True and "no preview with these sample values" in body["preview"][2]["note"]
    )


def test_snippets_are_resolved_in_the_preview_with_links(
    editor: Browser, project: Project, api: Api
) -> None:
    api.new_prompt(project.key, "signature", type="text")
    new_version(api, project, "signature", text="Regards, {{team}}")
    api.new_prompt(project.key, "helper")
    fields = chat_fields(**{"messages.2.content": "Hi.{{> signature}} {{> missing}}"})
    body = _check(editor, project, "helper", fields, team="Support")
    assert body["ok"] is True, body["error"]
    assert body["snippet_variables"] == ["team"]
    assert body["preview"][2]["text"].startswith("Hi.Regards, Support [snippet missing: not found")
    signature, missing = body["snippets"]
    assert signature == {
        "key": "signature",
        "slug": "signature",
        "url": f"/p/{project.id}/prompts/signature/versions/1",
        "version": 1,
        "note": "active in dev",
    }
    assert missing["version"] is None and missing["url"] == f"/p/{project.id}/prompts/missing"
    assert f'href="/p/{project.id}/prompts/signature/versions/1"' in body["preview_html"]


def test_check_needs_an_editor(app: Any, site: Site, project: Project, api: Api) -> None:
    api.new_prompt(project.key, "helper")
    person = make_person(app, "viewer@example.com", project_id=project.id, role="viewer")
    viewer = site.signed_in(person)
    r = viewer.http.post(
        f"/p/{project.id}/prompts/helper/validate",
        json={"fields": chat_fields()},
        headers={"X-CSRF-Token": viewer.csrf or ""},
    )
    assert r.status_code == 403


def _versions(api: Api, project: Project, slug: str) -> list[int]:
    r = api.as_(project.key).get(f"/v1/prompts/{slug}/versions")
    return [v["version"] for v in r.json()["data"]]


def test_the_form_saves_every_field_and_identical_content_makes_no_version(
    editor: Browser, project: Project, api: Api
) -> None:
    api.new_prompt(project.key, "helper")
    url = f"/p/{project.id}/prompts/helper/edit"
    fields = chat_fields(
        tools=_tool(GOOD_SCHEMA),
        tool_choice="lookup",
        response_format='{"type": "json_object"}',
        temperature="0.3",
        max_tokens="200",
        **{
            "params.top_p": "0.9",
            "params.seed": "7",
            "params.stop": '["END"]',
            "params.reasoning_effort": "low",
            "inputs.0.name": "question",
            "inputs.0.type": "string",
            "inputs.0.required": "on",
            "inputs.0.description": "What the customer asks",
            "inputs.1.name": "tags",
            "inputs.1.type": "list",
            "messages.2.content": "Q: {{question}}\r\nA:",
        },
        metadata='{"team": "growth"}',
        commit_message="First draft",
    )
    r = editor.post(url, {**fields, "intent": "save"})
    assert r.status_code == 303, r.text
    made = api.as_(project.key).get("/v1/prompts/helper/versions/1").json()
    assert made["messages"] == [
        {"role": "system", "content": "You help {{customer}}."},
        {"type": "placeholder", "name": "history"},
        {"role": "user", "content": "Q: {{question}}\nA:"},
    ]
    assert made["tools"][0]["function"]["parameters"] == GOOD_SCHEMA
    assert (made["tool_choice"], made["response_format"]) == ("lookup", {"type": "json_object"})
    assert made["params"] == {"top_p": 0.9, "seed": 7, "stop": ["END"], "reasoning_effort": "low"}
    assert made["inputs"] == [
        {
            "name": "question",
            "type": "string",
            "required": True,
            "description": "What the customer asks",
        },
        {"name": "tags", "type": "list", "required": False},
    ]
    assert (made["temperature"], made["max_tokens"], made["metadata"]) == (
        0.3,
        200,
        {"team": "growth"},
    )
    assert made["author"] == "user:editor@example.com" and made["commit_message"] == "First draft"
    # The editor opens on that version, every box filled in ...
    page = editor.get(url).text
    assert 'name="messages.1.kind" value="placeholder"' in page and 'value="history"' in page
    assert (
        "&#34;lookup&#34;" in page
        and 'value="0.9"' in page
        and 'value="What the customer asks"' in page
    )
    # ... and saving it unchanged creates nothing, and says so.
    r = editor.post(url, {**fields, "commit_message": "Again", "intent": "save"})
    assert r.status_code == 303
    landed = editor.get(r.headers["location"]).text
    assert "No change: this is the content of v1, already active in dev" in landed
    assert _versions(api, project, "helper") == [1]
    # An error of the contract is shown beside its box, and nothing is stored.
    r = editor.post(url, {**fields, "tool_choice": "search", "intent": "save"})
    assert r.status_code == 422
    error = re.search(r'<p class="field-error" id="tool_choice-error">([^<]+)</p>', r.text)
    assert error and "not one of the tools" in error.group(1)
    assert re.search(r'id="f-tool_choice"[^>]*aria-invalid="true"', r.text)
    assert "Q: {{question}}\nA:" in r.text  # nothing typed is lost
    r = editor.post(url, {**fields, "messages.0.role": "robot", "intent": "save"})
    assert r.status_code == 422 and 'id="messages.0.role-error">' in r.text
    assert _versions(api, project, "helper") == [1]


def _rows(html: str) -> list[tuple[str, str]]:
    """(kind, role or name) of each message row of an editor page, in order."""
    rows = []
    for i, kind in re.findall(
        r'name="messages\.(\d+)\.kind" value="(\w+)"', html.split("<template")[0]
    ):
        key = "role" if kind == "message" else "name"
        if key == "role":
            found = re.search(
                rf'id="f-messages\.{i}\.role".*?<option value="(\w+)" selected', html, re.S
            )
        else:
            found = re.search(rf'id="f-messages\.{i}\.name"[^>]*value="([^"]*)"', html)
        rows.append((kind, found.group(1) if found else ""))
    return rows


def test_rows_are_added_removed_and_moved_without_javascript(
    editor: Browser, project: Project, api: Api
) -> None:
    api.new_prompt(project.key, "helper")
    url = f"/p/{project.id}/prompts/helper/edit"
    page = editor.get(url).text
    assert _rows(page) == [("message", "system"), ("message", "user")]
    fields = {
        "messages.0.kind": "message",
        "messages.0.role": "system",
        "messages.1.kind": "message",
        "messages.1.role": "user",
        "model": "m",
    }
    r = editor.post(url, {**fields, "intent": "add-placeholder"})
    assert r.status_code == 200 and _rows(r.text)[-1] == ("placeholder", "")
    r = editor.post(
        url,
        {
            **fields,
            "messages.2.kind": "placeholder",
            "messages.2.name": "h",
            "intent": "up:messages.2",
        },
    )
    assert _rows(r.text) == [("message", "system"), ("placeholder", "h"), ("message", "user")]
    r = editor.post(url, {**fields, "intent": "remove:messages.0"})
    assert _rows(r.text) == [("message", "user")]
    r = editor.post(url, {**fields, "intent": "add-input"})
    assert (
        'id="f-inputs.0.name"' in r.text
        and 'id="f-inputs.0.required" name="inputs.0.required" value="on" checked' in r.text
    )


def test_text_prompts_are_created_and_edited_as_one_text(
    editor: Browser, project: Project, api: Api
) -> None:
    r = editor.post(f"/p/{project.id}/prompts", {"slug": "footer", "name": "Footer", "type": "odd"})
    assert r.status_code == 422 and 'id="type-error"' in r.text
    r = editor.post(
        f"/p/{project.id}/prompts", {"slug": "footer", "name": "Footer", "type": "text"}
    )
    assert r.status_code == 303 and r.headers["location"].endswith("/prompts/footer/edit")
    page = editor.get(r.headers["location"]).text
    assert 'id="f-text"' in page and 'id="messages"' not in page and 'id="f-tools"' not in page
    url = f"/p/{project.id}/prompts/footer/edit"
    body = _check(
        editor, project, "footer", {"text": "Thanks, {{name}}.", "model": "m"}, name="Ada"
    )
    assert body["ok"] is True and body["preview"] == [
        {
            "kind": "text",
            "role": "",
            "name": "",
            "text": "Thanks, Ada.",
            "note": None,
            "sample": None,
        }
    ]
    r = editor.post(url, {"text": "Thanks, {{name}}.", "model": "m", "intent": "save"})
    assert r.status_code == 303
    made = api.as_(project.key).get("/v1/prompts/footer/versions/1").json()
    assert (made["type"], made["text"], made["messages"]) == ("text", "Thanks, {{name}}.", None)
    # A chat field posted to a text prompt is not part of its form: nothing but the text counts.
    r = editor.post(
        url, {"text": "Thanks, {{name}}.", "model": "m", "tools": "[]", "intent": "save"}
    )
    assert r.status_code == 303 and _versions(api, project, "footer") == [1]


def test_diff_covers_every_field(editor: Browser, project: Project, api: Api) -> None:
    api.new_prompt(project.key, "helper")
    first = {
        "messages": [
            {"role": "system", "content": "Be kind."},
            {"role": "user", "content": "Hi {{name}}"},
        ],
        "model": "m-1",
    }
    second = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"type": "placeholder", "name": "history"},
            {"role": "user", "content": "Hi {{name}}", "name": "ada"},
        ],
        "model": "m-2",
        "temperature": 0.2,
        "max_tokens": 50,
        "params": {"top_p": 0.5},
        "tools": json.loads(_tool(GOOD_SCHEMA)),
        "tool_choice": "auto",
        "response_format": {"type": "json_object"},
        "inputs": [{"name": "name", "type": "string"}],
        "metadata": {"a": 1},
        "commit_message": "Everything",
    }
    new_version(api, project, "helper", **first)
    new_version(api, project, "helper", **second)
    page = editor.get(f"/p/{project.id}/prompts/helper/diff?a=1&b=2").text
    heads = re.findall(r'<h2 id="diff-\d+">([^<]+?) <span class="(tag|muted)">', page)
    assert heads == [
        (title, "tag")
        for title in (
            "Messages",
            "Tools",
            "Tool choice",
            "Response format",
            "Parameters",
            "Inputs",
            "Metadata",
            "Commit message",
        )
    ]
    messages = re.sub(r"</?(ins|del)>", "", page.split('id="diff-1"')[1].split("</section>")[0])
    assert "── 2 · placeholder history ──" in messages and "── 3 · user, name: ada ──" in messages
    params = re.sub(r"</?(ins|del)>", "", page.split('id="diff-5"')[1].split("</section>")[0])
    assert "top_p: 0.5" in params and "max_tokens: 50" in params and "temperature: 0.2" in params
    version = editor.get(f"/p/{project.id}/prompts/helper/versions/2").text
    assert "Placeholder <code>history</code>" in version and '"name": "lookup"' in version
    assert "<dt>top_p</dt>" in version and "<code>name</code>" in version


def test_the_editor_and_the_api_give_the_same_error(
    editor: Browser, project: Project, api: Api
) -> None:
    """One rule set: a draft the contract refuses gets the API's message and field."""
    api.new_prompt(project.key, "helper")
    cases = [
        chat_fields(tools=_tool(BAD_SCHEMA)),
        chat_fields(**{"messages.1.name": "not a name"}),
        chat_fields(**{"params.top_p": "2"}),
        chat_fields(**{"inputs.0.name": "x", "inputs.0.type": "date"}),
    ]
    for fields in cases:
        mine = _check(editor, project, "helper", fields)["error"]
        body = {
            "messages": [
                {"role": "system", "content": "You help {{customer}}."},
                {"type": "placeholder", "name": fields["messages.1.name"]},
                {"role": "user", "content": "Q: {{question}}"},
            ],
            "model": "gpt-4o-mini",
        }
        if "tools" in fields:
            body["tools"] = json.loads(fields["tools"])
        if "params.top_p" in fields:
            body["params"] = {"top_p": 2}
        if "inputs.0.name" in fields:
            body["inputs"] = [{"name": "x", "type": "date", "required": False}]
        r = api.as_(project.key).post("/v1/prompts/helper/versions", json=body)
        assert r.status_code == 422
        theirs = r.json()["error"]
        assert (mine["message"], mine["field"]) == (theirs["message"], theirs["field"])
