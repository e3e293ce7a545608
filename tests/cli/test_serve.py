"""`promptops serve` as a new user runs it: a subprocess in an empty folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.demo_server import grab as _grab
from tests.demo_server import serving
from tests.support import free_port


def _cli(url: str, key: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTOPS_")}
    env |= {"PROMPTOPS_BASE_URL": url, "PROMPTOPS_API_KEY": key}
    done = subprocess.run(
        [sys.executable, "-m", "promptops.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check:
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


def test_first_start_prints_working_keys_and_restart_is_idempotent(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serving(tmp_path, port) as (_, lines):
        assert f"PromptOps is starting on {url}" in lines
        admin = _grab(lines, "po_admin_")
        read_key = _grab(lines, "dev read key:")
        write_key = _grab(lines, "dev write key:")
        assert re.fullmatch(r"po_admin_[a-z0-9]{8}_[A-Za-z0-9]{40}", admin)
        r = httpx.get(
            f"{url}/v1/prompts/onboarding-email/active",
            headers={"Authorization": f"Bearer {read_key}"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 2
        assert r.json()["environment"] == "dev"
        projects = httpx.get(f"{url}/v1/projects", headers={"Authorization": f"Bearer {admin}"})
        assert [p["name"] for p in projects.json()] == ["Demo project"]
        # Keys are per environment: the printed staging and production write keys promote
        # and roll back there with the CLI, as the README shows.
        staging = _grab(lines, "staging write key:")
        production = _grab(lines, "production write key:")
        _cli(url, staging, "promote", "onboarding-email", "--to", "staging", "--version", "1")
        _cli(url, staging, "promote", "onboarding-email", "--to", "staging", "--from", "dev")
        _cli(url, production, "promote", "onboarding-email", "--to", "production", "--version", "1")
        _cli(url, staging, "rollback", "onboarding-email", "--env", "staging")
        refused = _cli(
            url,
            staging,
            "promote",
            "onboarding-email",
            "--to",
            "production",
            "--version",
            "2",
            check=False,
        )
        assert refused.returncode == 1, refused.stdout
        active = httpx.get(
            f"{url}/v1/prompts/onboarding-email/deployments",
            headers={"Authorization": f"Bearer {production}"},
        )
        assert active.status_code == 200, active.text
        envs = active.json()["environments"]
        assert envs["production"]["version"] == 1 and envs["staging"]["version"] == 1, envs
    assert (tmp_path / "promptops.db").exists()

    with serving(tmp_path, port) as (_, lines):
        text = "\n".join(lines)
        assert "po_admin_" not in text and "po_live_" not in text  # keys are shown once
        assert "demo:       project exists" in text
        # The keys from the first start still work; nothing was created twice.
        r = httpx.get(
            f"{url}/v1/prompts/onboarding-email/versions",
            headers={"Authorization": f"Bearer {write_key}"},
        )
        assert [v["version"] for v in r.json()["data"]] == [2, 1]
        projects = httpx.get(f"{url}/v1/projects", headers={"Authorization": f"Bearer {admin}"})
        assert len(projects.json()) == 1


def test_admin_key_from_environment_is_used_not_generated(tmp_path: Path) -> None:
    port = free_port()
    admin = "a-long-operator-chosen-admin-key-123456"
    with serving(tmp_path, port, "--admin-key", admin, "--no-demo") as (_, lines):
        text = "\n".join(lines)
        assert "admin key:  from PROMPTOPS_ADMIN_KEY" in text
        assert "po_admin_" not in text and "Demo project" not in text
        r = httpx.post(
            f"http://127.0.0.1:{port}/v1/projects",
            json={"name": "Ops"},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert r.status_code == 201


def test_production_mode_refuses_placeholder_admin_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTOPS_")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "promptops.cli.main",
            "serve",
            "--mode",
            "production",
            "--admin-key",
            "changeme",
            "--port",
            str(free_port()),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "placeholder" in proc.stderr
