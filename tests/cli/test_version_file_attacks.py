"""Version files as careless editors and hostile authors write them: a byte order mark, YAML
aliases that expand a small file to millions of nodes, YAML values JSON has not; and what
`versions export` and `diff` make of content that is easy to get wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promptops.cli.commands.versions import field_diff, version_file
from promptops.cli.files import load_version_file
from promptops.cli.http import CliError
from promptops.cli.main import main
from promptops.contract.content import VersionCreate
from promptops.contract.validation import parse

NOWHERE = ["--url", "http://127.0.0.1:9", "--key", "po_live_unused"]  # nothing may be sent


def test_a_json_file_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    spec = tmp_path / "v.json"
    spec.write_bytes(b'\xef\xbb\xbf{"model": "m", "user_template": "Hi {{name}}"}')
    assert load_version_file(spec) == {"model": "m", "user_template": "Hi {{name}}"}


def test_yaml_aliases_are_refused_before_anything_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("yaml")
    spec = tmp_path / "v.yaml"
    # Five lines; each alias level multiplies by ten ("billion laughs" at nine levels).
    spec.write_text(
        "model: m\nuser_template: x\nmetadata:\n"
        '  a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
        "  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "  c: [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n",
        encoding="utf-8",
    )
    code = main(["versions", "create", "x", "-f", str(spec), *NOWHERE])
    err = capsys.readouterr().err
    assert code == 1 and "aliases (*name) are not allowed" in err, err
    assert "cannot reach" not in err


def test_yaml_dates_stay_text_and_binary_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("yaml")
    spec = tmp_path / "v.yaml"
    spec.write_text("model: m\nuser_template: x\nmetadata: {since: 2024-01-01}\n")
    assert load_version_file(spec)["metadata"] == {"since": "2024-01-01"}
    spec.write_text("model: m\nuser_template: x\nmetadata: {blob: !!binary aGk=}\n")
    with pytest.raises(CliError, match="not JSON data"):
        load_version_file(spec)


def _version(**fields: Any) -> dict[str, Any]:
    """A version as the API sends it."""
    base: dict[str, Any] = {
        "slug": "g",
        "version": 1,
        "type": "chat",
        "messages": [{"role": "user", "content": "x"}],
        "text": None,
        "system_prompt": "",
        "user_template": "x",
        "variables": [],
        "inputs": [],
        "model": "m",
        "temperature": 1.0,
        "max_tokens": None,
        "params": {},
        "tools": None,
        "tool_choice": None,
        "response_format": None,
        "snippets": [],
        "metadata": {},
        "commit_message": None,
        "author": "a",
    }
    return {**base, **fields}


@pytest.mark.parametrize(
    "version",
    [
        _version(
            messages=[{"role": "system", "content": "S"}, {"role": "user", "content": ""}],
            system_prompt="S",
            user_template="",
        ),
        _version(type="text", messages=None, system_prompt=None, user_template=None, text=""),
    ],
    ids=["empty-user-template", "empty-text"],
)
def test_an_exported_file_with_empty_content_is_a_valid_file(version: dict[str, Any]) -> None:
    parse(VersionCreate, version_file(version))


def test_diff_tells_a_bool_from_a_number() -> None:
    old = _version(metadata={"flag": 1})
    new = _version(version=2, metadata={"flag": True})
    assert list(field_diff(old, new, "v1", "v2")) == ["metadata"]
