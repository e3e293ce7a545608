"""`promptops webhooks list|create|test|deliveries` over /v1/webhooks."""

from __future__ import annotations

import argparse
from typing import Any

from promptops.cli.common import ENVS, add_client, project_flag, project_params, q
from promptops.cli.http import ApiCaller
from promptops.cli.output import Shown, cell, table

__all__ = ["add_webhook_commands"]

_STATUSES = ["pending", "succeeded", "failed", "cancelled"]


def _row(hook: dict[str, Any]) -> dict[str, Any]:
    return {
        **hook,
        "event_types": hook.get("event_types") or "all",
        "enabled": "yes" if hook.get("enabled") else f"no ({cell(hook.get('disabled_reason'))})",
    }


_HOOK_COLUMNS = ["id", "url", "environments", "event_types", "enabled", "failure_count"]


def webhooks_list(api: ApiCaller, args: argparse.Namespace) -> Shown:
    hooks = api.call("GET", "/v1/webhooks", params=project_params(args))["data"]
    if not hooks:
        return Shown(hooks, "no webhook endpoints")
    return Shown(hooks, table([_row(h) for h in hooks], _HOOK_COLUMNS))


def webhooks_create(api: ApiCaller, args: argparse.Namespace) -> Shown:
    body: dict[str, Any] = {"url": args.endpoint_url, "enabled": not args.disabled}
    if args.description is not None:
        body["description"] = args.description
    if args.event:
        body["event_types"] = args.event
    if args.env:
        body["environments"] = args.env
    if args.format:
        body["format"] = args.format
    body.update(project_params(args))
    hook = api.call("POST", "/v1/webhooks", json=body)
    row = _row(hook)
    text = "\n".join(
        [
            f"created webhook {hook['id']} for {hook['url']}",
            f"environments: {cell(row['environments'])}  events: {cell(row['event_types'])}"
            f"  enabled: {row['enabled']}"
            + (
                ""
                if hook.get("format", "standard") == "standard"
                else f"  format: {hook['format']}"
            ),
            f"signing secret (shown only this once, store it now): {hook['secret']}",
        ]
    )
    return Shown(hook, text)


def webhooks_test(api: ApiCaller, args: argparse.Namespace) -> Shown:
    path = f"/v1/webhooks/{q(args.id)}/test"
    delivery = api.call("POST", path, params=project_params(args))
    text = (
        f"queued test delivery {delivery['id']} (event {delivery['event_id']}) to {args.id};"
        f" follow it with: promptops webhooks deliveries {args.id}"
    )
    return Shown(delivery, text)


_DELIVERY_COLUMNS = [
    "id",
    "event_type",
    "status",
    "attempt_count",
    "last_status_code",
    "last_error",
    "created_at",
]


def webhooks_deliveries(api: ApiCaller, args: argparse.Namespace) -> Shown:
    params: dict[str, Any] = {"limit": args.limit, **project_params(args)}
    if args.status:
        params["status"] = args.status
    rows = api.call("GET", f"/v1/webhooks/{q(args.id)}/deliveries", params=params)["data"]
    if not rows:
        return Shown(rows, f"no deliveries for {args.id}")
    return Shown(rows, table(rows, _DELIVERY_COLUMNS))


def add_webhook_commands(sub: Any) -> None:
    hooks = sub.add_parser("webhooks", help="webhook endpoints and their delivery log")
    wsub = hooks.add_subparsers(dest="action", required=True, metavar="ACTION", help="what to do")
    project_flag(add_client(wsub.add_parser("list", help="list endpoints"), webhooks_list))

    create = add_client(
        wsub.add_parser("create", help="create an endpoint (prints its signing secret once)"),
        webhooks_create,
    )
    create.add_argument(
        "endpoint_url", metavar="URL", help="where deliveries are POSTed (http:// or https://)"
    )
    create.add_argument("--description", help="a note for people reading the list")
    create.add_argument(
        "--event",
        action="append",
        metavar="TYPE",
        help="an event type to send, e.g. prompt_template_label_moved (repeat for more;"
        " default: all)",
    )
    create.add_argument(
        "--env",
        action="append",
        choices=ENVS,
        help="an environment whose events it receives (repeat for more;"
        " default: the key's own environment)",
    )
    create.add_argument(
        "--format",
        choices=("standard", "promptlayer"),
        help="standard: Standard Webhooks (the default); promptlayer: PromptLayer's envelope"
        " and X-PromptLayer-Signature, for handlers written for PromptLayer",
    )
    create.add_argument("--disabled", action="store_true", help="create it switched off")
    project_flag(create)

    test = add_client(
        wsub.add_parser("test", help="queue a test event to an endpoint"), webhooks_test
    )
    test.add_argument("id", help="the endpoint id (wh_...)")
    project_flag(test)

    deliveries = add_client(
        wsub.add_parser("deliveries", help="an endpoint's delivery log, newest first"),
        webhooks_deliveries,
    )
    deliveries.add_argument("id", help="the endpoint id (wh_...)")
    deliveries.add_argument("--status", choices=_STATUSES, help="only deliveries in this state")
    deliveries.add_argument(
        "--limit", type=int, default=50, help="how many to show (1-200, default 50)"
    )
    project_flag(deliveries)
