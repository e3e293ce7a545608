"""A Client made before fork() (gunicorn --preload, multiprocessing) works in the child, with
a real os.fork() against a real server; the parent keeps working."""

from __future__ import annotations

import os
import sys
import time

import pytest

from tests.fakes.providers import FakeProviderServer
from tests.sdk.conftest import Server
from tests.sdk.run_support import (  # fake_fixture: a fixture
    VARIABLES,
    all_logs,
    fake_fixture,  # noqa: F401
    fake_providers_fixture,  # noqa: F401
    openai_client,
    po_client,
)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _child(client: object, fake: FakeProviderServer) -> int:
    """Runs in the child; returns the exit status (0: every step worked)."""
    try:
        assert client.get_prompt("greeting").version == 1  # type: ignore[attr-defined]
        assert client.wait_until_subscribed(10)  # type: ignore[attr-defined]
        with openai_client(fake) as oai:
            result = client.run("greeting", VARIABLES, client=oai)  # type: ignore[attr-defined]
        if not client.flush(20):  # type: ignore[attr-defined]
            return 3
        with open(os.environ["PROMPTOPS_FORK_OUT"], "w") as out:
            out.write(result.log_id)
        return 0
    except BaseException as exc:  # report, never fall back into pytest
        print("child failed:", repr(exc), file=sys.stderr)
        return 2


def test_a_client_made_before_fork_works_in_the_child(
    server: Server, fake: FakeProviderServer, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = f"{tmp_path}/child-log-id"
    monkeypatch.setenv("PROMPTOPS_FORK_OUT", out)
    with po_client(server, subscribe=True, cache_ttl=0.5) as client, openai_client(fake) as oai:
        assert client.wait_until_subscribed(10)
        parent_ids = [client.run("greeting", VARIABLES, client=oai).log_id]
        # The sender thread is busy and a log is queued while fork() happens.
        parent_ids.append(client.run("greeting", VARIABLES, client=oai).log_id)
        pid = os.fork()
        if pid == 0:  # the child
            os._exit(_child(client, fake))
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # The parent keeps working.
        parent_ids.append(client.run("greeting", VARIABLES, client=oai).log_id)
        time.sleep(0.6)
        assert client.get_prompt("greeting").version == 1
        assert client.flush(20)
    with open(out) as f:
        child_id = f.read()
    stored = {e["id"] for e in all_logs(server.base_url, server.write_key)}
    assert child_id in stored
    assert set(parent_ids) <= stored
