"""The API docs work on an air-gapped install: /docs (Swagger UI) renders in a real Chromium
with every request that does not go to the server itself aborted."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support import LiveServer

pytestmark = pytest.mark.e2e


def offline_page(browser: Any, base: str) -> tuple[Any, Any, list[str], list[str]]:
    """A page that may only reach 127.0.0.1: (context, page, urls asked for, urls aborted)."""
    context = browser.new_context(base_url=base)
    context.set_default_timeout(15_000)
    asked: list[str] = []
    aborted: list[str] = []

    def gate(route: Any) -> None:
        url = route.request.url
        asked.append(url)
        if urlsplit(url).hostname == "127.0.0.1":
            route.continue_()
        else:
            aborted.append(url)
            route.abort()

    context.route("**/*", gate)
    return context, context.new_page(), asked, aborted


def test_swagger_ui_renders_with_the_network_off(
    browser: Any, server: tuple[LiveServer, str]
) -> None:
    live, _ = server
    context, page, asked, aborted = offline_page(browser, live.base_url)
    try:
        page.goto("/docs")
        # The operations come from /openapi.json, drawn by the locally served Swagger UI.
        healthz = page.locator(".opblock .opblock-summary-path[data-path='/healthz']")
        healthz.wait_for()
        assert page.locator(".opblock").count() > 20
        assert page.locator(".opblock-summary-path[data-path='/v1/projects']").count() >= 1
    finally:
        context.close()
    assert aborted == []  # nothing tried to leave the machine (no CDN, no fonts)
    assert any(u.endswith("/docs-assets/swagger-ui-bundle.js") for u in asked), asked
    assert any(u.endswith("/openapi.json") for u in asked), asked
