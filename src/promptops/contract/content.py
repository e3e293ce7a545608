"""What a prompt version holds: chat messages and placeholders or one text, tools, the
response format, model parameters and declared inputs; and the create body that carries
them (``POST /v1/prompts/{slug}/versions``, CLI files, the dashboard editor).

Every rule lives here: the API validates request bodies with these models, and the domain
validates what any other caller (dashboard forms, CLI files, bootstrap) passes through
:func:`content_of`, so one rule set holds everywhere.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError
from pydantic import (
    AfterValidator,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)

from promptops.contract.fields import Identifier, Input, JSONObject, Str, Text
from promptops.errors import TemplateSyntaxError
from promptops.templating import Template, compile_template

__all__ = [
    "INPUT_TYPES",
    "ROLES",
    "ContentIn",
    "FunctionDef",
    "InputDecl",
    "Message",
    "MessageIn",
    "Params",
    "Placeholder",
    "PromptType",
    "ResponseFormat",
    "Role",
    "Tool",
    "VersionCreate",
    "legacy_shape",
    "message_kind",
    "message_templates",
    "stored_content",
    "templates_of",
    "variables_of",
]

PromptType = Literal["chat", "text"]
ROLES = ("system", "developer", "user", "assistant", "tool")
Role = Literal["system", "developer", "user", "assistant", "tool"]
INPUT_TYPES = ("string", "number", "boolean", "list", "object")
MAX_MESSAGES = 500
MAX_TOOLS = 128
# JSON values in all of a version's schemas (tool parameters, the response format's). The
# metaschema check costs about half a millisecond per value: a body of a megabyte of schema
# would hold a worker for half a minute.
MAX_SCHEMA_VALUES = 5000


def _template(source: str) -> str:
    """A template that parses (syntax errors name line and column)."""
    try:
        compile_template(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template error: {exc.message}") from None
    return source


TemplateText = Annotated[Text, AfterValidator(_template)]


class Message(Input):
    """A chat message whose ``content`` is a template."""

    role: Role
    content: TemplateText
    name: Str(64, 1) | None = None  # type: ignore[valid-type]
    tool_call_id: Str(200, 1) | None = None  # type: ignore[valid-type]


class Placeholder(Input):
    """Filled by the caller at render time with a list of messages (chat history,
    few-shot examples)."""

    type: Literal["placeholder"]
    name: Identifier


def message_kind(value: Any) -> str:
    """The union tag of a message entry: ``placeholder`` when it has ``type``, else
    ``message`` (request dicts, and input or output models alike)."""
    if isinstance(value, dict):
        return "placeholder" if "type" in value else "message"
    return "placeholder" if getattr(value, "type", None) == "placeholder" else "message"


MessageIn = Annotated[
    Annotated[Message, Tag("message")] | Annotated[Placeholder, Tag("placeholder")],
    Discriminator(message_kind),
]


def _is_regex(value: object) -> bool:
    return not isinstance(value, str) or bool(re.compile(value))


# The metaschema's formats, except that a ``pattern`` Python cannot compile for another
# reason than a syntax error (a repetition count too large, parentheses nested deeper than
# the parser recurses) is invalid, not an unexpected error (a 500).
_FORMATS = FormatChecker()
_FORMATS.checkers = dict(Draft202012Validator.FORMAT_CHECKER.checkers)
_FORMATS.checks("regex", raises=(re.error, OverflowError, RecursionError))(_is_regex)


def _json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema (2020-12), checked against the metaschema only: no ``$ref`` is ever
    resolved (so a remote one is never fetched, and a cycle costs nothing)."""
    try:
        Draft202012Validator.check_schema(schema, format_checker=_FORMATS)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        message = exc.message if len(exc.message) <= 300 else exc.message[:300] + "..."
        raise ValueError(f"not a valid JSON Schema (2020-12) at {where}: {message}") from None
    return schema


Schema = Annotated[JSONObject, AfterValidator(_json_schema)]


