"""One webhook in, one answer out: verify the signature, read the event, and for a version
made in PromptOps (not one pushed from git) put its file on the branch
``promptops/<slug>-v<N>`` and open or update that branch's pull/merge request.

The answer says what was done, and comes only when it is done: 2xx once the branch is
pushed and the request opened or updated; 401 for a bad, missing or expired signature;
400 for a body that is not a PromptOps event; 5xx when PromptOps, git or the forge failed,
so PromptOps delivers it again. Every step is idempotent (the branch is looked up on the
remote, the request on the forge), so a redelivery (the same ``webhook-id``) or a second
event for the same version updates what the first made.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from promptops.contract.events import EVENT_MODELS, Event
from promptops.gitops.bridge.config import BridgeConfig
from promptops.gitops.bridge.errors import BridgeError
from promptops.gitops.bridge.forge import Forge
from promptops.gitops.bridge.repo import GitRepo, Identity
from promptops.gitops.bridge.source import PromptOpsSource
from promptops.gitops.bridge.texts import (
    branch_name,
    commit_message,
    file_diff,
    git_author,
    review_body,
    review_title,
)
from promptops.gitops.files import PromptFileError, parse_prompt_file, prompt_file_text
from promptops.gitops.sync import Loaded, load_dir, same_content, target_path
from promptops.webhooks import InvalidPayloadError, WebhookVerificationError, verify

__all__ = ["HANDLED_EVENTS", "Bridge", "Reply", "from_git"]

log = logging.getLogger("promptops.gitops.bridge")

HANDLED_EVENTS = frozenset(
    {
        "prompt_template_version_created",
        "prompt_template_label_moved",
        "prompt_template_label_change_approved",
    }
)
_SLUG = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # the prompt file's slug: safe in a path or a ref
_REMEMBERED = 4096  # webhook-ids answered 2xx, kept to answer a redelivery at once


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


def from_git(metadata: Any) -> bool:
    """A version pushed by ``promptops sync push`` from a git work tree has ``metadata.git``
    (commit, path, remote): it is the repository's already, and is not sent back."""
    return isinstance(metadata, Mapping) and isinstance(metadata.get("git"), Mapping)


def _header(headers: Iterable[tuple[str, str]], name: str) -> str:
    return next((v for k, v in headers if k.lower() == name), "")


def _field(exc: ValidationError, prefix: str = "") -> str:
    first = exc.errors()[0]
    where = prefix + ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


class Bridge:
    def __init__(
        self, config: BridgeConfig, *, repo: GitRepo, forge: Forge, source: PromptOpsSource
    ) -> None:
        self.config = config
        self.repo = repo
        self.forge = forge
        self.source = source
        self._lock = threading.Lock()  # one change at a time: one work tree, one index
        self._answered: OrderedDict[str, Reply] = OrderedDict()

    def handle(self, body: bytes, headers: Iterable[tuple[str, str]]) -> Reply:
        """The answer to one webhook request (raw body, header pairs)."""
        pairs = list(headers)
        try:
            payload = verify(body, pairs, list(self.config.secrets))
        except InvalidPayloadError as exc:
            return Reply(400, {"error": exc.message})
        except WebhookVerificationError as exc:
            return Reply(401, {"error": exc.message})
        webhook_id = _header(pairs, "webhook-id")
        with self._lock:
            if webhook_id in self._answered:
                self._answered.move_to_end(webhook_id)
                return self._answered[webhook_id]
            reply = self._event(payload)
            if reply.status < 300:
                self._answered[webhook_id] = reply
                while len(self._answered) > _REMEMBERED:
                    self._answered.popitem(last=False)
        log.info("webhook %s: %s %s", webhook_id, reply.status, reply.body)
        return reply

    def _event(self, payload: Any) -> Reply:
        try:  # the contract's event: the envelope, then its type's data
            event = Event.model_validate(payload)
        except ValidationError as exc:
            return Reply(400, {"error": f"not a PromptOps event: {_field(exc)}"})
        try:
            data = EVENT_MODELS[event.type].model_validate(event.data)
        except ValidationError as exc:
            return Reply(400, {"error": f"not a PromptOps event: {_field(exc, 'data.')}"})
        if event.type not in HANDLED_EVENTS:
            return Reply(200, {"status": "ignored", "reason": f"{event.type} is not handled"})
        slug: str = data.slug  # type: ignore[attr-defined]
        number: int = data.version  # type: ignore[attr-defined]
        if not _SLUG.match(slug):
            return Reply(400, {"error": f"data.slug: not a prompt slug: {slug[:80]!r}"})
        if from_git(data.prompt.metadata):  # type: ignore[attr-defined]
            return Reply(200, {"status": "skipped", "reason": "the version came from git"})
        try:
            return self._propose(event.project.id, slug, number)
        except BridgeError as exc:
            log.warning("%s v%s: %s", slug, number, exc.message)
            return Reply(exc.status, {"error": exc.message})

    # ---- the change ----------------------------------------------------------------------

    def _path(self, slug: str) -> str:
        """Where the slug's file is: the file holding it already, else ``<dir>/<slug>.yaml``."""
        folder = self.repo.root / self.config.prompts_dir
        loaded = load_dir(folder, base=self.repo.root) if folder.is_dir() else Loaded()
        existing = {f.slug: Path(f.path) for f in loaded.files}
        return target_path(Path(self.config.prompts_dir), slug, existing).as_posix()

    def _in_base(self, path: str, before: str | None, prompt: Any, version: Any) -> bool:
        if before is None:
            return False
        try:
            return same_content(parse_prompt_file(path, before), prompt, version)
        except PromptFileError:
            return False  # a broken file on the base branch: the change repairs it

    def _propose(self, project_id: str, slug: str, number: int) -> Reply:
        config = self.config
        prompt, version = self.source.version(slug, number)
        if from_git(version.get("metadata")):
            return Reply(200, {"status": "skipped", "reason": "the version came from git"})
        text = prompt_file_text(prompt, version)
        branch = branch_name(slug, number)
        self.repo.fetch()
        self.repo.checkout(branch, config.base_branch)
        path = self._path(slug)
        before = self.repo.read(f"origin/{config.base_branch}", path)
        done: dict[str, Any] = {"branch": branch, "path": path}
        if self._in_base(path, before, prompt, version):
            return Reply(200, {**done, "status": "unchanged", "reason": "the base branch has it"})
        review = self.forge.find(branch)
        if review is not None and review.state != "open":
            reason = f"its {self.forge.noun} #{review.number} is {review.state}: not reopened"
            return Reply(200, {**done, "status": review.state, "url": review.url, "reason": reason})
        fallback = Identity(config.committer_name, config.committer_email)
        committed = self.repo.commit_file(
            path,
            text,
            author=git_author(version.get("author"), fallback),
            message=commit_message(slug, version),
            date=version.get("created_at"),
        )
        if committed or not self.repo.has_remote_branch(branch):
            self.repo.push(branch)
        title = review_title(slug, version)
        body = review_body(
            slug=slug,
            version=version,
            prompt=prompt,
            project_id=project_id,
            dashboard_url=config.dashboard_url,
            path=path,
            diff=file_diff(path, before, text),
        )
        if review is None:
            review = self.forge.open(branch, config.base_branch, title, body)
            status = "opened"
        elif (review.title, review.body) != (title, body):
            review = self.forge.update(review, title, body)
            status = "updated"
        else:
            status = "current"  # the request says this already: no write
        result = {"status": status, "committed": committed, "number": review.number}
        return Reply(200, {**done, **result, "url": review.url})
