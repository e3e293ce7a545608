"""The editor's check of the two texts with Mustache sections (no database needed)."""

from __future__ import annotations

from promptops.server.dashboard.editor import check_texts


def test_sections_are_valid_and_the_preview_never_fails() -> None:
    checked = check_texts(
        "{{#rules}}- {{text}}\n{{/rules}}", "Hi {{name}}{{^vip}}!{{/vip}}", {"name": "Ada"}
    )
    assert checked.errors == {}
    assert checked.variables == ["rules", "name", "vip"]
    assert checked.preview is not None
    # the sample text of a section has no 'text': the preview says so, the form stays valid
    assert checked.preview["system_prompt"].startswith("(no preview with these sample values:")
    assert checked.preview["user_template"] == "Hi Ada"


def test_refused_mustache_tags_are_field_errors() -> None:
    checked = check_texts("{{=<% %>=}}", "{{#a}}", {})
    assert checked.preview == {}  # neither text parses: no preview of either
    assert "set-delimiter" in checked.errors["system_prompt"]
    assert "line 1, column 1" in checked.errors["user_template"]
