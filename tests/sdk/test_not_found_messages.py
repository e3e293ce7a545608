"""The SDK's 404 says which: no such prompt, or nothing active in the key's environment."""

from __future__ import annotations

import pytest

import promptops
from tests.sdk.conftest import FakeClock, Server


def test_not_found_names_the_reason(server: Server, clock: FakeClock) -> None:
    with promptops.Client(api_key=server.read_key, base_url=server.base_url, clock=clock) as client:
        with pytest.raises(promptops.PromptNotFoundError) as caught:
            client.get_prompt("nope")
        assert "prompt 'nope' not found" in str(caught.value)
        assert "active" not in str(caught.value)

        server.withdraw("greeting")
        with pytest.raises(promptops.PromptNotFoundError) as caught:
            client.get_prompt("greeting")
        assert "prompt 'greeting' has no version active in 'dev'" in str(caught.value)
