"""PromptLayer's wire shapes, as the official ``promptlayer`` Python SDK sends and reads them
(checked against promptlayer 1.5.16's source: ``promptlayer/utils.py`` and
``promptlayer/types/prompt_template.py``).

The compatibility API (``/compat/promptlayer``) takes and answers these. Request models
ignore fields they do not know (``extra="ignore"``): the point of the API is that an
application's PromptLayer code keeps working, also with SDK releases that add a field; every
field PromptOps reads is checked. Blueprints (PromptLayer's prompt templates) stay JSON
objects here: :mod:`promptops.compat.promptlayer.blueprint` reads and writes them, naming the
field of any problem.

Errors are ``{"success": false, "message": ...}`` (the SDK reads ``message``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from promptops.contract.fields import JSONObject, Str

__all__ = [
    "CreateGroupBody",
    "CreateGroupOut",
    "ErrorOut",
    "GetTemplateBody",
    "LogRequestBody",
    "PublishBody",
    "PublishOut",
    "TemplateList",
    "TemplateOut",
    "TrackGroupBody",
    "TrackMetadataBody",
    "TrackOut",
    "TrackPromptBody",
    "TrackRequestBody",
    "TrackRequestOut",
    "TrackScoreBody",
    "error_payload",
]

Number = Annotated[float, Field(strict=False, allow_inf_nan=False)]
RequestId = Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)]
Label = Str(64, 1)
Name = Str(200, 1)
ApiKey = Str(200)


class _Body(BaseModel):
    """A request body: unknown fields are ignored (see the module docstring)."""

    model_config = ConfigDict(extra="ignore")
    api_key: Str(200) | None = Field(  # type: ignore[valid-type]
        None, description="The key, when not in X-API-KEY"
    )


class CreateGroupBody(_Body):
    """``POST /create-group`` (``group.create``): only the key."""


class GetTemplateBody(_Body):
    """``POST /prompt-templates/{name}`` (``templates.get``, ``run``)."""

    version: Annotated[int, Field(strict=True, ge=1, le=2_147_483_647)] | None = None
    label: Label | None = None  # type: ignore[valid-type]
    provider: Str(50, 1) | None = None  # type: ignore[valid-type]
    model: Str(200, 1) | None = None  # type: ignore[valid-type]
    input_variables: JSONObject | None = None
    metadata_filters: JSONObject | None = None
    model_parameter_overrides: JSONObject | None = None
    skip_input_variable_rendering: bool | None = None


class PublishBody(_Body):
    """``POST /rest/prompt-templates`` (``templates.publish``): the SDK sends the publish
    dict as both ``prompt_template`` and ``prompt_version``."""

    prompt_template: JSONObject
    prompt_version: JSONObject | None = None
    release_labels: list[Label] | None = Field(None, max_length=10)  # type: ignore[valid-type]


class TrackRequestBody(_Body):  # type: ignore[no-redef]  # the plugin's __init__(**kwargs)
    """``POST /track-request`` (``run`` logs the provider call it made)."""

    function_name: Str(200) | None = None  # type: ignore[valid-type]
    provider_type: Str(50) | None = None  # type: ignore[valid-type]
    kwargs: JSONObject = Field(default_factory=dict)
    tags: list[Str(100, 1)] | None = Field(None, max_length=50)  # type: ignore[valid-type]
    request_response: JSONObject | None = None
    request_start_time: Number | None = None
    request_end_time: Number | None = None
    metadata: JSONObject | None = None
    prompt_id: Annotated[int, Field(strict=True, ge=1)] | None = None
    prompt_version: Annotated[int, Field(strict=True, ge=1)] | None = None
    prompt_input_variables: JSONObject | None = None
    group_id: Annotated[int, Field(strict=True)] | None = None
    return_prompt_blueprint: bool = False
    status: Str(20) | None = None  # type: ignore[valid-type]
    error_type: Str(200) | None = None  # type: ignore[valid-type]
    error_message: Str(4000) | None = None  # type: ignore[valid-type]


class LogRequestBody(_Body):
    """``POST /log-request`` (``log_request``): a call the application made itself, its
    input and output as blueprints."""

    provider: Str(50, 1)  # type: ignore[valid-type]
    model: Str(200, 1)  # type: ignore[valid-type]
    input: JSONObject
    output: JSONObject
    request_start_time: Number
    request_end_time: Number
    parameters: JSONObject = Field(default_factory=dict)
    tags: list[Str(100, 1)] = Field(default_factory=list, max_length=50)  # type: ignore[valid-type]
    metadata: JSONObject = Field(default_factory=dict)
    prompt_name: Name | None = None  # type: ignore[valid-type]
    prompt_version_number: Annotated[int, Field(strict=True, ge=1)] | None = None
    prompt_input_variables: JSONObject = Field(default_factory=dict)
    input_tokens: Annotated[int, Field(strict=True, ge=0)] = 0
    output_tokens: Annotated[int, Field(strict=True, ge=0)] = 0
    price: Number = 0.0
    function_name: Str(200) = ""  # type: ignore[valid-type]
    score: Annotated[int, Field(strict=True, ge=0, le=100)] = 0
    prompt_id: Annotated[int, Field(strict=True, ge=1)] | None = None
    score_name: Str(200) | None = None  # type: ignore[valid-type]
    status: Str(20) = "SUCCESS"  # type: ignore[valid-type]
    error_type: Str(200) | None = None  # type: ignore[valid-type]
    error_message: Str(4000) | None = None  # type: ignore[valid-type]


class TrackMetadataBody(_Body):
    request_id: RequestId
    metadata: dict[Str(200, 1), Str(2000)]  # type: ignore[valid-type]


class TrackScoreBody(_Body):
    request_id: RequestId
    score: Annotated[int, Field(strict=True, ge=0, le=100)]
    name: Str(200, 1) | None = None  # type: ignore[valid-type]


class TrackPromptBody(_Body):
    request_id: RequestId
    prompt_name: Name  # type: ignore[valid-type]
    prompt_input_variables: JSONObject = Field(default_factory=dict)
    version: Annotated[int, Field(strict=True, ge=1)] | None = None
    label: Label | None = None  # type: ignore[valid-type]


class TrackGroupBody(_Body):
    request_id: RequestId
    group_id: Annotated[int, Field(strict=True, ge=1)]


# ---- responses ------------------------------------------------------------------------


class TemplateOut(BaseModel):
    """A prompt version as a PromptLayer prompt blueprint (``GetPromptTemplateResponse``)."""

    id: int = Field(description="The prompt's id")
    prompt_name: str
    tags: list[str]
    version: int
    prompt_template: dict[str, Any]
    commit_message: str | None
    metadata: dict[str, Any]
    llm_kwargs: dict[str, Any] | None
    provider_base_url: None = None
    snippets: list[dict[str, Any]] = Field(default_factory=list)
    warning: str | None = None


class PublishOut(TemplateOut):
    release_labels: list[str] = Field(description="The environments the version is active in")
    pending_labels: list[str] = Field(
        default_factory=list,
        description="Protected environments where a change request now waits for approval",
    )


class TemplateList(BaseModel):
    items: list[TemplateOut]
    page: int
    per_page: int
    has_next: bool


class TrackRequestOut(BaseModel):
    success: Literal[True] = True
    request_id: int
    prompt_blueprint: dict[str, Any] | None = None


class TrackOut(BaseModel):
    success: Literal[True] = True


class CreateGroupOut(BaseModel):
    success: Literal[True] = True
    id: int


class ErrorOut(BaseModel):
    success: Literal[False] = False
    message: str


def error_payload(message: str) -> bytes:
    """The body of an error answer in PromptLayer's shape."""
    return json.dumps({"success": False, "message": message}, ensure_ascii=False).encode()
