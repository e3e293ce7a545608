"""The pull/merge-request bridge end to end, on GitHub and GitLab (fake REST APIs driven by
PyGithub and python-gitlab) and SQLite and PostgreSQL: a live PromptOps server sends its
signed webhooks to a live bridge, which pushes to a real bare git repository.

One change made through the API gives exactly one branch (the file ``sync pull`` writes,
the version's author, message and trailer) and one pull/merge request; a redelivery and a
second event for the same version update that request; a forge outage is answered 5xx and
redelivered until it passes; a version pushed from git (``metadata.git``) comes back as
nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from promptops.cli.main import main as cli
from promptops.server.config import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.fakes.forges import FakeGitHub, FakeGitLab
from tests.gitops.bridge_support import (
    bare_repo,
    branches,
    commits,
    forge_for,
    git,
    running_bridge,
)
from tests.support import Api, Project, free_port, live_server
from tests.webhooks.helpers import deliveries, wait_until

MESSAGES = [
    {"role": "system", "content": "You greet people.\nKeep it short."},
    {"role": "user", "content": "Say hello to {{name}}"},
]


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Webhooks to 127.0.0.1, retried at once; the embedded worker polls often."""
    return Settings(
        database_url=database_url,
        bcrypt_rounds=4,
        demo=False,
        secret_key=TEST_SECRET_KEY,
        webhook_allow_private=True,
        webhook_retry_schedule=[0.1] * 8,
        webhook_retry_jitter=0.0,
        webhook_timeout_seconds=10.0,
        webhook_disable_after_failures=50,
        webhook_disable_after_seconds=0.0,
        worker_poll_seconds=0.2,
    )


@pytest.fixture
def promptops(app: Any) -> Iterator[str]:
    with live_server(app) as srv:
        yield srv.base_url


@pytest.fixture
def api(promptops: str) -> Iterator[Api]:
    with httpx.Client(base_url=promptops, timeout=30) as http:
        yield Api(http)


@pytest.fixture
def project(api: Api, admin_key: str) -> Project:
    return api.new_project(admin_key)


