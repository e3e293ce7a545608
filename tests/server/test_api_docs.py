"""/docs names only this server's own assets (no CDN), and those assets are served; there
is no /redoc (ReDoc would still load its logo from a CDN)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from promptops.server.app import DOCS_ASSETS


def test_docs_page_loads_its_assets_from_the_server(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200, r.text
    assert re.findall(r"https?://", r.text) == [], "/docs names another host"
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"'{DOCS_ASSETS}/{name}'" in r.text or f'"{DOCS_ASSETS}/{name}"' in r.text
        asset = client.get(f"{DOCS_ASSETS}/{name}")
        assert asset.status_code == 200 and len(asset.content) > 10_000
    spec = client.get("/openapi.json")
    assert spec.status_code == 200 and "/healthz" in spec.json()["paths"]
    assert client.get("/redoc").status_code == 404
