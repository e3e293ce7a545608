"""What a step does: call a provider for a ``prompt`` step (the providers' official
libraries through the SDK's adapters), a URL for an ``http`` step (the webhooks' SSRF
policy; secrets from the project's). A failure raises :class:`StepError`."""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx
import jmespath
from sqlalchemy import select as sql_select

from promptops.contract.agents import HttpStep, PromptStep
from promptops.db.models import ActiveDeployment, ProviderConnection
from promptops.db.session import Database
from promptops.domain import prompts, versions
from promptops.domain import secrets as project_secrets
from promptops.domain.payloads import version_out
from promptops.domain.secretbox import SecretBox
from promptops.domain.ssrf import UrlRefusedError, check_url
from promptops.errors import PromptOpsError
from promptops.sdk.errors import InvalidOutputError
from promptops.sdk.pricing import PriceTable
from promptops.sdk.prompt import Prompt as SdkPrompt
from promptops.sdk.providers.base import get_provider
from promptops.sdk.providers.spec import call_spec
from promptops.sdk.run_result import parse_output
from promptops.templating import compile_template

__all__ = ["Context", "Reply", "StepError", "call_http", "call_prompt", "cost_of", "select"]

_SECRET = re.compile(r"\{\{\{?\s*&?\s*secrets\.([A-Z][A-Z0-9_]*)")


class StepError(Exception):
    """A step failed; ``retry``: another attempt may succeed; ``usage``: the tokens and cost
    of a provider call made before the failure (a reply that does not match);
    ``timed_out``: it ran past its ``timeout_seconds``."""

    def __init__(
        self,
        message: str,
        *,
        retry: bool = False,
        usage: dict[str, Any] | None = None,
        timed_out: bool = False,
    ) -> None:
        super().__init__(message)
        self.retry = retry
        self.usage = usage or {}
        self.timed_out = timed_out


@dataclass
class Context:
    db: Database
    box: SecretBox
    allow_private: bool
    project_id: str
    environment: str


def select(expression: str, data: dict[str, Any]) -> Any:
    return jmespath.search(expression, data)


