"""Configuration: one YAML file for behaviour, the environment for secrets.

Keys mirror the seed's application.yml (kebab-case, snake_case accepted too). Secrets are
never read from the file: a `token:` key there is an error that names the variable to use.
A bad file raises ConfigError with one line naming the key and the problem — never a value,
so a secret pasted into the wrong place is not echoed to a terminal or a log.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, PrivateAttr, ValidationError

from agent.settings import LlmConfig
from common.config import ConnectorConfig, Section, kebab
from domain import Confidence
from execution.config import SandboxMode, TestsConfig
from server.triggers import TriggerRules
from tools.policy import DEFAULT_POLICY, PatchPolicy

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


_Section = Section


class ProjectConfig(_Section):
    source_project: str = Field(min_length=1)  # the project's name in the error tracker
    scm_repo: str = Field(min_length=1)  # owner/name (GitHub), group/sub/name (GitLab)
    source: str | None = None  # which of sources[] reports it (default: the only one)
    scm: str | None = None  # which of scms[] hosts it (default: the only one)
    source_root: str = ""  # e.g. src/main/kotlin/ when frames omit it
    default_branch: str = "main"
    clone_url: str | None = None  # overrides the forge's URL: mirrors, enterprise, local paths
    # What the agent may edit: extra `deny` globs, `allow` exceptions (see tools/policy.py).
    patch_policy: PatchPolicy = DEFAULT_POLICY
    triggers: TriggerRules | None = None  # which errors get a fix; replaces the top-level `triggers:`
    # How to build the project's environment and run its tests (execution/config.py); None: the
    # agent cannot run code for this project and fixes are not validated by tests.
    tests: TestsConfig | None = None


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
    # How often the job queue is polled: a queued job waits up to this long for a free worker
    # (DBOS has no wake-up for in-process enqueues). 0.05 s starts a job within 0.1 s for ~5%
    # of a core while idle (bench/pickup.py); 1.0 s costs ~1% but up to a second per job.
    poll_interval_seconds: float = Field(0.05, gt=0, le=60)
    # Calls to an error tracker or forge, retries included, and the first wait (doubling).
    sentry_max_attempts: int = Field(5, ge=1, le=20)
    sentry_backoff_seconds: float = Field(1.0, gt=0, le=60)


_Entry = dict[str, Any]


class Settings(_Section):
    # Connectors: the seed's single `source:` / `scm:`, or lists of several. Each entry is
    # {type, name?, …}; its keys are checked against the connector's own Config model.
    source: _Entry | None = None
    sources: list[_Entry] = Field(default_factory=list)
    scm: _Entry | None = None
    scms: list[_Entry] = Field(default_factory=list)
    notify: list[_Entry] = Field(default_factory=list)  # empty: outcomes are only logged
    llm: LlmConfig = Field(default_factory=LlmConfig)
    projects: list[ProjectConfig] = Field(default_factory=list)
    triggers: TriggerRules = Field(default_factory=TriggerRules)  # the default trigger rules
    behavior: BehaviorConfig = Field(default_factory=BehaviorConfig)
    server: ServerConfig = Field(default_factory=ServerConfig)
    worker: WorkerConfig = Field(default_factory=WorkerConfig)
    state_dir: Path = Path(".autofixer")
    # Where project and LLM-written code runs: "bwrap" (the bubblewrap sandbox), or "none" (no
    # isolation at all; only for a machine that runs nothing else, warned at start-up).
    sandbox: SandboxMode = "bwrap"
    # DBOS system database. Empty: a SQLite file under state-dir. Postgres for several replicas.
    database_url: str | None = None

    _connectors: _Resolved | None = PrivateAttr(default=None)

    @property
    def connectors(self) -> _Resolved:
        """The typed connector entries (resolved once, on first use if not at load)."""
        if self._connectors is None:
            self._connectors = _resolve_connectors(self, "config")
        return self._connectors

    @property
    def source_configs(self) -> list[ConnectorConfig]:
        return self.connectors.sources

    @property
    def scm_configs(self) -> list[ConnectorConfig]:
        return self.connectors.scms

    @property
    def notify_configs(self) -> list[ConnectorConfig]:
        return self.connectors.notify

    def source_config(self, name: str | None = None) -> ConnectorConfig:
        """The source called `name` (default: the first, which a single-source setup has)."""
        found = next((c for c in self.source_configs if name is None or c.key == name), None)
        if found is None:
            raise ConfigError(f"no source named {name!r} in sources[]")
        return found

    def project_for(self, source_project: str | None, source: str | None = None) -> ProjectConfig | None:
        """The project a source's project maps to; `source` None matches any source."""
        return next(
            (p for p in self.projects if p.source_project == source_project
             and (source is None or self.source_of(p) == source)),
            None,
        )

    def triggers_for(self, project: ProjectConfig | None) -> TriggerRules:
        return project.triggers if project is not None and project.triggers is not None else self.triggers

    def source_of(self, project: ProjectConfig) -> str:
        return project.source or self.source_configs[0].key

    def scm_of(self, project: ProjectConfig) -> str:
        return project.scm or self.scm_configs[0].key

    def repo_key(self, project: ProjectConfig) -> str:
        """What a project's test environments are keyed by (forge and repository): jobs and MCP
        sessions of the same repository share them."""
        return f"{self.scm_of(project)}:{project.scm_repo}"

    def secret_env_names(self) -> list[str]:
        """Every environment variable the configuration reads a secret from."""
        names = [n for c in (*self.source_configs, *self.scm_configs, *self.notify_configs)
                 for n in c.secret_env_names()]
        return list(dict.fromkeys([*names, *self.llm.secret_env_names()]))

    @property
    def system_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.state_dir / 'autofixer.sqlite').resolve()}"


