"""A snippet's page lists the prompts that include it."""

from __future__ import annotations

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
