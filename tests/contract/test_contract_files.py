"""The committed contract files (src/promptops/contract/openapi.json, schemas/*.json) are what
the code generates: regenerate with `python -m promptops.server.contract_files`."""

from __future__ import annotations

import json

from jsonschema import Draft202012Validator

from promptops.server.contract_files import CONTRACT_DIR, documents, render


def test_the_committed_contract_files_are_current() -> None:
    stale = []
    for name, document in documents().items():
        path = CONTRACT_DIR / name
        if not path.exists() or path.read_text(encoding="utf-8") != render(document):
            stale.append(name)
    assert not stale, (
        f"stale contract files {stale}: run `python -m promptops.server.contract_files`"
    )
    committed = {p.relative_to(CONTRACT_DIR).as_posix() for p in CONTRACT_DIR.glob("schemas/*")}
    assert committed == {n for n in documents() if n.startswith("schemas/")}


def test_the_schemas_are_valid_json_schema_2020_12() -> None:
    for path in sorted(CONTRACT_DIR.glob("schemas/*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(schema)
