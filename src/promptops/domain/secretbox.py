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
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from promptops.errors import PromptOpsError

__all__ = ["SecretBox", "SecretKeyError", "box_from_settings", "key_file", "last4"]

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


# ---- the key of a deployment ------------------------------------------------------------
# Production mode requires PROMPTOPS_SECRET_KEY (the settings refuse to load without it). In
# development mode, when it is unset, a random key is generated once and kept in a file only
# its owner can read: ``<database>.secret-key`` beside a SQLite file, else
# ``$XDG_DATA_HOME/promptops/secret-key`` (``~/.local/share/...``), so every process of one
# machine (server, worker, CLI) opens what the others sealed. Losing that file loses what
# was sealed with it (provider keys and project secrets must be set again, webhook
# endpoints' secrets rotated).


def key_file(settings: Any) -> Path:
    sqlite_path = settings.sqlite_path
    if sqlite_path is not None:
        return Path(sqlite_path).with_name(Path(sqlite_path).name + ".secret-key")
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "promptops" / "secret-key"


def _generated(path: Path) -> str:
    """The key kept in ``path``, made (mode 0600) when it does not exist."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    # Written whole under another name, then linked into place: a process racing this one
    # either links first or reads a complete file, never a half-written one.
    draft = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    try:
        os.link(draft, path)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    finally:
        draft.unlink()
    return key


def box_from_settings(settings: Any) -> SecretBox:
    """The box of a deployment: ``secret_key`` (+ ``secret_key_previous``, comma-separated)
    of its settings, or the development key file."""
    previous = [p.strip() for p in (settings.secret_key_previous or "").split(",") if p.strip()]
    return SecretBox(settings.secret_key or _generated(key_file(settings)), previous)
