"""Benchmark databases: one prompt with one version, or 100,000 versions across prompts.

The project, its read key, the read prompt and its first version are created through the
domain services (the real write path). The bulk (the read prompt's later versions and the
other prompts with all their versions) is inserted with SQLAlchemy core: one ``deployments``
row per version (the ``auto`` deployment to dev that ``create_version`` makes, chained through
``previous_deployment_id``), ``prompts.latest_version`` set to the highest version and one
``active_deployments`` row per prompt pointing at its last deployment and version. Audit
events for the bulk rows are not written (nothing on the read path looks at them).
:func:`check_consistency` verifies the result.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text, update

from promptops.contract.content import (
    VersionCreate,
    legacy_shape,
    stored_content,
    templates_of,
    variables_of,
)
from promptops.contract.validation import parse
from promptops.db.models import ActiveDeployment, Deployment, Prompt, PromptVersion
from promptops.db.session import Database, migrate
from promptops.domain import keys, projects, prompts, versions
from promptops.domain.access import Actor
from promptops.server.config import normalize_database_url

__all__ = ["SLUG", "Fixture", "check_consistency", "create_postgres_db", "drop_postgres_db", "seed"]

SLUG = "onboarding-email"
ENVIRONMENT = "dev"
ROUNDS = 4  # bcrypt work factor for the fixture's keys (verified once per server anyway)

CONTENT: dict[str, Any] = {
    "system_prompt": "You are a friendly onboarding assistant for {{product}}.",
    "user_template": "Write a warm, three-sentence welcome email to {{name}} who signed up for"
    " the {{plan}} plan.",
    "model": "gpt-4o-mini",
    "temperature": 0.5,
    "max_tokens": 400,
    "metadata": {"owner": "growth-team"},
}
_TOOL_PARAMETERS = {
    "type": "object",
    "properties": {"query": {"type": "string"}, "limit": {"type": "integer", "minimum": 1}},
    "required": ["query"],
}
SNIPPET_SLUG = "house-style"
SNIPPET_TEXT = "Write in plain English for {{audience}}. Keep answers under {{limit}} words."
# A chat version as busy as real ones get: 8 messages (one a placeholder and one including a
# snippet), 3 tools, a response schema, params and declared inputs.
CHAT_CONTENT: dict[str, Any] = {
    "messages": [
        {"role": "system", "content": "You are the support assistant of {{product}}."},
        {"role": "developer", "content": "{{> house-style}}"},
        {"role": "user", "content": "What plans are there?"},
        {"role": "assistant", "content": "Free, {{#plans}}{{.}}, {{/plans}}and Enterprise."},
        {"type": "placeholder", "name": "history"},
        {"role": "user", "content": "{{#customer}}I am {{name}} on {{plan}}.{{/customer}}"},
        {"role": "assistant", "content": "Thanks {{customer.name}}, how can I help?"},
        {"role": "user", "content": "{{question}}"},
    ],
    "model": "gpt-4o-mini",
    "temperature": 0.2,
    "max_tokens": 600,
    "params": {"top_p": 0.9, "seed": 42, "stop": ["\n\nUser:"]},
    "inputs": [
        {"name": "question", "type": "string", "description": "the customer's question"},
        {"name": "customer", "type": "object"},
        {"name": "plans", "type": "list", "required": False},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": name,
                "description": f"{name} tool",
                "parameters": _TOOL_PARAMETERS,
            },
        }
        for name in ("search_docs", "lookup_order", "open_ticket")
    ],
    "tool_choice": "auto",
    "response_format": {
        "type": "json_schema",
        "json_schema": {
            "name": "support_answer",
            "strict": True,
            "schema": {
                "type": "object",
                "properties": {
                    "answer": {"type": "string"},
                    "confidence": {"type": "number"},
                    "links": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["answer", "confidence", "links"],
                "additionalProperties": False,
            },
        },
    },
    "metadata": {"owner": "support-team"},
}
CONTENTS = {"legacy": CONTENT, "chat": CHAT_CONTENT}


@dataclass(frozen=True)
class Fixture:
    database_url: str  # SQLAlchemy URL
    project_id: str
    read_key: str
    slug: str
    prompts: int
    versions: int  # rows in prompt_versions
    read_prompt_versions: int  # versions of the prompt the benchmark reads


def seed(
    url: str, *, prompts_count: int = 1, versions_per_prompt: int = 1, content: str = "legacy"
) -> Fixture:
    """Migrate ``url`` and fill it; ``prompts_count * versions_per_prompt`` versions in all.
    ``content``: ``legacy`` (system prompt + user template) or ``chat`` (:data:`CHAT_CONTENT`,
    with its snippet prompt)."""
    body = CONTENTS[content]
    url = normalize_database_url(url)
    migrate(url)
    db = Database(url)
    try:
        with db.write() as session:
            system = Actor(label="system", role="admin")
            project, issued = projects.create_project(
                session, system, name="Benchmark", rounds=ROUNDS
            )
            writer = Actor(
                label=issued.record.prefix,
                role="write",
                project_id=project.id,
                environment=ENVIRONMENT,
                key_id=issued.record.id,
            )
            read = keys.create_key(
                session, writer, environment=ENVIRONMENT, role="read", name="bench", rounds=ROUNDS
            )
            if content == "chat":
                prompts.create_prompt(
                    session, writer, slug=SNIPPET_SLUG, name="House style", type="text"
                )
                versions.create_version(
                    session, writer, SNIPPET_SLUG, model="gpt-4o-mini", text=SNIPPET_TEXT
                )
            prompts.create_prompt(
                session, writer, slug=SLUG, name="Onboarding email", description="Benchmark."
            )
            versions.create_version(session, writer, SLUG, commit_message="version 1", **body)
            project_id, actor_label = project.id, writer.label
        if prompts_count > 1 or versions_per_prompt > 1:
            _bulk(db, project_id, actor_label, prompts_count, versions_per_prompt, body)
        check_consistency(db)
        with db.read() as session:
            total = session.scalar(select(func.count()).select_from(PromptVersion))
            n_prompts = session.scalar(select(func.count()).select_from(Prompt))
            read_versions = session.scalar(select(Prompt.latest_version).where(Prompt.slug == SLUG))
    finally:
        db.dispose()
    return Fixture(
        database_url=url,
        project_id=project_id,
        read_key=read.key,
        slug=SLUG,
        prompts=int(n_prompts or 0),
        versions=int(total or 0),
        read_prompt_versions=int(read_versions or 0),
    )


def _bulk(
    db: Database,
    project_id: str,
    actor: str,
    n_prompts: int,
    per_prompt: int,
    body: dict[str, Any],
) -> None:
    """Add versions 2..per_prompt to the read prompt and ``n_prompts - 1`` other prompts."""
    base = datetime(2025, 1, 1, tzinfo=UTC)
    stored = stored_content(parse(VersionCreate, body))
    legacy = legacy_shape(stored["messages"]) or ("", "")
    columns = {
        **{k: v for k, v in stored.items() if k != "meta"},
        "metadata": stored["meta"],
        "system_prompt": legacy[0],
        "user_template": legacy[1],
        "variables": variables_of([t for _, t in templates_of(stored)]),
    }
    with db.engine.begin() as conn:

        def next_id(column: Any) -> int:
            return int(conn.scalar(select(func.coalesce(func.max(column), 0)))) + 1

        prompt_id, version_id, deployment_id = (
            next_id(Prompt.id),
            next_id(PromptVersion.id),
            next_id(Deployment.id),
        )
        read_prompt = conn.execute(
            select(Prompt.id).where(Prompt.project_id == project_id, Prompt.slug == SLUG)
        ).scalar_one()
        current = conn.execute(
            select(ActiveDeployment.deployment_id).where(
                ActiveDeployment.prompt_id == read_prompt,
                ActiveDeployment.environment == ENVIRONMENT,
            )
        ).scalar_one()

        prompt_rows: list[dict[str, Any]] = []
        version_rows: list[dict[str, Any]] = []
        deployment_rows: list[dict[str, Any]] = []
        active_rows: list[dict[str, Any]] = []
        tips: dict[int, tuple[int, int, int]] = {}  # prompt -> (deployment, version id, number)

        def add_versions(pid: int, first: int, previous: int | None) -> None:
            nonlocal version_id, deployment_id
            for number in range(first, per_prompt + 1):
                at = base + timedelta(seconds=number)
                version_rows.append(
                    {
                        "id": version_id,
                        "prompt_id": pid,
                        "version": number,
                        **columns,
                        "commit_message": f"version {number}",
                        "author": actor,
                        "created_at": at,
                    }
                )
                deployment_rows.append(
                    {
                        "id": deployment_id,
                        "prompt_id": pid,
                        "environment": ENVIRONMENT,
                        "version": number,
                        "version_id": version_id,
                        "previous_deployment_id": previous,
                        "previous_version": number - 1 if previous is not None else None,
                        "action": "auto",
                        "actor": actor,
                        "created_at": at,
                    }
                )
                tips[pid] = (deployment_id, version_id, number)
                previous = deployment_id
                version_id += 1
                deployment_id += 1

        add_versions(read_prompt, 2, current)
        for i in range(1, n_prompts):
            pid = prompt_id
            prompt_id += 1
            prompt_rows.append(
                {
                    "id": pid,
                    "project_id": project_id,
                    "slug": f"bulk-{i:05d}",
                    "name": f"Bulk prompt {i}",
                    "description": None,
                    "latest_version": per_prompt,
                    "created_at": base,
                    "updated_at": base + timedelta(seconds=per_prompt),
                }
            )
            add_versions(pid, 1, None)
            dep, ver, number = tips[pid]
            active_rows.append(
                {
                    "prompt_id": pid,
                    "environment": ENVIRONMENT,
                    "deployment_id": dep,
                    "version_id": ver,
                    "version": number,
                    "updated_at": base + timedelta(seconds=number),
                }
            )

        if prompt_rows:
            conn.execute(insert(Prompt.__table__), prompt_rows)
        for start in range(0, len(version_rows), 10_000):
            conn.execute(insert(PromptVersion.__table__), version_rows[start : start + 10_000])
        for start in range(0, len(deployment_rows), 10_000):
            conn.execute(insert(Deployment.__table__), deployment_rows[start : start + 10_000])
        if active_rows:
            conn.execute(insert(ActiveDeployment.__table__), active_rows)
        if read_prompt in tips:
            dep, ver, number = tips[read_prompt]
            now = datetime.now(UTC)
            conn.execute(
                update(Prompt.__table__)
                .where(Prompt.__table__.c.id == read_prompt)
                .values(latest_version=number, updated_at=now)
            )
            conn.execute(
                update(ActiveDeployment.__table__)
                .where(
                    ActiveDeployment.__table__.c.prompt_id == read_prompt,
                    ActiveDeployment.__table__.c.environment == ENVIRONMENT,
                )
                .values(deployment_id=dep, version_id=ver, version=number, updated_at=now)
            )
        if not db.is_sqlite:  # explicit ids do not move PostgreSQL's sequences
            for table in ("prompts", "prompt_versions", "deployments"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                        f" (SELECT max(id) FROM {table}))"
                    )
                )
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")


def check_consistency(db: Database) -> None:
    """Raise AssertionError unless versions, deployments and pointers agree."""
    v, d, a, p = (
        PromptVersion.__table__.c,
        Deployment.__table__.c,
        ActiveDeployment.__table__.c,
        Prompt.__table__.c,
    )
    with db.engine.connect() as conn:
        bad_latest = conn.scalar(
            select(func.count())
            .select_from(Prompt.__table__)
            .where(
                p.latest_version
                != select(func.coalesce(func.max(v.version), 0))
                .where(v.prompt_id == p.id)
                .scalar_subquery()
            )
        )
        assert bad_latest == 0, f"{bad_latest} prompts whose latest_version is wrong"
        gaps = conn.scalar(
            select(func.count())
            .select_from(Prompt.__table__)
            .where(
                select(func.count()).where(v.prompt_id == p.id).scalar_subquery()
                != p.latest_version
            )
        )
        assert gaps == 0, f"{gaps} prompts whose version numbers have gaps"
        active = conn.execute(
            select(a.prompt_id, a.version, v.prompt_id, v.version, d.prompt_id, d.version_id)
            .select_from(ActiveDeployment.__table__)
            .outerjoin(PromptVersion.__table__, v.id == a.version_id)
            .outerjoin(Deployment.__table__, d.id == a.deployment_id)
        ).all()
        for pid, number, v_pid, v_number, d_pid, d_version_id in active:
            assert v_pid == pid and v_number == number, f"prompt {pid}: bad active version"
            assert d_pid == pid and d_version_id is not None, f"prompt {pid}: bad deployment"
        no_active = conn.scalar(
            select(func.count())
            .select_from(Prompt.__table__)
            .where(p.latest_version > 0, ~select(a.prompt_id).where(a.prompt_id == p.id).exists())
        )
        assert no_active == 0, f"{no_active} prompts with versions but nothing active"
        orphans = conn.scalar(
            select(func.count())
            .select_from(Deployment.__table__)
            .where(~select(v.id).where(v.id == d.version_id, v.prompt_id == d.prompt_id).exists())
        )
        assert orphans == 0, f"{orphans} deployments pointing at no version of their prompt"


def create_postgres_db(server_url: str, prefix: str = "promptops_bench") -> str:
    """Create a fresh database on the server at ``server_url``; return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = normalize_database_url(server_url.rstrip("/") + "/postgres")
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    return normalize_database_url(server_url.rstrip("/") + "/" + name)


def drop_postgres_db(url: str) -> None:
    base, _, name = url.rpartition("/")
    engine = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        engine.dispose()
