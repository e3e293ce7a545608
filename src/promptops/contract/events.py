"""Event payloads: what the event log holds and the stream and webhooks send.

Every event is ``{"id", "type", "timestamp", "project": {"id", "name"}, "data"}``; ``data``
depends on ``type``. The models forbid unknown fields, so a test that validates every event a
scenario writes catches a payload drifting from this contract.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter, create_model

from promptops.contract.evals import EvalResultOut
from promptops.contract.prompts import VersionOut

__all__ = [
    "EVENT_MODELS",
    "AgentRunCompletedData",
    "EvalResultCreatedData",
    "Event",
    "EventProject",
    "LabelData",
    "MovedSnippet",
    "PromptCreatedData",
    "ResolvedPrompt",
    "TemplateUpdatedData",
    "VersionCreatedData",
    "WebhookTestData",
    "parse_event",
    "typed_event_model",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResolvedPrompt(VersionOut):
    """The prompt as ``/active`` serves it; for a version that is not (yet) a deployment,
    ``environment``, ``deployed_at`` and ``deployment_id`` are null."""

    model_config = ConfigDict(extra="forbid")
    environment: str | None
    deployed_at: datetime | None
    deployment_id: int | None


class EventProject(_Strict):
    id: str
    name: str | None


class PromptCreatedData(_Strict):
    slug: str
    actor: str | None
    name: str
    description: str | None
    prompt: None


class VersionCreatedData(_Strict):
    slug: str
    actor: str | None
    version: int
    prompt: ResolvedPrompt


class LabelData(_Strict):
    """A label moved (promotion, rollback, a new version in dev) or an approved change."""

    slug: str
    actor: str | None
    environment: str
    version: int
    previous_version: int | None
    action: str
    deployment_id: int
    prompt: ResolvedPrompt


class MovedSnippet(_Strict):
    """The snippet whose label moved, and its version now active there."""

    slug: str
    version: int


class TemplateUpdatedData(_Strict):
    """A snippet's label moved in ``environment``: the served content of the prompt
    ``slug`` (which includes the snippet, unpinned, at some depth) changed there, while its
    own deployment did not. ``prompt`` is the prompt as ``/active`` now serves it;
    ``snippet`` is the snippet that moved and its version now active."""

    slug: str
    actor: str | None
    environment: str
    version: int
    deployment_id: int
    snippet: MovedSnippet
    prompt: ResolvedPrompt


class AgentRunCompletedData(_Strict):
    """An agent run finished (``status``: succeeded, failed, cancelled or timed_out), in the
    environment it ran in; ``actor``: who started it. Also the ``data`` of a run's signed
    ``callback_url`` POST."""

    run_id: str
    agent: str
    version: int
    environment: str
    status: Literal["succeeded", "failed", "cancelled", "timed_out"]
    output: Any
    error: str | None
    input_tokens: int
    output_tokens: int
    cost: float
    actor: str | None


class EventEvalResult(EvalResultOut):
    model_config = ConfigDict(extra="forbid")


class EvalResultCreatedData(_Strict):
    """CI recorded an eval result on version ``version`` of ``slug`` (project-wide: sent to
    every endpoint and stream of the project, like a new version)."""

    slug: str
    actor: str | None
    version: int
    result: EventEvalResult


class WebhookTestData(_Strict):
    endpoint_id: str
    message: str
    actor: str | None


EVENT_MODELS: dict[str, type[BaseModel]] = {
    "prompt_created": PromptCreatedData,
    "prompt_template_version_created": VersionCreatedData,
    "prompt_template_label_moved": LabelData,
    "prompt_template_label_change_approved": LabelData,
    "prompt_template_updated": TemplateUpdatedData,
    "agent_run_completed": AgentRunCompletedData,
    "eval_result_created": EvalResultCreatedData,
    "webhook_test": WebhookTestData,
}


class Event(_Strict):
    id: str
    type: Literal[
        "prompt_created",
        "prompt_template_version_created",
        "prompt_template_label_moved",
        "prompt_template_label_change_approved",
        "prompt_template_updated",
        "agent_run_completed",
        "eval_result_created",
        "webhook_test",
    ]
    timestamp: datetime
    project: EventProject
    data: dict[str, Any]


_EVENT = TypeAdapter(Event)


def parse_event(payload: Any) -> tuple[Event, BaseModel]:
    """Check an event payload against the contract: the envelope and its type's data."""
    event = _EVENT.validate_python(payload)
    return event, EVENT_MODELS[event.type].model_validate(event.data)


def typed_event_model(type_: str) -> type[BaseModel]:
    """The whole event of one type as one model (the envelope with that type's ``data``),
    for its published JSON Schema."""
    data_model = EVENT_MODELS[type_]
    name = "".join(part.title() for part in type_.split("_")) + "Event"
    model: type[BaseModel] = create_model(
        name,
        __base__=_Strict,
        id=(str, ...),
        type=(Literal[type_], ...),
        timestamp=(datetime, ...),
        project=(EventProject, ...),
        data=(data_model, ...),
    )
    return model
