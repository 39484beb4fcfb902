"""The base every configuration section and connector entry is declared with.

Keys are kebab-case as in the seed's application.yml (snake_case works too), unknown keys are
errors, and a connector entry names the *environment variables* that hold its secrets
(fields ending in `_env`), never the secrets themselves: that is how every secret a connector
loads ends up in the redaction list without anybody maintaining one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator


def kebab(name: str) -> str:
    return name.replace("_", "-")


class Section(BaseModel):
    model_config = ConfigDict(alias_generator=kebab, populate_by_name=True, extra="forbid")


class ConnectorConfig(Section):
    """One `sources:` / `scms:` / `notify:` entry. Connectors subclass it with their own keys."""

    type: str
    # Defaults to the type. It becomes a URL path segment (/api/webhook/<name>), the prefix of job
    # ids (<name>:<scope>:<issue>) and part of branch names, so it must be safe in all three.
    name: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")

    @property
    def key(self) -> str:
        return self.name or self.type

    def secret_env_names(self) -> list[str]:
        """The variables this entry reads secrets from: every `*_env` field."""
        names = [getattr(self, f) for f in type(self).model_fields if f.endswith("_env")]
        return [n for n in names if isinstance(n, str) and n]


def require_http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


class HttpUrlMixin(BaseModel):
    """`base_url` must be http(s), stored without a trailing slash."""

    @field_validator("base_url", check_fields=False)
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return None if value is None else require_http_url(value)


@dataclass(frozen=True)
class ConnectorContext:
    """What the composition root hands every connector it builds, besides its own entry."""

    env: Callable[[str], str | None]  # a secret by variable name (None when unset or empty)
    max_attempts: int = 5  # calls to an upstream, retries included
    backoff_seconds: float = 1.0  # first retry wait; doubles each time
    state_dir: Path | None = None  # where a connector may keep small durable state (Slack thread ids)