class _Resolved:
    def __init__(self, sources: list[ConnectorConfig], scms: list[ConnectorConfig],
                 notify: list[ConnectorConfig]) -> None:
        self.sources, self.scms, self.notify = sources, scms, notify


_DEFAULT_SOURCE: _Entry = {"type": "sentry"}
_DEFAULT_SCM: _Entry = {"type": "github"}


def _resolve_connectors(settings: Settings, origin: str) -> _Resolved:
    """Validate each connector entry against its connector's Config; check names and projects."""
    from server import connectors  # the registry imports connector modules: only when needed

    def entries(one: _Entry | None, many: list[_Entry], single_key: str, list_key: str,
                default: _Entry) -> list[tuple[str, _Entry]]:
        if one is not None and many:
            raise ConfigError(f"{origin}: {single_key} and {list_key} are both set; keep one of them")
        if one is not None:
            return [(single_key, one)]
        if many:
            return [(f"{list_key}[{i}]", e) for i, e in enumerate(many)]
        return [(single_key, default)]

    def typed(kind: str, where: str, entry: _Entry) -> ConnectorConfig:
        if not isinstance(entry, dict):
            raise ConfigError(f"{origin}: {where}: must be a mapping of keys")
        raw = {"type": entry.get("type", default_type[kind]), **entry}
        model = connectors.config_model(kind, raw["type"])
        if model is None:
            known = ", ".join(connectors.names(kind))
            raise ConfigError(f"{origin}: {where}.type: unknown {kind} {raw['type']!r} (known: {known})")
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(_validation_line(origin, exc, prefix=where)) from None

    default_type = {"source": "sentry", "forge": "github", "notifier": "log"}
    sources = [typed("source", w, e) for w, e in
               entries(settings.source, settings.sources, "source", "sources", _DEFAULT_SOURCE)]
    scms = [typed("forge", w, e) for w, e in entries(settings.scm, settings.scms, "scm", "scms", _DEFAULT_SCM)]
    notify = [typed("notifier", f"notify[{i}]", e) for i, e in enumerate(settings.notify)]
    for label, group in (("sources", sources), ("scms", scms), ("notify", notify)):
        seen: set[str] = set()
        for entry in group:
            if entry.key in seen:
                raise ConfigError(f"{origin}: {label}: two entries are named {entry.key!r}; give each a distinct name")
            seen.add(entry.key)
    for i, project in enumerate(settings.projects):
        for key, group in (("source", sources), ("scm", scms)):
            chosen = getattr(project, key)
            if chosen is None and len(group) > 1:
                raise ConfigError(f"{origin}: projects[{i}].{key}: required when several are configured "
                                  f"({', '.join(c.key for c in group)})")
            if chosen is not None and chosen not in {c.key for c in group}:
                raise ConfigError(f"{origin}: projects[{i}].{key}: no {key} named {chosen!r} "
                                  f"(configured: {', '.join(c.key for c in group)})")
    if settings.llm.provider not in connectors.names("provider"):
        raise ConfigError(f"{origin}: llm.provider: unknown provider {settings.llm.provider!r} "
                          f"(known: {', '.join(connectors.names('provider'))})")
    return _Resolved(sources, scms, notify)


