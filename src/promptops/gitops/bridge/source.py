"""The version a webhook names, read from PromptOps' API as written (a label event carries
its content resolved, and no event carries the prompt's name and description): ``GET
/v1/prompts/{slug}`` and ``GET /v1/prompts/{slug}/versions/{n}``, the shapes ``sync pull``
writes files from."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from promptops.gitops.bridge.errors import UpstreamError

__all__ = ["PromptOpsSource"]


class PromptOpsSource:
    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        timeout: float = 20.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {key}", "User-Agent": "promptops-gitops-bridge"},
            timeout=timeout,
            transport=transport,
        )

    def _get(self, path: str) -> dict[str, Any]:
        try:
            response = self._http.get(path)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"PromptOps could not be reached: {exc}") from None
        if response.status_code != 200:
            try:
                said = response.json().get("error", {}).get("message") or response.text
            except (ValueError, AttributeError):
                said = response.text
            hint = " (is the bridge's key of this project?)" if response.status_code in (
                401, 403, 404) else ""  # fmt: skip
            raise UpstreamError(
                f"GET {path}: PromptOps answered {response.status_code}: {said[:300]}{hint}"
            )
        body: dict[str, Any] = response.json()
        return body

    def version(self, slug: str, number: int) -> tuple[dict[str, Any], dict[str, Any]]:
        """(prompt, version) as the API returns them."""
        base = f"/v1/prompts/{quote(slug, safe='')}"
        return self._get(base), self._get(f"{base}/versions/{number}")

    def close(self) -> None:
        self._http.close()
