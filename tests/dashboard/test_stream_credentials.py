"""Only project API keys hold event streams (one environment's feed): a person's token or
session is refused, so key revocation is the whole of the stream's revocation path."""

from __future__ import annotations

from tests.dashboard.support import Person
from tests.support import Api, Project


def test_a_personal_token_cannot_open_the_stream(
    api: Api, people: dict[str, Person], project: Project
) -> None:
    for role in ("owner", "viewer"):
        r = api.http.get("/v1/stream", headers=people[role].headers(project.id))
        assert r.status_code == 403, r.text
        assert "project API key" in r.json()["error"]["message"]
