"""The process-wide services a running job uses, set once at startup.

DBOS workflows and steps must be module-level functions, so they cannot receive these as
arguments; they call `services()` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scm.base import ScmProvider
from server import forge
from server.config import Secrets, Settings
from server.metrics import Metrics
from sources.sentry.client import RetryPolicy, SentryClient, SentryError
from tools.workspace import Workspaces


@dataclass
class Services:
    """What running jobs need, set once at startup (workflows must be module-level functions)."""

    settings: Settings
    secrets: Secrets
    metrics: Metrics
    workspaces: Workspaces
    _scm: ScmProvider | None = field(default=None, repr=False)

    def llm_key(self) -> str | None:
        return self.secrets.llm_key.get_secret_value() if self.secrets.llm_key else None

    def scm_token(self) -> str | None:
        return self.secrets.github_token.get_secret_value() if self.secrets.github_token else None

    def sentry(self) -> SentryClient:
        return sentry_client(self.settings, self.secrets)

    def scm(self) -> ScmProvider:
        """One provider per process, so its write lock and spacing hold across concurrent jobs."""
        if self._scm is None:
            self._scm = forge.scm_provider(self.settings, self.secrets)
        return self._scm


def sentry_client(settings: Settings, secrets: Secrets) -> SentryClient:
    token = secrets.sentry_token.get_secret_value() if secrets.sentry_token else ""
    if not token:
        raise SentryError("AUTOFIXER_SENTRY_TOKEN is not set: the Sentry API cannot be called")
    worker = settings.worker
    return SentryClient(
        token,
        settings.source.org,
        settings.source.base_url,
        retry=RetryPolicy(max_attempts=worker.sentry_max_attempts, initial_wait=worker.sentry_backoff_seconds),
    )


_services: Services | None = None


def configure(value: Services) -> None:
    global _services
    _services = value


def services() -> Services:
    if _services is None:
        raise RuntimeError("services used before server.services.configure()")
    return _services
