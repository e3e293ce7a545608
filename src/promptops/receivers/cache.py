"""Prompt cache stores that webhooks keep fresh: the protocol, and an in-process store.

A store holds prompts as JSON objects shaped like the body of
``GET /v1/prompts/{slug}/active`` (the ``data.prompt`` object of a webhook), under two keys:

- ``(slug, environment)``: the version active in that environment. Written only when the
  incoming ``deployment_id`` is not smaller than the stored one, so an event that arrives
  late (a retry, a redelivery) never replaces a newer deployment with an older one; an equal
  one is the same deployment with new content (``prompt_template_updated``: a snippet it
  includes moved), and replaces it.
- ``(slug, version)``: an immutable version, with ``environment``, ``deployed_at`` and
  ``deployment_id`` set to null (like ``GET /v1/prompts/{slug}/versions/{n}``).

The SDK client reads through the same protocol (``Client(cache=...)``), so any process can
serve prompts that a webhook receiver in another process wrote (see :class:`RedisCache`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from promptops.errors import PromptOpsError

__all__ = ["MemoryCache", "MissingDependencyError", "PromptCache", "entries_for"]

_VERSION_ONLY = {"environment": None, "deployed_at": None, "deployment_id": None}


class MissingDependencyError(PromptOpsError, ImportError):
    """An optional dependency is not installed (the message names the extra)."""


@runtime_checkable
class PromptCache(Protocol):
    """What a webhook receiver writes and the SDK client reads."""

    def get(
        self, slug: str, *, environment: str | None = None, version: int | None = None
    ) -> dict[str, Any] | None:
        """The cached prompt for ``(slug, environment)`` or ``(slug, version)``; give
        exactly one of the two. None when absent."""
        ...

    def set(self, prompt: Mapping[str, Any]) -> bool:
        """Store a prompt under its version and, when it names an environment (a
        deployment), under that environment unless a newer deployment is stored there.
        Returns False when the environment entry was kept because it is newer."""
        ...

    def delete(
        self, slug: str, *, environment: str | None = None, version: int | None = None
    ) -> None:
        """Forget one entry (exactly one of ``environment``/``version``)."""
        ...


def _one_key(environment: str | None, version: int | None) -> None:
    if (environment is None) == (version is None):
        raise ValueError("give exactly one of environment= or version=")


def entries_for(
    prompt: Mapping[str, Any],
) -> tuple[str, int, dict[str, Any], tuple[str, int, dict[str, Any]] | None]:
    """Check a prompt object and split it into its entries:
    ``(slug, version, version_entry, (environment, deployment_id, environment_entry)|None)``.
    Raises ValueError for an object that is not a prompt."""
    slug, version = prompt.get("slug"), prompt.get("version")
    if not isinstance(slug, str) or not slug or not isinstance(version, int):
        raise ValueError("not a prompt: needs a 'slug' string and a 'version' integer")
    value = json.loads(json.dumps(dict(prompt)))  # a private, JSON-clean copy
    environment = value.get("environment")
    env_entry = None
    if environment is not None:
        deployment_id = value.get("deployment_id")
        if not isinstance(environment, str) or not isinstance(deployment_id, int):
            raise ValueError("a deployed prompt needs 'environment' and 'deployment_id'")
        env_entry = (environment, deployment_id, value)
    return slug, version, {**value, **_VERSION_ONLY}, env_entry


class MemoryCache:
    """A thread-safe in-process store (one process: the receiver and the readers share it)."""

    def __init__(self) -> None:
        self._by_env: dict[tuple[str, str], dict[str, Any]] = {}
        self._by_version: dict[tuple[str, int], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(
        self, slug: str, *, environment: str | None = None, version: int | None = None
    ) -> dict[str, Any] | None:
        _one_key(environment, version)
        if environment is not None:
            found = self._by_env.get((slug, environment))
        else:
            assert version is not None
            found = self._by_version.get((slug, version))
        return None if found is None else dict(found)

    def set(self, prompt: Mapping[str, Any]) -> bool:
        slug, version, version_entry, env_entry = entries_for(prompt)
        with self._lock:
            self._by_version[(slug, version)] = version_entry
            if env_entry is None:
                return True
            environment, deployment_id, value = env_entry
            current = self._by_env.get((slug, environment))
            # Equal: the same deployment, replaced when its content is new (a snippet it
            # includes moved); the same again changes nothing.
            if current is not None and (
                current["deployment_id"] > deployment_id
                or (current["deployment_id"] == deployment_id and current == value)
            ):
                return False
            self._by_env[(slug, environment)] = value
            return True

    def delete(
        self, slug: str, *, environment: str | None = None, version: int | None = None
    ) -> None:
        _one_key(environment, version)
        with self._lock:
            if environment is not None:
                self._by_env.pop((slug, environment), None)
            elif version is not None:
                self._by_version.pop((slug, version), None)

    def clear(self) -> None:
        with self._lock:
            self._by_env.clear()
            self._by_version.clear()

    def __len__(self) -> int:
        return len(self._by_env) + len(self._by_version)
