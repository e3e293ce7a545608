"""Helpers for dashboard tests: people, and signed-in browsers (a cookie jar each)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient

from promptops.server.user_auth import PROJECT_HEADER

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Person:
    email: str
    password: str
    token: str  # a personal API token
    user_id: int

    def headers(self, project_id: str | None = None) -> dict[str, str]:
        """API headers acting as this person (in ``project_id``)."""
        out = {"Authorization": f"Bearer {self.token}"}
        if project_id is not None:
            out[PROJECT_HEADER] = project_id
        return out


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1)


class Browser:
    """A TestClient with its own cookies, signed in (or not) as one person."""

    def __init__(self, app: Any, base_url: str = "http://testserver") -> None:
        self.http = TestClient(app, base_url=base_url, follow_redirects=False)
        self.csrf: str | None = None

    def login(self, email: str, password: str) -> httpx.Response:
        page = self.http.get("/login")
        assert page.status_code == 200, page.text
        r = self.http.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
        )
        if r.status_code == 303:
            self.csrf = csrf_of(self.http.get("/account").text)
        return r

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.http.get(url, **kw)

    def post(
        self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kw: Any
    ) -> httpx.Response:
        body = dict(data or {})
        if csrf:
            assert self.csrf, "sign in first"
            body.setdefault("csrf_token", self.csrf)
        return self.http.post(url, data=body, **kw)

    @property
    def session_cookie(self) -> str | None:
        return self.http.cookies.get("promptops_session")

    def close(self) -> None:
        self.http.close()


class Site:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.browsers: list[Browser] = []

    def browser(self, base_url: str = "http://testserver") -> Browser:
        b = Browser(self.app, base_url)
        self.browsers.append(b)
        return b

    def signed_in(self, person: Any) -> Browser:
        b = self.browser()
        r = b.login(person.email, person.password)
        assert r.status_code == 303, r.text
        return b

    def close(self) -> None:
        for b in self.browsers:
            b.close()
