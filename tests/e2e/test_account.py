"""Changing your password on the account page, in a real browser: a wrong current password
is refused beside its field; the right one changes it, keeps this session and signs out the
others."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Shots
from tests.support import LiveServer

pytestmark = pytest.mark.e2e

NEW = "a new root password"


def sign_in(browser: Any, base: str, password: str) -> tuple[Any, Any]:
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(ADMIN_EMAIL)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    return context, page


def test_change_password_form(browser: Any, server: tuple[LiveServer, str], shots: Shots) -> None:
    live, _ = server
    here, page = sign_in(browser, live.base_url, ADMIN_PASSWORD)
    phone, other = sign_in(browser, live.base_url, ADMIN_PASSWORD)
    try:
        page.wait_for_url(re.compile(r"/projects$"))
        page.goto("/account")
        assert "also signed in in 1 other session" in page.locator("main").inner_text()

        page.get_by_label("Current password").fill("not the password")
        page.get_by_label("New password", exact=True).fill(NEW)
        page.get_by_label("New password again").fill(NEW)
        page.get_by_role("button", name="Change password").click()
        error = page.locator("#current_password-error")
        error.wait_for()
        assert "your current password is wrong" in error.inner_text()
        assert page.get_by_label("Current password").get_attribute("aria-invalid") == "true"
        shots.take(page, "account-password-wrong")

        page.get_by_label("Current password").fill(ADMIN_PASSWORD)
        page.get_by_label("New password", exact=True).fill(NEW)
        page.get_by_label("New password again").fill(NEW)
        page.get_by_role("button", name="Change password").click()
        page.wait_for_url(re.compile(r"/account$"))
        flash = page.get_by_text("Password changed. Signed out of 1 other session")
        flash.wait_for()
        assert "This is your only session" in page.locator("main").inner_text()
        shots.take(page, "account-password-changed")

        # This session stays; the other browser is sent to sign in.
        page.goto("/projects")
        assert page.url.endswith("/projects")
        other.goto("/projects")
        assert "/login?next=" in other.url
    finally:
        here.close()
        phone.close()
    old, old_page = sign_in(browser, live.base_url, ADMIN_PASSWORD)
    try:
        old_page.locator("#password-error").wait_for()
        assert "wrong email or password" in old_page.locator("#password-error").inner_text()
    finally:
        old.close()
    fresh, fresh_page = sign_in(browser, live.base_url, NEW)
    try:
        fresh_page.wait_for_url(re.compile(r"/projects$"))
    finally:
        fresh.close()