# Variables read whatever the configuration says: the service's own tokens.
SERVICE_SECRET_ENV = ("AUTOFIXER_API_TOKEN", "AUTOFIXER_MCP_TOKEN")
# Any other AUTOFIXER_* variable with a secret-shaped name is redacted too, in case a connector
# reads one its entry does not declare.
_SECRET_SHAPED = re.compile(r"^AUTOFIXER_\w*(TOKEN|SECRET|KEY|PASSWORD|WEBHOOK_URL)$")


class Secrets:
    """Secrets, from the environment only: the variables the configuration names.

    The list of what to redact is derived (every `*-env` a connector entry names, the LLM key,
    the service's own tokens, and secret-shaped AUTOFIXER_* variables), never kept by hand,
    so a new connector's token is redacted the day it is added.
    """

    def __init__(self, settings: Settings | None = None, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        names = [*(settings or Settings()).secret_env_names(), *SERVICE_SECRET_ENV, "ANTHROPIC_API_KEY"]
        names += [n for n in env if _SECRET_SHAPED.match(n)]
        self._values = {n: env[n] for n in dict.fromkeys(names) if env.get(n)}

    def __repr__(self) -> str:
        return f"Secrets(set={sorted(self._values)})"

    def get(self, name: str) -> str | None:
        """The secret in variable `name`, or None when it is unset or empty."""
        return self._values.get(name) or None

    @property
    def api_token(self) -> str | None:
        return self.get("AUTOFIXER_API_TOKEN")

    def values(self) -> list[str]:
        """All secret strings, for redaction from logs, prompts, transcripts and PR bodies.
        A comma-separated value (a rotated webhook secret) also contributes each part."""
        found: list[str] = []
        for value in self._values.values():
            found.append(value)
            if "," in value:
                found += [part.strip() for part in value.split(",") if part.strip()]
        return list(dict.fromkeys(found))


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read the YAML file (missing default file → embedded defaults) and validate it."""
    explicit = path or os.environ.get("AUTOFIXER_CONFIG")
    file = Path(explicit or DEFAULT_CONFIG_PATH)
    if not file.exists():
        if explicit:
            raise ConfigError(f"{file}: config file not found")
        return _apply_env_overrides(parse_settings({}, source="defaults"))
    if file.is_dir():  # Docker creates a directory where a file to mount did not exist
        raise ConfigError(f"{file}: is a directory, not a config file (copy autofixer.example.yml there)")
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not a text file (UTF-8 YAML expected)") from None
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
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_validation_line(source, exc)) from None
    settings._connectors = _resolve_connectors(settings, source)
    return settings


def _validation_line(source: str, exc: ValidationError, prefix: str = "") -> str:
    err = exc.errors()[0]
    key = ".".join(p for p in (prefix, _key_path(err["loc"])) if p) or "(top level)"
    more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
    message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
    return f"{source}: {key}: {message}{more}"


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{kebab(part)}"
    return path.lstrip(".")


def _refuse_secrets(node: Any, source: str, prefix: str) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            name = kebab(str(key))
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
