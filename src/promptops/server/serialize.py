"""ORM rows to response models of the API (the prompt payload: domain.payloads)."""

from __future__ import annotations

from promptops.domain.keys import IssuedKey
from promptops.server.api.schemas import KeyCreated, KeyOut

__all__ = ["key_created"]


def key_created(issued: IssuedKey) -> KeyCreated:
    return KeyCreated(**KeyOut.model_validate(issued.record).model_dump(), key=issued.key)
