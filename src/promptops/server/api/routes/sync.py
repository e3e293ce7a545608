"""/v1/sync: the state `promptops sync` compares files with, the files a pull writes, and a
push applied in one transaction (all files or none)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from promptops.contract.errors import ErrorBody
from promptops.contract.fields import Environment
from promptops.contract.sync import SyncFiles, SyncPush, SyncPushed, SyncState
from promptops.domain import sync
from promptops.server.api.deps import ActorDep, ReadSession, StateDep, own_project

router = APIRouter(prefix="/v1/sync", tags=["sync"])


class _DryRun(Exception):  # leaves the write transaction, which rolls back
    def __init__(self, result: SyncPushed) -> None:
        self.result = result


@router.get("", response_model=SyncState)
def get_state(actor: ActorDep, session: ReadSession) -> SyncState:
    """Every prompt with the content hash of its latest version and of the version active
    in each environment."""
    return sync.state(session, own_project(actor))


@router.get("/files", response_model=SyncFiles)
def get_files(
    actor: ActorDep,
    session: ReadSession,
    environment: Annotated[
        Environment | None,
        Query(description="The versions active here (default: each prompt's latest)"),
    ] = None,
) -> SyncFiles:
    """Each prompt with one version: its latest, or the one active in `environment`
    (prompts with nothing there are left out)."""
    return sync.export_files(session, own_project(actor), environment)


@router.post(
    "",
    response_model=SyncPushed,
    responses={
        409: {"model": ErrorBody, "description": "protected environment, snippets"},
        413: {"model": ErrorBody, "description": "over PROMPTOPS_MAX_SYNC_BODY_BYTES"},
    },
)
def push(body: SyncPush, actor: ActorDep, st: StateDep) -> SyncPushed:
    """Create missing prompts, a version for each file whose content differs from its
    prompt's latest version, and (`promote`) deploy each file's latest version: in one
    transaction, so a problem with any file (named as `files.<i>`) stores nothing.
    `dry_run`: the same checks and report, then rolled back."""
    try:
        with st.db.write() as session:
            result = sync.push(session, actor, body)
            if body.dry_run:
                raise _DryRun(result)
            return result
    except _DryRun as dry:
        return dry.result
