"""Fake Langfuse and PromptLayer prompt APIs, in the shapes their public REST APIs document,
for the importers' tests. Each is a Starlette app to run with ``tests.support.live_server``.

Langfuse (https://api.reference.langfuse.com, prompts v2): ``GET /api/public/v2/prompts``
(``page`` from 1, ``limit``; ``{"data": [{"name", "versions", "labels", "tags",
"lastUpdatedAt", "lastConfig"}], "meta": {"page", "limit", "totalItems", "totalPages"}}``)
and ``GET /api/public/v2/prompts/{promptName}`` (``version`` or ``label``; default the
``production`` label), Basic auth with the public and secret keys.

PromptLayer (https://docs.promptlayer.com/reference): ``GET /prompt-templates`` (``page``,
``per_page``; ``{"items", "page", "pages", "total", "has_next", "has_prev", "next_num",
"prev_num"}``, each item the template's latest version), ``POST
/prompt-templates/{identifier}`` (``{"version"}`` or ``{"label"}``; 404 for a version that
does not exist) and ``GET /prompt-templates/{identifier}/labels`` (``{"release_labels":
[{"prompt_version_id", "prompt_version_number", "release_label", "release_label_id"}]}``),
``X-API-KEY``. Both cap the page size (``max_page``), so pagination is exercised.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["FakeLangfuse", "FakePromptLayer"]


class FakeLangfuse:
    def __init__(self, public_key: str = "pk-lf-test", secret_key: str = "sk-lf-test") -> None:
        self.auth = "Basic " + base64.b64encode(f"{public_key}:{secret_key}".encode()).decode()
        self.prompts: dict[str, list[dict[str, Any]]] = {}  # name -> versions, oldest first
        self.max_page = 2
        self.requests: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/api/public/v2/prompts", self.list_prompts),
                Route("/api/public/v2/prompts/{name:path}", self.get_prompt),
            ]
        )

    def add(self, name: str, kind: str, *versions: dict[str, Any]) -> None:
        """Versions 1, 2...: each ``{"prompt", "config"?, "labels"?, "commitMessage"?}``."""
        made = self.prompts.setdefault(name, [])
        for fields in versions:
            number = len(made) + 1
            made.append(
                {
                    "name": name,
                    "version": number,
                    "type": kind,
                    "config": {},
                    "labels": [],
                    "tags": [],
                    "commitMessage": None,
                    "createdAt": f"2026-0{min(number, 9)}-01T10:00:00.000Z",
                    "updatedAt": f"2026-0{min(number, 9)}-01T10:00:00.000Z",
                    "createdBy": "API",
                    **fields,
                }
            )
        newest = made[-1]
        if "latest" not in newest["labels"]:
            for version in made:
                version["labels"] = [x for x in version["labels"] if x != "latest"]
            newest["labels"] = [*newest["labels"], "latest"]

    def _refused(self, request: Request) -> JSONResponse | None:
        self.requests.append(f"{request.method} {request.url.path}?{request.url.query}")
        if request.headers.get("authorization") != self.auth:
            return JSONResponse({"message": "Invalid credentials"}, status_code=401)
        return None

    async def list_prompts(self, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        page = int(request.query_params.get("page", "1"))
        limit = min(int(request.query_params.get("limit", "50")), self.max_page)
        names = sorted(self.prompts)
        chunk = names[(page - 1) * limit : page * limit]
        data = [
            {
                "name": name,
                "versions": [v["version"] for v in self.prompts[name]],
                "labels": sorted({x for v in self.prompts[name] for x in v["labels"]}),
                "tags": [],
                "lastUpdatedAt": self.prompts[name][-1]["updatedAt"],
                "lastConfig": self.prompts[name][-1]["config"],
            }
            for name in chunk
        ]
        meta = {
            "page": page,
            "limit": limit,
            "totalItems": len(names),
            "totalPages": math.ceil(len(names) / limit),
        }
        return JSONResponse({"data": data, "meta": meta})

    async def get_prompt(self, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        versions = self.prompts.get(request.path_params["name"])
        if not versions:
            return JSONResponse({"error": "LangfuseNotFoundError"}, status_code=404)
        wanted = request.query_params.get("version")
        label = request.query_params.get("label", "production")
        for version in versions:
            if (wanted and version["version"] == int(wanted)) or (
                not wanted and label in version["labels"]
            ):
                return JSONResponse(version)
        return JSONResponse({"error": "LangfuseNotFoundError"}, status_code=404)


class FakePromptLayer:
    def __init__(self, api_key: str = "pl_test") -> None:
        self.api_key = api_key
        self.templates: dict[str, list[dict[str, Any] | None]] = {}  # None: a deleted version
        self.labels: dict[str, dict[str, int]] = {}  # name -> label -> version number
        self.max_page = 2
        self.requests: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/prompt-templates", self.list_templates),
                Route("/prompt-templates/{name}/labels", self.get_labels),
                Route("/prompt-templates/{name}", self.get_template, methods=["POST"]),
            ]
        )

    def add(self, name: str, *versions: dict[str, Any] | None) -> None:
        """Versions 1, 2...: each ``{"prompt_template", "metadata"?, "commit_message"?}``,
        or None for a version number that was deleted."""
        made = self.templates.setdefault(name, [])
        for fields in versions:
            made.append(
                None
                if fields is None
                else {
                    "id": 100 + len(self.templates),
                    "prompt_name": name,
                    "version": len(made) + 1,
                    "metadata": None,
                    "commit_message": None,
                    "llm_kwargs": None,
                    "tags": [],
                    **fields,
                }
            )

    def label(self, name: str, label: str, version: int) -> None:
        self.labels.setdefault(name, {})[label] = version

    def _refused(self, request: Request) -> JSONResponse | None:
        self.requests.append(f"{request.method} {request.url.path}")
        if request.headers.get("x-api-key") != self.api_key:
            return JSONResponse({"success": False, "message": "Invalid API key"}, status_code=401)
        return None

    def _latest(self, name: str) -> dict[str, Any]:
        return next(v for v in reversed(self.templates[name]) if v is not None)

    async def list_templates(self, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        page = int(request.query_params.get("page", "1"))
        per_page = min(int(request.query_params.get("per_page", "30")), self.max_page)
        names = sorted(self.templates)
        pages = max(1, math.ceil(len(names) / per_page))
        items = [self._latest(n) for n in names[(page - 1) * per_page : page * per_page]]
        return JSONResponse(
            {
                "items": items,
                "page": page,
                "pages": pages,
                "total": len(names),
                "has_next": page < pages,
                "has_prev": page > 1,
                "next_num": page + 1 if page < pages else None,
                "prev_num": page - 1 if page > 1 else None,
            }
        )

    async def get_template(self, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        versions = self.templates.get(request.path_params["name"])
        body = await request.json() if await request.body() else {}
        if not versions:
            return JSONResponse({"success": False, "message": "Not found"}, status_code=404)
        number = body.get("version")
        if number is None and body.get("label"):
            number = self.labels.get(request.path_params["name"], {}).get(body["label"])
        if number is None:
            return JSONResponse(self._latest(request.path_params["name"]))
        if not 1 <= number <= len(versions) or versions[number - 1] is None:
            return JSONResponse({"success": False, "message": "Not found"}, status_code=404)
        return JSONResponse(versions[number - 1])

    async def get_labels(self, request: Request) -> JSONResponse:
        if refused := self._refused(request):
            return refused
        name = request.path_params["name"]
        if name not in self.templates:
            return JSONResponse({"success": False, "message": "Not found"}, status_code=404)
        labels = [
            {
                "prompt_version_id": 1000 + number,
                "prompt_version_number": number,
                "release_label": label,
                "release_label_id": 5000 + i,
            }
            for i, (label, number) in enumerate(sorted(self.labels.get(name, {}).items()))
        ]
        return JSONResponse({"release_labels": labels})
