"""Post-commit listeners run in isolation: one that raises does not fail the committed
write, the others still run, and the failing consumer's cache is cleared, not left stale."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from promptops.domain.changes import Change, ChangeKind
from tests.support import Api, Project


class Broken:
    """A change consumer whose invalidation fails; its cache is the real snapshot's."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.cleared = 0

    def on_changes(self, changes: list[Change]) -> None:
        raise RuntimeError("invalidation bug")

    def clear(self) -> None:
        self.cleared += 1
        self.real.clear()


def test_a_raising_listener_neither_fails_the_write_nor_skips_the_others(
    app: Any, api: Api, project: Project, caplog: pytest.LogCaptureFixture
) -> None:
    db = app.state.db
    snapshot = app.snapshot
    broken = Broken(snapshot)
    db.listeners[db.listeners.index(snapshot)] = broken  # before the worker and the hub
    later: list[Change] = []
    db.listeners.append(later.extend)
    read = api.new_key(project.key, "dev", "read")
    api.new_prompt(project.key)
    api.new_version(project.key, user_template="one")
    active = api.as_(read).get("/v1/prompts/greeting/active")
    assert active.json()["version"] == 1
    assert len(snapshot) == 1  # remembered by the hot path
    broken.cleared = 0

    with caplog.at_level(logging.ERROR, logger="promptops.db"):
        r = api.as_(project.key).post(
            "/v1/prompts/greeting/versions", json={"user_template": "two", "model": "m"}
        )
    assert r.status_code == 201, r.text  # committed: not a 500
    assert "Broken.on_changes" in caplog.text  # logged with the listener's name
    assert broken.cleared == 1  # the stale cache was cleared ...
    assert api.as_(read).get("/v1/prompts/greeting/active").json()["version"] == 2  # ... so fresh
    assert ChangeKind.LABEL_MOVED in {c.kind for c in later}  # a later listener ran

    # Writes after the failure keep working and are still announced.
    prefix = read.rsplit("_", 1)[0]
    assert api.as_(project.key).delete(f"/v1/keys/{prefix}").status_code == 200
    assert api.as_(read).get("/v1/prompts/greeting/active").status_code == 401


def test_change_kinds_are_strings_on_the_wire() -> None:
    from promptops.server.notify import decode, encode

    change = Change("key_revoked", "p", key_prefix="po_live_abcdefgh")
    assert change.kind is ChangeKind.KEY_REVOKED and change.kind == "key_revoked"
    assert '"kind":"key_revoked"' in encode([change])
    assert decode(encode([change])) == [change]
    # A kind this version does not know (a newer process) is skipped, not an error.
    assert decode('[{"kind":"from_the_future","project_id":"p"}]') == []
    with pytest.raises(ValueError):
        Change("no_such_kind", "p")
