"""Importers: a peer's prompts (Langfuse, PromptLayer) read through its public REST API and
created in a PromptOps project through ours (``promptops import ...``)."""
