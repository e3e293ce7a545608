"""Server settings: one pydantic-settings class, built by :func:`get_settings`.

Every field reads ``PROMPTOPS_<NAME>`` from the environment; the CLI maps its flags onto the
same names. Tests build their own :class:`Settings` and pass it to ``create_app``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings", "normalize_database_url"]

_PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "admin", "test"}


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
    mode: Literal["development", "production"] = "development"
    # bcrypt work factor for API keys; 12 costs ~190 ms per check on a small machine.
    bcrypt_rounds: int = Field(12, ge=4, le=16)
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    # How long a verified key stays remembered before its row is looked at again
    # (revocation through this process takes effect at once regardless).
    key_cache_seconds: float = Field(300.0, ge=0)
    demo: bool = True
    log_level: str = "info"

    @field_validator("database_url")
    @classmethod
    def _normalize_url(cls, value: str) -> str:
        return normalize_database_url(value)

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        key = self.admin_key
        if (
            self.mode == "production"
            and key is not None
            and (key.lower() in _PLACEHOLDERS or len(key) < 24)
        ):
            raise ValueError(
                "PROMPTOPS_ADMIN_KEY looks like a placeholder; in production mode use a"
                " random key of at least 24 characters"
            )
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
