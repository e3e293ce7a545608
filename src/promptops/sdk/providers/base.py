"""What ``run()`` needs from an LLM provider, and the registry of the three it knows.

Each provider module wraps the provider's official Python library, imported lazily (it is an
optional extra: ``promptops[openai]``, ``[anthropic]``, ``[gemini]``). A provider:

- builds the keyword arguments of the library call from the rendered messages, the version's
  model / temperature / max tokens and its :class:`~promptops.sdk.providers.spec.CallSpec`
  (tools, tool choice, response format, params) mapped to the provider's own form
  (``build``); what the provider cannot express raises
  :class:`~promptops.sdk.errors.UnsupportedFieldError` there, before any call. It calls the
  library, sync or async (``create`` / ``acreate``), returning the library's own response or
  stream object;
- reads usage, text and tool calls from a response or from a list of stream chunks, cheaply
  (these run on the caller's thread);
- turns a response, a list of chunks, the request and an error into JSON for the log
  (``dump``, ``merge``, ``logged_request``, ``error_body``): these run on the log sender, off
  the request path.
"""

from __future__ import annotations

import abc
import importlib
import inspect
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from promptops.sdk.errors import ConfigurationError, UnsupportedFieldError

if TYPE_CHECKING:
    from promptops.sdk.providers.spec import CallSpec
    from promptops.sdk.run_result import ToolCall

__all__ = [
    "NOT_LOGGED",
    "PROVIDERS",
    "Provider",
    "detect_provider",
    "get_provider",
    "to_json",
]

# Call arguments that are transport settings, not part of the request (and may hold secrets).
NOT_LOGGED = frozenset({"extra_headers", "extra_query", "timeout", "http_options"})

PROVIDERS = ("openai", "anthropic", "gemini")


