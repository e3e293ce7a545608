"""`prompts show|update`, `versions show|list` and `diff` against a live server: the human
output, the API's JSON with --json, clear errors (exit 1), and diff colour on terminals only."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from promptops.domain import versions
from promptops.domain.access import Actor
from tests.cli.test_commands import run
from tests.support import Api, Project


@dataclass
class Seeded:
    common: list[str]  # --url and the dev write key
    staging_key: str


@pytest.fixture
def seeded(server: str, api: Api, project: Project, admin_key: str) -> Seeded:
    """`greeting` v1 in staging, v2 in dev (auto), production empty."""
    api.new_prompt(project.key, "greeting", description="Says hello")
    api.new_version(
        project.key,
        system_prompt="You are kind.",
        user_template="Hello {{name}}",
        temperature=0.7,
        commit_message="first",
    )
    api.new_version(
        project.key,
        system_prompt="You are kind.",
        user_template="Hello {{name}}!\nWelcome to {{place}}.",
        temperature=0.2,
        max_tokens=300,
        metadata={"owner": "growth"},
        commit_message="second",
    )
    staging = api.new_key(admin_key, "staging", "write", project_id=project.id)
    r = api.as_(staging).post("/v1/prompts/greeting/deployments/staging", json={"version": 1})
    assert r.status_code == 200, r.text
    return Seeded(["--url", server, "--key", project.key], staging)


def test_prompts_show_prints_what_is_active_where(
    seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "prompts", "show", "greeting", *seeded.common)
    assert code == 0, err
    dev, staging, production = (
        out.split("\ndev: ")[1],
        out.split("\nstaging: ")[1],
        out.split("\nproduction: ")[1],
    )
    assert out.startswith("greeting: Greeting\ndescription: Says hello\nlatest version: 2\n")
    assert dev.startswith("v2 (deployed ") and "Welcome to {{place}}." in dev.split("staging:")[0]
    assert "temperature: 0.2  max_tokens: 300" in dev and "metadata: owner=growth" in dev
    assert staging.startswith("v1 (deployed ") and "    Hello {{name}}\n" in staging
    assert "temperature: 0.7  max_tokens: -" in staging and "Welcome" not in staging
    assert "system prompt:\n    You are kind." in staging
    assert production.strip() == "nothing deployed"


def test_prompts_show_json_is_the_apis_json(
    seeded: Seeded, api: Api, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "prompts", "show", "greeting", "--json", *seeded.common)
    assert code == 0
    data = json.loads(out)
    reader = api.as_(project.key)
    assert data["prompt"] == reader.get("/v1/prompts/greeting").json()
    assert (
        data["deployments"] == reader.get("/v1/prompts/greeting/deployments").json()["environments"]
    )
    assert data["active"]["dev"] == reader.get("/v1/prompts/greeting/versions/2").json()
    assert data["active"]["staging"] == reader.get("/v1/prompts/greeting/versions/1").json()
    assert data["active"]["production"] is None


def test_prompts_show_unknown_slug_is_a_clear_error(
    seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "prompts", "show", "nope", *seeded.common)
    assert (code, out) == (1, "")
    assert err.startswith("error: HTTP 404 (not found): ") and "nope" in err
    assert "Traceback" not in err


def test_prompts_update_changes_name_and_description(
    seeded: Seeded, api: Api, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "prompts", "update", "greeting", "--name", "Hello there", *seeded.common
    )
    assert code == 0
    assert out == "updated greeting\nname: Hello there\ndescription: Says hello\n"
    code, out, _ = run(
        capsys, "prompts", "update", "greeting", "--description", "", "--json", *seeded.common
    )
    assert code == 0
    assert json.loads(out) == api.as_(project.key).get("/v1/prompts/greeting").json()
    assert json.loads(out)["description"] is None and json.loads(out)["name"] == "Hello there"


def test_prompts_update_errors(seeded: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "prompts", "update", "greeting", *seeded.common)
    assert code == 1 and "nothing to change: pass --name and/or --description" in err
    code, _, err = run(capsys, "prompts", "update", "greeting", "--name", "", *seeded.common)
    assert code == 1 and "HTTP 422: --name: " in err, err
    code, _, err = run(capsys, "prompts", "update", "nope", "--name", "x", *seeded.common)
    assert code == 1 and "HTTP 404 (not found)" in err


def test_versions_show_by_number_or_environment(
    seeded: Seeded, api: Api, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "versions", "show", "greeting", "2", *seeded.common)
    assert code == 0
    assert out.startswith("greeting v2\ncommit_message: second\n")
    assert "variables: name,place\n" in out
    assert "template:\n  Hello {{name}}!\n  Welcome to {{place}}.\n" in out
    code, out, _ = run(capsys, "versions", "show", "greeting", "staging", "--json", *seeded.common)
    assert code == 0
    assert json.loads(out) == api.as_(project.key).get("/v1/prompts/greeting/versions/1").json()


def test_versions_show_errors(seeded: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "versions", "show", "greeting", "99", *seeded.common)
    assert (code, out) == (1, "")
    assert "not found" in err and "no version 99" in err and "Traceback" not in err
    code, _, err = run(capsys, "versions", "show", "greeting", "production", *seeded.common)
    assert code == 1 and "nothing is deployed in production for 'greeting'" in err
    with pytest.raises(SystemExit) as exc:
        run(capsys, "versions", "show", "greeting", "latest", *seeded.common)
    assert exc.value.code == 2
    assert "expected a version number (e.g. 3) or an environment" in capsys.readouterr().err


def test_versions_list_table_json_and_error(
    seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "versions", "list", "greeting", *seeded.common)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["VERSION", "MODEL", "TEMPERATURE"]
    assert [line.split()[0] for line in lines[1:]] == ["2", "1"]
    code, out, _ = run(capsys, "versions", "list", "greeting", "--json", *seeded.common)
    assert [v["version"] for v in json.loads(out)] == [2, 1]
    code, _, err = run(capsys, "versions", "list", "nope", *seeded.common)
    assert code == 1 and "not found" in err


EXPECTED_DIFF = """\
--- v1 (staging) user_template
+++ v2 (dev) user_template
@@ -1 +1,2 @@
-Hello {{name}}
+Hello {{name}}!
+Welcome to {{place}}.
--- v1 (staging) temperature
+++ v2 (dev) temperature
@@ -1 +1 @@
-0.7
+0.2
--- v1 (staging) max_tokens
+++ v2 (dev) max_tokens
@@ -1 +1 @@
-null
+300
--- v1 (staging) metadata
+++ v2 (dev) metadata
@@ -1 +1,3 @@
-{}
+{
+  "owner": "growth"
+}
--- v1 (staging) commit_message
+++ v2 (dev) commit_message
@@ -1 +1 @@
-first
+second
"""


def test_diff_of_environments_is_a_plain_unified_diff_off_a_terminal(
    seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "diff", "greeting", "staging", "dev", *seeded.common)
    assert code == 0, err
    assert out == EXPECTED_DIFF  # system_prompt and model are equal: not shown
    code, numbered, _ = run(capsys, "diff", "greeting", "1", "2", *seeded.common)
    assert numbered == EXPECTED_DIFF.replace(" (staging)", "").replace(" (dev)", "")
    code, out, _ = run(capsys, "diff", "greeting", "2", "dev", *seeded.common)
    assert (code, out) == (0, "greeting: v2 and v2 (dev) do not differ\n")


def test_diff_json_carries_both_versions_and_the_changed_fields(
    seeded: Seeded, api: Api, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "diff", "greeting", "1", "2", "--json", *seeded.common)
    assert code == 0
    data = json.loads(out)
    reader = api.as_(project.key)
    assert data["from"] == reader.get("/v1/prompts/greeting/versions/1").json()
    assert data["to"] == reader.get("/v1/prompts/greeting/versions/2").json()
    assert data["changed"] == [
        "user_template",
        "temperature",
        "max_tokens",
        "metadata",
        "commit_message",
    ]


def test_diff_errors(seeded: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "diff", "greeting", "1", "7", *seeded.common)
    assert (code, out) == (1, "") and "no version 7" in err
    code, _, err = run(capsys, "diff", "greeting", "production", "dev", *seeded.common)
    assert code == 1 and "nothing is deployed in production" in err
    with pytest.raises(SystemExit) as exc:
        run(capsys, "diff", "greeting", "1", "prod", *seeded.common)
    assert exc.value.code == 2


def _on_a_terminal(argv: list[str], **env: str) -> str:
    """Run the CLI with stdout on a pseudo-terminal (a real tty); return what it wrote."""
    clean = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR",)}
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "promptops.cli.main", *argv],
        stdout=slave,
        stderr=subprocess.PIPE,
        env={**clean, **env},
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    return b"".join(chunks).decode().replace("\r\n", "\n")


RED, GREEN, RESET = "\033[31m", "\033[32m", "\033[0m"


def test_diff_is_coloured_on_a_terminal_unless_no_color(seeded: Seeded) -> None:
    argv = ["diff", "greeting", "1", "2", *seeded.common]
    coloured = _on_a_terminal(argv)
    assert f"{RED}-Hello {{{{name}}}}{RESET}\n" in coloured
    assert f"{GREEN}+Welcome to {{{{place}}}}.{RESET}\n" in coloured
    assert f"{RED}-0.7{RESET}\n{GREEN}+0.2{RESET}\n" in coloured
    assert "\033[" not in coloured.replace("\033[1m", "").replace("\033[36m", "").replace(
        RED, ""
    ).replace(GREEN, "").replace(RESET, "")
    plain = EXPECTED_DIFF.replace(" (staging)", "").replace(" (dev)", "")
    assert _on_a_terminal(argv, NO_COLOR="1") == plain
    assert _on_a_terminal(argv, NO_COLOR="") == coloured  # empty NO_COLOR means unset
    json_out = _on_a_terminal([*argv, "--json"])
    assert "\033[" not in json_out and json.loads(json_out)["changed"][0] == "user_template"


def test_versions_list_reads_every_page(
    server: str, app: Any, api: Api, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    api.new_prompt(project.key, "long")
    # 201 versions (the CLI asks for pages of 200), seeded through the domain layer in one
    # transaction: what is under test is the CLI's paging, not 201 HTTP round trips.
    actor = Actor(label=project.prefix, role="write", project_id=project.id, environment="dev")
    with app.state.db.write() as session:
        for n in range(201):
            versions.create_version(
                session,
                actor,
                "long",
                user_template=f"Hello {{{{name}}}} ({n + 1})",
                model="gpt-4o-mini",
                commit_message=f"v{n + 1}",
            )
    code, out, _ = run(
        capsys, "versions", "list", "long", "--json", "--url", server, "--key", project.key
    )
    assert code == 0 and [v["version"] for v in json.loads(out)] == list(range(201, 0, -1))


def test_versions_export_round_trips_through_create(
    seeded: Seeded, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "versions", "export", "greeting", "dev", *seeded.common)
    assert code == 0, err
    assert json.loads(out) == {
        "system_prompt": "You are kind.",
        "user_template": "Hello {{name}}!\nWelcome to {{place}}.",
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "max_tokens": 300,
        "metadata": {"owner": "growth"},
        "commit_message": "second",
        "author": json.loads(out)["author"],
    }
    # Pushing dev's own export back creates nothing; pushing v1's makes v3 with v1's content.
    dev_file, v1_file = tmp_path / "dev.json", tmp_path / "v1.json"
    for ref, path in (("dev", dev_file), ("1", v1_file)):
        code, out, err = run(
            capsys, "versions", "export", "greeting", ref, "-o", str(path), *seeded.common
        )
        assert (code, out.strip()) == (0, f"wrote {path}"), err
    code, out, err = run(
        capsys, "versions", "create", "greeting", "-f", str(dev_file), "--json", *seeded.common
    )
    assert (code, json.loads(out)["version"], json.loads(out)["created"]) == (0, 2, False)
    code, out, err = run(
        capsys, "versions", "create", "greeting", "-f", str(v1_file), "--json", *seeded.common
    )
    made = json.loads(out)
    assert (code, made["version"], made["user_template"], made["max_tokens"]) == (
        0,
        3,
        "Hello {{name}}",
        None,
    )
    # An existing file is kept unless --force.
    code, _, err = run(
        capsys, "versions", "export", "greeting", "1", "-o", str(dev_file), *seeded.common
    )
    assert code == 1 and "exists; --force overwrites it" in err
    code, _, err = run(
        capsys,
        "versions",
        "export",
        "greeting",
        "1",
        "-o",
        str(dev_file),
        "--force",
        *seeded.common,
    )
    assert code == 0 and json.loads(dev_file.read_text()) == json.loads(v1_file.read_text())


def test_versions_export_yaml(
    seeded: Seeded, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    yaml = pytest.importorskip("yaml")
    path = tmp_path / "v.yaml"
    code, _, err = run(
        capsys, "versions", "export", "greeting", "2", "-o", str(path), *seeded.common
    )
    assert code == 0, err
    assert yaml.safe_load(path.read_text())["user_template"] == (
        "Hello {{name}}!\nWelcome to {{place}}."
    )
    code, _, err = run(capsys, "versions", "export", "greeting", "9", *seeded.common)
    assert code == 1 and "has no version 9" in err
