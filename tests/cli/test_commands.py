"""The client commands against a live server: output, errors, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from promptops.cli.main import main
from tests.support import Api, Project


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_publish_promote_rollback_history(
    server: str, api: Api, project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--url", server, "--key", project.key]
    code, out, _ = run(capsys, "prompts", "create", "support-reply", *common)
    assert code == 0 and json.loads(out)["slug"] == "support-reply"
    spec = tmp_path / "v.json"
    spec.write_text(json.dumps({"user_template": "Answer {{question}}", "model": "gpt-4o"}))
    code, out, _ = run(
        capsys,
        "versions",
        "create",
        "support-reply",
        "-f",
        str(spec),
        "-m",
        "first",
        "--json",
        *common,
    )
    assert code == 0
    assert json.loads(out)["version"] == 1 and json.loads(out)["commit_message"] == "first"
    spec.write_text(json.dumps({"user_template": "Answer: {{question}}", "model": "gpt-4o"}))
    run(capsys, "versions", "create", "support-reply", "-f", str(spec), *common)

    code, out, _ = run(capsys, "rollback", "support-reply", "--env", "dev", *common)
    assert code == 0 and json.loads(out)["version"] == 1
    code, out, _ = run(capsys, "history", "support-reply", "--env", "dev", "--json", *common)
    assert [(h["action"], h["version"]) for h in json.loads(out)] == [
        ("rollback", 1),
        ("auto", 2),
        ("auto", 1),
    ]
    code, out, _ = run(capsys, "promote", "support-reply", "--to", "dev", "--version", "2", *common)
    assert code == 0 and json.loads(out)["version"] == 2
    code, out, _ = run(capsys, "prompts", "list", *common)
    assert code == 0
    assert "support-reply" in out and "dev=2 staging=- production=-" in out


def test_errors_are_clear_and_exit_non_zero(
    server: str, project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--url", server, "--key", project.key]
    code, _, err = run(capsys, "promote", "nope", "--to", "production", "--version", "1", *common)
    assert code == 1 and "HTTP 403" in err and "production" in err

    bad = tmp_path / "bad.json"
    bad.write_text('{"user_template": "Hi {{name}", "model": "m"}')
    code, _, err = run(capsys, "versions", "create", "x", "-f", str(bad), *common)
    assert code == 1 and "line 1, column 4" in err and "user_template" in err

    bad.write_text('{"user_template": "Hi", "model": "m", "temprature": 1}')
    code, _, err = run(capsys, "versions", "create", "x", "-f", str(bad), *common)
    assert code == 1 and "unknown field(s) temprature" in err

    bad.write_text("{not json")
    code, _, err = run(capsys, "versions", "create", "x", "-f", str(bad), *common)
    assert code == 1 and "invalid JSON at line 1" in err

    code, _, err = run(
        capsys, "versions", "create", "x", "-f", str(tmp_path / "missing.json"), *common
    )
    assert code == 1 and "cannot read" in err

    code, _, err = run(capsys, "prompts", "list", "--url", server, "--key", "po_live_bad")
    assert code == 1 and "HTTP 401" in err

    code, _, err = run(capsys, "prompts", "list", "--url", "http://127.0.0.1:9", "--key", "k")
    assert code == 1 and "cannot reach" in err

    with pytest.raises(SystemExit) as exc:
        main(["promote", "x", "--to", "nowhere"])
    assert exc.value.code == 2


def test_keys_create_list_revoke(
    server: str, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--url", server, "--key", project.key]
    code, out, _ = run(
        capsys, "keys", "create", "--env", "dev", "--role", "read", "--name", "web", *common
    )
    created = json.loads(out)
    assert code == 0 and created["key"].startswith(created["prefix"] + "_")
    code, out, _ = run(capsys, "keys", "list", *common)
    assert created["prefix"] in out and created["key"] not in out
    code, out, _ = run(capsys, "keys", "revoke", created["prefix"], *common)
    assert code == 0 and json.loads(out)["revoked_at"]
    code, _, err = run(capsys, "prompts", "list", "--url", server, "--key", created["key"])
    assert code == 1 and "revoked" in err


def test_revoke_takes_a_whole_key_and_says_when_it_was_already_revoked(
    server: str, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--url", server, "--key", project.key]
    _, out, _ = run(capsys, "keys", "create", "--env", "dev", "--role", "read", *common)
    whole = json.loads(out)["key"]
    code, out, _ = run(capsys, "keys", "revoke", whole, *common)
    assert code == 0 and json.loads(out)["prefix"] == "_".join(whole.split("_")[:3])
    assert json.loads(out)["revoked_at"]
    code, _, err = run(capsys, "keys", "revoke", whole, *common)
    assert code == 0 and "already revoked" in err
    code, _, err = run(capsys, "keys", "revoke", "ab12cd34", *common)
    assert code == 1 and "pass the key's prefix, e.g. po_live_ab12cd34" in err


def test_errors_name_the_cli_flag_not_the_api_field(
    server: str, admin_key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "keys", "create", "--env", "dev", "--url", server, "--key", admin_key
    )
    assert code == 1 and "--project-id" in err and "(project_id)" not in err, err


def _cli_process(*argv: str, **kw: Any) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTOPS_")}
    return subprocess.Popen(
        [sys.executable, "-m", "promptops.cli.main", *argv], env=env, text=True, **kw
    )


def test_a_closed_pipe_ends_quietly_with_141(server: str, project: Project) -> None:
    proc = _cli_process(
        "keys",
        "list",
        "--json",
        "--url",
        server,
        "--key",
        project.key,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader goes away before the command prints (`| head -0`)
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141, err
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_end_of_input_at_a_password_prompt_is_a_clear_error(tmp_path: Path) -> None:
    proc = _cli_process(
        "users",
        "create",
        "--email",
        "ada@example.com",
        "--password",
        "-",
        "--database-url",
        f"sqlite:///{tmp_path / 'p.db'}",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)
    assert "end of file" in err and "Traceback" not in err, err


def test_creating_the_dev_version_again_says_unchanged(
    server: str, api: Api, project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--url", server, "--key", project.key]
    api.new_prompt(project.key, "same")
    spec = tmp_path / "v.json"
    spec.write_text(json.dumps({"user_template": "Hi {{who}}", "model": "gpt-4o"}))
    code, out, err = run(capsys, "versions", "create", "same", "-f", str(spec), "--json", *common)
    assert (code, json.loads(out)["version"], json.loads(out)["created"]) == (0, 1, True)
    assert "unchanged" not in err
    code, out, err = run(capsys, "versions", "create", "same", "-f", str(spec), "--json", *common)
    assert (code, json.loads(out)["version"], json.loads(out)["created"]) == (0, 1, False)
    assert "unchanged: the file equals version 1, active in dev; no version created" in err
