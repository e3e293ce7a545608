"""Eval results in a real browser: the version page lists the latest result of each name
(with its run link) and whether each environment's required evals are met; the diff page
compares both versions' results side by side."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Shots
from tests.e2e.test_dashboard import sign_in
from tests.support import LiveServer

pytestmark = pytest.mark.e2e


def _seed(base: str, admin_key: str) -> str:
    admin = {"Authorization": f"Bearer {admin_key}"}
    r = httpx.post(f"{base}/v1/projects", json={"name": "Evals"}, headers=admin)
    assert r.status_code == 201, r.text
    project_id = r.json()["project"]["id"]
    key = {"Authorization": f"Bearer {r.json()['api_key']['key']}"}
    with httpx.Client(base_url=base, headers=key) as http:
        assert http.post("/v1/prompts", json={"slug": "reply", "name": "Reply"}).is_success
        for text in ("Hello {{name}}", "Hi {{name}}!"):
            body = {"user_template": text, "model": "gpt-4o-mini"}
            assert http.post("/v1/prompts/reply/versions", json=body).status_code == 201
        for version, name, score, passed in (
            (1, "quality", 0.61, False),
            (2, "quality", 0.93, True),
            (2, "safety", 0.5, False),
        ):
            r = http.post(
                f"/v1/prompts/reply/versions/{version}/evals",
                json={
                    "name": name,
                    "score": score,
                    "passed": passed,
                    "url": f"https://ci.example.com/runs/{version}",
                    "ci_run_id": f"run-{version}",
                },
            )
            assert r.status_code == 201, r.text
    r = httpx.put(
        f"{base}/v1/environments/production",
        params={"project_id": project_id},
        json={
            "required_evals": [
                {"name": "quality", "min_score": 0.9},
                {"name": "safety", "min_score": 0.4},
            ]
        },
        headers=admin,
    )
    assert r.status_code == 200, r.text
    return project_id


def test_version_and_diff_pages_show_eval_results(
    browser: Any, server: tuple[LiveServer, str], shots: Shots
) -> None:
    live, admin_key = server
    project_id = _seed(live.base_url, admin_key)
    page = sign_in(browser, live.base_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    try:
        page.goto(f"/p/{project_id}/prompts/reply/versions/2")
        rows = page.locator("table.evals tbody tr")
        assert rows.count() == 2
        quality, safety = (rows.nth(i).inner_text() for i in range(2))
        assert "quality" in quality and "0.93" in quality and "passed" in quality
        assert "safety" in safety and "0.5" in safety and "failed" in safety
        link = page.get_by_role("link", name="run-2").first
        assert link.get_attribute("href") == "https://ci.example.com/runs/2"
        gate = page.locator("p.gate").inner_text()
        assert "production" in gate and "missing: safety" in gate
        shots.take(
            page, "version-evals", element=page.locator("section", has=page.locator("#evals-h"))
        )

        page.goto(f"/p/{project_id}/prompts/reply/diff?a=1&b=2")
        table = page.locator("table.evals")
        assert table.locator("thead").inner_text().split() == ["Eval", "v1", "v2"]
        cells = [c.strip() for c in table.locator("tbody tr").first.inner_text().split("\t")]
        assert cells == ["quality", "0.61 failed", "0.93 passed"]
        second = table.locator("tbody tr").nth(1).inner_text()
        assert "safety" in second and "—" in second and "0.5 failed" in second
        shots.take(page, "diff-evals", element=table)
    except Exception:
        shots.take(page, "failure-evals")
        raise
    finally:
        page.context.close()
