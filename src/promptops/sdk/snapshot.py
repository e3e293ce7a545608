"""The optional snapshot file: the last good prompts, on disk, for starting while the server
is down.

Format (JSON)::

    {"format": 1, "owner": "<base URL + API key fingerprint>",
     "prompts": [{"slug": ..., "version": null | N, "etag": ..., "data": {...server JSON...}}]}

Written atomically (a temporary file in the same directory, then ``os.replace``), so a reader
never sees half a file. ``owner`` ties the file to one server and API key: a file written for
another key (another environment or project) is ignored, never served.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from promptops.sdk.cache import Entry, Key
from promptops.sdk.prompt import Prompt

__all__ = ["Snapshot"]

log = logging.getLogger("promptops")

_FORMAT = 1


def owner_fingerprint(base_url: str, api_key: str) -> str:
    digest = hashlib.sha256(api_key.encode()).hexdigest()[:16]
    return f"{base_url.rstrip('/')}#{digest}"


class Snapshot:
    """The snapshot file's contents in memory, and its writer."""

    def __init__(self, path: str | os.PathLike[str], owner: str) -> None:
        self.path = Path(path)
        self.owner = owner
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._records: dict[Key, tuple[dict[str, Any], str | None]] = {}
        self._entries: dict[Key, Entry] = {}
        self._load()

    # -- reading ------------------------------------------------------------------------

    def _load(self) -> None:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("PromptOps: cannot read the snapshot file %s: %s", self.path, exc)
            return
        try:
            doc = json.loads(raw)
            if doc.get("format") != _FORMAT:
                raise ValueError(f"unknown format {doc.get('format')!r}")
            if doc.get("owner") != self.owner:
                log.warning(
                    "PromptOps: ignoring the snapshot file %s: it was written for another"
                    " server or API key",
                    self.path,
                )
                return
            for item in doc["prompts"]:
                version = item["version"]
                if version is not None and not isinstance(version, int):
                    raise ValueError("bad version")
                key: Key = (str(item["slug"]), version)
                self._records[key] = (dict(item["data"]), item.get("etag"))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("PromptOps: ignoring the unreadable snapshot file %s: %s", self.path, exc)
            self._records.clear()

    def get(self, key: Key) -> Entry | None:
        """The snapshot's value for ``key`` as an (expired) cache entry, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                return entry
            record = self._records.get(key)
            if record is None:
                return None
            payload, etag = record
            try:
                prompt = Prompt.from_payload(payload)
            except Exception as exc:  # a hand-edited file must not break the client
                log.warning("PromptOps: snapshot entry %r is not a prompt: %s", key, exc)
                del self._records[key]
                return None
            entry = Entry(prompt, -1.0, etag, payload)
            self._entries[key] = entry
            return entry

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def __len__(self) -> int:
        return len(self._records)

    # -- updating -----------------------------------------------------------------------

    def put(self, key: Key, payload: dict[str, Any], etag: str | None) -> bool:
        """Record a good value; True if that changes the file's contents."""
        with self._lock:
            if self._records.get(key) == (payload, etag):
                return False
            self._records[key] = (payload, etag)
            self._entries.pop(key, None)
            return True

    def discard(self, key: Key) -> bool:
        with self._lock:
            self._entries.pop(key, None)
            return self._records.pop(key, None) is not None

    def write(self) -> None:
        """Write the file atomically. Errors are logged, never raised."""
        with self._write_lock:
            with self._lock:
                prompts = [
                    {"slug": slug, "version": version, "etag": etag, "data": payload}
                    for (slug, version), (payload, etag) in self._records.items()
                ]
            doc = {"format": _FORMAT, "owner": self.owner, "prompts": prompts}
            tmp = None
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(
                    prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
                )
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(doc, fh, ensure_ascii=False, separators=(",", ":"))
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
                tmp = None
            except OSError as exc:
                log.warning("PromptOps: cannot write the snapshot file %s: %s", self.path, exc)
            finally:
                if tmp is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
