"""``Prompt``: one fetched prompt version, immutable, with its templates parsed once."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from promptops.errors import MissingVariablesError, UnknownVariablesError
from promptops.sdk.errors import ConfigurationError, InvalidResponseError
from promptops.templating import Template, compile_template

__all__ = ["Prompt"]

# What a ``fallback=`` dict may set (everything the server sends, minus what is computed).
_FALLBACK_FIELDS = frozenset(
    {
        "slug",
        "version",
        "environment",
        "system_prompt",
        "user_template",
        "type",
        "messages",
        "text",
        "inputs",
        "params",
        "tools",
        "tool_choice",
        "response_format",
        "model",
        "temperature",
        "max_tokens",
        "metadata",
        "commit_message",
        "author",
    }
)


@dataclass(frozen=True, slots=True)
class Prompt:
    """A prompt version as served to the application.

    Instances are shared by every caller that reads the same cache entry, so they are
    frozen; treat ``metadata`` as read-only too.

    ``is_stale``: the server could not be reached (or answered 5xx) when this value should
    have been revalidated, so the last good value (or the snapshot file's) is served.
    ``is_fallback``: nothing was available and this is the ``fallback`` the caller passed.
    """

    slug: str
    version: int | None
    user_template: str = ""
    system_prompt: str = ""
    environment: str | None = None
    # The content (promptops/contract/schemas/prompt.json): a chat prompt's messages (role
    # messages with template content, and {"type": "placeholder", "name"} entries), or a
    # text prompt's text; payloads of the older shape (system_prompt + user_template) become
    # the equivalent messages.
    type: str = "chat"
    messages: tuple[dict[str, Any], ...] = ()
    text: str | None = None
    inputs: tuple[dict[str, Any], ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    tools: tuple[dict[str, Any], ...] | None = None
    tool_choice: str | None = None
    response_format: dict[str, Any] | None = None
    snippets: tuple[dict[str, Any], ...] = ()
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    commit_message: str | None = None
    author: str | None = None
    created_at: str | None = None
    deployed_at: str | None = None
    deployment_id: int | None = None
    is_stale: bool = False
    is_fallback: bool = False
    # Computed once per Prompt: the parsed templates and the variables they use.
    variables: tuple[str, ...] = field(init=False, default=())
    _system: Template = field(init=False, repr=False, compare=False)
    _user: Template = field(init=False, repr=False, compare=False)
    _names: frozenset[str] = field(init=False, repr=False, compare=False)
    # Every name the templates look up (also those used only inside sections): what strict
    # rendering accepts.
    _known: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        system = compile_template(self.system_prompt)
        user = compile_template(self.user_template)
        names = tuple(dict.fromkeys(system.variables + user.variables))
        object.__setattr__(self, "_system", system)
        object.__setattr__(self, "_user", user)
        object.__setattr__(self, "variables", names)
        object.__setattr__(self, "_names", frozenset(names))
        object.__setattr__(self, "_known", frozenset(system.names + user.names))

    def __hash__(self) -> int:  # metadata (a dict) stays out of the hash
        return hash(
            (
                self.slug,
                self.version,
                self.environment,
                self.deployment_id,
                self.system_prompt,
                self.user_template,
                self.is_stale,
                self.is_fallback,
            )
        )

    # -- rendering ------------------------------------------------------------------------

    def render(
        self, values: Mapping[str, Any] | None = None, /, *, strict: bool = True, **variables: Any
    ) -> list[dict[str, str]]:
        """Chat messages: ``[{"role": "system", ...}, {"role": "user", ...}]``.

        The system message is left out when the system prompt is empty. Variables are given
        as keywords, or as a mapping (for names like ``strict``), or both. A missing variable
        raises :class:`MissingVariablesError` naming it; a variable neither template uses
        raises :class:`UnknownVariablesError` unless ``strict=False``.
        """
        merged = self._values(values, variables, strict, self.variables)
        user = {"role": "user", "content": self._user.render(merged, strict=False)}
        if not self.system_prompt:
            return [user]
        return [{"role": "system", "content": self._system.render(merged, strict=False)}, user]

    def render_text(
        self, values: Mapping[str, Any] | None = None, /, *, strict: bool = True, **variables: Any
    ) -> str:
        """The rendered user template alone (for completion-style APIs). Only the user
        template's variables are required; the system prompt's are accepted."""
        merged = self._values(values, variables, strict, self._user.variables)
        return self._user.render(merged, strict=False)

    def render_system(
        self, values: Mapping[str, Any] | None = None, /, *, strict: bool = True, **variables: Any
    ) -> str:
        """The rendered system prompt alone ("" when there is none)."""
        merged = self._values(values, variables, strict, self._system.variables)
        return self._system.render(merged, strict=False)

    def _values(
        self,
        values: Mapping[str, Any] | None,
        variables: dict[str, Any],
        strict: bool,
        needed: tuple[str, ...],
    ) -> Mapping[str, Any]:
        if values:
            variables = {**values, **variables}
        if variables.keys() == self._names:  # the usual case: exactly the prompt's variables
            return variables
        missing = [name for name in needed if name not in variables]
        if missing:
            raise MissingVariablesError(missing)
        if strict and len(variables) != len(self.variables):
            unknown = sorted(k for k in variables if k not in self._known)
            if unknown:
                raise UnknownVariablesError(unknown)
        return variables

    # -- construction ---------------------------------------------------------------------

    def with_flags(self, *, is_stale: bool = False, is_fallback: bool = False) -> Prompt:
        """This prompt with other ``is_stale``/``is_fallback`` flags (self if unchanged)."""
        if is_stale == self.is_stale and is_fallback == self.is_fallback:
            return self
        return dataclasses.replace(self, is_stale=is_stale, is_fallback=is_fallback)

    @classmethod
    def from_payload(cls, payload: Any) -> Prompt:
        """Build from the server's JSON (``/active`` or ``/versions/{n}``).

        Raises :class:`InvalidResponseError` when the body is not a prompt.
        """
        try:
            if not isinstance(payload, dict):
                raise TypeError(f"expected a JSON object, got {type(payload).__name__}")
            version = payload["version"]
            if not isinstance(version, int) or isinstance(version, bool):
                raise TypeError("'version' is not an integer")
            metadata = payload.get("metadata")
            if metadata is None:
                metadata = {}
            elif not isinstance(metadata, dict):
                raise TypeError("'metadata' is not an object")
            messages = payload.get("messages")
            user_template = payload.get("user_template")
            system_prompt = payload.get("system_prompt") or ""
            if messages is None and payload.get("text") is None:  # an older server
                user_template = _str(payload["user_template"], "user_template")
                system = [{"role": "system", "content": system_prompt}] if system_prompt else []
                messages = [*system, {"role": "user", "content": user_template}]
            tools = payload.get("tools")
            return cls(
                slug=_str(payload["slug"], "slug"),
                version=version,
                user_template=_str(user_template or "", "user_template"),
                system_prompt=_str(system_prompt, "system_prompt"),
                type=_str(payload.get("type") or "chat", "type"),
                messages=tuple(_list(messages or [], "messages")),
                text=payload.get("text"),
                inputs=tuple(_list(payload.get("inputs") or [], "inputs")),
                params=dict(payload.get("params") or {}),
                tools=None if tools is None else tuple(_list(tools, "tools")),
                tool_choice=payload.get("tool_choice"),
                response_format=payload.get("response_format"),
                snippets=tuple(_list(payload.get("snippets") or [], "snippets")),
                environment=payload.get("environment"),
                model=payload.get("model"),
                temperature=payload.get("temperature"),
                max_tokens=payload.get("max_tokens"),
                metadata=metadata,
                commit_message=payload.get("commit_message"),
                author=payload.get("author"),
                created_at=payload.get("created_at"),
                deployed_at=payload.get("deployed_at"),
                deployment_id=payload.get("deployment_id"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise InvalidResponseError(
                f"the server's answer is not a prompt: {detail}", status_code=200
            ) from exc

    @classmethod
    def from_fallback(cls, slug: str, version: int | None, fallback: Any) -> Prompt:
        """A fallback ``Prompt``: from a user-template string, a dict of fields, or a Prompt."""
        if isinstance(fallback, Prompt):
            return fallback.with_flags(is_fallback=True)
        if isinstance(fallback, str):
            return cls(slug=slug, version=version, user_template=fallback, is_fallback=True)
        if isinstance(fallback, Mapping):
            unknown = sorted(set(fallback) - _FALLBACK_FIELDS)
            if unknown:
                raise ConfigurationError(
                    f"fallback for {slug!r} has unknown field(s): {', '.join(map(str, unknown))}"
                    f" (allowed: {', '.join(sorted(_FALLBACK_FIELDS))})"
                )
            fields = {"slug": slug, "version": version, "user_template": "", **fallback}
            return cls(**fields, is_fallback=True)
        raise ConfigurationError(
            f"fallback for {slug!r} must be a str (the user template), a dict of Prompt"
            f" fields or a Prompt, not {type(fallback).__name__}"
        )


def _list(value: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise TypeError(f"{name!r} is not a list of objects")
    return value


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name!r} is not a string")
    return value
