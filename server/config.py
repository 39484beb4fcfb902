"""Configuration: one YAML file for behaviour, the environment for secrets.

Keys mirror the seed's application.yml (kebab-case, snake_case accepted too). Secrets are
never read from the file: a `token:` key there is an error that names the variable to use.
A bad file raises ConfigError with one line naming the key and the problem — never a value,
so a secret pasted into the wrong place is not echoed to a terminal or a log.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.pricing import DEFAULT_MODEL
from domain import Confidence

DEFAULT_CONFIG_PATH = "autofixer.yml"

# Keys people copy from the seed's application.yml that must stay in the environment.
_SECRET_KEYS = {
    "token": "AUTOFIXER_SENTRY_TOKEN / AUTOFIXER_GITHUB_TOKEN",
    "webhook-secret": "AUTOFIXER_WEBHOOK_SECRET",
    "api-key": "AUTOFIXER_LLM_KEY",
    "client-secret": "AUTOFIXER_WEBHOOK_SECRET",
}


class ConfigError(Exception):
    """A configuration problem, already phrased as the one line the user should see."""


def _kebab(name: str) -> str:
    return name.replace("_", "-")


class _Section(BaseModel):
    model_config = ConfigDict(alias_generator=_kebab, populate_by_name=True, extra="forbid")


class SourceConfig(_Section):
    type: Literal["sentry"] = "sentry"
    base_url: str = "https://sentry.io"  # regional (https://de.sentry.io) or self-hosted
    org: str = ""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return _require_http_url(value)


class ScmConfig(_Section):
    type: Literal["github", "gitlab", "bitbucket"] = "github"
    base_url: str | None = None  # e.g. https://ghe.example.com/api/v3 for GitHub Enterprise

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return None if value is None else _require_http_url(value)


class LlmConfig(_Section):
    provider: Literal["anthropic", "claude", "openai", "ollama", "replay"] = "anthropic"
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    max_steps: int = Field(30, ge=1, le=500)
    max_cost_usd: float = Field(2.0, gt=0)
    max_wall_seconds: float = Field(600, gt=0)
    replay_file: Path | None = None  # provider "replay": recorded turns to play (demo, offline evals)


class ProjectConfig(_Section):
    source_project: str = Field(min_length=1)  # the Sentry project slug
    scm_repo: str = Field(min_length=1)  # owner/name (GitHub), group/sub/name (GitLab)
    source_root: str = ""  # e.g. src/main/kotlin/ when frames omit it
    default_branch: str = "main"
    clone_url: str | None = None  # overrides the provider's URL: mirrors, enterprise, local paths


class BehaviorConfig(_Section):
    auto_pr: bool = True
    min_confidence: Confidence = Confidence.MEDIUM
    labels: list[str] = Field(default_factory=lambda: ["auto-fix", "ai-generated"])
    branch_prefix: str = "fix/auto-fixer-"
    dry_run: bool = False
    draft: bool = False  # open pull requests as drafts
    commit_author: str = "autofixer <autofixer@users.noreply.github.com>"  # the bot identity of fix commits


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    max_body_bytes: int = Field(1024 * 1024, ge=1024)


class WorkerConfig(_Section):
    concurrency: int = Field(2, ge=1, le=64)  # fix jobs running at once in this process
    poll_interval_seconds: float = Field(1.0, gt=0, le=60)
    sentry_max_attempts: int = Field(5, ge=1, le=20)
    sentry_backoff_seconds: float = Field(1.0, gt=0, le=60)  # first retry wait; doubles each time


class Settings(_Section):
    source: SourceConfig = Field(default_factory=SourceConfig)
    scm: ScmConfig = Field(default_factory=ScmConfig)
    llm: LlmConfig = Field(default_factory=LlmConfig)
    projects: list[ProjectConfig] = Field(default_factory=list)
    behavior: BehaviorConfig = Field(default_factory=BehaviorConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    worker: WorkerConfig = Field(default_factory=WorkerConfig)
    state_dir: Path = Path(".autofixer")
    # DBOS system database. Empty: a SQLite file under state-dir. Postgres for several replicas.
    database_url: str | None = None

    def project_for(self, source_project: str | None) -> ProjectConfig | None:
        return next((p for p in self.projects if p.source_project == source_project), None)

    @property
    def system_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.state_dir / 'autofixer.sqlite').resolve()}"


class Secrets(BaseSettings):
    """Tokens, from the environment only."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    sentry_token: SecretStr | None = Field(None, validation_alias="AUTOFIXER_SENTRY_TOKEN")
    webhook_secret: SecretStr | None = Field(None, validation_alias="AUTOFIXER_WEBHOOK_SECRET")
    github_token: SecretStr | None = Field(None, validation_alias="AUTOFIXER_GITHUB_TOKEN")
    api_token: SecretStr | None = Field(None, validation_alias="AUTOFIXER_API_TOKEN")  # jobs API
    llm_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("AUTOFIXER_LLM_KEY", "ANTHROPIC_API_KEY")
    )

    @property
    def webhook_secrets(self) -> list[bytes]:
        """Every accepted client secret: a comma-separated list lets a secret be rotated."""
        raw = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        return [s.strip().encode() for s in raw.split(",") if s.strip()]

    def values(self) -> list[str]:
        """All secret strings, for redaction from logs, prompts, transcripts and PR bodies."""
        found = [s.get_secret_value() for s in (self.sentry_token, self.github_token, self.llm_key, self.api_token) if s]
        found += [s.decode() for s in self.webhook_secrets]
        return [s for s in found if s]


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read the YAML file (missing default file → embedded defaults) and validate it."""
    explicit = path or os.environ.get("AUTOFIXER_CONFIG")
    file = Path(explicit or DEFAULT_CONFIG_PATH)
    if not file.exists():
        if explicit:
            raise ConfigError(f"{file}: config file not found")
        return _apply_env_overrides(Settings())
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise ConfigError(f"{file}: not valid YAML{where}") from None
    return _apply_env_overrides(parse_settings(raw, source=str(file)))


def parse_settings(raw: Any, source: str = "config") -> Settings:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of sections")
    if set(raw) == {"autofixer"}:  # the seed nests everything under `autofixer:`
        raw = raw["autofixer"] or {}
    _refuse_secrets(raw, source, prefix="")
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = _key_path(err["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise ConfigError(f"{source}: {key}: {message}{more}") from None


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{_kebab(part)}"
    return path.lstrip(".")


def _refuse_secrets(node: Any, source: str, prefix: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            name = _kebab(str(key))
            path = f"{prefix}{name}"
            if name in _SECRET_KEYS:
                raise ConfigError(
                    f"{source}: {path}: secrets are read only from the environment "
                    f"({_SECRET_KEYS[name]}); remove this key from the file"
                )
            _refuse_secrets(value, source, f"{path}.")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _refuse_secrets(item, source, f"{prefix[:-1]}[{i}].")


def _apply_env_overrides(settings: Settings) -> Settings:
    """A few deployment knobs are easier to set from the environment (Docker, CI)."""
    if url := os.environ.get("AUTOFIXER_DATABASE_URL") or os.environ.get("DBOS_SYSTEM_DATABASE_URL"):
        settings.database_url = url
    if state := os.environ.get("AUTOFIXER_STATE_DIR"):
        settings.state_dir = Path(state)
    if host := os.environ.get("AUTOFIXER_HOST"):
        settings.server.host = host
    if port := os.environ.get("AUTOFIXER_PORT"):
        if not port.isdigit():
            raise ConfigError("AUTOFIXER_PORT: must be a port number")
        settings.server.port = int(port)
    return settings


def _require_http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")
