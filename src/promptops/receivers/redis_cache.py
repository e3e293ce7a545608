"""A prompt cache in Redis, shared by every process of an application (``promptops[redis]``).

Keys (``prefix`` defaults to ``promptops:``; use one prefix per PromptOps project)::

    {prefix}env:{slug}:{environment}   hash: deployment_id, payload (JSON)
    {prefix}ver:{slug}:{version}       string: payload (JSON)

The environment entry is replaced atomically (a Lua script) only by a ``deployment_id``
not smaller than its own (equal: the same deployment with new content, after a snippet it
includes moved), so concurrent or late webhooks cannot move it to an older deployment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from promptops.receivers.cache import MissingDependencyError, _one_key, entries_for

__all__ = ["RedisCache"]

# KEYS[1] the environment key; ARGV: deployment_id, payload, ttl in ms (0: none)
_SET_IF_NEWER = """
local current = redis.call('HGET', KEYS[1], 'deployment_id')
if current then
  local stored, incoming = tonumber(current), tonumber(ARGV[1])
  if stored > incoming then return 0 end
  if stored == incoming and redis.call('HGET', KEYS[1], 'payload') == ARGV[2] then return 0 end
end
redis.call('HSET', KEYS[1], 'deployment_id', ARGV[1], 'payload', ARGV[2])
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisCache:
    """``RedisCache("redis://host:6379/0")`` or ``RedisCache(client=redis.Redis(...))``.

    ``ttl`` (seconds, optional) expires entries that no webhook refreshed: a safety net if
    the receiver is ever unreachable for long. Without it, entries live until replaced.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        prefix: str = "promptops:",
        ttl: float | None = None,
    ) -> None:
        if client is None:
            try:
                import redis
            except ImportError:
                raise MissingDependencyError(
                    "RedisCache needs the redis package: pip install 'promptops[redis]'"
                ) from None
            client = redis.Redis.from_url(url or "redis://127.0.0.1:6379/0")
        elif url is not None:
            raise ValueError("give either a Redis URL or client=, not both")
        self.client = client
        self.prefix = prefix
        self.ttl = ttl
        self._set_if_newer = client.register_script(_SET_IF_NEWER)

    def _env_key(self, slug: str, environment: str) -> str:
        return f"{self.prefix}env:{slug}:{environment}"

    def _version_key(self, slug: str, version: int) -> str:
        return f"{self.prefix}ver:{slug}:{version}"

    def get(
        self, slug: str, *, environment: str | None = None, version: int | None = None
    ) -> dict[str, Any] | None:
        _one_key(environment, version)
        if environment is not None:
            raw = self.client.hget(self._env_key(slug, environment), "payload")
        else:
            assert version is not None
            raw = self.client.get(self._version_key(slug, version))
        return None if raw is None else dict(json.loads(_text(raw)))

    def set(self, prompt: Mapping[str, Any]) -> bool:
        slug, version, version_entry, env_entry = entries_for(prompt)
        ttl_ms = int(self.ttl * 1000) if self.ttl else 0
        self.client.set(
            self._version_key(slug, version),
            json.dumps(version_entry, separators=(",", ":")),
            px=ttl_ms or None,
        )
        if env_entry is None:
            return True
        environment, deployment_id, value = env_entry
        written = self._set_if_newer(
            keys=[self._env_key(slug, environment)],
            args=[deployment_id, json.dumps(value, separators=(",", ":")), ttl_ms],
        )
        return bool(int(written))

    def delete(
        self, slug: str, *, environment: str | None = None, version: int | None = None
    ) -> None:
        _one_key(environment, version)
        if environment is not None:
            self.client.delete(self._env_key(slug, environment))
        elif version is not None:
            self.client.delete(self._version_key(slug, version))

    def clear(self) -> int:
        """Delete every entry under this prefix; returns how many keys."""
        pattern = "".join("\\" + c if c in "*?[]\\" else c for c in self.prefix) + "*"
        keys = list(self.client.scan_iter(match=pattern, count=500))
        return int(self.client.delete(*keys)) if keys else 0
