"""Fork safety: a client made before ``fork()`` (gunicorn ``--preload``, multiprocessing)
works in the child.

A forked child has only the forking thread: the log sender, the refresher and the stream
thread are gone, a lock another thread held stays held, and the HTTP pool's sockets are
shared with the parent. One ``os.register_at_fork(after_in_child=...)`` hook (registered
once) rebuilds, in the child, every live client (held weakly): new locks, no threads (they
start again on use), a new HTTP client (the parent's connections are left to the parent,
not closed), the stream reconnected. Records queued in the parent before the fork stay the
parent's to send. The parent is not touched.
"""

from __future__ import annotations

import logging
import os
import weakref
from typing import Any

__all__ = ["track"]

log = logging.getLogger("promptops")

_clients: weakref.WeakSet[Any] = weakref.WeakSet()
_registered = False


def track(client: Any) -> None:
    """Rebuild ``client`` in a forked child (``client._after_fork()``)."""
    global _registered
    if not _registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_in_child)
        _registered = True
    _clients.add(client)


def _after_in_child() -> None:
    for client in list(_clients):
        try:
            client._after_fork()
        except Exception:  # pragma: no cover - never fail the fork itself
            log.exception("PromptOps: rebuilding a client after fork() failed")
