"""PromptOps: versioned prompts for LLM applications.

``pip install promptops`` gives the SDK; ``pip install "promptops[server]"`` adds the server.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
