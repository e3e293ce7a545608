"""Provider connections (``/v1/providers``) and project secrets (``/v1/secrets``).

Their secret part (an API key, a secret's value) is write-only: it is sealed at rest and the
API shows it in full once, in the response of the call that set it; afterwards only its
last four characters (``api_key_last4``, ``value_last4``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from promptops.contract.fields import Input, Output, Str
from promptops.contract.slugs import Slug

__all__ = [
    "PROVIDERS",
    "ProviderCreate",
    "ProviderList",
    "ProviderOut",
    "ProviderSet",
    "ProviderUpdate",
    "SecretList",
    "SecretName",
    "SecretOut",
    "SecretSet",
    "SecretSetOut",
]

PROVIDERS = ("openai", "anthropic", "gemini", "openai_compatible")
Provider = Literal["openai", "anthropic", "gemini", "openai_compatible"]
MAX_SECRET = 64 * 1024


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


BaseUrl = Annotated[Str(2048, 1), AfterValidator(_http_url)]  # type: ignore[valid-type]
ApiKey = Annotated[Str(4096, 1), StringConstraints(strip_whitespace=True)]  # type: ignore[valid-type]
SecretName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Z_][A-Z0-9_]*$"),
    Field(
        strict=True,
        description="Upper-case letters, digits and _, not starting with a digit (like an"
        " environment variable)",
    ),
]


class ProviderCreate(Input):
    name: Slug = Field(description="How agents and the playground name it, e.g. openai-prod")
    provider: Provider
    api_key: ApiKey  # type: ignore[valid-type]
    base_url: BaseUrl | None = Field(  # type: ignore[valid-type]
        None,
        description="The API's base URL: required for openai_compatible, optional otherwise"
        " (a gateway or proxy)",
    )

    @model_validator(mode="after")
    def _base_url_when_compatible(self) -> Self:
        if self.provider == "openai_compatible" and not self.base_url:
            raise ValueError("base_url: required for an openai_compatible provider")
        return self


class ProviderUpdate(Input):
    """Rotate the key or change the base URL (``null`` removes it, but for
    ``openai_compatible``)."""

    api_key: ApiKey | None = None  # type: ignore[valid-type]
    base_url: BaseUrl | None = None  # type: ignore[valid-type]


class ProviderOut(Output):
    name: str
    provider: str
    base_url: str | None
    api_key_last4: str = Field(description="The key's last four characters")
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class ProviderSet(ProviderOut):
    api_key: str = Field(description="The key in full: shown in this response only")


class ProviderList(Output):
    data: list[ProviderOut]


class SecretSet(Input):
    value: Annotated[Str(MAX_SECRET, 1), Field(description="Shown once, then sealed")]  # type: ignore[valid-type]


class SecretOut(Output):
    name: str
    value_last4: str
    created_by: str | None
    created_at: datetime
    updated_at: datetime


class SecretSetOut(SecretOut):
    value: str = Field(description="The value in full: shown in this response only")
    created: bool = Field(description="false when an existing secret's value was replaced")


class SecretList(Output):
    data: list[SecretOut]
