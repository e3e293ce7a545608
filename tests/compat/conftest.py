"""The official ``promptlayer`` SDK against a live PromptOps server, and the official provider
libraries against the fake providers (tests/fakes)."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.sdk.run_support import ServedFake
from tests.support import Api, LiveServer, Project, live_server

pytest.importorskip("promptlayer")

_connections: list[Any] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect" and _connections is not None:
        _connections.append(args[1])


sys.addaudithook(_audit)


@pytest.fixture
def connections() -> Iterator[list[Any]]:
    """Every address a socket of this process connected to during the test."""
    global _connections
    _connections = []
    try:
        yield _connections
    finally:
        _connections = None


@pytest.fixture(scope="session")
def providers() -> Iterator[ServedFake]:
    served = ServedFake()
    try:
        yield served
    finally:
        served.stop()


@dataclass
class Setup:
    server: LiveServer
    api: Api
    project: Project
    base_url: str  # what PromptLayer(base_url=...) takes
    providers: ServedFake
    admin_key: str

    def key(self, environment: str, role: str = "read") -> str:
        return self.api.new_key(self.admin_key, environment, role, project_id=self.project.id)

    def client(self, key: str, **kw: Any) -> Any:
        from promptlayer import PromptLayer

        return PromptLayer(api_key=key, base_url=self.base_url, **kw)


@pytest.fixture
def pl(
    app: Any,
    api: Api,
    project: Project,
    admin_key: str,
    providers: ServedFake,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Setup]:
    from promptlayer import utils

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", providers.openai_base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", providers.anthropic_base_url)
    monkeypatch.delenv("PROMPTLAYER_BASE_URL", raising=False)
    utils._llm_client_cache.clear()  # provider clients the SDK made for another test
    with live_server(app) as server:
        base = server.base_url + "/compat/promptlayer"
        yield Setup(server, api, project, base, providers, admin_key)
    utils._llm_client_cache.clear()


def no_socket_left_localhost(connections: list[Any]) -> None:
    hosts = {address[0] for address in connections if isinstance(address, tuple)}
    assert hosts <= {"127.0.0.1"}, hosts
    assert socket.gethostname()  # (the list itself is the evidence; keep the helper honest)
