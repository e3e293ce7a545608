"""`versions create --file`: the file is checked by the contract's VersionCreate (the API's
own body model) before anything is sent, and a problem names the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptops.cli.files import VERSION_FIELDS
from promptops.cli.main import main
from promptops.contract.content import VersionCreate
from tests.support import Api, Project

NOWHERE = ["--url", "http://127.0.0.1:9", "--key", "po_live_unused"]  # nothing may be sent


def test_the_file_fields_are_the_contracts() -> None:
    assert set(VERSION_FIELDS) == set(VersionCreate.model_fields)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"messages": [{"role": "narrator", "content": "Hi"}], "model": "m"}, "messages.0.role: "),
        ({"text": "Hi", "model": "m", "temperature": 3}, "temperature: "),
        ({"user_template": "Hi", "model": "m", "max_tokens": "many"}, "max_tokens: "),
        ({"messages": [{"role": "user", "content": "{{#a}}"}], "model": "m"}, "messages.0.content"),
        (
            {
                "messages": [{"role": "user", "content": "Hi"}],
                "model": "m",
                "tool_choice": "lookup",
            },
            "tool_choice: 'lookup' is not one of the tools",
        ),
    ],
)
def test_a_bad_field_is_named_with_the_file_and_nothing_is_sent(
    body: dict[str, object],
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = tmp_path / "v.json"
    spec.write_text(json.dumps(body))
    code = main(["versions", "create", "x", "-f", str(spec), *NOWHERE])
    err = capsys.readouterr().err
    assert code == 1 and f"{spec}: {expected}" in err, err
    assert "cannot reach" not in err


def test_a_file_with_the_new_fields_creates_that_version(
    server: str, api: Api, project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.new_prompt(project.key, "agent")
    body = {
        "messages": [
            {"role": "system", "content": "You look things up."},
            {"type": "placeholder", "name": "history"},
            {"role": "user", "content": "{{question}}"},
        ],
        "model": "gpt-4o",
        "tools": [{"type": "function", "function": {"name": "lookup"}}],
        "tool_choice": "lookup",
        "params": {"top_p": 0.5},
    }
    spec = tmp_path / "v.json"
    spec.write_text(json.dumps(body))
    argv = ["versions", "create", "agent", "-f", str(spec), "--json"]
    code = main([*argv, "--url", server, "--key", project.key])
    out = capsys.readouterr().out
    made = json.loads(out)
    assert code == 0 and made["version"] == 1
    assert made["messages"][1] == {"type": "placeholder", "name": "history"}
    assert made["tool_choice"] == "lookup" and made["params"]["top_p"] == 0.5
