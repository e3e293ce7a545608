"""A snippet's page lists the prompts that include it."""

from __future__ import annotations

from typing import Any

from tests.dashboard.support import Person, Site
from tests.support import Api, Project


def test_a_snippets_page_lists_its_dependents(
    site: Site, people: dict[str, Person], project: Project, api: Api
) -> None:
    w = api.as_(project.key)
    for slug, text in (("tone", "calm"), ("greet", "Be {{> tone}}"), ("old", "{{> tone@1}}")):
        assert w.post("/v1/prompts", json={"slug": slug, "name": slug.title(), "type": "text"})
        r = w.post(f"/v1/prompts/{slug}/versions", json={"model": "m", "text": text})
        assert r.status_code == 201, r.text
    viewer = site.signed_in(people["viewer"])
    page = viewer.get(f"/p/{project.id}/prompts/tone").text
    section = page.split('id="dependents-h"')[1].split("</section>")[0]
    assert f'href="/p/{project.id}/prompts/greet"' in section
    greet = section.split("<code>greet</code>")[1].split("</tr>")[0]
    assert "v1" in greet and "pins" not in greet and "env-dev" in greet
    old = section.split("<code>old</code>")[1].split("</tr>")[0]
    assert "(pins v1)" in old
    lonely = viewer.get(f"/p/{project.id}/prompts/greet").text
    assert "No prompt includes greet yet" in lonely


def test_a_protected_environment_refuses_a_request_its_snippet_cannot_serve(
    api: Api, people: dict[str, Person], project: Project, protected: str
) -> None:
    """Refused before any change request is opened; once the snippet's request is
    approved, the dependent's can be requested and approved."""
    editor = people["editor"].headers(project.id)
    w = api.as_(project.key)
    for slug, text in (("tone", "calm"), ("greet", "Be {{> tone}}")):
        assert w.post("/v1/prompts", json={"slug": slug, "name": slug.title(), "type": "text"})
        assert w.post(f"/v1/prompts/{slug}/versions", json={"model": "m", "text": text})

    def promote(slug: str) -> Any:
        return api.http.post(
            f"/v1/prompts/{slug}/deployments/production", json={"version": 1}, headers=editor
        )

    def approve(request_id: int) -> Any:
        return api.http.post(
            f"/v1/change-requests/{request_id}/approve", headers=people["admin"].headers(project.id)
        )

    r = promote("greet")
    assert r.status_code == 409 and "'tone'" in r.json()["error"]["message"]
    pending = api.http.get("/v1/change-requests", params={"status": "pending"}, headers=editor)
    assert pending.json()["data"] == []
    tone = promote("tone")
    assert tone.status_code == 202, tone.text
    assert promote("greet").status_code == 409  # still only requested
    assert approve(tone.json()["id"]).status_code == 200
    greet = promote("greet")
    assert greet.status_code == 202, greet.text
    assert approve(greet.json()["id"]).status_code == 200
