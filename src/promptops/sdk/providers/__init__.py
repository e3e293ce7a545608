"""LLM provider adapters for ``run()``: OpenAI, Anthropic and Gemini through their official
libraries (optional extras, imported on first use). See :mod:`.base`."""

from __future__ import annotations

from promptops.sdk.providers.base import PROVIDERS, Provider, detect_provider, get_provider

__all__ = ["PROVIDERS", "Provider", "detect_provider", "get_provider"]
