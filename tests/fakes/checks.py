"""Request validation of the fake providers: the real APIs' most basic checks (credentials,
required fields, message roles) and what they refuse about tools, tool choices, tool results
and response formats. Each check returns (status, message) for a 400/401/403/404 in the
provider's error format, or None."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

__all__ = ["anthropic_check", "gemini_check", "openai_check"]


def openai_check(request: Request, body: dict[str, Any]) -> tuple[int, str] | None:
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer ") or not auth[len("Bearer ") :].strip():
        return 401, "You didn't provide an API key."
    if not isinstance(body.get("model"), str) or not body["model"]:
        return 400, "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return 400, "'messages' must be a non-empty array."
    if not all(isinstance(m, dict) and "role" in m for m in messages):
        return 400, "Each message must be an object with a 'role'."
    for i, m in enumerate(messages):
        if m["role"] == "tool" and not m.get("tool_call_id"):
            return 400, f"messages[{i}].tool_call_id: Field required"
        for call in m.get("tool_calls") or ():
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(function, dict) or not isinstance(function.get("arguments"), str):
                return 400, f"messages[{i}].tool_calls: function.arguments must be a string"
    tools = body.get("tools")
    names = []
    for i, tool in enumerate(tools or ()):
        function = tool.get("function") if isinstance(tool, dict) else None
        if tool.get("type") != "function" or not isinstance(function, dict):
            return 400, f"tools[{i}]: expected a function tool"
        if not isinstance(function.get("name"), str):
            return 400, f"tools[{i}].function.name: Field required"
        names.append(function["name"])
    choice = body.get("tool_choice")
    if choice is not None:
        if not tools:
            return 400, "'tool_choice' is only allowed when 'tools' are specified."
        if isinstance(choice, dict):
            if (choice.get("function") or {}).get("name") not in names:
                return 400, "tool_choice: unknown function"
        elif choice not in ("auto", "none", "required"):
            return 400, f"tool_choice: invalid value {choice!r}"
    fmt = body.get("response_format")
    if fmt is not None:
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind not in ("text", "json_object", "json_schema"):
            return 400, "response_format.type: invalid value"
        spec = fmt.get("json_schema")
        if kind == "json_schema" and (
            not isinstance(spec, dict) or "name" not in spec or "schema" not in spec
        ):
            return 400, "response_format.json_schema: name and schema are required"
    return None


def anthropic_check(request: Request, body: dict[str, Any]) -> tuple[int, str] | None:
    if not request.headers.get("x-api-key") and not request.headers.get("authorization"):
        return 401, "x-api-key header is required"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return 400, "model: Field required"
    if not isinstance(body.get("max_tokens"), int):
        return 400, "max_tokens: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return 400, "messages: Field required"
    roles = ("user", "assistant", "system")
    if not all(isinstance(m, dict) and m.get("role") in roles for m in messages):
        return 400, "messages: roles must be 'user', 'assistant' or 'system'"
    previous_uses: set[str] = set()
    for i, m in enumerate(messages):
        blocks = m["content"] if isinstance(m.get("content"), list) else []
        for block in blocks:
            if block.get("type") == "tool_result" and block.get("tool_use_id") not in previous_uses:
                return 400, (
                    f"messages.{i}: tool_result block(s) provided when previous message does"
                    " not send tool_use block(s) with the same id"
                )
        if m["role"] != "system":
            previous_uses = {b.get("id") for b in blocks if b.get("type") == "tool_use"}
    names = []
    for i, tool in enumerate(body.get("tools") or ()):
        schema = tool.get("input_schema") if isinstance(tool, dict) else None
        if not isinstance(tool.get("name"), str):
            return 400, f"tools.{i}.name: Field required"
        if not isinstance(schema, dict) or schema.get("type") != "object":
            return 400, f"tools.{i}.input_schema: type must be 'object'"
        names.append(tool["name"])
    choice = body.get("tool_choice")
    if choice is not None:
        kind = choice.get("type") if isinstance(choice, dict) else None
        if kind not in ("auto", "any", "tool", "none"):
            return 400, "tool_choice.type: invalid value"
        if kind == "tool" and choice.get("name") not in names:
            return 400, "tool_choice.name: not one of the tools"
    fmt = (body.get("output_config") or {}).get("format")
    if fmt is not None and (fmt.get("type") != "json_schema" or "schema" not in fmt):
        return 400, "output_config.format: expected {type: json_schema, schema}"
    if "top_p" in body or "seed" in body:
        return 400, "top_p / seed: Extra inputs are not permitted"
    return None


def gemini_check(request: Request, body: dict[str, Any]) -> tuple[int, str] | None:
    if not request.headers.get("x-goog-api-key") and not request.query_params.get("key"):
        return 403, "Method doesn't allow unregistered callers. Please use an API key."
    if request.path_params.get("version") not in ("v1", "v1beta", "v1alpha"):
        return 404, f"Unknown API version {request.path_params.get('version')!r}."
    _, _, action = request.path_params["model_action"].partition(":")
    if action not in ("generateContent", "streamGenerateContent"):
        return 404, f"Unsupported method {action!r} on the fake Gemini server."
    if action == "streamGenerateContent" and request.query_params.get("alt") != "sse":
        return 400, "The fake Gemini server only streams with alt=sse."
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        return 400, "* GenerateContentRequest.contents: contents is not specified"
    if not all(isinstance(c, dict) for c in contents):
        return 400, "* GenerateContentRequest.contents: invalid content"
    for i, content in enumerate(contents):
        for part in content.get("parts") or ():
            response = part.get("functionResponse")
            if response is not None and not response.get("name"):
                return 400, f"* GenerateContentRequest.contents[{i}]: function_response.name"
    for tool in body.get("tools") or ():
        for declaration in tool.get("functionDeclarations") or ():
            if not declaration.get("name"):
                return 400, "* GenerateContentRequest.tools: function declaration name"
    calling = (body.get("toolConfig") or {}).get("functionCallingConfig")
    if calling is not None and calling.get("mode") not in ("AUTO", "ANY", "NONE", "VALIDATED"):
        return 400, "* GenerateContentRequest.tool_config.function_calling_config.mode"
    return None
