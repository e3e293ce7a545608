"""`promptops prompts show` and `promptops prompts update`."""

from __future__ import annotations

import argparse
from typing import Any

from promptops.cli.common import ENVS, add_client, q, slug_arg
from promptops.cli.http import ApiCaller, CliError
from promptops.cli.output import Shown, cell

__all__ = ["add_prompt_commands", "version_text"]


def version_text(version: dict[str, Any]) -> list[str]:
    """A version's settings and content, for reading on a terminal."""
    settings = "  ".join(
        f"{k}: {cell(version.get(k))}" for k in ("model", "temperature", "max_tokens")
    )
    lines = [settings]
    for key in ("params", "metadata", "tool_choice", "response_format", "snippets"):
        if version.get(key):
            lines.append(f"{key}: {cell(version[key])}")
    for declared in version.get("inputs") or ():
        required = "required" if declared.get("required", True) else "optional"
        lines.append(f"input {declared['name']}: {declared.get('type', 'string')}, {required}")
    for tool in version.get("tools") or ():
        function = tool.get("function", {})
        lines.append(f"tool {function.get('name')}: {cell(function.get('description'))}")
    if version.get("text") is not None:
        return lines + _texts("text", version["text"])
    if version.get("user_template") is not None:  # the older shape reads as it always did
        for label, key in (("system prompt", "system_prompt"), ("template", "user_template")):
            lines += _texts(label, version.get(key) or "")
        return lines
    for i, message in enumerate(version.get("messages") or ()):
        if message.get("type") == "placeholder":
            lines.append(f"[{i}] placeholder {message['name']}")
            continue
        label = f"[{i}] {message['role']}"
        extra = [f"{k}={message[k]}" for k in ("name", "tool_call_id") if message.get(k)]
        lines += _texts(" ".join([label, *extra]), message.get("content") or "")
    return lines


def _texts(label: str, text: str) -> list[str]:
    lines = [f"{label}:" if text else f"{label}: (empty)"]
    return lines + ["  " + line if line else "" for line in text.splitlines()]


def prompts_show(api: ApiCaller, args: argparse.Namespace) -> Shown:
    """With --json: ``{"prompt": GET /v1/prompts/{slug}, "deployments": the environments of
    GET …/deployments, "active": {env: GET …/versions/{n} of its active version, or null}}``."""
    slug = q(args.slug)
    prompt = api.call("GET", f"/v1/prompts/{slug}")
    deployed = api.call("GET", f"/v1/prompts/{slug}/deployments")["environments"]
    fetched: dict[int, Any] = {}
    active: dict[str, Any] = {}
    for env in ENVS:
        row = deployed.get(env)
        if row is None:
            active[env] = None
            continue
        number = int(row["version"])
        if number not in fetched:
            fetched[number] = api.call("GET", f"/v1/prompts/{slug}/versions/{number}")
        active[env] = fetched[number]
    lines = [
        f"{prompt['slug']}: {prompt['name']}",
        f"description: {cell(prompt.get('description'))}",
        f"latest version: {prompt['latest_version']}",
    ]
    for env in ENVS:
        lines.append("")
        version, row = active[env], deployed.get(env)
        if version is None:
            lines.append(f"{env}: nothing deployed")
            continue
        lines.append(f"{env}: v{version['version']} (deployed {row['deployed_at']})")
        lines += ["  " + line if line else line for line in version_text(version)]
    data = {"prompt": prompt, "deployments": deployed, "active": active}
    return Shown(data, "\n".join(lines))


def prompts_update(api: ApiCaller, args: argparse.Namespace) -> Shown:
    body: dict[str, Any] = {}
    if args.name is not None:
        body["name"] = args.name
    if args.description is not None:
        body["description"] = args.description or None
    if not body:
        raise CliError("nothing to change: pass --name and/or --description")
    prompt = api.call("PATCH", f"/v1/prompts/{q(args.slug)}", json=body)
    text = (
        f"updated {prompt['slug']}\nname: {prompt['name']}\n"
        f"description: {cell(prompt.get('description'))}"
    )
    return Shown(prompt, text)


def add_prompt_commands(prsub: Any) -> None:
    show = add_client(
        prsub.add_parser(
            "show", help="what is active in each environment, with its texts and settings"
        ),
        prompts_show,
    )
    slug_arg(show)
    update = add_client(
        prsub.add_parser("update", help="change a prompt's name or description"), prompts_update
    )
    slug_arg(update)
    update.add_argument("--name", help="the new display name")
    update.add_argument("--description", help="the new description ('' clears it)")
