"""One list of settings: every Settings field is a `promptops serve` flag (secrets read from
the environment only excepted) and a row of the README's configuration table, and the table
names nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from promptops.cli.main import build_parser
from promptops.cli.settings_flags import ENV_ONLY, flag_name
from promptops.server.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_table_variables() -> set[str]:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| variable | default |") :].split("\n\n", 1)[0]
    return set(re.findall(r"`PROMPTOPS_([A-Z0-9_]+)`", table))


def _print_serve_help() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])


def test_every_setting_is_in_the_readme_table_and_nothing_else() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert _readme_table_variables() == fields


def test_every_setting_but_secrets_is_a_serve_flag(capsys: pytest.CaptureFixture[str]) -> None:
    _print_serve_help()
    help_text = capsys.readouterr().out
    for name in Settings.model_fields:
        if name in ENV_ONLY:
            assert flag_name(name) not in help_text
        else:
            assert flag_name(name) in help_text, name
    assert "--no-demo" in help_text


def test_flags_reach_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from promptops.cli.serve import server_settings

    for name in Settings.model_fields:  # flags become variables: restore them afterwards
        monkeypatch.setenv(f"PROMPTOPS_{name.upper()}", "")
        monkeypatch.delenv(f"PROMPTOPS_{name.upper()}")
    args = build_parser().parse_args(
        [
            "serve",
            "--bcrypt-rounds",
            "5",
            "--max-body-bytes",
            "4096",
            "--no-demo",
            "--webhook-retry-schedule",
            "[1, 2]",
        ]
    )
    settings = server_settings(args)
    assert settings.bcrypt_rounds == 5 and settings.max_body_bytes == 4096
    assert settings.demo is False and settings.webhook_retry_schedule == [1, 2]