def _settled(api: Api, admin: str, endpoint: str, project_id: str) -> list[dict[str, Any]]:
    """Every delivery so far, once none is pending (waits)."""

    def check() -> list[dict[str, Any]] | None:
        rows = deliveries(api, admin, endpoint, project_id=project_id)
        return rows if rows and all(d["status"] != "pending" for d in rows) else None

    return wait_until(check, 30.0, "settled deliveries")


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_dashboard_change_becomes_one_request_and_git_changes_do_not_come_back(
    provider: str,
    api: Api,
    project: Project,
    admin_key: str,
    promptops: str,
    tmp_path: Path,
) -> None:
    bare = bare_repo(tmp_path)
    forge: FakeGitHub | FakeGitLab = forge_for(provider, bare)
    read_key = api.new_key(admin_key, "dev", "read", project_id=project.id)
    port = free_port()
    scope = {"project_id": project.id}
    endpoint = api.as_(admin_key).post(
        "/v1/webhooks",
        json={
            "url": f"http://127.0.0.1:{port}/webhooks/promptops",
            "environments": ["dev", "staging"],
            **scope,
        },
    )
    assert endpoint.status_code == 201, endpoint.text
    hook = endpoint.json()

    def settled() -> list[dict[str, Any]]:
        return _settled(api, admin_key, hook["id"], project.id)

    with (
        live_server(forge.app) as forge_server,
        running_bridge(
            provider=provider,
            bare=bare,
            work_dir=tmp_path / "work",
            forge=forge,
            forge_url=forge_server.base_url,
            secret=hook["secret"],
            promptops_url=promptops,
            key=read_key,
            port=port,
        ),
    ):
        forge.base_url = forge_server.base_url

        # -- a change made in PromptOps: one branch, one request ---------------------------
        api.new_prompt(project.key, "greeting", description="Says hello")
        api.new_version(
            project.key,
            "greeting",
            messages=MESSAGES,
            commit_message="Friendlier greeting\n\nShorter system prompt.",
            author="user:ada@example.com",
        )
        rows = settled()
        assert {d["status"] for d in rows} == {"succeeded"}, rows
        assert branches(bare) == {"main", "promptops/greeting-v1"}
        [review] = forge.reviews()
        assert (review["branch"], review["base"], review["state"]) == (
            "promptops/greeting-v1",
            "main",
            "open",
        )
        assert review["title"] == "PromptOps: greeting v1: Friendlier greeting"
        body = review["body"]
        link = f"https://promptops.example/p/{project.id}/prompts/greeting/versions/1"
        assert link in body and "Active in: dev." in body
        assert "+slug: greeting\n" in body and "+++ b/prompts/greeting.yaml" in body

        # the file is byte for byte what `promptops sync pull` writes
        pulled = tmp_path / "pulled"
        code = cli(["sync", "pull", "--dir", str(pulled), "--url", promptops,
                    "--key", project.key, "--json"])  # fmt: skip
        assert code == 0
        on_branch = git(bare, "show", "promptops/greeting-v1:prompts/greeting.yaml")
        assert on_branch == (pulled / "greeting.yaml").read_text()
        v1 = api.as_(project.key).get("/v1/prompts/greeting/versions/1").json()
        assert commits(bare, "promptops/greeting-v1") == [
            {
                "author": "ada",
                "email": "ada@example.com",
                "date": v1["created_at"][:19] + "+00:00",  # when the version was made
                "committer": "PromptOps bridge",
                "subject": "Friendlier greeting",
                "trailer": "greeting@1",
            }
        ]
        head = git(bare, "rev-parse", "promptops/greeting-v1")

        # -- the same webhook delivered again: answered, nothing new -----------------------
        made = next(d for d in rows if d["event_type"] == "prompt_template_version_created")
        again = api.as_(admin_key).post(
            f"/v1/webhooks/{hook['id']}/deliveries/{made['id']}/redeliver", params=scope
        )
        assert again.status_code == 202, again.text
        count = len(rows)
        rows = wait_until(lambda: (r := settled()) and len(r) > count and r, what="redelivery")
        assert {d["status"] for d in rows} == {"succeeded"}
        assert len(forge.reviews()) == 1
        assert git(bare, "rev-parse", "promptops/greeting-v1") == head

        # -- a second event for the same version: the same request, updated ---------------
        staging = api.new_key(admin_key, "staging", "write", project_id=project.id)
        r = api.as_(staging).post("/v1/prompts/greeting/deployments/staging", json={"version": 1})
        assert r.status_code in (200, 201), r.text
        wait_until(
            lambda: "Active in: dev, staging." in forge.reviews()[0]["body"],
            what="the request updated with staging",
        )
        assert len(forge.reviews()) == 1
        assert git(bare, "rev-parse", "promptops/greeting-v1") == head  # no second commit
        settled()

        # -- a forge outage: answered 502, redelivered until it passes --------------------
        forge.fail_next(2)
        api.new_version(project.key, "greeting", messages=MESSAGES, temperature=0.3)
        rows = settled()
        assert {d["status"] for d in rows} == {"succeeded"}
        codes = [
            a["status_code"]
            for d in rows
            for a in api.as_(admin_key)
            .get(f"/v1/webhooks/{hook['id']}/deliveries/{d['id']}", params=scope)
            .json()["attempts"]
        ]
        assert codes.count(502) >= 1, codes
        assert branches(bare) == {"main", "promptops/greeting-v1", "promptops/greeting-v2"}
        assert sorted(r["branch"] for r in forge.reviews()) == [
            "promptops/greeting-v1",
            "promptops/greeting-v2",
        ]
        [v2] = commits(bare, "promptops/greeting-v2")
        assert v2["subject"] == "greeting: version 2 from PromptOps"  # no commit message
        assert v2["trailer"] == "greeting@2"

        # -- a version pushed from git (sync push in a clone): nothing comes back ----------
        clone = tmp_path / "clone"
        git(tmp_path, "clone", "-q", str(bare), str(clone))
        text = (pulled / "greeting.yaml").read_text().replace("Keep it short.", "Be brief.")
        (clone / "prompts" / "greeting.yaml").write_text(text)
        git(clone, "add", ".")
        git(clone, "commit", "-q", "-m", "Brief greeting")
        git(clone, "push", "-q", "origin", "HEAD:main")
        before = len(forge.requests)
        code = cli(["sync", "push", "--dir", str(clone / "prompts"), "--url", promptops,
                    "--key", project.key, "--json"])  # fmt: skip
        assert code == 0
        v3 = api.as_(project.key).get("/v1/prompts/greeting/versions/3").json()
        assert v3["metadata"]["git"]["path"] == "prompts/greeting.yaml"
        rows = settled()
        assert {d["status"] for d in rows} == {"succeeded"}
        assert "promptops/greeting-v3" not in branches(bare)
        assert len(forge.reviews()) == 2
        assert len(forge.requests) == before  # the forge was not even asked

        # -- a request closed without merging is not reopened -----------------------------
        forge.close(1)
        r = api.as_(project.key).post("/v1/prompts/greeting/deployments/dev", json={"version": 1})
        assert r.status_code in (200, 201), r.text
        before = len(forge.requests)
        rows = settled()
        assert {d["status"] for d in rows} == {"succeeded"}
        assert [(x["number"], x["state"]) for x in forge.reviews()] == [(1, "closed"), (2, "open")]
        assert [q.method for q in forge.requests[before:]] == ["GET"]  # looked up, no more
        assert git(bare, "rev-parse", "promptops/greeting-v1") == head
