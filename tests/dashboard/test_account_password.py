"""The account page: change your password (current one required), sign out other sessions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from promptops.db.models import AuditEvent, UserSession
from tests.dashboard.support import Browser, Person, Site

NEW = "a brand new password"


def change(b: Browser, current: str, new: str = NEW, confirm: str | None = None) -> Any:
    return b.post(
        "/account/password",
        {
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


def signed_in(b: Browser) -> bool:
    r = b.get("/account")
    assert r.status_code in (200, 303), r.text
    return r.status_code == 200


def test_wrong_current_password_is_refused_beside_the_field(
    app: Any, site: Site, people: dict[str, Person]
) -> None:
    editor = people["editor"]
    b, other = site.signed_in(editor), site.signed_in(editor)
    r = change(b, "not my password")
    assert r.status_code == 401
    assert 'id="current_password-error"' in r.text
    assert "your current password is wrong; nothing was changed" in r.text
    assert 'aria-invalid="true"' in r.text
    # Nothing changed: both sessions live, the old password still signs in, the new one not.
    assert signed_in(b) and signed_in(other)
    assert site.browser().login(editor.email, NEW).status_code == 401
    assert site.browser().login(editor.email, editor.password).status_code == 303


def test_new_password_rules_and_confirmation(site: Site, people: dict[str, Person]) -> None:
    editor = people["editor"]
    b = site.signed_in(editor)
    r = change(b, editor.password, "short")
    assert r.status_code == 422
    assert 'id="new_password-error"' in r.text and "at least 8 characters" in r.text
    r = change(b, editor.password, NEW, confirm=NEW + "x")
    assert r.status_code == 422
    assert 'id="confirm_password-error"' in r.text and "the two new passwords differ" in r.text
    assert site.browser().login(editor.email, editor.password).status_code == 303


def test_change_password_signs_out_other_sessions_and_keeps_this_one(
    app: Any, site: Site, people: dict[str, Person]
) -> None:
    editor, viewer = people["editor"], people["viewer"]
    here, phone, laptop = (site.signed_in(editor) for _ in range(3))
    bystander = site.signed_in(viewer)
    page = here.get("/account")
    assert "also signed in in 2 other sessions" in page.text
    r = change(here, editor.password)
    assert r.status_code == 303 and r.headers["location"] == "/account"
    page = here.get("/account")
    assert page.status_code == 200
    assert "Password changed. Signed out of 2 other sessions" in page.text
    assert "This is your only session" in page.text
    assert not signed_in(phone) and not signed_in(laptop)
    assert signed_in(bystander)  # another user's session is untouched
    assert site.browser().login(editor.email, editor.password).status_code == 401
    assert site.browser().login(editor.email, NEW).status_code == 303
    # Personal tokens are not sessions: they keep working.
    assert here.get("/v1/me", headers=editor.headers()).status_code == 200
    with app.state.db.read() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.password_changed")
        ).one()
    assert (event.actor, event.target) == ("user:editor@example.com", "editor@example.com")
    assert event.after == {"sessions_ended": 2}


def test_sign_out_other_sessions(app: Any, site: Site, people: dict[str, Person]) -> None:
    editor = people["editor"]
    here, phone = site.signed_in(editor), site.signed_in(editor)
    kept = here.session_cookie
    r = here.post("/account/sessions/sign-out-others")
    assert r.status_code == 303
    page = here.get("/account")
    assert "Signed out of 1 other session; this one stays signed in." in page.text
    assert not signed_in(phone) and signed_in(here)
    assert here.session_cookie == kept
    with app.state.db.read() as session:
        assert len(session.scalars(select(UserSession)).all()) == 1
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "user.signed_out_others" in actions
    # The password is unchanged.
    assert site.browser().login(editor.email, editor.password).status_code == 303


def test_account_forms_need_the_csrf_token(site: Site, people: dict[str, Person]) -> None:
    editor = people["editor"]
    b, phone = site.signed_in(editor), site.signed_in(editor)
    data = {"current_password": editor.password, "new_password": NEW, "confirm_password": NEW}
    assert b.post("/account/password", data, csrf=False).status_code == 403
    r = b.post("/account/sessions/sign-out-others", {"csrf_token": "forged"})
    assert r.status_code == 403
    assert signed_in(phone)
    assert site.browser().login(editor.email, editor.password).status_code == 303


def test_wrong_current_passwords_are_rate_limited(
    app: Any, site: Site, people: dict[str, Person]
) -> None:
    editor = people["editor"]
    b = site.signed_in(editor)
    for _ in range(app.state.settings.login_max_failures):
        assert change(b, "guess").status_code == 401
    r = change(b, editor.password)  # even the right one, for a while
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "too many wrong current passwords" in r.text
    assert site.browser().login(editor.email, NEW).status_code == 401
    # Signing in is a bucket of its own: not locked out by these.
    assert site.browser().login(editor.email, editor.password).status_code == 303
