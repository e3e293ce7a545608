"""A caller's own provider client is checked: right library, sync vs async."""

from __future__ import annotations

import anthropic
import openai
import pytest

from promptops.sdk.errors import ConfigurationError
from promptops.sdk.providers.base import get_provider

CASES = [
    ("openai", openai.OpenAI, openai.AsyncOpenAI, "openai.OpenAI / AsyncOpenAI"),
    (
        "anthropic",
        anthropic.Anthropic,
        anthropic.AsyncAnthropic,
        "anthropic.Anthropic / AsyncAnthropic",
    ),
]


@pytest.mark.parametrize(("name", "sync_cls", "async_cls", "kinds"), CASES)
def test_client_kind_is_checked(name: str, sync_cls: type, async_cls: type, kinds: str) -> None:
    provider = get_provider(name)
    sync, asyn = sync_cls(api_key="k"), async_cls(api_key="k")
    assert provider.callable_client(sync, False) is sync
    assert provider.callable_client(asyn, True) is asyn
    with pytest.raises(ConfigurationError, match=f"provider='{name}' needs an {kinds} client"):
        provider.callable_client(object(), False)
    with pytest.raises(ConfigurationError, match=r"^AsyncClient\.run needs a "):
        provider.callable_client(sync, True)
    with pytest.raises(ConfigurationError, match=r"^Client\.run needs a "):
        provider.callable_client(asyn, False)
