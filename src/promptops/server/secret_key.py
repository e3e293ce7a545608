"""The server's :class:`~promptops.domain.secretbox.SecretBox`, from ``PROMPTOPS_SECRET_KEY``.

Production mode requires the variable (config.py refuses to start without it). In
development mode, when it is unset, a random key is generated once and kept in a file only
its owner can read: ``<database>.secret-key`` beside a SQLite file, else
``$XDG_DATA_HOME/promptops/secret-key`` (``~/.local/share/...``), so every process of one
machine (server, worker, CLI) opens what the others sealed. Losing that file loses the
secrets sealed with it (provider keys and project secrets must then be set again).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from promptops.domain.secretbox import SecretBox
from promptops.server.config import Settings

__all__ = ["key_file", "secret_box"]


def key_file(settings: Settings) -> Path:
    if settings.sqlite_path is not None:
        return settings.sqlite_path.with_name(settings.sqlite_path.name + ".secret-key")
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "promptops" / "secret-key"


def _generated(path: Path) -> str:
    """The key kept in ``path``, made (mode 0600, exclusively) when it does not exist."""
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


def secret_box(settings: Settings) -> SecretBox:
    previous = [p.strip() for p in (settings.secret_key_previous or "").split(",") if p.strip()]
    master = settings.secret_key or _generated(key_file(settings))
    return SecretBox(master, previous)
