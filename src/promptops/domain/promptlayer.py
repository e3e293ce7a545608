"""The PromptLayer-compatible API's services: templates read, published and listed as
PromptLayer blueprints, and the SDK's request logging and tracking calls as request logs.

PromptLayer's release labels are PromptOps environments: ``label`` must be ``dev``,
``staging`` or ``production``, and a key reads and moves only its own environment (as
everywhere). Without a label or version, a read gets the version active in the key's
environment. Request ids are the request log's ``seq`` (an integer, as PromptLayer's are);
the ``track`` calls annotate that log (its metadata, or its prompt link) within the key's
project and environment.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from promptops.compat.promptlayer.blueprint import from_blueprint, to_blueprint
from promptops.contract.content import VersionCreate
from promptops.contract.validation import parse
from promptops.db.models import ChangeRequest, Prompt, PromptVersion, RequestLog
from promptops.domain import deployments, logs, prompts, snippets, versions
from promptops.domain.access import ENVIRONMENTS, Actor
from promptops.domain.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from promptops.domain.payloads import resolved_out
from promptops.errors import PromptOpsError
from promptops.sdk.pricing import PriceTable
from promptops.sdk.prompt import Prompt as RenderablePrompt

__all__ = [
    "annotate_request",
    "get_template",
    "link_request",
    "list_templates",
    "log_request",
    "new_group_id",
    "publish",
    "slug_of_id",
    "track_request",
]

_prices: PriceTable | None = None


def _price_table() -> PriceTable:
    global _prices
    if _prices is None:
        _prices = PriceTable.load()
    return _prices


def _environment(actor: Actor, label: str | None) -> str:
    """The environment a label names (the key's own when None), which the key may read."""
    actor.require_project_key()
    if label is None:
        if actor.environment is None:
            raise InvalidInputError(
                "name the release label (dev, staging or production)", field="label"
            )
        return actor.environment
    if label not in ENVIRONMENTS:
        raise NotFoundError(
            f"release label {label[:64]!r} not found: PromptOps release labels are the"
            f" environments {', '.join(ENVIRONMENTS)}",
            field="label",
        )
    actor.require_environment(label)
    return label


def _payload(session: Session, prompt: Prompt, version: PromptVersion, env: str) -> dict[str, Any]:
    try:
        out = resolved_out(session, prompt, version, env)
    except snippets.SnippetError as exc:
        raise snippets.unservable(prompt, env, exc) from exc
    return out.model_dump(mode="json")


def _render(payload: dict[str, Any], variables: Mapping[str, Any]) -> list[dict[str, Any]] | str:
    try:
        return RenderablePrompt.from_payload(payload).render(dict(variables), strict=False)
    except PromptOpsError as exc:
        raise InvalidInputError(f"input_variables: {exc}", field="input_variables") from None


def get_template(
    session: Session,
    actor: Actor,
    name: str,
    *,
    version: int | None = None,
    label: str | None = None,
    input_variables: Mapping[str, Any] | None = None,
    provider: str | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """The blueprint of ``name``: version ``version``, or the one active where ``label``
    (default: the key's environment) points; rendered when ``input_variables`` are given."""
    env = _environment(actor, label) if (label is not None or version is None) else None
    project = actor.project_for(None)
    prompt = prompts.get_prompt(session, project, name)
    if version is not None:
        row = versions.get_version(session, prompt, version)
        if env is not None:
            active = deployments.active_deployments(session, prompt)[env]
            if active is None or active.version != version:
                raise NotFoundError(
                    f"prompt {name!r} version {version} is not the one labelled {env!r}",
                    field="version",
                )
        env = env or actor.environment or "dev"
    else:
        assert env is not None
        found = deployments.active_version(session, project, name, env)
        if found is None:
            raise deployments.no_active_error(session, project, name, env)
        row = found[1]
    payload = _payload(session, prompt, row, env)
    rendered = _render(payload, input_variables) if input_variables else None
    return to_blueprint(
        payload, prompt_id=prompt.id, rendered=rendered, provider=provider, model=model
    )


def list_templates(
    session: Session, actor: Actor, *, page: int, per_page: int, label: str | None
) -> tuple[list[dict[str, Any]], bool]:
    """One page of the project's prompts (by slug), each as active in the label's
    environment; prompts with nothing active there are left out of the page."""
    env = _environment(actor, label)
    project = actor.project_for(None)
    rows = prompts.list_prompts(session, project, limit=page * per_page + 1)
    window = rows[(page - 1) * per_page : page * per_page]
    items = []
    for prompt in window:
        found = deployments.active_version(session, project, prompt.slug, env)
        if found is not None:
            items.append(
                to_blueprint(_payload(session, prompt, found[1], env), prompt_id=prompt.id)
            )
    return items, len(rows) > page * per_page


def publish(
    session: Session,
    actor: Actor,
    template: Mapping[str, Any],
    version: Mapping[str, Any] | None,
    release_labels: list[str] | None,
) -> dict[str, Any]:
    """Create the next version of the prompt ``prompt_name`` (the prompt too, if new) from
    a blueprint, and move ``release_labels`` (environments) to it. All or nothing."""
    actor.require_write()
    content = version if version is not None else template
    name = template.get("prompt_name") or content.get("prompt_name")
    if not isinstance(name, str) or not name:
        raise InvalidInputError("prompt_template.prompt_name: required", field="prompt_name")
    labels = list(dict.fromkeys(release_labels or ()))
    for label in labels:
        _environment(actor, label)  # refused before anything is written
    blueprint = {**content, "tags": content.get("tags") or template.get("tags")}
    fields = from_blueprint(
        blueprint, "prompt_version" if version is not None else "prompt_template"
    )
    body = parse(VersionCreate, fields)
    project = actor.project_for(None)
    try:
        prompts.get_prompt(session, project, name)
    except NotFoundError:
        prompts.create_prompt(session, actor, slug=name, name=name, type=body.type)
    pushed = versions.push_body(session, actor, name, body)
    pending = []
    for label in labels:
        if label == "dev":
            continue  # a new version is active in dev at once
        done = deployments.promote(session, actor, name, label, version=pushed.version.version)
        if isinstance(done, ChangeRequest):
            pending.append(label)
    prompt = prompts.get_prompt(session, project, name)
    payload = _payload(session, prompt, pushed.version, "dev")
    active = deployments.active_deployments(session, prompt)
    out = to_blueprint(payload, prompt_id=prompt.id)
    out["release_labels"] = [
        env
        for env, row in active.items()
        if row is not None and row.version == pushed.version.version
    ]
    out["pending_labels"] = pending
    if pending:
        out["warning"] = (
            f"{', '.join(pending)} is protected: a change request waits for an approval"
        )
    return out


# ---- request logs ---------------------------------------------------------------------


def _usage(response: Mapping[str, Any] | None) -> tuple[int | None, int | None]:
    usage = response.get("usage") if isinstance(response, Mapping) else None
    if not isinstance(usage, Mapping):
        return None, None

    def count(*names: str) -> int | None:
        for name in names:
            value = usage.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value
        return None

    return count("prompt_tokens", "input_tokens"), count("completion_tokens", "output_tokens")


def slug_of_id(session: Session, actor: Actor, prompt_id: int) -> str:
    """The slug of the prompt with PromptLayer id ``prompt_id`` (our prompt's id)."""
    slug = _linked_prompt(session, actor.project_for(None), prompt_id)
    assert slug is not None
    return slug


def _linked_prompt(session: Session, project: str, prompt_id: int | None) -> str | None:
    if prompt_id is None:
        return None
    prompt = session.get(Prompt, prompt_id)
    if prompt is None or prompt.project_id != project:
        raise NotFoundError(f"prompt_id {prompt_id} not found in this project", field="prompt_id")
    return prompt.slug


def _times(start: float | None, end: float | None) -> tuple[datetime | None, float]:
    if start is None:
        return None, 0.0
    latency = max(0.0, (end - start) * 1000.0) if end is not None else 0.0
    try:
        return datetime.fromtimestamp(start, UTC), latency
    except (OverflowError, OSError, ValueError):
        raise InvalidInputError(
            "request_start_time: not a Unix time", field="request_start_time"
        ) from None


def _store(session: Session, actor: Actor, record: dict[str, Any]) -> int:
    record["id"] = str(uuid.uuid4())
    record.setdefault(
        "cost_usd",
        _price_table().cost(
            record["model"], record.get("input_tokens"), record.get("output_tokens")
        ),
    )
    logs.ingest(session, actor, [record])
    seq = session.scalar(
        select(RequestLog.seq).where(
            RequestLog.project_id == actor.project_for(None), RequestLog.id == record["id"]
        )
    )
    assert seq is not None
    return seq


def track_request(session: Session, actor: Actor, body: Mapping[str, Any]) -> int:
    """A provider call the SDK's ``run()`` made, as a request log; its request id."""
    actor.require_project_key()
    project = actor.project_for(None)
    kwargs = body.get("kwargs") or {}
    response = body.get("request_response")
    model = kwargs.get("model") if isinstance(kwargs.get("model"), str) else None
    input_tokens, output_tokens = _usage(response)
    created, latency = _times(body.get("request_start_time"), body.get("request_end_time"))
    metadata: dict[str, Any] = dict(body.get("metadata") or {})
    if body.get("prompt_input_variables"):
        metadata["input_variables"] = body["prompt_input_variables"]
    if body.get("group_id") is not None:
        metadata["promptlayer_group_id"] = body["group_id"]
    if body.get("function_name"):
        metadata["promptlayer_function_name"] = body["function_name"]
    failed = (body.get("status") or "SUCCESS").upper() == "ERROR"
    record = {
        "provider": (body.get("provider_type") or "openai")[:50],
        "model": (model or "unknown")[:200],
        "prompt_slug": _linked_prompt(session, project, body.get("prompt_id")),
        "prompt_version": body.get("prompt_version") if body.get("prompt_id") else None,
        "status": "error" if failed else "ok",
        "error": (
            f"{body.get('error_type') or 'ERROR'}: {body.get('error_message') or ''}"
            if failed
            else None
        ),
        "latency_ms": latency,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "request": dict(kwargs),
        "response": dict(response) if response else None,
        "metadata": metadata or None,
        "tags": list(body.get("tags") or []) or None,
        "created_at": created,
    }
    return _store(session, actor, record)


def log_request(session: Session, actor: Actor, body: Mapping[str, Any]) -> int:
    """A call the application made itself (``log_request``): input and output blueprints."""
    actor.require_project_key()
    project = actor.project_for(None)
    slug = _linked_prompt(session, project, body.get("prompt_id"))
    if slug is None and body.get("prompt_name"):
        slug = prompts.get_prompt(session, project, body["prompt_name"]).slug
    created, latency = _times(body["request_start_time"], body["request_end_time"])
    metadata: dict[str, Any] = dict(body.get("metadata") or {})
    if body.get("prompt_input_variables"):
        metadata["input_variables"] = body["prompt_input_variables"]
    if body.get("score"):
        metadata["scores"] = {body.get("score_name") or "default": body["score"]}
    failed = (body.get("status") or "SUCCESS").upper() == "ERROR"
    record: dict[str, Any] = {
        "provider": body["provider"],
        "model": body["model"],
        "prompt_slug": slug,
        "prompt_version": body.get("prompt_version_number") if slug else None,
        "status": "error" if failed else "ok",
        "error": (
            f"{body.get('error_type') or 'ERROR'}: {body.get('error_message') or ''}"
            if failed
            else None
        ),
        "latency_ms": latency,
        "input_tokens": body.get("input_tokens"),
        "output_tokens": body.get("output_tokens"),
        "request": {"input": body["input"], "parameters": body.get("parameters") or {}},
        "response": {"output": body["output"]},
        "metadata": metadata or None,
        "tags": list(body.get("tags") or []) or None,
        "created_at": created,
    }
    if body.get("price"):
        record["cost_usd"] = float(body["price"])
    return _store(session, actor, record)


def _own_log(session: Session, actor: Actor, request_id: int) -> RequestLog:
    actor.require_project_key()
    row = session.scalar(
        select(RequestLog).where(
            RequestLog.project_id == actor.project_for(None),
            RequestLog.environment == actor.environment,
            RequestLog.seq == request_id,
        )
    )
    if row is None:
        raise NotFoundError(f"request {request_id} not found", field="request_id")
    return row


def annotate_request(
    session: Session,
    actor: Actor,
    request_id: int,
    *,
    metadata: Mapping[str, str] | None = None,
    score: tuple[str, int] | None = None,
    group_id: int | None = None,
) -> None:
    """``track.metadata`` / ``track.score`` / ``track.group``: merged into the log's
    metadata (``scores`` by name, ``promptlayer_group_id``)."""
    row = _own_log(session, actor, request_id)
    meta = dict(row.meta or {})
    if metadata:
        meta.update(metadata)
    if score is not None:
        scores = dict(meta.get("scores") or {})
        scores[score[0]] = score[1]
        meta["scores"] = scores
    if group_id is not None:
        meta["promptlayer_group_id"] = group_id
    row.meta = meta
    session.flush()


def link_request(
    session: Session,
    actor: Actor,
    request_id: int,
    *,
    prompt_name: str,
    version: int | None,
    label: str | None,
    input_variables: Mapping[str, Any],
) -> None:
    """``track.prompt``: the log is linked to ``prompt_name`` at ``version`` (or the
    version ``label`` points at; default the key's environment's)."""
    row = _own_log(session, actor, request_id)
    project = actor.project_for(None)
    prompt = prompts.get_prompt(session, project, prompt_name)
    if version is not None:
        number = versions.get_version(session, prompt, version).version
    else:
        env = _environment(actor, label)
        active = deployments.active_deployments(session, prompt)[env]
        if active is None:
            raise NotFoundError(f"prompt {prompt_name!r} has no version active in {env!r}")
        number = active.version
    row.prompt_slug = prompt.slug
    row.prompt_version = number
    if input_variables:
        row.meta = {**(row.meta or {}), "input_variables": dict(input_variables)}
    session.flush()


def new_group_id(actor: Actor) -> int:
    """``group.create``: PromptOps has no group objects; a group is the number every
    request tracked with it carries in its metadata (``promptlayer_group_id``)."""
    actor.require_project_key()
    if actor.role not in ("read", "write"):
        raise PermissionDeniedError("a project key is needed")
    return time.time_ns() // 1000
