"""What a step does: call a provider for a ``prompt`` step (the providers' official
libraries through the SDK's adapters), a URL for an ``http`` step (the webhooks' SSRF
policy; secrets from the project's). :func:`call_prompt` returns ``(output, input_tokens,
output_tokens, cost)`` (cost from the SDK's price table, 0 for a model it does not know),
:func:`call_http` the output; both raise :class:`StepError`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
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
from promptops.sdk.pricing import PriceTable
from promptops.sdk.prompt import Prompt as SdkPrompt
from promptops.sdk.providers.base import get_provider
from promptops.sdk.providers.spec import call_spec
from promptops.templating import compile_template

__all__ = ["Context", "StepError", "call_http", "call_prompt", "select", "step_cost"]

_prices: list[PriceTable] = []


def step_cost(model: str | None, input_tokens: int, output_tokens: int) -> float:
    """USD of one provider call by the price table the SDK logs with (``PROMPTOPS_PRICES``)."""
    if not _prices:
        _prices.append(PriceTable.load())
    return _prices[0].cost(model, input_tokens, output_tokens) or 0.0


_SECRET = re.compile(r"\{\{\{?\s*&?\s*secrets\.([A-Z][A-Z0-9_]*)")


class StepError(Exception):
    """A step failed; ``retry``: another attempt may succeed; ``timed_out``: it ran past
    its ``timeout_seconds``."""

    def __init__(self, message: str, *, retry: bool = False, timed_out: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
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
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
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


def call_prompt(
    ctx: Context, step: PromptStep, data: dict[str, Any], timeout: float
) -> tuple[Any, int, int, float]:
    with ctx.db.read() as session:
        prompt = prompts.get_prompt(session, ctx.project_id, step.prompt, kind="prompt")
        if step.version is not None:
            version = versions.get_version(session, prompt, step.version)
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
    variables = {k: select(v, data) for k, v in step.variables.items()}
    try:
        messages = sdk_prompt.render(variables, strict=False)
    except PromptOpsError as exc:
        raise StepError(f"variables: {exc}") from None
    if isinstance(messages, str):
        messages = [{"role": "user", "content": messages}]
    name, client = _client(connection, api_key, timeout)
    adapter = get_provider(name)
    kwargs = adapter.build(
        messages,
        sdk_prompt.model or "",
        sdk_prompt.temperature,
        sdk_prompt.max_tokens,
        {},
        False,
        spec=call_spec(sdk_prompt, {}),
    )
    try:
        response = adapter.create(client, kwargs, False)
    except Exception as exc:  # the provider library's errors
        status = getattr(exc, "status_code", None)
        retry = status is None or status >= 500 or status == 429
        if "Timeout" in type(exc).__name__:  # openai/anthropic APITimeoutError, httpx's
            raise StepError(f"timed out after {timeout:g} s", retry=True, timed_out=True) from None
        raise StepError(f"{type(exc).__name__}: {exc}"[:500], retry=retry) from None
    tokens_in, tokens_out = adapter.usage(response)
    text = adapter.text(response)
    output: Any = text
    if payload.get("response_format") and text is not None:
        kind = payload["response_format"].get("type")
        if kind in ("json_object", "json_schema"):
            try:
                output = json.loads(text)
            except ValueError:
                raise StepError("the reply is not the JSON the response format asks for") from None
    tokens_in, tokens_out = tokens_in or 0, tokens_out or 0
    return output, tokens_in, tokens_out, step_cost(sdk_prompt.model, tokens_in, tokens_out)
