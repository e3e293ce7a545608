"""``Prompt``: one fetched prompt version, immutable, with its templates parsed once."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from promptops.errors import PromptShapeError
from promptops.sdk.errors import ConfigurationError, InvalidResponseError
from promptops.sdk.render import CHAT, LEGACY, TEXT, Content, compile_content
from promptops.templating import Template

__all__ = ["Prompt", "Rendered"]

Rendered = list[dict[str, Any]] | str
"""What :meth:`Prompt.render` returns: a chat prompt's messages, or a text prompt's text."""

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


# Fallback fields whose null is a value, not "the default".
_NULLABLE = frozenset(
    {
        "version",
        "environment",
        "text",
        "tools",
        "tool_choice",
        "response_format",
        "model",
        "temperature",
        "max_tokens",
        "commit_message",
        "author",
    }
)


@dataclass(frozen=True, slots=True)
class Prompt:
    """A prompt version as served to the application.

    Instances are shared by every caller that reads the same cache entry, so they are
    frozen; treat ``metadata``, ``messages`` and the other dicts as read-only too.

    The content (promptops/contract/schemas/prompt.json) is a chat prompt's ``messages``
    (role messages whose content is a template, and ``{"type": "placeholder", "name"}``
    entries the caller fills at render time), or a text prompt's ``text``. A chat prompt of
    the older shape (one optional system message, then one user message, nothing else) also
    has ``system_prompt`` and ``user_template``; the two forms are kept in step: given only
    the older fields they become the equivalent ``messages``, given messages of that shape
    the older fields are derived from them (both empty for other shapes). ``inputs``
    declares variables checked at render time (see :mod:`promptops.sdk.render`).

    ``is_stale``: the server could not be reached (or answered 5xx) when this value should
    have been revalidated, so the last good value (or the snapshot file's) is served.
    ``is_fallback``: nothing was available and this is the ``fallback`` the caller passed.
    """

    slug: str
    version: int | None
    user_template: str = ""
    system_prompt: str = ""
    environment: str | None = None
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
    # Computed once per Prompt: the compiled content and the variables its templates need.
    variables: tuple[str, ...] = field(init=False, default=())
    _content: Content = field(init=False, repr=False, compare=False)
    _kind: str = field(init=False, repr=False, compare=False)
    _system: Template = field(init=False, repr=False, compare=False)
    _user: Template = field(init=False, repr=False, compare=False)
    # Every name render() takes: the variables, the placeholders, the declared inputs.
    _names: frozenset[str] = field(init=False, repr=False, compare=False)
    # Every name the templates look up (also those used only inside sections), the
    # placeholders and the declared inputs: what strict rendering accepts.
    _known: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        content = compile_content(
            self.type if self.text is None else "text",
            self.messages,
            self.text,
            self.system_prompt,
            self.user_template,
            self.inputs,
        )
        setattr_ = object.__setattr__
        setattr_(self, "type", "text" if content.kind == TEXT else "chat")
        setattr_(self, "messages", content.messages)
        setattr_(self, "inputs", tuple(self.inputs))
        setattr_(self, "system_prompt", content.system_prompt)
        setattr_(self, "user_template", content.user_template)
        setattr_(self, "_content", content)
        setattr_(self, "_kind", content.kind)
        setattr_(self, "_system", content.system)
        setattr_(self, "_user", content.user)
        setattr_(self, "variables", content.variables)
        setattr_(self, "_names", content.names)
        setattr_(self, "_known", content.known)

    def __hash__(self) -> int:  # metadata and the other dicts stay out of the hash
        return hash(
            (
                self.slug,
                self.version,
                self.environment,
                self.deployment_id,
                self.system_prompt,
                self.user_template,
                self.text,
                self.is_stale,
                self.is_fallback,
            )
        )

    # -- rendering ------------------------------------------------------------------------

    def render(
        self, values: Mapping[str, Any] | None = None, /, *, strict: bool = True, **variables: Any
    ) -> Any:  # Rendered; Any so callers typed for chat messages need no cast
        """A chat prompt's messages, or a text prompt's text (a str): see :data:`Rendered`.

        Chat: provider-neutral messages, ``{"role", "content"}`` (plus ``name`` and
        ``tool_call_id`` when the prompt's message has them) with the templates filled, and
        each placeholder replaced by the messages given for it (``history=[...]``; nothing
        when not given, unless ``inputs`` declares it required). An older-shape prompt
        renders ``[{"role": "system", ...}, {"role": "user", ...}]``, the system message
        left out when the system prompt is empty.

        Variables and placeholders are given as keywords, or as a mapping (for names like
        ``strict``), or both. A missing variable (or required declared input) raises
        :class:`MissingVariablesError` naming it; a value of another type than declared,
        :class:`InputTypeError`; a placeholder value that is not a list of messages,
        :class:`PlaceholderValueError`; a name the prompt does not know,
        :class:`UnknownVariablesError` unless ``strict=False``. The rules are in
        :mod:`promptops.sdk.render`.
        """
        merged = self._values(values, variables, strict, self._content.required)
        kind = self._kind
        if kind is LEGACY:
            user = {"role": "user", "content": self._user.render(merged, strict=False)}
            if not self.system_prompt:
                return [user]
            return [{"role": "system", "content": self._system.render(merged, strict=False)}, user]
        if kind is TEXT:
            return self._user.render(merged, strict=False)
        return self._content.render_messages(merged)

    def render_text(
        self, values: Mapping[str, Any] | None = None, /, *, strict: bool = True, **variables: Any
    ) -> str:
        """A text prompt's rendered text; an older-shape chat prompt's rendered user
        template alone (for completion-style APIs: only its variables are required, the
        system prompt's are accepted). Other chat prompts raise :class:`PromptShapeError`
        (use :meth:`render`)."""
        if self._kind is CHAT:
            raise self._shape_error("render_text")
        merged = self._values(values, variables, strict, self._content.user_needed)
        return self._user.render(merged, strict=False)

    def render_system(
        self, values: Mapping[str, Any] | None = None, /, *, strict: bool = True, **variables: Any
    ) -> str:
        """An older-shape chat prompt's rendered system prompt alone ("" when there is none;
        always "" for a text prompt). Other chat prompts raise :class:`PromptShapeError`
        (use :meth:`render`)."""
        if self._kind is CHAT:
            raise self._shape_error("render_system")
        merged = self._values(values, variables, strict, self._content.system_needed)
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
        content = self._content
        if content.plain and variables.keys() == self._names:  # exactly the variables
            return variables
        return content.check(variables, strict, needed)

    def _shape_error(self, method: str) -> PromptShapeError:
        return PromptShapeError(
            self.slug,
            method,
            f"its {len(self.messages)} message(s) are not one optional system message and"
            " one user message",
        )

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
            messages, text = payload.get("messages"), payload.get("text")
            older = payload.get("type") in (None, "chat")
            if messages is None and text is None and older:  # an older server's fields alone
                content: dict[str, Any] = {
                    "user_template": _str(payload["user_template"], "user_template"),
                    "system_prompt": _str(payload.get("system_prompt") or "", "system_prompt"),
                }
            else:  # the older fields, when the shape has them, are derived from the messages
                content = {"messages": tuple(_list(messages or [], "messages")), "text": text}
            tools = payload.get("tools")
            return cls(
                slug=_str(payload["slug"], "slug"),
                version=version,
                type=_str(payload.get("type") or "chat", "type"),
                **content,
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
        """A fallback ``Prompt``: from a user-template string, a dict of fields, or a Prompt.

        The dict takes the fields of a prompt payload: the content as ``messages`` (role
        messages and placeholders), or ``text`` (a text prompt), or the older
        ``system_prompt`` + ``user_template``; ``inputs``, ``model``, ``params``, etc.
        Content that is not a prompt's raises :class:`ConfigurationError` naming the field.
        """
        if isinstance(fallback, Prompt):
            return fallback.with_flags(is_fallback=True)
        if isinstance(fallback, str):
            fields: dict[str, Any] = {"user_template": fallback}
        elif isinstance(fallback, Mapping):
            unknown = sorted(set(fallback) - _FALLBACK_FIELDS)
            if unknown:
                raise ConfigurationError(
                    f"fallback for {slug!r} has unknown field(s): {', '.join(map(str, unknown))}"
                    f" (allowed: {', '.join(sorted(_FALLBACK_FIELDS))})"
                )
            # A null is the field's default, as in a payload (a dict copied from one).
            given = {k: v for k, v in fallback.items() if v is not None or k in _NULLABLE}
            fields = {"slug": slug, "version": version, "user_template": "", **given}
        else:
            raise ConfigurationError(
                f"fallback for {slug!r} must be a str (the user template), a dict of Prompt"
                f" fields or a Prompt, not {type(fallback).__name__}"
            )
        try:
            return cls(**{"slug": slug, "version": version, **fields}, is_fallback=True)
        except (TypeError, ValueError) as exc:  # a template error is a ValueError too
            raise ConfigurationError(f"fallback for {slug!r}: {exc}") from exc


def _list(value: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise TypeError(f"{name!r} is not a list of objects")
    return value


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name!r} is not a string")
    return value
