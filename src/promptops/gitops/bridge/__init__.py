"""The pull/merge-request bridge (``promptops gitops-bridge``): PromptOps' signed webhooks
in, a branch ``promptops/<slug>-v<N>`` with the version's file and a GitHub pull request or
GitLab merge request out.

Modules: :mod:`.config` (flags and environment; the standard library only, so the CLI
builds its parser from it on any install), :mod:`.app` (the ASGI server, :func:`serve`),
:mod:`.handler` (one webhook: verify, decide, do), :mod:`.repo` (git), :mod:`.source`
(PromptOps' API), :mod:`.texts` (commit and request texts), :mod:`.forge` (the interface)
with :mod:`.github` and :mod:`.gitlab`, :mod:`.errors`. Needs ``promptops[gitops]``.
"""
