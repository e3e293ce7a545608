"""Read every prompt of a Langfuse project through its public REST API.

``GET /api/public/v2/prompts`` (paginated: ``page`` from 1, ``limit`` up to 100,
``meta.totalPages``) lists the prompts with their version numbers; ``GET
/api/public/v2/prompts/{name}?version=N`` returns one version: ``type`` text (``prompt`` a
string) or chat (``prompt`` a list of ``{role, content}`` messages and ``{"type":
"placeholder", "name"}``), ``config`` (free-form: model, temperature, tools...),
``labels``, ``tags``, ``commitMessage``. Basic auth with the public and secret keys.
Langfuse's ``{{variable}}`` is a PromptOps variable as it stands; prompts that include
other prompts come resolved (Langfuse's default), so each imported version is whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from promptops.cli.http import CliError
from promptops.cli.importers.source import (
    ROLES,
    SourcePrompt,
    SourceVersion,
    Unmappable,
    as_object,
    model_settings,
)

__all__ = ["LangfuseReader"]

PAGE_SIZE = 100


class LangfuseReader:
    source = "langfuse"

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    @classmethod
    def connect(cls, base_url: str, public_key: str, secret_key: str) -> LangfuseReader:
        return cls(
            httpx.Client(base_url=base_url.rstrip("/"), auth=(public_key, secret_key), timeout=30)
        )

    def _get(self, path: str, **params: Any) -> Any:
        try:
            response = self.http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach Langfuse at {self.http.base_url}: {exc}") from exc
        if response.status_code in (401, 403):
            raise CliError(
                f"Langfuse refused the credentials (HTTP {response.status_code}): check"
                " --public-key/--secret-key (LANGFUSE_PUBLIC_KEY/LANGFUSE_SECRET_KEY)"
            )
        if response.status_code >= 400:
            raise CliError(f"Langfuse answered GET {path} with HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise CliError(f"Langfuse answered GET {path} with something other than JSON") from None

    def listing(self) -> list[dict[str, Any]]:
        """Every prompt's entry of the list (name, versions, labels), all pages."""
        entries: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self._get("/api/public/v2/prompts", page=page, limit=PAGE_SIZE)
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise CliError("Langfuse's prompt list has no 'data' list: is this Langfuse v3?")
            entries.extend(item for item in data if isinstance(item, dict) and item.get("name"))
            pages = (body.get("meta") or {}).get("totalPages") or page
            if page >= pages or not data:
                return entries
            page += 1

    def read(self, entry: dict[str, Any]) -> SourcePrompt:
        name = str(entry["name"])
        numbers = sorted(n for n in entry.get("versions") or [] if isinstance(n, int))
        versions: list[SourceVersion] = []
        kind: str | None = None
        for number in numbers:
            raw = self._get(f"/api/public/v2/prompts/{quote(name, safe='')}", version=number)
            version_kind = "chat" if raw.get("type") == "chat" else "text"
            kind = kind or version_kind
            versions.append(_version(raw, number, kind, version_kind))
        return SourcePrompt(name=name, type=kind or "text", versions=versions)

    def prompts(self) -> Iterator[SourcePrompt]:
        for entry in self.listing():
            yield self.read(entry)


def _version(raw: dict[str, Any], number: int, kind: str, version_kind: str) -> SourceVersion:
    labels = [str(label) for label in raw.get("labels") or []]
    found = SourceVersion(number=number, body=None, labels=labels)
    try:
        if version_kind != kind:
            raise Unmappable(f"version {number} is a {version_kind} prompt, earlier ones {kind}")
        body: dict[str, Any] = (
            {"messages": [_message(m, i) for i, m in enumerate(raw.get("prompt") or [])]}
            if kind == "chat"
            else {"text": _text(raw.get("prompt"), "prompt")}
        )
        config = as_object(raw.get("config"))
        if kind == "text":
            for key in ("tools", "tool_choice", "response_format"):
                if config.get(key) is not None:
                    found.notes.append(f"config {key!r} kept in metadata (a text prompt has none)")
            config = dict(config)
            kept = {
                k: config.pop(k) for k in ("tools", "tool_choice", "response_format") if k in config
            }
        else:
            kept = {}
        model = config.get("model")
        body["model"] = model if isinstance(model, str) and model else None
        rest = model_settings({k: v for k, v in config.items() if k != "model"}, body, found.notes)
        rest.update(kept)
        imported: dict[str, Any] = {"from": "langfuse", "name": raw.get("name"), "version": number}
        for key, target in (("createdAt", "created_at"), ("createdBy", "created_by")):
            if raw.get(key):
                imported[target] = raw[key]
        if labels:
            imported["labels"] = labels
        if raw.get("tags"):
            imported["tags"] = raw["tags"]
        if rest:
            imported["config"] = rest
        body["metadata"] = {"imported": imported}
        if isinstance(raw.get("commitMessage"), str) and raw["commitMessage"]:
            body["commit_message"] = raw["commitMessage"][:2000]
        if isinstance(raw.get("createdBy"), str) and raw["createdBy"]:
            body["author"] = raw["createdBy"][:200]
        found.body = body
    except Unmappable as exc:
        found.problems.append(str(exc))
    return found


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise Unmappable(f"{where} is not text ({type(value).__name__})")
    return value


def _message(raw: Any, index: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Unmappable(f"message {index} is not an object")
    if raw.get("type") == "placeholder":
        return {"type": "placeholder", "name": _text(raw.get("name"), f"placeholder {index}")}
    role = raw.get("role")
    if role not in ROLES:
        raise Unmappable(f"message {index} has the role {role!r} (PromptOps: {', '.join(ROLES)})")
    return {"role": role, "content": _text(raw.get("content"), f"message {index}'s content")}
