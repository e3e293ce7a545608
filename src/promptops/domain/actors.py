"""What a person reads for an actor label (history, versions, audit, change requests).

Labels are stored as written when the change happened: a key's prefix (``po_live_ab12cd34``),
``user:<email>``, ``admin`` or ``system``. :func:`display_names` turns the key prefixes into
``"<key name> (<prefix>)"``; other labels read as they are.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from promptops.db.models import ApiKey
from promptops.domain.keys import PREFIX_PATTERN

__all__ = ["display_names"]


def display_names(
    session: Session, project_id: str, labels: Iterable[str | None]
) -> dict[str, str]:
    """``{label: readable name}`` for each key prefix among ``labels`` that names a key of
    the project (or the instance admin key). Unnamed keys read ``unnamed key (<prefix>)``."""
    prefixes = sorted({x for x in labels if x and PREFIX_PATTERN.match(x)})
    names: dict[str, str] = {}
    for start in range(0, len(prefixes), 500):
        query = select(ApiKey.prefix, ApiKey.name).where(
            ApiKey.prefix.in_(prefixes[start : start + 500]),
            or_(ApiKey.project_id == project_id, ApiKey.project_id.is_(None)),
        )
        for prefix, name in session.execute(query):
            names[prefix] = f"{name or 'unnamed key'} ({prefix})"
    return names