class Provider(abc.ABC):
    """Base class of the provider adapters (stateless; one instance per provider)."""

    name: ClassVar[str]
    title: ClassVar[str]  # for messages: "OpenAI"
    library: ClassVar[str]  # import name: "openai", "google.genai"
    env_hint: ClassVar[str]  # the environment variables a default client reads

    _module: ModuleType | None = None

    # -- the library and its clients ------------------------------------------------------

    def import_library(self) -> ModuleType:
        """The provider's library, imported on first use; a clear error naming the extra
        when it is not installed."""
        module = self._module
        if module is None:
            try:
                module = importlib.import_module(self.library)
            except ImportError as exc:
                raise ConfigurationError(
                    f"run(provider={self.name!r}) needs the {self.title} library, which is"
                    f" not installed: pip install 'promptops[{self.name}]'"
                ) from exc
            self._module = module
        return module

    @abc.abstractmethod
    def default_client(self, is_async: bool) -> Any:
        """A client configured from the environment (the library's own variables)."""
        ...

    def callable_client(self, client: Any, is_async: bool) -> Any:
        """The object to call for ``client`` (a caller's client), checked to be of the
        right kind (sync for ``Client.run``, async for ``AsyncClient.run``)."""
        return client

    def _client_with(
        self, client: Any, is_async: bool, method: str, sync_class: str, async_class: str
    ) -> Any:
        """``client`` checked to have ``method`` (a dotted path, e.g. ``messages.create``)
        and to be sync or async as the caller needs. Class names are for the messages."""
        create = client
        try:
            for part in method.split("."):
                create = getattr(create, part)
        except AttributeError:
            raise ConfigurationError(
                f"provider={self.name!r} needs an {sync_class} /"
                f" {async_class.rsplit('.', 1)[-1]} client, got {type(client).__name__}"
            ) from None
        if is_async_callable(create) != is_async:
            wanted = async_class if is_async else sync_class
            caller = "AsyncClient.run" if is_async else "Client.run"
            raise ConfigurationError(f"{caller} needs a {wanted} client, got {type(client)!r}")
        return client

    def close_client(self, client: Any) -> Any:
        """Close a client made by :meth:`default_client` (may return an awaitable)."""
        close = getattr(client, "close", None)
        return close() if close is not None else None

    # -- the call -------------------------------------------------------------------------

    @abc.abstractmethod
    def build(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str,
        temperature: float | None,
        max_tokens: int | None,
        params: dict[str, Any],
        stream: bool,
        temperature_given: bool = False,
        spec: CallSpec | None = None,
    ) -> dict[str, Any]:
        """Keyword arguments for the library call. ``params``: the caller's other keyword
        arguments, sent unchanged; ``temperature_given``: the caller passed
        ``temperature=`` (else it is the version's); ``spec``: tools, tool choice, response
        format and params in the neutral form, mapped here."""
        ...

    def unsupported(self, field: str, reason: str) -> UnsupportedFieldError:
        return UnsupportedFieldError(self.name, field, reason)

    @abc.abstractmethod
    def create(self, client: Any, kwargs: dict[str, Any], stream: bool) -> Any: ...

    @abc.abstractmethod
    async def acreate(self, client: Any, kwargs: dict[str, Any], stream: bool) -> Any: ...

    # -- reading answers (caller's thread: keep cheap) ------------------------------------

    @abc.abstractmethod
    def usage(self, response: Any) -> tuple[int | None, int | None]:
        """(input tokens, output tokens) of a response; None where not reported."""
        ...

    @abc.abstractmethod
    def stream_usage(self, chunks: Sequence[Any]) -> tuple[int | None, int | None]: ...

    @abc.abstractmethod
    def text(self, response: Any) -> str | None: ...

    @abc.abstractmethod
    def chunk_text(self, chunk: Any) -> str: ...

    @abc.abstractmethod
    def tool_calls(self, response: Any) -> list[ToolCall]:
        """The function calls of a response (first choice / candidate), arguments parsed
        (:class:`~promptops.sdk.errors.InvalidOutputError` when they are not JSON)."""
        ...

    @abc.abstractmethod
    def stream_tool_calls(self, chunks: Sequence[Any]) -> list[ToolCall]:
        """The function calls of a stream, its deltas accumulated."""
        ...

    # -- JSON for the log (the sender's thread) -------------------------------------------

    def logged_request(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """What was sent: the call's arguments without transport settings (values the JSON
        encoder does not know are converted by :func:`to_json` as it meets them)."""
        return {k: v for k, v in kwargs.items() if k not in NOT_LOGGED}

    def dump_json(self, response: Any) -> str | None:
        """The response as the provider's JSON text, serialized by its own pydantic model
        (API field names, fields as received); None when that is not possible."""
        dump = getattr(response, "model_dump_json", None)
        if dump is None:
            return None
        try:
            return str(dump(exclude_unset=True, by_alias=True))
        except Exception:
            return None

    def dump(self, response: Any) -> dict[str, Any] | None:
        """The response as the provider's JSON (the slower path of :meth:`dump_json`)."""
        value = to_json(response)
        return value if isinstance(value, dict) else {"value": value}

    @abc.abstractmethod
    def merge(self, chunks: Sequence[Any]) -> dict[str, Any] | None:
        """The chunks of a stream merged into the shape of a non-streamed response."""
        ...

    def error_body(self, exc: BaseException) -> Any:
        """The provider's error body carried by ``exc``, if any (as is: cheap)."""
        return getattr(exc, "body", None)

    def error_json(self, body: Any) -> dict[str, Any] | None:
        """An :meth:`error_body` as JSON for the log's ``response``."""
        value = to_json(body)
        return value if isinstance(value, dict) else {"error": value}


def is_async_callable(func: Any) -> bool:
    """Whether ``func`` is a coroutine function, looking through decorators that keep
    ``__wrapped__`` (the libraries wrap their ``create`` methods)."""
    if func is None:
        return False
    try:
        return inspect.iscoroutinefunction(inspect.unwrap(func))
    except ValueError:  # pragma: no cover - a __wrapped__ cycle
        return inspect.iscoroutinefunction(func)


def to_json(value: Any) -> Any:
    """``value`` as JSON-compatible data: pydantic models of the provider libraries as the
    provider's JSON (API field names, unset fields left out), containers recursively,
    anything else unknown as its ``str``."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    to_dict = getattr(value, "to_dict", None)  # openai / anthropic models
    if to_dict is not None and hasattr(value, "model_fields_set"):
        try:
            return to_dict(mode="json")
        except Exception:  # pragma: no cover - fall through to model_dump
            pass
    model_dump = getattr(value, "model_dump", None)  # google-genai and other pydantic models
    if model_dump is not None:
        try:
            return model_dump(mode="json", exclude_none=True, by_alias=True)
        except Exception:
            return str(value)
    if isinstance(value, set | frozenset):
        return [to_json(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _registry() -> dict[str, Provider]:
    from promptops.sdk.providers.anthropic import AnthropicProvider
    from promptops.sdk.providers.gemini import GeminiProvider
    from promptops.sdk.providers.openai import OpenAIProvider

    return {
        "openai": OpenAIProvider(),
        "anthropic": AnthropicProvider(),
        "gemini": GeminiProvider(),
    }


_PROVIDERS: dict[str, Provider] = {}


def get_provider(name: str) -> Provider:
    """The adapter for ``name`` ("openai", "anthropic", "gemini")."""
    if not _PROVIDERS:
        _PROVIDERS.update(_registry())
    try:
        return _PROVIDERS[name]
    except (KeyError, TypeError):
        raise ConfigurationError(
            f"unknown provider {name!r}; expected one of: {', '.join(PROVIDERS)}"
        ) from None


_MODEL_PREFIXES = (
    (("gpt-", "chatgpt-", "o1", "o3", "o4", "ft:gpt-"), "openai"),
    (("claude",), "anthropic"),
    (("gemini", "models/gemini"), "gemini"),
)


def detect_provider(client: Any, metadata: Mapping[str, Any], model: str | None) -> str | None:
    """Which provider a call is for, when ``provider=`` was not given: from the type of the
    caller's client, else the prompt version's ``metadata["provider"]``, else the model
    name (``gpt-…``/``o…`` → openai, ``claude…`` → anthropic, ``gemini…`` → gemini)."""
    if client is not None:
        module = type(client).__module__
        for name, prefix in (
            ("openai", "openai"),
            ("anthropic", "anthropic"),
            ("gemini", "google"),
        ):
            if module == prefix or module.startswith(prefix + "."):
                return name
    given = metadata.get("provider") if isinstance(metadata, Mapping) else None
    if isinstance(given, str) and given in PROVIDERS:
        return given
    if model:
        for prefixes, name in _MODEL_PREFIXES:
            if model.startswith(prefixes):
                return name
    return None
