"""Webhook signing secrets are sealed at rest: the database holds no whsec_ value; secrets
stored in clear before (or sealed with a previous key) are sealed under the current key by
the worker at start; deliveries are signed with the opened secret throughout."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from promptops.db.models import WebhookEndpoint
from promptops.domain import webhooks
from promptops.domain.secretbox import SecretBox
from promptops.webhooks import generate_secret, verify
from tests.conftest import TEST_SECRET_KEY
from tests.support import Api, Project
from tests.webhooks.helpers import Receiver


def _row(app: Any, endpoint_id: str) -> WebhookEndpoint:
    with app.state.db.read() as session:
        row = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))
        assert row is not None
        session.expunge(row)
        return row


def test_the_stored_secret_is_sealed_and_deliveries_verify(
    app: Any, api: Api, project: Project, receiver: Receiver, endpoint: dict[str, Any]
) -> None:
    row = _row(app, endpoint["id"])
    assert endpoint["secret"].startswith("whsec_")
    assert row.secret.startswith("v1.") and endpoint["secret"] not in row.secret
    rotated = api.as_(project.key).post(f"/v1/webhooks/{endpoint['id']}/rotate-secret")
    assert rotated.status_code == 200, rotated.text
    row = _row(app, endpoint["id"])
    assert row.previous_secret and row.previous_secret.startswith("v1.")
    assert rotated.json()["secret"] not in row.secret
    api.new_prompt(project.key)
    (request,) = receiver.wait_ok(1)
    for secret in (endpoint["secret"], rotated.json()["secret"]):  # signed with both
        verify(request.body, request.headers, secret)


def test_clear_and_old_key_secrets_are_sealed_again(
    app: Any, api: Api, project: Project, receiver: Receiver, endpoint: dict[str, Any]
) -> None:
    clear = generate_secret()
    with app.state.db.write() as session:  # as stored before secrets were sealed
        row = session.get(WebhookEndpoint, endpoint["id"])
        assert row is not None
        row.secret = clear
    api.new_prompt(project.key)
    (request,) = receiver.wait_ok(1)
    verify(request.body, request.headers, clear)  # a clear secret still signs

    box = app.state.secrets
    with app.state.db.write() as session:
        assert webhooks.seal_secrets(session, box) == 1
        assert webhooks.seal_secrets(session, box) == 0  # done once
    sealed = _row(app, endpoint["id"]).secret
    assert sealed.startswith(f"v1.{box.key_id}.") and clear not in sealed

    rotated_box = SecretBox("a-new-deployment-key-" + "n" * 32, previous=[TEST_SECRET_KEY])
    with app.state.db.write() as session:
        assert webhooks.seal_secrets(session, rotated_box) == 1
        row = session.get(WebhookEndpoint, endpoint["id"])
        assert row is not None
        assert row.secret.startswith(f"v1.{rotated_box.key_id}.")
        assert webhooks.active_secrets(row, rotated_box) == [clear]
