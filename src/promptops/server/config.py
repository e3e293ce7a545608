"""Server settings: one pydantic-settings class, built by :func:`get_settings`.

Every field reads ``PROMPTOPS_<NAME>`` from the environment; the CLI maps its flags onto the
same names. Tests build their own :class:`Settings` and pass it to ``create_app``.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings", "normalize_database_url"]

_PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "admin", "test"}
# Words that mark a key copied from documentation or a template, wherever they appear.
_PLACEHOLDER_WORDS = ("changeme", "change-me", "change_me", "placeholder", "example", "replace")
# Production admin keys: at least this long, this many distinct characters, and this much
# Shannon entropy per character (a random hex string has ~3.7-4 bits, base64 ~4.5-5).
MIN_ADMIN_KEY = 32
MIN_DISTINCT = 10
MIN_BITS_PER_CHAR = 3.0


def shannon_bits_per_char(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def admin_key_problem(key: str) -> str | None:
    """Why ``key`` is not fit for production (None: fit): too short, a placeholder, or too
    little entropy (one character repeated, "abcabc…", a dictionary word padded out)."""
    lowered = key.lower()
    if lowered in _PLACEHOLDERS or any(word in lowered for word in _PLACEHOLDER_WORDS):
        return "looks like a placeholder"
    if len(key) < MIN_ADMIN_KEY:
        return f"is shorter than {MIN_ADMIN_KEY} characters"
    if len(set(key)) < MIN_DISTINCT or shannon_bits_per_char(key) < MIN_BITS_PER_CHAR:
        return "has too little entropy (too few different characters)"
    return None


def normalize_database_url(url: str) -> str:
    """Turn user-facing database URLs into SQLAlchemy URLs.

    ``postgresql://`` / ``postgres://`` select psycopg 3; a bare path means a SQLite file.
    """
    url = url.strip()
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if "://" not in url:
        return "sqlite:///" + url
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROMPTOPS_", extra="ignore")

    database_url: str = "sqlite:///./promptops.db"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    admin_key: str | None = None
    # Seals provider API keys, project secrets and webhook signing secrets at rest (see
    # promptops.domain.secretbox). Required in production mode; in development a generated
    # one is kept in a file (server/secret_key.py). Old keys, comma-separated, still open.
    secret_key: str | None = Field(None, repr=False)
    secret_key_previous: str | None = Field(None, repr=False)
    mode: Literal["development", "production"] = "development"
    # bcrypt work factor for API keys; 12 costs ~190 ms per check on a small machine.
    bcrypt_rounds: int = Field(12, ge=4, le=16)
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    max_sync_body_bytes: int = Field(
        32 * 1024 * 1024,
        ge=1024,
        description="Largest body of POST /v1/sync, which carries every file of a push in one"
        " transaction (bytes)",
    )
    # How long a verified key stays remembered before its row is looked at again
    # (revocation through this process takes effect at once regardless).
    key_cache_seconds: float = Field(300.0, ge=0)
    # How often open event streams' keys are re-checked against the database (a backstop:
    # a revocation ends its streams at once through changes and notifications).
    stream_recheck_seconds: float = Field(5.0, gt=0)
    # Failed key checks (bcrypt) per key prefix and window, then 429 (see server/auth.py).
    key_max_failures: int = Field(10, ge=1)
    key_failure_window_seconds: float = Field(60.0, gt=0)
    demo: bool = True
    log_level: str = "info"
    # Dashboard users and sessions (see docs/dashboard.md).
    admin_email: str | None = None  # the first instance admin user (default admin@localhost)
    admin_password: str | None = None  # generated and printed once when unset
    session_hours: float = Field(12.0, gt=0, le=24 * 90)
    # Secure cookies: "auto" when the request is https; "always"/"never" to force it.
    cookie_secure: Literal["auto", "always", "never"] = "auto"
    login_max_failures: int = Field(5, ge=1)  # per email + client address ...
    login_window_seconds: float = Field(300.0, gt=0)  # ... in this window, then 429
    argon2_time_cost: int = Field(3, ge=1, le=20)
    argon2_memory_kib: int = Field(65536, ge=8)
    # Webhooks and the worker (see docs/webhooks.md). Private/loopback webhook targets:
    # None = allowed in development mode, refused in production; link-local and cloud
    # metadata addresses are always refused.
    webhook_allow_private: bool | None = None
    webhook_timeout_seconds: float = Field(15.0, gt=0, le=300)  # per attempt
    # Delays before the 2nd, 3rd, ... attempt (the 1st is immediate), each jittered ±jitter.
    webhook_retry_schedule: list[float] = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    webhook_retry_jitter: float = Field(0.2, ge=0, le=1)
    # An endpoint is disabled after this many failed attempts in a row, once the run of
    # failures has lasted at least webhook_disable_after_seconds.
    webhook_disable_after_failures: int = Field(15, ge=1)
    webhook_disable_after_seconds: float = Field(86400.0, ge=0)
    webhook_secret_overlap_seconds: float = Field(86400.0, ge=0, le=30 * 86400)
    webhook_lease_seconds: float = Field(120.0, gt=0)  # a claimed attempt's lease (> timeout)
    webhook_concurrency: int = Field(4, ge=1, le=64)  # attempts in flight per worker
    worker_poll_seconds: float = Field(2.0, gt=0, le=300)
    embedded_worker: bool = True  # run the worker inside the server process
    # Agents (docs/agents.md): runs execute on DBOS Transact. The server runs them itself
    # (started when a run is queued, or at start-up when runs are unfinished) unless this is
    # off: then `promptops worker` processes do.
    agents_embedded: bool = True
    # DBOS's system database (its checkpoints and queue): default the server's PostgreSQL
    # database (schema dbos), or for SQLite the file <database>.dbos next to it.
    agents_system_database_url: str | None = None
    agents_concurrency: int = Field(16, ge=1, le=1000)  # runs at once per worker process
    agents_project_concurrency: int = Field(8, ge=1, le=1000)  # runs at once per project
    event_retention_days: float = Field(30.0, gt=0)
    # Request logs older than this (by arrival) are removed by the worker; None keeps them.
    log_retention_days: float | None = Field(None, gt=0)

    @field_validator("database_url")
    @classmethod
    def _normalize_url(cls, value: str) -> str:
        return normalize_database_url(value)

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        key = self.admin_key
        problem = admin_key_problem(key) if self.mode == "production" and key else None
        if problem is not None:
            raise ValueError(
                f"PROMPTOPS_ADMIN_KEY {problem} (a placeholder?); in production mode use a"
                f" random key of at least {MIN_ADMIN_KEY} characters, e.g."
                " `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        password = self.admin_password
        if (
            self.mode == "production"
            and password is not None
            and (password.lower() in _PLACEHOLDERS or len(password) < 12)
        ):
            raise ValueError(
                "PROMPTOPS_ADMIN_PASSWORD looks like a placeholder; in production mode use a"
                " password of at least 12 characters"
            )
        if self.mode == "production" and not self.secret_key:
            raise ValueError(
                "PROMPTOPS_SECRET_KEY is required in production mode (it seals provider keys"
                " and secrets at rest): a random value of at least 32 characters, e.g."
                " `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        if self.secret_key and len(self.secret_key) < 32 and self.mode == "production":
            raise ValueError("PROMPTOPS_SECRET_KEY is shorter than 32 characters")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        path = self.database_url.split("///", 1)[-1]
        return None if path in ("", ":memory:") else Path(path)


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (e.g. CLI flags) on top."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)  # type: ignore[arg-type]