def _render(source: str, values: dict[str, Any]) -> str:
    return compile_template(source).render(values, strict=False)


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every http step: building one (the CA bundle) costs tens of ms."""
    return httpx.create_ssl_context()


def call_http(ctx: Context, step: HttpStep, data: dict[str, Any], timeout: float) -> Any:
    sources = [step.url, step.body or "", *step.headers.values()]
    names = {n for s in sources for n in _SECRET.findall(s)}
    values = dict(data)
    if names:
        with ctx.db.read() as session:
            try:
                values["secrets"] = project_secrets.secret_values(
                    session, ctx.box, ctx.project_id, names
                )
            except PromptOpsError as exc:
                raise StepError(str(exc)) from None
    url = _render(step.url, values)
    try:
        target = check_url(url, allow_private=ctx.allow_private)
    except UrlRefusedError as exc:
        raise StepError(f"url refused: {exc.message}") from None
    headers = {k: _render(v, values) for k, v in step.headers.items()}
    body = None if step.body is None else _render(step.body, values)
    parsed = httpx.URL(url)
    headers.setdefault("host", parsed.netloc.decode("ascii"))
    ext = {"sni_hostname": target.host} if parsed.scheme == "https" else {}
    try:
        with httpx.Client(
            timeout=timeout, follow_redirects=False, trust_env=False, verify=_tls()
        ) as client:
            response = client.request(
                step.method,
                parsed.copy_with(host=target.address),
                content=body,
                headers=headers,
                extensions=ext,
            )
    except httpx.TimeoutException:
        raise StepError(f"timed out after {timeout:g} s", retry=True, timed_out=True) from None
    except httpx.HTTPError as exc:
        raise StepError(f"{exc or type(exc).__name__}", retry=True) from None
    if response.status_code >= 400:
        raise StepError(
            f"HTTP {response.status_code}: {response.text[:300]}",
            retry=response.status_code >= 500 or response.status_code == 429,
        )
    try:
        return response.json()
    except ValueError:
        return response.text


def _client(connection: ProviderConnection, api_key: str, timeout: float) -> tuple[str, Any]:
    kind = connection.provider
    if kind in ("openai", "openai_compatible"):
        import openai

        return "openai", openai.OpenAI(
            api_key=api_key, base_url=connection.base_url, max_retries=0, timeout=timeout
        )
    if kind == "anthropic":
        import anthropic

        return "anthropic", anthropic.Anthropic(
            api_key=api_key, base_url=connection.base_url, max_retries=0, timeout=timeout
        )
    from google import genai
    from google.genai import types

    options = types.HttpOptions(base_url=connection.base_url, timeout=int(timeout * 1000))
    return "gemini", genai.Client(api_key=api_key, http_options=options)


@dataclass
class Reply:
    """One provider call of a ``prompt`` step: its output (the text, or the JSON a response
    format asks for, checked), tokens and cost (the SDK's price table), and when the model
    asks for tools, its ``tool_calls`` (``{"id", "name", "arguments"}``) with the
    conversation so far and the prompt version (the next turn uses the same)."""

    output: Any
    input_tokens: int
    output_tokens: int
    cost: float
    tool_calls: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    version: int


_prices: PriceTable | None = None


def cost_of(model: str | None, input_tokens: int, output_tokens: int) -> float:
    """USD of one call by the SDK's price table (0 for a model it does not know)."""
    global _prices
    if _prices is None:
        _prices = PriceTable.load()
    return _prices.cost(model, input_tokens, output_tokens) or 0.0


def call_prompt(
    ctx: Context,
    step: PromptStep,
    data: dict[str, Any],
    timeout: float,
    messages: list[dict[str, Any]] | None = None,
    version_number: int | None = None,
) -> Reply:
    """A call of ``step``'s prompt: its messages rendered from ``data``, or ``messages`` (a
    tool loop's later turn, with the ``version_number`` its first turn used)."""
    with ctx.db.read() as session:
        prompt = prompts.get_prompt(session, ctx.project_id, step.prompt, kind="prompt")
        pinned = version_number if version_number is not None else step.version
        if pinned is not None:
            version = versions.get_version(session, prompt, pinned)
        else:
            active = session.get(ActiveDeployment, (prompt.id, ctx.environment))
            if active is None:
                raise StepError(f"prompt {step.prompt!r} has no version in {ctx.environment!r}")
            version = versions.get_version(session, prompt, active.version)
        payload = version_out(prompt, version).model_dump(mode="json")
        query = sql_select(ProviderConnection).where(
            ProviderConnection.project_id == ctx.project_id
        )
        if step.provider:
            query = query.where(ProviderConnection.name == step.provider)
        connection = session.scalars(query.order_by(ProviderConnection.name)).first()
        if connection is None:
            raise StepError("no provider connection in this project (POST /v1/providers)")
        _, api_key = project_secrets.provider_api_key(
            session, ctx.box, ctx.project_id, connection.name
        )
    sdk_prompt = SdkPrompt.from_payload(payload)
    spec = call_spec(sdk_prompt, {})
    declared = {t["function"]["name"] for t in spec.tools or ()}
    for tool in step.tools:
        if tool not in declared:
            raise StepError(
                f"tools.{tool}: prompt {step.prompt!r} version {version.version} has no tool"
                f" {tool!r} ({', '.join(sorted(declared)) or 'it has no tools'})"
            )
    if messages is None:
        variables = {k: select(v, data) for k, v in step.variables.items()}
        try:
            rendered = sdk_prompt.render(variables, strict=False)
        except PromptOpsError as exc:
            raise StepError(f"variables: {exc}") from None
        if isinstance(rendered, str):
            rendered = [{"role": "user", "content": rendered}]
        messages = [dict(m) for m in rendered]
    name, client = _client(connection, api_key, timeout)
    adapter = get_provider(name)
    try:
        kwargs = adapter.build(
            messages,
            sdk_prompt.model or "",
            sdk_prompt.temperature,
            sdk_prompt.max_tokens,
            {},
            False,
            spec=spec,
        )
    except PromptOpsError as exc:  # what the provider cannot express
        raise StepError(str(exc)) from None
    try:
        response = adapter.create(client, kwargs, False)
    except Exception as exc:  # the provider library's errors
        status = getattr(exc, "status_code", None)
        retry = status is None or status >= 500 or status == 429
        if "Timeout" in type(exc).__name__:  # openai/anthropic APITimeoutError, httpx's
            raise StepError(f"timed out after {timeout:g} s", retry=True, timed_out=True) from None
        raise StepError(f"{type(exc).__name__}: {exc}"[:500], retry=retry) from None
    tokens_in, tokens_out = (n or 0 for n in adapter.usage(response))
    cost = cost_of(sdk_prompt.model, tokens_in, tokens_out)
    text = adapter.text(response)
    try:
        calls = [
            {"id": c.id, "name": c.name, "arguments": c.arguments}
            for c in adapter.tool_calls(response)
        ]
    except InvalidOutputError as exc:
        raise StepError(
            f"the model's tool call: {exc}",
            retry=True,
            usage={"input_tokens": tokens_in, "output_tokens": tokens_out, "cost": cost},
        ) from None
    reply = Reply(text, tokens_in, tokens_out, cost, calls, messages, version.version)
    spent = {"input_tokens": tokens_in, "output_tokens": tokens_out, "cost": cost}
    if calls:
        for call in calls:
            if call["name"] not in step.tools:
                raise StepError(
                    f"tools.{call['name']}: the model called {call['name']!r}, which this"
                    " step does not bind (tools: {name: {step} or {agent}})",
                    usage=spent,
                )
        return reply
    try:
        parsed = parse_output(text, spec)
    except InvalidOutputError as exc:  # retried: another reply may match
        raise StepError(f"response_format: {exc.reason}", retry=True, usage=spent) from None
    if spec.json_format is not None:
        reply.output = parsed
    return reply
