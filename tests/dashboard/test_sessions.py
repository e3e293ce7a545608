"""Signing in and out: cookies, server-side sessions, expiry, rate limiting, redirects."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from promptops.db.models import AuditEvent, UserSession, utcnow
from tests.dashboard.support import Person, Site, csrf_of
from tests.support import Project


def test_sign_in_sets_a_protected_cookie_and_stores_only_its_hash(
    app: Any, site: Site, people: dict[str, Person]
) -> None:
    b = site.browser()
    r = b.login(people["editor"].email.upper(), people["editor"].password)  # email: any case
    assert r.status_code == 303 and r.headers["location"] == "/projects"
    cookie = r.headers["set-cookie"]
    assert "promptops_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    token = b.session_cookie
    assert token and len(token) >= 40
    with app.state.db.read() as session:
        rows = session.scalars(select(UserSession)).all()
        events = session.scalars(select(AuditEvent.action)).all()
    assert [r.token_hash for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert "user.signed_in" in events
    page = b.get("/projects")
    assert page.status_code == 200 and "editor@example.com" in page.text


@pytest.mark.parametrize("email_case", ["wrong-password", "unknown-email"])
def test_wrong_credentials_are_refused_beside_the_field(
    site: Site, people: dict[str, Person], email_case: str
) -> None:
    b = site.browser()
    email = "editor@example.com" if email_case == "wrong-password" else "nobody@example.com"
    r = b.login(email, "not the password")
    assert r.status_code == 401
    assert 'id="password-error"' in r.text and "wrong email or password" in r.text
    assert 'aria-invalid="true"' in r.text
    assert b.session_cookie is None
    assert b.get("/projects").status_code == 303


def test_secure_cookie_follows_the_setting(app: Any, site: Site, people: dict[str, Person]) -> None:
    https = site.browser("https://testserver")
    r = https.login(people["viewer"].email, people["viewer"].password)
    assert "Secure" in r.headers["set-cookie"]  # auto: https → Secure
    app.state.settings.cookie_secure = "always"  # e.g. behind a TLS-terminating proxy
    try:
        r = site.browser().get("/login")  # plain http, yet the cookie is marked Secure
        assert "Secure" in r.headers["set-cookie"]
    finally:
        app.state.settings.cookie_secure = "auto"


def test_login_form_needs_its_csrf_token(site: Site, people: dict[str, Person]) -> None:
    b = site.browser()
    b.get("/login")
    data = {"email": people["editor"].email, "password": people["editor"].password}
    assert b.post("/login", data, csrf=False).status_code == 403
    assert b.post("/login", {**data, "csrf_token": "forged"}, csrf=False).status_code == 403
    assert b.session_cookie is None


def test_logout_ends_the_session_on_the_server(
    app: Any, site: Site, people: dict[str, Person], project: Project
) -> None:
    b = site.signed_in(people["editor"])
    stolen = b.session_cookie
    r = b.post("/logout")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    with app.state.db.read() as session:
        assert session.scalars(select(UserSession)).all() == []
    # The old cookie value is worthless now, for pages and for the API.
    thief = site.browser()
    thief.http.cookies.set("promptops_session", stolen or "")
    assert thief.get("/projects").status_code == 303
    r = thief.get("/v1/prompts", headers={"X-PromptOps-Project": project.id})
    assert r.status_code == 401 and "sign in again" in r.json()["error"]["message"]


def test_sessions_expire(app: Any, site: Site, people: dict[str, Person]) -> None:
    b = site.signed_in(people["editor"])
    assert b.get("/projects").status_code == 200
    # Moving the clock past PROMPTOPS_SESSION_HOURS ends it ...
    hours = app.state.settings.session_hours
    app.state.users.now = lambda: utcnow() + timedelta(hours=hours, minutes=1)
    try:
        r = b.get("/projects")
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    finally:
        app.state.users.now = utcnow
    assert b.get("/projects").status_code == 200
    # ... and so does an expiry time in the past (e.g. set by another process).
    with app.state.db.write() as session:
        session.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert b.get("/projects").status_code == 303


def test_failed_sign_ins_are_rate_limited(app: Any, site: Site, people: dict[str, Person]) -> None:
    b = site.browser()
    email = people["editor"].email
    limit = app.state.settings.login_max_failures
    for _ in range(limit):
        assert b.login(email, "guess").status_code == 401
    # Now even the right password is refused, with a clear message beside the email field.
    r = b.login(email, people["editor"].password)
    assert r.status_code == 429
    assert "too many failed sign-in attempts" in r.text and 'id="email-error"' in r.text
    assert 0 < int(r.headers["retry-after"]) <= app.state.settings.login_window_seconds
    assert b.session_cookie is None
    # Other emails are not locked out, and the window passes.
    assert b.login(people["viewer"].email, people["viewer"].password).status_code == 303
    limiter = app.state.users.limiter
    now = limiter.clock()
    limiter.clock = lambda: now + app.state.settings.login_window_seconds + 1
    assert site.browser().login(email, people["editor"].password).status_code == 303


def test_pages_redirect_to_sign_in_and_back(
    site: Site, people: dict[str, Person], project: Project
) -> None:
    b = site.browser()
    r = b.get(f"/p/{project.id}/prompts?q=x")
    assert r.status_code == 303
    assert r.headers["location"] == f"/login?next=%2Fp%2F{project.id}%2Fprompts%3Fq%3Dx"
    page = b.get(r.headers["location"])
    assert f'value="/p/{project.id}/prompts?q=x"' in page.text
    r = b.http.post(
        "/login",
        data={
            "email": people["viewer"].email,
            "password": people["viewer"].password,
            "csrf_token": csrf_of(page.text),
            "next": f"/p/{project.id}/prompts?q=x",
        },
    )
    assert r.headers["location"] == f"/p/{project.id}/prompts?q=x"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil"])
def test_sign_in_never_redirects_off_site(
    site: Site, people: dict[str, Person], target: str
) -> None:
    b = site.browser()
    page = b.get("/login")
    r = b.http.post(
        "/login",
        data={
            "email": people["viewer"].email,
            "password": people["viewer"].password,
            "csrf_token": csrf_of(page.text),
            "next": target,
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/projects"


def test_pages_send_security_headers(site: Site, people: dict[str, Person]) -> None:
    r = site.signed_in(people["viewer"]).get("/projects")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"