class FunctionDef(Input):
    name: Annotated[str, Field(strict=True, pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    description: Str(4000) | None = None  # type: ignore[valid-type]
    parameters: Schema = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="A JSON Schema (2020-12) of the arguments.",
    )
    strict: Annotated[bool, Field(strict=True)] | None = None


class Tool(Input):
    type: Literal["function"]
    function: FunctionDef


class JsonSchemaFormat(Input):
    name: Annotated[str, Field(strict=True, pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    description: Str(4000) | None = None  # type: ignore[valid-type]
    schema_: Schema = Field(alias="schema")
    strict: Annotated[bool, Field(strict=True)] = False


class TextFormat(Input):
    type: Literal["text"]


class JsonObjectFormat(Input):
    type: Literal["json_object"]


class JsonSchemaResponse(Input):
    type: Literal["json_schema"]
    json_schema: JsonSchemaFormat


ResponseFormat = Annotated[
    TextFormat | JsonObjectFormat | JsonSchemaResponse, Field(discriminator="type")
]

# strict: a number (an integer too), never a bool or a numeric string.
Penalty = Annotated[float, Field(strict=True, ge=-2.0, le=2.0, allow_inf_nan=False)]


class Params(Input):
    """Model parameters beyond ``temperature`` and ``max_tokens``."""

    top_p: Annotated[float, Field(strict=True, ge=0.0, le=1.0, allow_inf_nan=False)] | None = None
    stop: Annotated[list[Str(200, 1)], Field(max_length=4)] | None = None  # type: ignore[valid-type]
    seed: Annotated[int, Field(strict=True, ge=-(2**63), le=2**63 - 1)] | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None


class InputDecl(Input):
    """A declared variable, checked at render time."""

    name: Identifier
    type: Literal["string", "number", "boolean", "list", "object"] = "string"
    required: Annotated[bool, Field(strict=True)] = True
    description: Str(2000) | None = None  # type: ignore[valid-type]


def _one_tool_choice(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """One error naming ``tool_choice`` (not one per member of the union, under its tag)."""
    try:
        return handler(value)
    except ValidationError:
        raise ValueError(
            "must be 'auto', 'none', 'required' or the name of one of the tools (letters,"
            " digits, _ and -, at most 64)"
        ) from None


ToolChoice = Annotated[
    Literal["auto", "none", "required"]
    | Annotated[str, Field(strict=True, pattern=r"^[A-Za-z0-9_-]{1,64}$")],
    WrapValidator(_one_tool_choice),
]


def _values(value: Any, limit: int) -> int:
    """How many JSON values ``value`` holds (counting stops past ``limit``)."""
    count, todo = 0, [value]
    while todo and count <= limit:
        item = todo.pop()
        count += 1
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return count


class ContentIn(Input):
    """A version's content. A chat version has ``messages`` (or the older
    ``system_prompt`` + ``user_template``, turned into messages); a text version ``text``."""

    messages: Annotated[list[MessageIn], Field(min_length=1, max_length=MAX_MESSAGES)] | None = None
    text: TemplateText | None = None
    # The older shape: given, they are strings (an explicit null is refused, as before).
    system_prompt: TemplateText = Field(
        None, description="Older shape of a chat version: the system message (optional)."
    )
    user_template: TemplateText = Field(
        None, description="Older shape of a chat version: the user message."
    )
    model: Str(200, 1)  # type: ignore[valid-type]
    temperature: Annotated[float, Field(strict=True, ge=0.0, le=2.0, allow_inf_nan=False)] = 1.0
    max_tokens: Annotated[int, Field(strict=True, gt=0, le=10_000_000)] | None = None
    params: Params | None = None
    inputs: Annotated[list[InputDecl], Field(max_length=200)] | None = None
    tools: Annotated[list[Tool], Field(max_length=MAX_TOOLS)] | None = None
    tool_choice: ToolChoice | None = None
    response_format: ResponseFormat | None = None
    metadata: JSONObject | None = None

    @model_validator(mode="before")
    @classmethod
    def _schemas_bounded(cls, data: Any) -> Any:
        """The schemas' size, counted before any of them is checked."""
        if isinstance(data, dict):
            schemas: list[Any] = []
            tools = data.get("tools")
            if isinstance(tools, list):
                for tool in tools:
                    function = tool.get("function") if isinstance(tool, dict) else None
                    if isinstance(function, dict):
                        schemas.append(function.get("parameters"))
            response = data.get("response_format")
            if isinstance(response, dict) and isinstance(response.get("json_schema"), dict):
                schemas.append(response["json_schema"].get("schema"))
            if _values(schemas, MAX_SCHEMA_VALUES) > MAX_SCHEMA_VALUES:
                where = "tools" if data.get("tools") else "response_format"
                raise ValueError(
                    f"{where}: the JSON Schemas of a version hold more than"
                    f" {MAX_SCHEMA_VALUES} values in all"
                )
        return data

    @model_validator(mode="after")
    def _shape(self) -> Self:
        legacy = self.system_prompt is not None or self.user_template is not None
        if legacy:
            if self.messages is not None or self.text is not None:
                raise ValueError(
                    "messages: give messages (or text), or the older system_prompt +"
                    " user_template, not both"
                )
            if self.user_template is None:
                raise ValueError("user_template: required with system_prompt (the older shape)")
            system = (
                []
                if not self.system_prompt
                else [Message(role="system", content=self.system_prompt)]
            )
            self.messages = [*system, Message(role="user", content=self.user_template)]
            self.system_prompt = self.user_template = None
        if self.messages is not None and self.text is not None:
            raise ValueError("text: a version holds messages (chat) or text, not both")
        if self.messages is None and self.text is None:
            raise ValueError(
                "messages: required (a chat version's messages; a text version has text; the"
                " older shape: user_template)"
            )
        if self.text is not None:
            for name in ("tools", "tool_choice", "response_format"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name}: only chat versions have {name}")
        names = [p.name for p in self.messages or () if isinstance(p, Placeholder)]
        if len(names) != len(set(names)):
            raise ValueError("messages: two placeholders have the same name")
        tools = [t.function.name for t in self.tools or ()]
        if len(tools) != len(set(tools)):
            raise ValueError("tools: two functions have the same name")
        choice = self.tool_choice
        if choice is not None and choice not in ("auto", "none", "required"):
            if choice not in tools:
                raise ValueError(f"tool_choice: {choice!r} is not one of the tools")
        elif choice in ("required",) and not tools:
            raise ValueError("tool_choice: 'required' needs tools")
        declared = [i.name for i in self.inputs or ()]
        if len(declared) != len(set(declared)):
            raise ValueError("inputs: a variable is declared twice")
        self._placeholders_apart(set(names))
        return self

    def _placeholders_apart(self, placeholders: set[str]) -> None:
        """A placeholder's name is filled with a list of messages: no template may use it
        as a variable, and a declared input of that name is a list."""
        if not placeholders:
            return
        for i, message in enumerate(self.messages or ()):
            if isinstance(message, Message):
                used = placeholders.intersection(compile_template(message.content).variables)
                if used:
                    raise ValueError(
                        f"messages.{i}.content: {min(used)!r} is a placeholder (a list of"
                        " messages), not a variable of a template"
                    )
        for i, decl in enumerate(self.inputs or ()):
            if decl.name in placeholders and decl.type != "list":
                raise ValueError(
                    f"inputs.{i}.type: {decl.name!r} is a placeholder: declare it as a list"
                )

    @property
    def type(self) -> PromptType:
        return "text" if self.text is not None else "chat"


class VersionCreate(ContentIn):
    """``POST /v1/prompts/{slug}/versions``."""

    commit_message: Str(2000) | None = None  # type: ignore[valid-type]
    author: Str(200) | None = None  # type: ignore[valid-type]


def message_templates(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(field, template text) of each role message, e.g. ``("messages.2.content", ...)``."""
    return [
        (f"messages.{i}.content", m["content"]) for i, m in enumerate(messages) if "content" in m
    ]


def legacy_shape(messages: list[dict[str, Any]] | None) -> tuple[str, str] | None:
    """``(system_prompt, user_template)`` when ``messages`` have the older shape (one
    optional system message, then one user message, nothing else set), else None."""
    if not messages or len(messages) > 2:
        return None
    plain = all(set(m) == {"role", "content"} for m in messages)
    if not plain:
        return None
    roles = [m["role"] for m in messages]
    if roles == ["user"]:
        return "", messages[0]["content"]
    if roles == ["system", "user"]:
        return messages[0]["content"], messages[1]["content"]
    return None


def variables_of(templates: list[str]) -> list[str]:
    """Inferred variables of every template, in order of first use."""
    names: dict[str, None] = {}
    for source in templates:
        names.update(dict.fromkeys(Template(source).variables))
    return list(names)


def stored_content(content: ContentIn) -> dict[str, Any]:
    """The content as stored and compared (columns of a version): only what is set, so two
    versions with the same content compare equal however they were written."""
    messages = (
        None
        if content.messages is None
        else [m.model_dump(exclude_none=True) for m in content.messages]
    )
    params = content.params.model_dump(exclude_none=True) if content.params else None
    return {
        "messages": messages,
        "text": content.text,
        "model": content.model,
        "temperature": content.temperature,
        "max_tokens": content.max_tokens,
        "params": params or None,
        "inputs": [i.model_dump(exclude_none=True) for i in content.inputs] or None
        if content.inputs
        else None,
        "tools": [t.model_dump(exclude_none=True) for t in content.tools] or None
        if content.tools
        else None,
        "tool_choice": content.tool_choice,
        "response_format": (
            content.response_format.model_dump(exclude_none=True, by_alias=True)
            if content.response_format is not None
            else None
        ),
        "meta": content.metadata or {},
    }


def templates_of(stored: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, template) of stored content: each message's content, or the text."""
    if stored.get("text") is not None:
        return [("text", stored["text"])]
    return message_templates(stored.get("messages") or [])
