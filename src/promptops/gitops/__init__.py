"""GitOps: prompts as files (:mod:`promptops.gitops.files`), ``promptops sync``
(:mod:`promptops.gitops.sync`) and the pull/merge-request bridge. Client side: it talks to
the server over HTTP and checks files with the contract."""
