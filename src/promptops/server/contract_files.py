"""The contract's generated files: ``contract/openapi.json`` (the HTTP API) and
``contract/schemas/*.json`` (JSON Schemas of the prompt payload, of a prompt file, of an
agent's workflow and file, and of every event), committed so clients in other languages
build against them; tests/contract fails when they are stale.

Regenerate: ``python -m promptops.server.contract_files``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from promptops.contract.agents import AgentDefinition
from promptops.contract.events import EVENT_MODELS, typed_event_model
from promptops.contract.gitops import AgentFileIn, PromptFileIn
from promptops.contract.prompts import ActivePromptOut

__all__ = ["CONTRACT_DIR", "documents", "write"]

CONTRACT_DIR = Path(__file__).resolve().parents[1] / "contract"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _schema(model: Any, title: str) -> dict[str, Any]:
    return {"$schema": _DIALECT, **model.model_json_schema(), "title": title}


def documents() -> dict[str, Any]:
    """Relative path (under ``contract/``) → JSON document."""
    from fastapi.testclient import TestClient

    from promptops.server.app import create_app
    from promptops.server.config import Settings

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database_url=f"sqlite:///{folder}/contract.db", demo=False)
        app = create_app(settings)
        try:  # the document the server serves (no lifespan: nothing starts)
            files: dict[str, Any] = {"openapi.json": TestClient(app).get("/openapi.json").json()}
        finally:
            app.state.db.dispose()
    files["schemas/prompt.json"] = _schema(ActivePromptOut, "The prompt payload (/active)")
    files["schemas/prompt-file.json"] = _schema(
        PromptFileIn, "A prompt file (prompts/<slug>.yaml; promptops sync)"
    )
    files["schemas/agent.json"] = _schema(AgentDefinition, "An agent version's workflow")
    files["schemas/agent-file.json"] = _schema(
        AgentFileIn, "An agent file (type agent, its workflow in definition; promptops sync)"
    )
    for type_ in EVENT_MODELS:
        files[f"schemas/event.{type_}.json"] = _schema(typed_event_model(type_), f"{type_} event")
    return files


def render(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def write(folder: Path = CONTRACT_DIR) -> list[Path]:
    written = []
    for name, document in documents().items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(document), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path.relative_to(CONTRACT_DIR.parent.parent.parent), file=sys.stderr)
