"""Secrets at rest: authenticated encryption of provider API keys and project secrets.

The key is derived from ``PROMPTOPS_SECRET_KEY`` with HKDF-SHA256; values are sealed with
AES-256-GCM (the ``cryptography`` package) under a fresh 96-bit nonce, and bound to where
they are stored (the associated data: table, project, name), so a sealed value copied to
another row or project does not open. A sealed value reads
``v1.<key id>.<base64url(nonce + ciphertext + tag)>``; the key id (8 hex digits of the
derived key's SHA-256) says which key sealed it, so a key can be rotated: set the new one in
``PROMPTOPS_SECRET_KEY`` and the old one in ``PROMPTOPS_SECRET_KEY_PREVIOUS``; values sealed
with the old key still open, and :meth:`SecretBox.needs_reseal` tells which to seal again.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from promptops.errors import PromptOpsError

__all__ = ["SecretBox", "SecretKeyError", "last4"]

_VERSION = "v1"
_INFO = b"promptops secrets at rest v1"


class SecretKeyError(PromptOpsError):
    """A sealed value cannot be opened: sealed with another key, or altered."""


def _derive(master: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"promptops", info=_INFO).derive(
        master.encode()
    )


def last4(value: str) -> str:
    """What is shown of a secret after it was stored: its last four characters."""
    return value[-4:] if len(value) > 8 else "…"


class SecretBox:
    def __init__(self, master: str, previous: Iterable[str] = ()) -> None:
        if not master:
            raise ValueError("a secret key is required")
        self._current = _derive(master)
        self._keys: dict[str, AESGCM] = {}
        for key in (self._current, *(_derive(p) for p in previous if p)):
            self._keys.setdefault(self._id(key), AESGCM(key))
        self.key_id = self._id(self._current)

    @staticmethod
    def _id(key: bytes) -> str:
        return hashlib.sha256(key).hexdigest()[:8]

    def seal(self, plaintext: str, where: str) -> str:
        nonce = os.urandom(12)
        sealed = self._keys[self.key_id].encrypt(nonce, plaintext.encode(), where.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{_VERSION}.{self.key_id}.{body}"

    def open(self, sealed: str, where: str) -> str:
        version, _, rest = sealed.partition(".")
        key_id, _, body = rest.partition(".")
        if version != _VERSION or not body:
            raise SecretKeyError("not a sealed value (expected v1.<key id>.<data>)")
        aead = self._keys.get(key_id)
        if aead is None:
            raise SecretKeyError(
                f"sealed with key {key_id!r}, which is neither PROMPTOPS_SECRET_KEY nor one of"
                " PROMPTOPS_SECRET_KEY_PREVIOUS"
            )
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return aead.decrypt(raw[:12], raw[12:], where.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise SecretKeyError(
                f"a sealed value does not open ({where}): altered or moved"
            ) from exc

    def needs_reseal(self, sealed: str) -> bool:
        """Sealed with a previous key (open it and seal it again)."""
        return not sealed.startswith(f"{_VERSION}.{self.key_id}.")

    @staticmethod
    def is_sealed(value: str) -> bool:
        return value.startswith(f"{_VERSION}.") and value.count(".") >= 2
