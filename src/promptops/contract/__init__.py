"""The wire contract: the shapes PromptOps sends and takes, defined once, below ``domain``.

Being gathered here from the server (issue 11): so far the prompt payload
(:mod:`promptops.contract.prompts`, what ``/active``, version reads, the stream and webhooks
carry) and the language-neutral render fixtures (``fixtures/render/``). Nothing here imports
``domain``, ``db``, ``server``, ``worker`` or ``cli``; the SDK imports nothing from here (it has
no pydantic), but runs the fixtures.
"""
